#!/usr/bin/python3
"""Reference values for Tests/DistillTests/NewMethodsGoldenTests.swift: the methods of issue #14
published since 2021 (KD++'s ND loss, CTKD, MLKD), computed with PyTorch 1.13 (CPU, float32).

Run from the repository root:  /usr/bin/python3 Tests/DistillTests/Fixtures/make_new_methods_fixtures.py
Writes new_methods_fixtures.json beside this script. Tensors are {"shape", "data"}.
  nd.batchK (K = 0, 1): student, teacher [6, 5], labels [6] (3 classes), loss, grad_student, for two
                 batches in order; the class centres of batch k are the means of the teacher
                 embeddings of batches 0..k by class (the Swift loss's running means).
  ctkd.student, ctkd.teacher [5, 4]; ctkd.theta [1]; ctkd.cases.<name>: lambda, loss, grad_student,
                 grad_theta (through the gradient reversal), tau; ctkd.curriculum: λ at reference epochs 0..12
                 (t_start 1, t_end 20, decay 0 → −1 over 10 epochs)
  mlkd.student, mlkd.teacher [6, 5]; mlkd.cases.<name>: temperatures, form, loss, grad_student,
                 mask_rows, mask_classes (the reference's median-confidence mask fractions)
The ND formula is written out from the paper and the authors' DirectNormLoss
(CIFAR/utils.py of WangYZ1608/Knowledge-Distillation-via-ND), independently of the Swift code:
  L = mean_i (1 - <s_i, c_{y_i}/|c_{y_i}|> / max(|s_i|, |t_i|)).
"""
import json
import math
import os
import torch
import torch.nn.functional as F
from fixture_common import t

torch.manual_seed(2027)
torch.set_num_threads(1)


def nd_loss(s, te, labels, centres):
    total = 0.0
    for i in range(s.shape[0]):
        c = centres[labels[i]]
        e = c / c.norm(p=2)
        m = max(s[i].norm(p=2), te[i].norm(p=2))   # Python's max: the student's norm on a tie
        total = total + (1 - torch.dot(s[i], e) / m)
    return total / s.shape[0]


batches = []
seen_t, seen_y = [], []
for k in range(2):
    # rows scaled so that some student norms exceed the teacher's and some do not
    s = (torch.randn(6, 5) * torch.tensor([[0.5], [2.0], [1.0], [3.0], [0.3], [1.5]])).requires_grad_(True)
    te = torch.randn(6, 5) * 1.2 + 0.3
    labels = torch.tensor([0, 1, 2, 1, 0, 2]) if k == 0 else torch.tensor([2, 2, 0, 1, 1, 0])
    seen_t.append(te); seen_y.append(labels)
    allt, ally = torch.cat(seen_t), torch.cat(seen_y)
    centres = torch.stack([allt[ally == c].mean(0) for c in range(3)])
    loss = nd_loss(s, te, labels, centres)
    loss.backward()
    batches.append({"student": t(s), "teacher": t(te), "labels": labels.tolist(), "loss": float(loss.item()),
                    "grad_student": t(s.grad), "centres": t(centres)})



# CTKD (Li et al., AAAI 2023): τ = t_start + t_end·σ(GRL_λ(θ)), L = τ²·KL(p_t ‖ p_s) batchmean.
class Reverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, lam):
        ctx.lam = lam
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        return ctx.lam * g, None


def curriculum(e, vmax=0.0, vmin=-1.0, loops=10):
    i = min(max(e, 0), loops)
    return (math.cos(i * math.pi / loops) + 1.0) * 0.5 * (vmax - vmin) + vmin


zs0 = torch.randn(5, 4) * 2
zt = torch.randn(5, 4) * 2
theta0 = torch.tensor([0.3])
ctkd_cases = {}
for name, lam in [("lambda_1", 1.0), ("epoch_3", curriculum(3)), ("epoch_12", curriculum(12))]:
    zs = zs0.clone().requires_grad_(True)
    theta = theta0.clone().requires_grad_(True)
    tau = 1.0 + 20.0 * torch.sigmoid(Reverse.apply(theta, lam))
    loss = F.kl_div(F.log_softmax(zs / tau, dim=1), F.softmax(zt / tau, dim=1), reduction="batchmean") * tau * tau
    loss = loss.sum()
    loss.backward()
    ctkd_cases[name] = {"lambda": lam, "loss": float(loss.item()), "grad_student": t(zs.grad), "grad_theta": float(theta.grad.item()),
                        "tau": float(tau.item())}
ctkd = {"student": t(zs0), "teacher": t(zt), "theta": t(theta0), "cases": ctkd_cases,
        "curriculum": [curriculum(e) for e in range(13)]}



# MLKD (Jin, Wang & Lin, CVPR 2023), one view (weak = strong = the batch).
import numpy as np


def mlkd(zs, zt, temps, form):
    n, c = zs.shape
    pt1 = F.softmax(zt, dim=1)
    conf = pt1.max(dim=1).values
    mr = (conf <= float(np.percentile(conf.numpy(), 50))).float().mean()
    cconf = pt1.sum(dim=0)
    mc = (cconf <= float(np.percentile(cconf.numpy(), 50))).float().mean()
    total = 0.0
    for T in temps:
        ps, pt = F.softmax(zs / T, dim=1), F.softmax(zt / T, dim=1)
        kd = F.kl_div(F.log_softmax(zs / T, dim=1), pt, reduction="none").sum(1).mean() * T * T
        bc = ((pt @ pt.t() - ps @ ps.t()) ** 2).sum() / n
        cc = ((pt.t() @ pt - ps.t() @ ps) ** 2).sum() / c
        if form == "code":
            total = total + kd * mr + kd + cc * mc + bc * mr
        else:
            total = total + kd + bc + cc
    return total, float(mr), float(mc)


mzs0, mzt = torch.randn(6, 5) * 2, torch.randn(6, 5) * 2
mlkd_cases = {}
for name, temps, form in [("code", [4.0, 3.0, 5.0, 2.0, 6.0], "code"), ("paper", [4.0, 3.0, 5.0, 2.0, 6.0], "paper"), ("code_t2_4", [2.0, 4.0], "code")]:
    zs = mzs0.clone().requires_grad_(True)
    loss, mr, mc = mlkd(zs, mzt, temps, form)
    loss.backward()
    mlkd_cases[name] = {"temperatures": temps, "form": form, "loss": float(loss.item()), "grad_student": t(zs.grad),
                        "mask_rows": mr, "mask_classes": mc}

out = {"torch_version": torch.__version__, "mlkd": {"student": t(mzs0), "teacher": t(mzt), "cases": mlkd_cases}, "nd": {f"batch{k}": b for k, b in enumerate(batches)}, "ctkd": ctkd}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "new_methods_fixtures.json")
with open(path, "w") as f:
    json.dump(out, f)
print("wrote", path)
