#!/usr/bin/env python3
"""Side-by-side throughput benchmark: swift-distill vs PyTorch vs JAX, in one run.

    python3 Benchmarks/run.py [--rounds 3] [--trials 3] [--seconds 1.5] [--workloads a,b,c,d,e,f,g] [--busy]

Installs nothing (`make bench` does: PyTorch 2.x and JAX from PyPI into .build-peers). Checks that
the peers import — Debian's PyTorch 1.13 (/usr/bin/python3), PyTorch 2.x (--torch2-python, eager
and torch.compile) and JAX (--jax-python) — builds `distill-bench` in release with -Ounchecked and
an AVX-512 target CPU passed on the command line (never in Package.swift) and the hardware probe
(peak_probe.c: FMA peak and oneDNN SGEMM rate), then runs the sides interleaved, round-robin
(swift settings, torch settings, torch 2 settings, jax, swift, ...), one process per workload and
setting so each peak-memory figure belongs to one workload. Every side runs at each thread
setting of shared/BENCHMARKING.md and the best median of each is reported, with the ratio over
the better peer and each workload's share of its GEMM-bound limit (its GEMM/convolution FLOPs
at the SGEMM rate measured in the same run). --busy runs a second copy of the same process next to
every measured one (a machine whose cores are shared). Prints a Markdown table; the raw JSON lines
go to --raw when given. Uses only the standard library.
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
    "f": "(f) ResNet-20 train, 3×32×32, batch 128",
    "g": "(g) ResNet-20 train, 1×28×28, batch 128",
}
# Issue #12's targets: Swift over the better peer (f: over PyTorch 2.x compiled), and the share of
# the GEMM-bound limit.
TARGETS = {"a": 1.2, "b": 1.2, "d": 1.2, "e": 1.2, "f": 1.3}
SHARE_TARGETS = {"c": 0.60, "f": 0.50}


def mlp_flops(widths):
    """Forward multiply-add FLOPs per image of a dense chain, and those of its first layer."""
    layers = [2 * a * b for a, b in zip(widths, widths[1:])]
    return sum(layers), layers[0]


def resnet20_flops(channels, side):
    """Forward convolution + fc FLOPs per image of RepDistiller's ResNet-20, and those of conv1."""
    conv = lambda cin, cout, k, hw: 2 * cout * cin * k * k * hw * hw
    first = conv(channels, 16, 3, side)
    total, cin, hw = first, 16, side
    for cout, stride in ((16, 1), (32, 2), (64, 2)):
        for j in range(3):
            s = stride if j == 0 else 1
            out = (hw + 2 - 3) // s + 1
            total += conv(cin, cout, 3, out) + conv(cout, cout, 3, out)
            if s != 1 or cin != cout:
                total += conv(cin, cout, 1, out)
            cin, hw = cout, out
    return total + 2 * 64 * 10, first


def gemm_flops(w):
    """GEMM/convolution FLOPs per image of workload w: training is the forward, the data
    gradient (not of the first layer: the input needs none) and the weight gradient."""
    train = lambda fwd, first: 3 * fwd - first
    if w in "ab":
        return train(*mlp_flops([784, 1200, 1200, 10]))
    if w == "c":
        c1, c2 = 2 * 32 * 9 * 784, 2 * 64 * 288 * 196
        fwd = c1 + c2 + 2 * 3136 * 128 + 2 * 128 * 10
        return train(fwd, c1)
    if w == "d":
        return mlp_flops([784, 1200, 1200, 10])[0]
    if w == "e":
        return mlp_flops([784, 1200, 1200, 10])[0] + train(*mlp_flops([784, 800, 800, 10]))
    return train(*resnet20_flops(3, 32) if w == "f" else resnet20_flops(1, 28))
