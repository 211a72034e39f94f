#!/usr/bin/env bash
# Data-parallel throughput on this machine (issue 16): `distill train` as 1 process × 2 threads
# against `mpirun -np 2` × 1 thread each, interleaved, same global batch; then the time of one
# all-reduce of the gradients (Benchmarks/AllReduceBench) and the bytes it moves per step.
#
#   Benchmarks/data_parallel.sh [--reps 3]      (after `make release`; needs openmpi-bin)
set -euo pipefail
REPS=3
[ "${1:-}" = "--reps" ] && REPS=$2
BIN=.build/release/distill
[ -x "$BIN" ] || { echo "$BIN is not built (make release)" >&2; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
ips() {   # images/s of the epoch in $1/log.jsonl for $2 images
    python3 -c "import json,sys; e=[json.loads(l) for l in open(sys.argv[1]) if '\"epoch\"' in l and json.loads(l).get('event')=='epoch'][-1]; print(f'{int(sys.argv[2])/e[\"seconds\"]:.0f}')" "$1/log.jsonl" "$2"
}
for w in "mlp:1200x1200 12000" "resnet20 3000"; do
    set -- $w
    for rep in $(seq "$REPS"); do
        rm -rf "$TMP/a" "$TMP/b"
        "$BIN" train --model "$1" --subset "$2" --epochs 1 --threads 2 --quiet --out "$TMP/a" > /dev/null 2>&1
        mpirun -np 2 --oversubscribe "$BIN" train --model "$1" --subset "$2" --epochs 1 --threads 1 --quiet --out "$TMP/b" > /dev/null 2>&1
        echo "$1 rep $rep: 1×2 threads $(ips "$TMP/a" "$2") img/s, 2 processes×1 thread $(ips "$TMP/b" "$2") img/s"
    done
done
swift build -c release --product AllReduceBench > /dev/null
for m in resnet20 mlp:1200x1200; do mpirun -np 2 --oversubscribe .build/release/AllReduceBench --model "$m" --rounds 300; done
