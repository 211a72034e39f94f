#!/usr/bin/env python3
"""What the waiting policy's re-exec costs per start: the median wall time of `distill --version`
with the binary choosing (it re-executes itself) against DISTILL_WAIT_POLICY=keep (no re-exec).

    python3 Benchmarks/reexec_cost.py [.build/release/distill] [runs]
"""
import os, subprocess, sys, time

binary = sys.argv[1] if len(sys.argv) > 1 else ".build/release/distill"
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 15
base = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "DISTILL_WAIT_POLICY")}

def median_ms(env):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([binary, "--version"], env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return sorted(times)[runs // 2] * 1000

chosen, kept = median_ms(base), median_ms(dict(base, DISTILL_WAIT_POLICY="keep"))
print(f"distill --version, median of {runs}: {chosen:.1f} ms with the re-exec, {kept:.1f} ms without ({chosen - kept:.1f} ms per start)")
