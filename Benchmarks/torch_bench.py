"""PyTorch side of the throughput benchmark (see DistillBench/main.swift for the workloads).

Run with the Debian PyTorch: /usr/bin/python3 Benchmarks/torch_bench.py --threads 2
Its best setting here also needs LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp
(see shared/BENCHMARKING.md); Benchmarks/run.py tries the settings and keeps the best.
With PyTorch 2.x, --compile runs the model (and the optimizer step) through torch.compile; the
warm-up starts after the first step, so compilation is not timed.
"""
import os

import bench_common as bc


def extra(p):
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--compile", action="store_true", help="torch.compile the model and optimizer step (PyTorch 2.x)")


def main():
    args = bc.parse_args("PyTorch throughput benchmark", extra)
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    setting = {"threads": args.threads, "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""),
               "openblas_openmp": "openblas-openmp" in os.environ.get("LD_LIBRARY_PATH", ""),
               "compiled": args.compile, "version": torch.__version__}
    compiled = torch.compile if args.compile else (lambda f: f)

    def batches(count, n, shape=(1, 28, 28)):
        g = torch.Generator().manual_seed(args.seed)
        xs = [torch.rand(n, *shape, generator=g) for _ in range(count)]
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

    class Block(nn.Module):
        """RepDistiller's BasicBlock: conv3x3-BN-ReLU-conv3x3-BN + shortcut (1x1 conv + BN), ReLU."""
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.downsample = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                               if stride != 1 or cin != cout else None)

        def forward(self, x):
            out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
            return F.relu(out + (self.downsample(x) if self.downsample is not None else x))

    class ResNet20(nn.Module):
        def __init__(self, channels):
            super().__init__()
            self.conv1 = nn.Conv2d(channels, 16, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(16)
            blocks, cin = [], 16
            for cout, stride in ((16, 1), (32, 2), (64, 2)):
                for j in range(3):
                    blocks.append(Block(cin, cout, stride if j == 0 else 1))
                    cin = cout
            self.blocks = nn.Sequential(*blocks)
            self.fc = nn.Linear(64, 10)

        def forward(self, x):
            h = self.blocks(F.relu(self.bn1(self.conv1(x))))
            return self.fc(torch.flatten(F.adaptive_avg_pool2d(h, 1), 1))

    def train(model, shape=(1, 28, 28), weight_decay=0.0):
        xs, ys = batches(8, 128, shape)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=weight_decay)
        model.train()
        forward = compiled(model)
        update = compiled(opt.step)
        i = [0]

        def step():
            k = i[0] % len(xs)
            i[0] += 1
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(forward(xs[k]), ys[k])
            loss.backward()
            update()
        return bc.measure(128, args, step)

    def distill(teacher, student, T=4.0, alpha=0.9):
        xs, ys = batches(8, 128)
        opt = torch.optim.SGD(student.parameters(), lr=0.01, momentum=0.9)
        teacher.eval()
        student.train()
        teacher_f, student_f, update = compiled(teacher), compiled(student), compiled(opt.step)
        i = [0]

        def step():
            k = i[0] % len(xs)
            i[0] += 1
            with torch.no_grad():
                t = teacher_f(xs[k])
            s = student_f(xs[k])
            kl = F.kl_div(F.log_softmax(s / T, dim=1), F.softmax(t / T, dim=1), reduction="batchmean")
            loss = alpha * T * T * kl + (1 - alpha) * F.cross_entropy(s, ys[k])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            update()
        return bc.measure(128, args, step)

    def infer(model):
        xs, _ = batches(4, 1024)
        model.eval()
        forward = compiled(model)
        # inference_mode is eager's fastest; compiled graphs run under no_grad
        mode = torch.no_grad if args.compile else torch.inference_mode
        i = [0]

        def step():
            with mode():
                forward(xs[i[0] % len(xs)])
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
        elif w == "f":
            rates = train(ResNet20(3), (3, 32, 32), weight_decay=5e-4)
        elif w == "g":
            rates = train(ResNet20(1), (1, 28, 28), weight_decay=5e-4)
        else:
            rates = infer(mlp(False))
        bc.report("torch", w, rates, setting=setting)


if __name__ == "__main__":
    main()
