#!/bin/sh
# Side-by-side benchmark: swift-distill vs PyTorch vs JAX (see Benchmarks/run.py --help).
cd "$(dirname "$0")/.." && exec /usr/bin/python3 Benchmarks/run.py "$@"
