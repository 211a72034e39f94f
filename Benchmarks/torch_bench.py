"""PyTorch side of the throughput benchmark (see DistillBench/main.swift for the workloads).

Run with the Debian PyTorch: /usr/bin/python3 Benchmarks/torch_bench.py --threads 2
Its best setting here also needs LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp
(see shared/BENCHMARKING.md); Benchmarks/run.py tries the settings and keeps the best.
"""
import os

import bench_common as bc


def main():
    args = bc.parse_args("PyTorch throughput benchmark",
                         lambda p: p.add_argument("--threads", type=int, default=2))
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    setting = {"threads": args.threads, "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""),
               "openblas_openmp": "openblas-openmp" in os.environ.get("LD_LIBRARY_PATH", "")}

    def batches(count, n):
        g = torch.Generator().manual_seed(args.seed)
        xs = [torch.rand(n, 1, 28, 28, generator=g) for _ in range(count)]
        ys = [torch.randint(0, 10, (n,), generator=g) for _ in range(count)]
        return xs, ys

    def mlp(dropout, hidden=1200):
        layers = [nn.Flatten(), nn.Linear(784, hidden), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(0.5))
        layers += [nn.Linear(hidden, hidden), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(0.5))
        layers.append(nn.Linear(hidden, 10))
        return nn.Sequential(*layers)

    def cnn():
        return nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))

    def train(model):
        xs, ys = batches(8, 128)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        model.train()
        i = [0]

        def step():
            k = i[0] % len(xs)
            i[0] += 1
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(xs[k]), ys[k])
            loss.backward()
            opt.step()
        return bc.measure(128, args, step)

    def distill(teacher, student, T=4.0, alpha=0.9):
        xs, ys = batches(8, 128)
        opt = torch.optim.SGD(student.parameters(), lr=0.01, momentum=0.9)
        teacher.eval()
        student.train()
        i = [0]

        def step():
            k = i[0] % len(xs)
            i[0] += 1
            with torch.no_grad():
                t = teacher(xs[k])
            s = student(xs[k])
            kl = F.kl_div(F.log_softmax(s / T, dim=1), F.softmax(t / T, dim=1), reduction="batchmean")
            loss = alpha * T * T * kl + (1 - alpha) * F.cross_entropy(s, ys[k])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return bc.measure(128, args, step)

    def infer(model):
        xs, _ = batches(4, 1024)
        model.eval()
        i = [0]

        def step():
            with torch.inference_mode():
                model(xs[i[0] % len(xs)])
            i[0] += 1
        return bc.measure(1024, args, step)

    for w in args.workloads:
        torch.manual_seed(args.seed)
        if w == "a":
            rates = train(mlp(False))
        elif w == "b":
            rates = train(mlp(True))
        elif w == "c":
            rates = train(cnn())
        elif w == "e":
            rates = distill(mlp(False), mlp(False, hidden=800))
        else:
            rates = infer(mlp(False))
        bc.report("torch", w, rates, setting=setting)


if __name__ == "__main__":
    main()
