"""PyTorch 1.13 counterpart of Benchmarks/UnrollBench: one outer iteration of unrolled dataset
distillation (Wang et al. 2018), K SGD steps on 100 synthetic images (10 per class) of 1x28x28,
LeNet-5 (ReLU, max pooling) as a functional forward with weights as tensors, gradients with
torch.autograd.grad(create_graph=True), then the real-batch (256) loss's gradient with respect to
images and raw step sizes. Prints the median of 5 iterations after 1 warm-up, and peak RSS.

    /usr/bin/python3 Benchmarks/unroll_torch.py <K> [threads]
"""
import math
import resource
import sys
import time

import torch
import torch.nn.functional as F


def lenet_params(gen):
    def lin(o, i):
        b = 1 / math.sqrt(i)
        return [(torch.rand(o, i, generator=gen) * 2 - 1) * b, (torch.rand(o, generator=gen) * 2 - 1) * b]

    def conv(o, i, k):
        b = 1 / math.sqrt(i * k * k)
        return [(torch.rand(o, i, k, k, generator=gen) * 2 - 1) * b, (torch.rand(o, generator=gen) * 2 - 1) * b]

    return conv(6, 1, 5) + conv(16, 6, 5) + lin(120, 400) + lin(84, 120) + lin(10, 84)


def lenet(x, w):
    h = F.max_pool2d(F.relu(F.conv2d(x, w[0], w[1], padding=2)), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, w[2], w[3])), 2)
    h = F.relu(F.linear(h.flatten(1), w[4], w[5]))
    h = F.relu(F.linear(h, w[6], w[7]))
    return F.linear(h, w[8], w[9])


def outer(theta0, images, labels, raw, real_x, real_y):
    w = [t.detach().requires_grad_() for t in theta0]
    lrs = F.softplus(raw)
    for k in range(raw.shape[0]):
        loss = F.cross_entropy(lenet(images, w), labels)
        g = torch.autograd.grad(loss, w, create_graph=True)
        w = [p - lrs[k] * gp for p, gp in zip(w, g)]
    final = F.cross_entropy(lenet(real_x, w), real_y)
    return torch.autograd.grad(final, [images, raw])


def main():
    K = int(sys.argv[1])
    torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else 2)
    gen = torch.Generator().manual_seed(1)
    theta0 = lenet_params(gen)
    labels = torch.arange(10).repeat_interleave(10)
    images = torch.randn(100, 1, 28, 28, generator=gen)
    real_x = torch.rand(256, 1, 28, 28, generator=gen)
    real_y = torch.arange(256) % 10
    raw0 = torch.full((K,), math.log(math.expm1(0.02)))
    times = []
    for rep in range(6):
        t0 = time.perf_counter()
        x = images.clone().requires_grad_()
        r = raw0.clone().requires_grad_()
        gx, gr = outer(theta0, x, labels, r, real_x, real_y)
        assert torch.isfinite(gx).all()
        if rep > 0:
            times.append(time.perf_counter() - t0)
    times.sort()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("torch K=%d: %.1f ms per outer iteration (median of 5, min %.1f), peak RSS %.0f MiB, %d threads"
          % (K, times[2] * 1e3, times[0] * 1e3, rss, torch.get_num_threads()))


if __name__ == "__main__":
    main()