# Swift settings tried: the same as PyTorch's (the engine's default is every core; libgomp reads
# OMP_WAIT_POLICY once at load, so it can only come from the environment).
SWIFT_SETTINGS = [
    ("2 threads", {"OMP_NUM_THREADS": "2"}),
    ("1 thread", {"OMP_NUM_THREADS": "1"}),
    ("2 threads, OMP_WAIT_POLICY=PASSIVE", {"OMP_NUM_THREADS": "2", "OMP_WAIT_POLICY": "PASSIVE"}),
]
# PyTorch settings tried (shared/BENCHMARKING.md): label, threads, extra environment.
# PyTorch 2.x from PyPI bundles MKL and its own libgomp, so OpenBLAS does not apply; torch.compile
# is tried at 2 threads only (compilation takes up to a minute per process).
TORCH2_SETTINGS = [
    ("eager, 2 threads", 2, {}, False),
    ("eager, 1 thread", 1, {}, False),
    ("eager, 2 threads, OMP_WAIT_POLICY=PASSIVE", 2, {"OMP_WAIT_POLICY": "PASSIVE"}, False),
    ("compiled, 2 threads", 2, {}, True),
    ("compiled, 2 threads, OMP_WAIT_POLICY=PASSIVE", 2, {"OMP_WAIT_POLICY": "PASSIVE"}, True),
]
TORCH_SETTINGS = [
    ("2 threads, OpenBLAS-OpenMP", 2, {"LD_LIBRARY_PATH": OPENBLAS_OMP}),
    ("1 thread, OpenBLAS-OpenMP", 1, {"LD_LIBRARY_PATH": OPENBLAS_OMP}),
    ("2 threads, OpenBLAS-OpenMP, OMP_WAIT_POLICY=PASSIVE", 2,
     {"LD_LIBRARY_PATH": OPENBLAS_OMP, "OMP_WAIT_POLICY": "PASSIVE"}),
]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workloads", default="a,b,c,d,e,f,g")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--trials", type=int, default=3, help="timed trials per process")
    p.add_argument("--seconds", type=float, default=1.5, help="seconds per timed trial")
    p.add_argument("--warmup", type=float, default=1.0, help="seconds of warm-up per process")
    p.add_argument("--sides", default="swift,torch,torch2,jax")
    p.add_argument("--torch-python", default=os.environ.get("TORCH_PYTHON", "/usr/bin/python3"),
                   help="python with PyTorch 1.x (Debian's python3-torch)")
    p.add_argument("--torch2-python", default=os.environ.get("TORCH2_PYTHON", os.path.join(ROOT, ".build-peers", "bin", "python")),
                   help="python with PyTorch 2.x (default: the venv `make bench` creates)")
    p.add_argument("--busy", action="store_true", help="run a second copy of every process beside it")
    p.add_argument("--jax-python", default=os.environ.get("JAX_PYTHON"),
                   help="python that imports jax (default: the first of --torch2-python, python3 on PATH, /usr/bin/python3)")
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


