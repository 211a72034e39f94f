#!/bin/sh
# Optimizer-step and feature-tap overhead micro-benchmark (release objects of DistillCore + DistillNN).
# Run from the repository root:  sh Tests/DistillNNTests/Fixtures/bench/run_optimizer_bench.sh
set -e
swift build -c release --target DistillNN
B=.build/release
OUT=$(mktemp -d)
swiftc -O -I $B/Modules -Xcc -fmodule-map-file=Sources/CDNNL/module.modulemap -I Sources/CDNNL \
  Tests/DistillNNTests/Fixtures/bench/optimizer_bench.swift $B/DistillNN.build/*.o $B/DistillCore.build/*.o -ldnnl -o "$OUT/nnbench"
OMP_NUM_THREADS=2 "$OUT/nnbench"
rm -rf "$OUT"
