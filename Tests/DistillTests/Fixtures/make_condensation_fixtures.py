"""Golden values for dataset condensation (CondensationGoldenTests.swift), from PyTorch 1.13:
instance norm as the reference ConvNet builds it (nn.GroupNorm(C, C, affine=True)), the DM loss
of main_DM.py (sum over classes of the squared distance between mean embeddings), and DC's
layer-wise gradient distance `distance_wb` / `match_loss(dis_metric='ours')` of utils.py, written
here from the formula. Run with /usr/bin/python3 (PyTorch 1.13); writes condensation_fixtures.json.
"""
import json
import os
import torch
import torch.nn as nn

from fixture_common import t

torch.manual_seed(15)


def distance_wb(gwr, gws):
    shape = gwr.shape
    if len(shape) == 4:
        gwr = gwr.reshape(shape[0], -1)
        gws = gws.reshape(shape[0], -1)
    elif len(shape) == 3:
        gwr = gwr.reshape(shape[0], -1)
        gws = gws.reshape(shape[0], -1)
    elif len(shape) == 1:
        return torch.tensor(0.0)
    return torch.sum(1 - torch.sum(gwr * gws, dim=-1) / (torch.norm(gwr, dim=-1) * torch.norm(gws, dim=-1) + 0.000001))


cases = {}

# Instance norm with a perturbed affine: forward and the gradients of sum(y * r).
x = torch.randn(3, 4, 5, 6, requires_grad=True)
gn = nn.GroupNorm(4, 4, affine=True)
with torch.no_grad():
    gn.weight.copy_(torch.rand(4) + 0.5)
    gn.bias.copy_(torch.randn(4))
r = torch.randn(3, 4, 5, 6)
y = gn(x)
(y * r).sum().backward()
cases["instancenorm"] = {"x": t(x), "weight": t(gn.weight), "bias": t(gn.bias), "r": t(r), "y": t(y),
                         "dx": t(x.grad), "dweight": t(gn.weight.grad), "dbias": t(gn.bias.grad)}

# DM loss over 3 classes: real embeddings [5, 7] and synthetic [2, 7] per class.
reals = [torch.randn(5, 7) for _ in range(3)]
syns = [torch.randn(2, 7, requires_grad=True) for _ in range(3)]
loss = sum(torch.sum((torch.mean(a, dim=0) - torch.mean(b, dim=0)) ** 2) for a, b in zip(reals, syns))
loss.backward()
cases["dm"] = {"real": [t(a) for a in reals], "syn": [t(b) for b in syns], "loss": float(loss),
               "dsyn": [t(b.grad) for b in syns]}

# DC distance over a conv weight [4, 3, 3, 3], a linear weight [5, 6] and a bias [4] (skipped).
shapes = [(4, 3, 3, 3), (5, 6), (4,)]
gr = [torch.randn(*s) for s in shapes]
gs = [torch.randn(*s, requires_grad=True) for s in shapes]
per = [distance_wb(a, b) for a, b in zip(gr, gs)]
total = sum(per)
total.backward()
cases["dc"] = {"real": [t(a) for a in gr], "syn": [t(b) for b in gs], "per": [float(p) for p in per],
               "loss": float(total), "dsyn": [t(b.grad if b.grad is not None else torch.zeros_like(b)) for b in gs]}

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "condensation_fixtures.json")
with open(out, "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f)
print("wrote", out)
