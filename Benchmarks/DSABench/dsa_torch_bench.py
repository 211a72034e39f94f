"""PyTorch counterpart of DSABench: one DSA augmentation of a [100, 1, 28, 28] batch (draw, forward,
backward to the images) with the reference's formulas (VICO-UoE/DatasetCondensation utils.py,
Siamese: one draw shared by the batch), per transform group and all six in sequence.
Run: /usr/bin/python3 Benchmarks/DSABench/dsa_torch_bench.py [--threads 1] [--trials 200]"""
import argparse, math, time, warnings
import torch
import torch.nn.functional as F

warnings.simplefilter("ignore")
ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--trials", type=int, default=200)
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
N, C, H, W = 100, 1, 28, 28
x0 = torch.rand(N, C, H, W)
proj = torch.rand(N, C, H, W) * 2 - 1
r = lambda: torch.rand(1).item()

def color(x):
    x = x + (r() - 0.5) * 1.0
    m = x.mean(dim=1, keepdim=True); x = (x - m) * (r() * 2.0) + m
    m = x.mean(dim=[1, 2, 3], keepdim=True); return (x - m) * (r() + 0.5) + m
def crop(x):
    s = int(H * 0.125 + 0.5)
    tx, ty = torch.randint(-s, s + 1, (1,)).item(), torch.randint(-s, s + 1, (1,)).item()
    gb, gx, gy = torch.meshgrid(torch.arange(N), torch.arange(H), torch.arange(W), indexing="ij")
    gx = torch.clamp(gx + tx + 1, 0, H + 1); gy = torch.clamp(gy + ty + 1, 0, W + 1)
    return F.pad(x, [1, 1, 1, 1]).permute(0, 2, 3, 1).contiguous()[gb, gx, gy].permute(0, 3, 1, 2)
def cutout(x):
    cs = int(H * 0.5 + 0.5)
    ox, oy = torch.randint(0, H + (1 - cs % 2), (1,)).item(), torch.randint(0, W + (1 - cs % 2), (1,)).item()
    mask = torch.ones(N, H, W)
    mask[:, max(ox - cs // 2, 0):min(ox - cs // 2 + cs, H), max(oy - cs // 2, 0):min(oy - cs // 2 + cs, W)] = 0
    return x * mask.unsqueeze(1)
def flip(x): return x.flip(3) if r() < 0.5 else x
def affine(x, t):
    theta = torch.tensor([t] * N, dtype=torch.float)
    return F.grid_sample(x, F.affine_grid(theta, x.shape))
def scale(x):
    sx, sy = r() * (1.2 - 1 / 1.2) + 1 / 1.2, r() * (1.2 - 1 / 1.2) + 1 / 1.2
    return affine(x, [[sx, 0, 0], [0, sy, 0]])
def rotate(x):
    t = (r() - 0.5) * 2 * 15 / 180 * math.pi
    return affine(x, [[math.cos(t), -math.sin(t), 0], [math.sin(t), math.cos(t), 0]])

groups = {"color": [color], "crop": [crop], "cutout": [cutout], "flip": [flip], "scale": [scale], "rotate": [rotate]}
groups["color_crop_cutout_flip_scale_rotate (M)"] = [color, crop, cutout, flip, scale, rotate]
for name, fs in groups.items():
    times = []
    for k in range(a.trials + 5):
        x = x0.clone().requires_grad_(True)
        t0 = time.perf_counter()
        y = x
        for f in fs: y = f(y)
        (y * proj).sum().backward()
        t1 = time.perf_counter()
        if k >= 5: times.append((t1 - t0) * 1e3)
    times.sort()
    q = lambda p: times[min(len(times) - 1, int(p * len(times)))]
    print("%s: median %.3f ms (p10 %.3f, p90 %.3f) over %d runs, torch %s, %d thread(s)" % (name, q(0.5), q(0.1), q(0.9), len(times), torch.__version__, a.threads))
