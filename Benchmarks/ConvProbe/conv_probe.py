#!/usr/bin/python3
"""PyTorch twin of ConvProbe/main.swift. Best setting here (BENCHMARKING.md):
LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp /usr/bin/python3 conv_probe.py THREADS [TRIALS]"""
import sys
import time

import torch
import torch.nn.functional as F

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
trials = int(sys.argv[2]) if len(sys.argv) > 2 else 20
torch.set_num_threads(threads)
torch.manual_seed(1)


def timed(body):
    for _ in range(3):
        body()
    out = []
    for _ in range(trials):
        t = time.perf_counter()
        body()
        out.append((time.perf_counter() - t) * 1e3)
    return out


x2 = (torch.rand(128, 32, 14, 14) * 2 - 1).requires_grad_()
w2 = (torch.rand(64, 32, 3, 3) * 0.2 - 0.1).requires_grad_()
b2 = torch.zeros(64, requires_grad=True)
seed2 = torch.rand(128, 64, 14, 14) * 2 - 1


def fwd():
    with torch.no_grad():
        F.conv2d(x2, w2, b2, padding=1)


def fb():
    y = F.conv2d(x2, w2, b2, padding=1)
    torch.autograd.grad(y, [x2, w2, b2], seed2)


params = [torch.rand(32, 1, 3, 3) * 0.6 - 0.3, torch.zeros(32), torch.rand(64, 32, 3, 3) * 0.2 - 0.1, torch.zeros(64),
          torch.rand(3136, 128) * 0.04 - 0.02, torch.zeros(128), torch.rand(128, 10) * 0.2 - 0.1, torch.zeros(10)]
params = [p.requires_grad_() for p in params]
images = torch.rand(128, 1, 28, 28)
labels = torch.arange(128) % 10


def step():
    p = params
    h = F.max_pool2d(F.relu(F.conv2d(images, p[0], p[1], padding=1)), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, p[2], p[3], padding=1)), 2)
    h = F.relu(h.reshape(128, 3136) @ p[4] + p[5])
    loss = F.cross_entropy(h @ p[6] + p[7], labels)
    gs = torch.autograd.grad(loss, p)
    with torch.no_grad():
        for q, g in zip(p, gs):
            q.sub_(0.01 * g)


def show(name, xs):
    s = sorted(xs)
    print(f"{name}: median {s[len(s) // 2]:.2f} ms (min {s[0]:.2f}, max {s[-1]:.2f})")


a, b, c = timed(fwd), timed(fb), timed(step)
show(f"torch{threads} conv2 forward", a)
show(f"torch{threads} conv2 forward+backward", b)
show(f"torch{threads} cnn train step", c)
print(f"torch{threads} cnn img/s: {int(128 / sorted(c)[len(c) // 2] * 1e3)}")
