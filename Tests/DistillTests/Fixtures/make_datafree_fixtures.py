"""Golden values of the data-free loss terms (Sources/Distill/DataFree/DataFreeLoss.swift), written
from the reference formulas: NVlabs/DeepInversion (r_feature hook, get_image_prior_losses, the ADI
competition term) and huawei-noah DAFL (DAFL-train.py's one-hot, information-entropy, activation
and kd losses). Run with PyTorch 1.13: /usr/bin/python3 make_datafree_fixtures.py
"""
import json
import torch
import torch.nn.functional as F
from fixture_common import t

torch.manual_seed(15)
out = {}


def grad_case(name, inputs, fn):
    xs = [x.clone().requires_grad_(True) for x in inputs]
    loss = fn(*xs)
    loss.backward()
    out[name] = {"inputs": [t(x) for x in inputs], "loss": float(loss), "grads": [t(x.grad if x.grad is not None else torch.zeros_like(x)) for x in xs]}


# r_feature through a BatchNorm2d hook: x [4, 3, 5, 5], running statistics perturbed
rm = torch.randn(3) * 0.3
rv = torch.rand(3) + 0.5
def r_feature(x):
    nch = x.shape[1]
    mean = x.mean([0, 2, 3])
    var = x.permute(1, 0, 2, 3).contiguous().view([nch, -1]).var(1, unbiased=False)
    return torch.norm(rv - var, 2) + torch.norm(rm - mean, 2)
grad_case("r_feature", [torch.randn(4, 3, 5, 5) * 1.3 + 0.2], r_feature)
out["r_feature"]["running_mean"] = t(rm)
out["r_feature"]["running_var"] = t(rv)


def priors(x):
    d1 = x[:, :, :, :-1] - x[:, :, :, 1:]
    d2 = x[:, :, :-1, :] - x[:, :, 1:, :]
    d3 = x[:, :, 1:, :-1] - x[:, :, :-1, 1:]
    d4 = x[:, :, :-1, :-1] - x[:, :, 1:, 1:]
    l2 = torch.norm(d1) + torch.norm(d2) + torch.norm(d3) + torch.norm(d4)
    l1 = (d1.abs() / 255.0).mean() + (d2.abs() / 255.0).mean() + (d3.abs() / 255.0).mean() + (d4.abs() / 255.0).mean()
    return l1 * 255.0, l2
x_tv = torch.randn(2, 2, 5, 6)
grad_case("tv_l1", [x_tv], lambda x: priors(x)[0])
grad_case("tv_l2", [x_tv], lambda x: priors(x)[1])
grad_case("l2_prior", [x_tv], lambda x: torch.norm(x.view(x.shape[0], -1), dim=1).mean())

kl = torch.nn.KLDivLoss(reduction="batchmean")
def competition(zs, zt, paper=False):
    T = 3.0
    P = F.softmax(zs / T, dim=1)
    Q = F.softmax(zt / T, dim=1)
    M = 0.5 * (P + Q)
    P = torch.clamp(P, 0.01, 0.99)
    Q = torch.clamp(Q, 0.01, 0.99)
    M = torch.clamp(M, 0.01, 0.99)
    if paper:
        js = 0.5 * kl(torch.log(M), P) + 0.5 * kl(torch.log(M), Q)
    else:
        js = 0.5 * kl(torch.log(P), M) + 0.5 * kl(torch.log(Q), M)
    return 1.0 - torch.clamp(js, 0.0, 1.0)
zs, zt = torch.randn(4, 5) * 3, torch.randn(4, 5) * 3
grad_case("adi_js", [zs, zt], lambda a, b: competition(a, b))
grad_case("adi_js_paper", [zs, zt], lambda a, b: competition(a, b, paper=True))

logits = torch.randn(6, 4) * 2
grad_case("dafl_one_hot", [logits], lambda z: F.cross_entropy(z, z.data.max(1)[1]))
def ie(z):
    p = F.softmax(z, dim=1).mean(dim=0)
    return (p * torch.log10(p)).sum()
grad_case("dafl_information_entropy", [logits], ie)
grad_case("dafl_activation", [torch.relu(torch.randn(6, 7)) + 0.05], lambda f: -f.abs().mean())
def kdloss(y, teacher_scores):
    p = F.log_softmax(y, dim=1)
    q = F.softmax(teacher_scores, dim=1)
    return F.kl_div(p, q, reduction="sum") / y.shape[0]
grad_case("dafl_kd", [torch.randn(6, 4), logits], lambda y, z: kdloss(y, z.detach()))

# Lopes et al.'s reconstruction objectives (iRapha/replayed_distillation,
# _optimization_objectives.py): top_layer = mean((relu(s) - relu(a))^2) on logits / T; all_layers
# sums (1 / units) * that mean over every layer. Inputs: the activations (top [4, 3], a conv map
# [4, 2, 3, 3], a vector layer [4, 5]), then the sampled targets, flattened per example.
def lopes_term(a, s):
    return torch.mean(torch.pow(torch.relu(s.reshape(a.shape)) - torch.relu(a), 2))
acts = [torch.randn(4, 3) * 2, torch.randn(4, 2, 3, 3), torch.randn(4, 5)]
draws = [torch.randn(4, 3) * 2, torch.randn(4, 18), torch.randn(4, 5)]
grad_case("lopes_top_layer", [acts[0], draws[0]], lambda a, s: lopes_term(a, s))
grad_case("lopes_all_layers", acts + draws,
          lambda a0, a1, a2, s0, s1, s2: sum(lopes_term(a, s) / (a[0].numel()) for a, s in [(a0, s0), (a1, s1), (a2, s2)]))

with open("datafree_fixtures.json", "w") as f:
    json.dump(out, f, indent=1)
print("wrote", ", ".join(out))
