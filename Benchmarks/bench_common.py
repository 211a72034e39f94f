"""Shared command line, timing and JSON output of torch_bench.py and jax_bench.py.

The protocol matches Benchmarks/DistillBench/main.swift: warm-up for --warmup seconds, then
--trials timed trials of about --seconds each; one JSON line per workload with images/s of every
trial, their median and the process's peak resident memory (ru_maxrss).
"""
import argparse
import json
import resource
import statistics
import time

WORKLOADS = ("a", "b", "c", "d", "e", "f", "g")


def parse_args(description, extra=None):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated subset of " + ",".join(WORKLOADS))
    p.add_argument("--trials", type=int, default=5)
    p.add_argument("--seconds", type=float, default=2.0, help="length of one timed trial")
    p.add_argument("--warmup", type=float, default=1.0, help="seconds of warm-up (after compilation)")
    p.add_argument("--seed", type=int, default=0)
    if extra:
        extra(p)
    args = p.parse_args()
    args.workloads = [w for w in args.workloads.split(",") if w]
    for w in args.workloads:
        if w not in WORKLOADS:
            p.error(f"unknown workload {w!r} (known: {', '.join(WORKLOADS)})")
    return args


def measure(batch, args, step, sync=lambda: None):
    """images/s of each timed trial; `step()` runs one batch, `sync()` waits for queued work."""
    step()
    sync()
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < args.warmup:
        step()
    sync()
    rates = []
    for _ in range(args.trials):
        steps = 0
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < args.seconds:
            step()
            steps += 1
        sync()
        rates.append(steps * batch / (time.perf_counter() - t0))
    return rates


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def report(side, workload, rates, **extra):
    line = {"side": side, "workload": workload, "unit": "images/s",
            "trials": [round(r, 1) for r in rates], "median": round(statistics.median(rates), 1),
            "peak_rss_mib": round(peak_rss_mib(), 1)}
    line.update(extra)
    print(json.dumps(line), flush=True)
