#!/usr/bin/env python3
"""Side-by-side throughput benchmark: swift-distill vs PyTorch vs JAX, in one run.

    python3 Benchmarks/run.py [--rounds 3] [--trials 3] [--seconds 1.5] [--workloads a,b,c,d,e]

Installs nothing. Checks that PyTorch (Debian's, /usr/bin/python3) and JAX (`pip install jax`,
the first python found that imports it) are importable, builds `distill-bench` in release with
-Ounchecked and an AVX-512 target CPU passed on the command line (never in Package.swift), then
runs the sides interleaved, round-robin (swift settings, torch settings, jax, swift, ...), one
process per workload and side so each peak-memory figure belongs to one workload. PyTorch is run
at each setting of shared/BENCHMARKING.md, Swift at the same thread counts, and the best median
of each is reported. Prints a Markdown table; the
raw JSON lines go to --raw when given. Uses only the standard library.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OPENBLAS_OMP = "/usr/lib/x86_64-linux-gnu/openblas-openmp"
NAMES = {
    "a": "(a) MLP 784-1200-1200-10 train, batch 128",
    "b": "(b) same with dropout 0.5",
    "c": "(c) CNN 2 conv + 2 linear train, batch 128",
    "d": "(d) MLP inference, batch 1024",
    "e": "(e) KD step: 1200-1200 teacher forward + 800-800 student train, T = 4, batch 128",
}
# The targets; (e) has none (it measures the step distillation runs all day).
TARGETS = {"a": 1.2, "b": 1.2, "c": 1.5, "d": 1.0}
# Swift settings tried: the same as PyTorch's (the engine's default is every core; libgomp reads
# OMP_WAIT_POLICY once at load, so it can only come from the environment).
SWIFT_SETTINGS = [
    ("2 threads", {"OMP_NUM_THREADS": "2"}),
    ("1 thread", {"OMP_NUM_THREADS": "1"}),
    ("2 threads, OMP_WAIT_POLICY=PASSIVE", {"OMP_NUM_THREADS": "2", "OMP_WAIT_POLICY": "PASSIVE"}),
]
# PyTorch settings tried (shared/BENCHMARKING.md): label, threads, extra environment.
TORCH_SETTINGS = [
    ("2 threads, OpenBLAS-OpenMP", 2, {"LD_LIBRARY_PATH": OPENBLAS_OMP}),
    ("1 thread, OpenBLAS-OpenMP", 1, {"LD_LIBRARY_PATH": OPENBLAS_OMP}),
    ("2 threads, OpenBLAS-OpenMP, OMP_WAIT_POLICY=PASSIVE", 2,
     {"LD_LIBRARY_PATH": OPENBLAS_OMP, "OMP_WAIT_POLICY": "PASSIVE"}),
]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workloads", default="a,b,c,d,e")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--trials", type=int, default=3, help="timed trials per process")
    p.add_argument("--seconds", type=float, default=1.5, help="seconds per timed trial")
    p.add_argument("--warmup", type=float, default=1.0, help="seconds of warm-up per process")
    p.add_argument("--sides", default="swift,torch,jax")
    p.add_argument("--torch-python", default=os.environ.get("TORCH_PYTHON", "/usr/bin/python3"))
    p.add_argument("--jax-python", default=os.environ.get("JAX_PYTHON"),
                   help="python that imports jax (default: the first of python3 on PATH, /usr/bin/python3)")
    p.add_argument("--target-cpu", default="skylake-avx512",
                   help="swiftc -target-cpu (the AVX-512 set of x86-64-v4; Swift 6.3's LLVM rejects 'x86-64-v4')")
    p.add_argument("--no-build", action="store_true", help="use the existing release binary")
    p.add_argument("--raw", help="also write every JSON line to this file")
    return p.parse_args()


def probe(python, module):
    """(executable, version) when `python` imports `module`, else None."""
    if not python or not shutil.which(python):
        return None
    code = f"import sys, {module}; print(sys.executable, {module}.__version__)"
    r = subprocess.run([python, "-c", code], capture_output=True, text=True)
    return tuple(r.stdout.split()) if r.returncode == 0 else None


def build(cpu):
    flags = ["-Xswiftc", "-Ounchecked", "-Xswiftc", "-target-cpu", "-Xswiftc", cpu]
    cmd = ["swift", "build", "-c", "release", "--product", "distill-bench"] + flags
    print("building:", " ".join(cmd), file=sys.stderr, flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=sys.stderr)
    bin_dir = subprocess.run(cmd + ["--show-bin-path"], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()
    return os.path.join(bin_dir, "distill-bench")


# Threading variables a setting names itself: inherited values (a user's OMP_WAIT_POLICY, say)
# would make every setting's label untrue.
THREADING_ENV = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_PROC_BIND", "OMP_PLACES")


def run_side(cmd, env_extra, label):
    env = {k: v for k, v in os.environ.items() if k not in THREADING_ENV}
    env.update(env_extra)
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    lines = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
    if r.returncode != 0 or not lines:
        print(f"warning: {label} gave no result (exit {r.returncode}): {r.stderr.strip()[-400:]}", file=sys.stderr)
    return lines


def spread(xs):
    return f"{min(xs):,.0f}–{max(xs):,.0f}"


def main():
    a = parse_args()
    workloads = [w for w in a.workloads.split(",") if w]
    sides = a.sides.split(",")
    common = ["--trials", str(a.trials), "--seconds", str(a.seconds), "--warmup", str(a.warmup)]

    torch_py = jax_py = None
    if "torch" in sides:
        t = probe(a.torch_python, "torch")
        if not t:
            sys.exit(f"PyTorch does not import with {a.torch_python}: install Debian's python3-torch "
                     "(apt-get install python3-torch libopenblas0-openmp) or pass --torch-python / --sides")
        torch_py = a.torch_python
        print(f"PyTorch {t[1]} runs with {t[0]}", file=sys.stderr)
        if not os.path.isdir(OPENBLAS_OMP):
            print(f"warning: {OPENBLAS_OMP} is missing (apt-get install libopenblas0-openmp); "
                  "PyTorch will not run at its best setting", file=sys.stderr)
    if "jax" in sides:
        for cand in [a.jax_python, shutil.which("python3"), "/usr/bin/python3"]:
            j = probe(cand, "jax")
            if j:
                jax_py = cand
                print(f"JAX {j[1]} runs with {cand} ({j[0]})", file=sys.stderr)
                break
        if not jax_py:
            sys.exit("JAX does not import with any python found: run `pip install jax` (CPU) "
                     "or pass --jax-python / --sides")

    swift_bin = None
    if "swift" in sides:
        if a.no_build:
            swift_bin = os.path.join(ROOT, ".build", "release", "distill-bench")
        else:
            swift_bin = build(a.target_cpu)

    results = {}  # (side label, workload) -> {"trials": [...], "rss": [...]}
    raw = open(a.raw, "w") if a.raw else None

    def add(label, w, lines):
        for l in lines:
            if raw:
                l = dict(l, label=label)
                raw.write(json.dumps(l) + "\n")
                raw.flush()
            r = results.setdefault((label, l["workload"]), {"trials": [], "rss": []})
            r["trials"] += l["trials"]
            r["rss"].append(l["peak_rss_mib"])

    for rnd in range(a.rounds):
        for w in workloads:
            print(f"round {rnd + 1}/{a.rounds}, workload {w}", file=sys.stderr, flush=True)
            if swift_bin:
                for label, env in SWIFT_SETTINGS:
                    add("swift: " + label, w, run_side([swift_bin, "--workloads", w] + common, env, f"swift {w} ({label})"))
            if torch_py:
                for label, threads, env in TORCH_SETTINGS:
                    cmd = [torch_py, os.path.join(HERE, "torch_bench.py"), "--workloads", w,
                           "--threads", str(threads)] + common
                    add("torch: " + label, w, run_side(cmd, env, f"torch {w} ({label})"))
            if jax_py:
                add("jax", w, run_side([jax_py, os.path.join(HERE, "jax_bench.py"), "--workloads", w] + common,
                                       {}, f"jax {w}"))

    def med(label, w):
        r = results.get((label, w))
        return statistics.median(r["trials"]) if r else None

    print(f"\n{a.rounds} rounds × {a.trials} trials × {a.seconds} s per side and workload, "
          "interleaved; images/s, median (min–max over all trials); peak RSS in MiB (max over processes)\n")
    print("| workload | Swift | PyTorch best | JAX | Swift / better peer (target) | peak RSS Swift / PyTorch / JAX |")
    print("|---|---|---|---|---|---|")
    def best(prefix, w):
        labels = [l for (l, ww) in results if ww == w and l.startswith(prefix)]
        b = max(labels, key=lambda l: med(l, w), default=None)
        return (b[len(prefix):], results[(b, w)]) if b else (None, None)

    for w in workloads:
        best_s, s = best("swift: ", w)
        best_t, t = best("torch: ", w)
        j = results.get(("jax", w))
        # the peers' medians from their results (best_t is the label without its "torch: " prefix,
        # so med(best_t, w) found nothing and every ratio was over JAX alone)
        peers = [statistics.median(r["trials"]) for r in (t, j) if r and r["trials"]]
        cell = lambda r: f"{statistics.median(r['trials']):,.0f} ({spread(r['trials'])})" if r else "–"
        scell = f"{cell(s)}, {best_s}" if s else "–"
        tcell = f"{cell(t)}, {best_t}" if t else "–"
        target = f" ({TARGETS[w]}×)" if w in TARGETS else ""
        ratio = f"{statistics.median(s['trials']) / max(peers):.2f}×{target}" if s and peers else "–"
        rss = " / ".join(f"{max(r['rss']):.0f}" if r else "–" for r in (s, t, j))
        print(f"| {NAMES[w]} | {scell} | {tcell} | {cell(j)} | {ratio} | {rss} |")
    print("\nEvery setting tried (median images/s):")
    for w in workloads:
        parts = [f"{l}: {med(l, w):,.0f}" for (l, ww) in sorted(results) if ww == w and ":" in l]
        if parts:
            print(f"- {w}: " + "; ".join(parts))
    if raw:
        raw.close()


if __name__ == "__main__":
    main()
