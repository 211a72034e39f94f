#!/usr/bin/env bash
# Builds every fuzz target with libFuzzer and AddressSanitizer (in .build-fuzz) and runs each for
# SECONDS seconds on a working copy of its committed seed corpus (Fuzz/corpus/TARGET). A crash,
# a leak, a timeout (10 s per input) or an input needing more than 2 GB is saved under
# Fuzz/reproducers/ and fails the run (once fixed, move it to Fuzz/regressions/TARGET/, which the
# test suite replays). Usage: Fuzz/run.sh SECONDS [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}; shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(idx cifar npy npz safetensors experiment model-spec method-spec augmentation schedule png jpeg csv data-spec dsa-strategy)
flags=(--build-path .build-fuzz -Xswiftc -sanitize=fuzzer,address -Xlinker --export-dynamic)
for t in "${targets[@]}"; do DISTILL_FUZZ=1 swift build "${flags[@]}" --product "fuzz-$t" 2>&1 | grep -E "error|warning: unre|Compiling|Build of" | grep -v "^\[" || true; done
bin=$(DISTILL_FUZZ=1 swift build "${flags[@]}" --show-bin-path)
mkdir -p Fuzz/reproducers
status=0
for t in "${targets[@]}"; do
    work=.build-fuzz/corpus/$t
    mkdir -p "$work"
    cp -n Fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
    cp -n Fuzz/regressions/"$t"/* "$work"/ 2>/dev/null || true   # every input that once crashed it
    log=.build-fuzz/fuzz-$t.log
    if DISTILL_NUM_THREADS=1 "$bin/fuzz-$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix=Fuzz/reproducers/"$t"- "$work" > "$log" 2>&1; then
        runs=$(grep -o "stat::number_of_executed_units: *[0-9]*" "$log" | grep -o "[0-9]*$" || echo "?")
        cov=$(grep -oE "cov: [0-9]+" "$log" | tail -1 || echo "cov: ?")
        echo "fuzz-$t: ${seconds} s, $runs inputs, $cov, no crash"
    else
        echo "fuzz-$t: FAILED (see $log and Fuzz/reproducers/$t-*)"; tail -30 "$log"; status=1
    fi
done
exit $status
