#!/usr/bin/python3
"""Reference values for Tests/DistillTests/ReviewKDTests.swift: ReviewKD's attention-based fusion
(ABF) and hierarchical context loss (HCL) (Chen, Liu, Zhao & Jia, "Distilling Knowledge via
Knowledge Review", CVPR 2021), computed with PyTorch 1.13 (CPU, float32).

Run from the repository root:  /usr/bin/python3 Tests/DistillTests/Fixtures/make_reviewkd_fixtures.py
Writes reviewkd_fixtures.json beside this script. Tensors are {"shape", "data"}.
  hcl.<name>: student, teacher (one map per stage), loss (Σ over stages of HCL, no adapters),
              grad_student — the loss alone, on maps of equal shapes
  cases.<name>: student, teacher (taps shallow → deep; a rank-2 entry is a pooled vector),
              state (the ABF weights, keyed as the Swift AdapterList: "<tap>.conv1.0.weight", ...),
              loss, grad_student, grad_state, mid (mid channels), options (the Swift registry options)
Written out from the paper (§3.3–3.4) and the ABF / hcl of the authors' CIFAR-100 code and of
mdistiller's ReviewKD distiller, independently of the Swift code: every ABF maps its student map
by 1×1 conv + BN to `mid` channels; all but the deepest fuse it with the (nearest-upsampled)
residual of the next deeper ABF through a 2-channel sigmoid attention from a 1×1 conv of both;
the fused map is resized (nearest) to the teacher's size if needed, kept as the residual, and a
3×3 conv + BN gives the teacher's channels. HCL: MSE plus MSE of (l×l) adaptive average pools for
l in 4, 2, 1 below the map's height, weights halving from 1, divided by the weight sum.
BatchNorm runs in training mode (batch statistics), as while distilling.
"""
import json
import os
import torch
import torch.nn as nn
import torch.nn.functional as F
from fixture_common import t, state_of, perturb

torch.manual_seed(2031)
torch.set_num_threads(1)


class Fusion(nn.Module):
    def __init__(self, cin, mid, cout, fuse):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid))
        self.conv2 = nn.Sequential(nn.Conv2d(mid, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.att_conv = nn.Sequential(nn.Conv2d(2 * mid, 2, 1), nn.Sigmoid()) if fuse else None

    def forward(self, x, res, out_hw):
        n, _, h, w = x.shape
        x = self.conv1(x)
        if self.att_conv is not None:
            res = F.interpolate(res, (h, w), mode="nearest")
            a = self.att_conv(torch.cat([x, res], 1))
            x = x * a[:, 0].view(n, 1, h, w) + res * a[:, 1].view(n, 1, h, w)
        if tuple(x.shape[2:]) != tuple(out_hw):
            x = F.interpolate(x, out_hw, mode="nearest")
        return self.conv2(x), x


def hcl(fs_list, ft_list):
    total = 0.0
    for fs, ft in zip(fs_list, ft_list):
        h = fs.shape[2]
        loss = F.mse_loss(fs, ft)
        weight, weights = 1.0, 1.0
        for level in (4, 2, 1):
            if level >= h:
                continue
            weight /= 2.0
            loss = loss + weight * F.mse_loss(F.adaptive_avg_pool2d(fs, (level, level)), F.adaptive_avg_pool2d(ft, (level, level)))
            weights += weight
        total = total + loss / weights
    return total


def as_map(x):
    return x.reshape(x.shape[0], x.shape[1], 1, 1) if x.dim() == 2 else x


def review(student, teacher, fusions):
    """Deepest tap first; returns the ABF outputs in tap order."""
    outs = [None] * len(student)
    res = None
    for i in reversed(range(len(student))):
        tm = as_map(teacher[i])
        outs[i], res = fusions[i](as_map(student[i]), res, tuple(tm.shape[2:]))
    return outs


def kaiming_a1(fusions):
    for f in fusions:
        nn.init.kaiming_uniform_(f.conv1[0].weight, a=1)
        nn.init.kaiming_uniform_(f.conv2[0].weight, a=1)


hcl_cases = {}
for name, shapes in [("sizes_8_4_1", [[3, 2, 8, 8], [3, 3, 4, 4], [3, 4, 1, 1]]), ("size_5", [[2, 3, 5, 5]]),
                     ("size_2_nonsquare", [[2, 2, 2, 3]])]:
    s = [torch.randn(*sh).requires_grad_(True) for sh in shapes]
    tt = [torch.randn(*sh) for sh in shapes]
    loss = hcl(s, tt)
    loss.backward()
    hcl_cases[name] = {"student": [t(x) for x in s], "teacher": [t(x) for x in tt], "loss": float(loss.item()),
                       "grad_student": [t(x.grad) for x in s]}

cases = {}
# (name, student shapes, teacher shapes, mid channels, registry options)
specs = [
    # the CIFAR ResNet layout in miniature: three stages and the pooled vector, student maps at the teacher's sizes
    ("resnet_like", [[4, 3, 8, 8], [4, 4, 4, 4], [4, 5, 2, 2], [4, 5]], [[4, 2, 8, 8], [4, 3, 4, 4], [4, 6, 2, 2], [4, 6]], 0, {}),
    # the student's maps half the teacher's (shufflev1 → resnet32x4 in the reference): every output is upsampled
    ("half_size", [[3, 4, 4, 4], [3, 6, 2, 2]], [[3, 2, 8, 8], [3, 3, 4, 4]], 3, {"mid_channels": "3"}),
    # non-integer resizes (6 → 4 fused, 3 → 5 out) and one tap
    ("odd_sizes", [[2, 3, 6, 6], [2, 4, 4, 4]], [[2, 2, 5, 5], [2, 3, 4, 4]], 4, {}),
    ("single", [[3, 4, 3, 3]], [[3, 5, 3, 3]], 4, {}),
]
for name, ss, ts, mid, options in specs:
    m = mid if mid > 0 else min(512, ss[-1][1])
    fusions = nn.ModuleList([Fusion(sh[1], m, tsh[1], i < len(ss) - 1) for i, (sh, tsh) in enumerate(zip(ss, ts))])
    kaiming_a1(fusions)
    perturb(fusions)
    for f in fusions:
        if f.att_conv is not None:
            with torch.no_grad():
                f.att_conv[0].bias.uniform_(-0.5, 0.5)
    state = state_of(fusions)
    s = [torch.randn(*sh).requires_grad_(True) for sh in ss]
    tt = [torch.randn(*sh) for sh in ts]
    loss = hcl(review(s, tt, fusions), [as_map(x) for x in tt])
    loss.backward()
    cases[name] = {"student": [t(x) for x in s], "teacher": [t(x) for x in tt], "state": state, "loss": float(loss.item()),
                   "grad_student": [t(x.grad) for x in s], "grad_state": {k: t(p.grad) for k, p in fusions.named_parameters()},
                   "mid": m, "options": options}

# PyTorch's nearest index rule (1.13, mode="nearest"): src = min(floor(dst · in/out), in − 1)
nearest = {}
for n_in, n_out in [(1, 8), (4, 8), (6, 4), (3, 5), (5, 3), (7, 7), (2, 7)]:
    x = torch.arange(float(n_in)).view(1, 1, n_in, 1)
    nearest[f"{n_in}_{n_out}"] = [int(v) for v in F.interpolate(x, (n_out, 1), mode="nearest").view(-1).tolist()]

out = {"torch_version": torch.__version__, "hcl": hcl_cases, "cases": cases, "nearest": nearest}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reviewkd_fixtures.json")
with open(path, "w") as f:
    json.dump(out, f)
print("wrote", path)