def run_side(cmd, env_extra, label, busy=False):
    env = {k: v for k, v in os.environ.items() if k not in THREADING_ENV}
    env.update(env_extra)
    rival = None
    if busy:
        # the same process, set to run far longer than the measured one, started first
        rival = subprocess.Popen(cmd + ["--trials", "100000"], cwd=ROOT, env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    finally:
        if rival:
            rival.kill()
            rival.wait()
    lines = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
    if r.returncode != 0 or not lines:
        print(f"warning: {label} gave no result (exit {r.returncode}): {r.stderr.strip()[-400:]}", file=sys.stderr)
    return lines


def spread(xs):
    return f"{min(xs):,.0f}–{max(xs):,.0f}"


def build_probe():
    """Compiles peak_probe.c next to the Swift build; None (with a warning) when that fails."""
    out = os.path.join(ROOT, ".build", "peak_probe")
    cmd = ["cc", "-O2", "-mavx512f", "-fopenmp", os.path.join(HERE, "peak_probe.c"), "-o", out, "-ldnnl"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        print(f"warning: the hardware probe did not build ({' '.join(cmd)}): {r.stderr.strip()[-300:]}", file=sys.stderr)
        return None
    return out


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
    except OSError:
        return "unknown CPU"
    field = lambda k: next((l.split(":", 1)[1].strip() for l in info.splitlines() if l.startswith(k)), "?")
    return f"{field('model name')} (family {field('cpu family')}, model {field('model')}), {os.cpu_count()} cores"


def main():
    a = parse_args()
    workloads = [w for w in a.workloads.split(",") if w]
    sides = a.sides.split(",")
    common = ["--trials", str(a.trials), "--seconds", str(a.seconds), "--warmup", str(a.warmup)]

    torch_py = torch2_py = jax_py = None
    versions = {}
    if "torch" in sides:
        t = probe(a.torch_python, "torch")
        if not t:
            sys.exit(f"PyTorch does not import with {a.torch_python}: install Debian's python3-torch "
                     "(apt-get install python3-torch libopenblas0-openmp) or pass --torch-python / --sides")
        torch_py, versions["torch"] = a.torch_python, t[1]
        print(f"PyTorch {t[1]} runs with {t[0]}", file=sys.stderr)
        if not os.path.isdir(OPENBLAS_OMP):
            print(f"warning: {OPENBLAS_OMP} is missing (apt-get install libopenblas0-openmp); "
                  "PyTorch will not run at its best setting", file=sys.stderr)
    if "torch2" in sides:
        t = probe(a.torch2_python, "torch")
        if not t or not t[1].split(".")[0].isdigit() or int(t[1].split(".")[0]) < 2:
            sys.exit(f"PyTorch 2.x does not import with {a.torch2_python}: run `make bench` (it installs "
                     "torch and jax into .build-peers) or pass --torch2-python / --sides")
        torch2_py, versions["torch2"] = a.torch2_python, t[1]
        print(f"PyTorch {t[1]} runs with {t[0]}", file=sys.stderr)
    if "jax" in sides:
        for cand in [a.jax_python, a.torch2_python, shutil.which("python3"), "/usr/bin/python3"]:
            j = probe(cand, "jax")
            if j:
                jax_py, versions["jax"] = cand, j[1]
                print(f"JAX {j[1]} runs with {cand} ({j[0]})", file=sys.stderr)
                break
        if not jax_py:
            sys.exit("JAX does not import with any python found: run `make bench` "
                     "or pass --jax-python / --sides")

    swift_bin = None
    if "swift" in sides:
        if a.no_build:
            swift_bin = os.path.join(ROOT, ".build", "release", "distill-bench")
        else:
            swift_bin = build(a.target_cpu)
    probe_bin = build_probe()

    results = {}  # (side label, workload) -> {"trials": [...], "rss": [...]}
    peaks = []
    raw = open(a.raw, "w") if a.raw else None

    def add(label, w, lines):
        for l in lines:
            if raw:
                l = dict(l, label=label)
                raw.write(json.dumps(l) + "\n")
                raw.flush()
            if l.get("side") == "peak":
                peaks.append(l)
                continue
            r = results.setdefault((label, l["workload"]), {"trials": [], "rss": []})
            r["trials"] += l["trials"]
            r["rss"].append(l["peak_rss_mib"])

    def measure_peak():
        if probe_bin:
            add("peak", None, run_side([probe_bin], {"OMP_NUM_THREADS": str(os.cpu_count() or 1)}, "hardware probe"))

    measure_peak()
    for rnd in range(a.rounds):
        for w in workloads:
            print(f"round {rnd + 1}/{a.rounds}, workload {w}", file=sys.stderr, flush=True)
            if swift_bin:
                for label, env in SWIFT_SETTINGS:
                    add("swift: " + label, w, run_side([swift_bin, "--workloads", w] + common, env,
                                                       f"swift {w} ({label})", a.busy))
            if torch_py:
                for label, threads, env in TORCH_SETTINGS:
                    cmd = [torch_py, os.path.join(HERE, "torch_bench.py"), "--workloads", w,
                           "--threads", str(threads)] + common
                    add("torch: " + label, w, run_side(cmd, env, f"torch {w} ({label})", a.busy))
            if torch2_py:
                for label, threads, env, compiled in TORCH2_SETTINGS:
                    cmd = [torch2_py, os.path.join(HERE, "torch_bench.py"), "--workloads", w,
                           "--threads", str(threads)] + (["--compile"] if compiled else []) + common
                    prefix = "torch2c: " if compiled else "torch2: "
                    add(prefix + label, w, run_side(cmd, env, f"torch2 {w} ({label})", a.busy))
            if jax_py:
                add("jax", w, run_side([jax_py, os.path.join(HERE, "jax_bench.py"), "--workloads", w] + common,
                                       {}, f"jax {w}", a.busy))
        measure_peak()

    def med(label, w):
        r = results.get((label, w))
        return statistics.median(r["trials"]) if r else None

    def best(prefix, w):
        labels = [l for (l, ww) in results if ww == w and l.startswith(prefix)]
        b = max(labels, key=lambda l: med(l, w), default=None)
        return (b[len(prefix):], results[(b, w)]) if b else (None, None)

    fma = max((p["fma_gflops"] for p in peaks), default=None)
    sgemm = max((p["sgemm_gflops"] for p in peaks), default=None)
    print(f"\nCPU: {cpu_name()}. Peers: " + ", ".join(
        f"{n} {versions[k]}" for k, n in (("torch", "PyTorch"), ("torch2", "PyTorch"), ("jax", "JAX")) if k in versions)
        + (" Busy machine: a second copy of every process ran beside it." if a.busy else " Quiet machine."))
    if fma:
        print(f"Hardware limit (peak_probe, best of {len(peaks)} runs at {peaks[0]['threads']} threads): "
              f"AVX-512 FMA peak {fma:,.0f} GFLOP/s, oneDNN SGEMM {sgemm:,.0f} GFLOP/s "
              f"({sgemm / fma:.0%} of peak, n = {peaks[0]['sgemm_n']}).")
    print(f"\n{a.rounds} rounds × {a.trials} trials × {a.seconds} s per setting and workload, "
          "interleaved; images/s, median (min–max over all trials) at each side's best setting; "
          "share: images/s over the GEMM-bound limit (the workload's GEMM and convolution FLOPs at "
          "the SGEMM rate); peak RSS in MiB (max over processes)\n")
    print("| workload | Swift | PyTorch 1.x | PyTorch 2.x eager | PyTorch 2.x compiled | JAX "
          "| Swift ÷ better peer (target) | share of limit: Swift / best peer (target) | peak RSS Swift / best peer |")
    print("|---|---|---|---|---|---|---|---|---|")
    for w in workloads:
        cells = {}
        for key, prefix in (("swift", "swift: "), ("torch", "torch: "), ("torch2", "torch2: "), ("torch2c", "torch2c: ")):
            cells[key] = best(prefix, w)
        cells["jax"] = (None, results.get(("jax", w)))
        rate = {k: statistics.median(r["trials"]) for k, (_, r) in cells.items() if r and r["trials"]}

        def cell(k):
            label, r = cells[k]
            if not r or not r["trials"]:
                return "–"
            return f"{rate[k]:,.0f} ({spread(r['trials'])})" + (f", {label}" if label else "")
        peer_keys = [k for k in ("torch", "torch2", "torch2c", "jax") if k in rate]
        best_peer = max(peer_keys, key=lambda k: rate[k], default=None)
        target = f" ({TARGETS[w]}×)" if w in TARGETS else ""
        ratio = f"{rate['swift'] / rate[best_peer]:.2f}×{target}" if "swift" in rate and best_peer else "–"
        if w == "f" and "swift" in rate and "torch2c" in rate:
            ratio += f"; ÷ 2.x compiled {rate['swift'] / rate['torch2c']:.2f}×"
        share = "–"
        if sgemm and "swift" in rate:
            limit = sgemm * 1e9 / gemm_flops(w)
            share = f"{rate['swift'] / limit:.0%}" + (f" / {rate[best_peer] / limit:.0%}" if best_peer else "")
            share += f" ({SHARE_TARGETS[w]:.0%})" if w in SHARE_TARGETS else ""
        rss = " / ".join(f"{max(cells[k][1]['rss']):.0f}" if k and cells[k][1] else "–" for k in ("swift", best_peer))
        print(f"| {NAMES[w]} | {cell('swift')} | {cell('torch')} | {cell('torch2')} | {cell('torch2c')} | {cell('jax')} "
              f"| {ratio} | {share} | {rss} |")
    print("\nEvery setting tried (median images/s):")
    for w in workloads:
        parts = [f"{l}: {med(l, w):,.0f}" for (l, ww) in sorted(results) if ww == w and ":" in l]
        if parts:
            print(f"- {w}: " + "; ".join(parts))
    if raw:
        raw.close()


if __name__ == "__main__":
    main()
