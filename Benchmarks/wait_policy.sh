#!/usr/bin/env bash
# How OpenMP's waiting policy changes `distill train` on an idle and on a busy machine (issues 12
# and 13). libgomp reads OMP_WAIT_POLICY and GOMP_SPINCOUNT when it loads, so each policy is a
# fresh process. "busy" runs a second, identical training next to the measured one (two processes
# of 2 threads on 2 cores), as a user running two jobs, or a job beside a build, would.
#
#   Benchmarks/wait_policy.sh [--reps N] [--binary .build/release/distill] [--out FILE.jsonl]
#
# Prints one line per (workload, machine, policy) with the median training throughput (images/s,
# the training images of the epoch over the epoch's seconds as log.jsonl records them) and writes
# the raw runs as JSON lines. Policies: the binary's own choice (no variable set), libgomp's
# default (OMP_WAIT_POLICY and GOMP_SPINCOUNT both unset, DISTILL_WAIT_POLICY=keep), ACTIVE,
# PASSIVE and bounded spins of 10^4 and 10^5 iterations.
set -euo pipefail
REPS=3
BIN=.build/release/distill
OUT=Benchmarks/results/wait_policy.jsonl
while [ $# -gt 0 ]; do
    case "$1" in
        --reps) REPS=$2; shift 2 ;;
        --binary) BIN=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
[ -x "$BIN" ] || { echo "$BIN is not built (make release)" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"; kill $(jobs -p) 2>/dev/null || true' EXIT
: > "$OUT"

# name | model | subset
WORKLOADS=("mlp|mlp:1200x1200|12000" "cnn|cnn:16x32,fc=64|6000" "resnet|resnet8|2000")
POLICIES=("binary|" "libgomp-default|DISTILL_WAIT_POLICY=keep" "active|OMP_WAIT_POLICY=ACTIVE" "passive|OMP_WAIT_POLICY=PASSIVE"
          "spin-1e4|GOMP_SPINCOUNT=10000" "spin-1e5|GOMP_SPINCOUNT=100000")

# runs one training; prints images/s of its epoch
train() {   # $1 model, $2 subset, $3 env assignment or "", $4 run dir
    rm -rf "$4"
    env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT -u DISTILL_WAIT_POLICY $3 "$BIN" train --model "$1" --subset "$2" --epochs 1 \
        --threads 2 --quiet --out "$4" > /dev/null 2> "$4.err" || { cat "$4.err" >&2; return 1; }
    python3 - "$4/log.jsonl" "$2" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
e = [r for r in rows if r.get("event") == "epoch"][-1]
print(f"{int(sys.argv[2]) / e['seconds']:.1f}")
EOF
}

for w in "${WORKLOADS[@]}"; do
    IFS='|' read -r wname model subset <<< "$w"
    for machine in idle busy; do
        for rep in $(seq "$REPS"); do
            for p in "${POLICIES[@]}"; do   # policies interleaved within each repetition
                IFS='|' read -r pname penv <<< "$p"
                competitor=""
                if [ "$machine" = busy ]; then
                    # the competitor: the same training for many epochs (libgomp's default policy), killed after the measurement
                    ( exec env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT DISTILL_WAIT_POLICY=keep "$BIN" train --model "$model" --subset "$subset" \
                        --epochs 1000 --threads 2 --quiet --out "$TMP/competitor-$rep-$pname" > /dev/null 2>&1 ) &
                    competitor=$!
                    sleep 2
                fi
                ips=$(train "$model" "$subset" "$penv" "$TMP/run")
                if [ -n "$competitor" ]; then kill -9 "$competitor" 2>/dev/null || true; wait "$competitor" 2>/dev/null || true; rm -rf "$TMP"/competitor-*; fi
                echo "{\"workload\": \"$wname\", \"model\": \"$model\", \"machine\": \"$machine\", \"policy\": \"$pname\", \"rep\": $rep, \"images_per_s\": $ips}" >> "$OUT"
            done
        done
    done
done

python3 - "$OUT" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
keys = sorted({(r["workload"], r["machine"]) for r in rows}, key=lambda k: (k[0], k[1] != "idle"))
policies = list(dict.fromkeys(r["policy"] for r in rows))
print("| workload | machine | " + " | ".join(policies) + " |")
print("|---|---|" + "---|" * len(policies))
for w, m in keys:
    med = {p: statistics.median([r["images_per_s"] for r in rows if (r["workload"], r["machine"], r["policy"]) == (w, m, p)]) for p in policies}
    best = max(med.values())
    print(f"| {w} | {m} | " + " | ".join(f"{med[p]:,.0f} ({med[p] / best:.2f})" for p in policies) + " |")
EOF
