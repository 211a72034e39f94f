#!/usr/bin/python3
"""Reference values for Tests/DistillTests/Feature*.swift, computed with PyTorch 1.13 (CPU, float32).

Run from the repository root:  /usr/bin/python3 Tests/DistillTests/Fixtures/make_feature_fixtures.py
Writes feature_fixtures.json beside this script. Each case holds, as {"shape", "data"} tensors:
  student, teacher  - lists of feature maps (inputs, seeded here)
  state             - the adapters' state dict (PyTorch names), loaded into the Swift adapters
  loss              - the loss value
  grad_student      - d loss / d student feature, one per student tap
  grad_state        - d loss / d adapter parameter, by name
Cases "ft" also hold "paraphraser" (state) and "reconstruction" / "grad_paraphraser" for the
paraphraser stage. The formulas are written out below, independently of the Swift code, following
the papers and RepDistiller's distiller_zoo conventions stated in the Swift doc comments.
"""
import json
import math
import os
import torch
import torch.nn as nn
import torch.nn.functional as F
from fixture_common import Paraphraser, Translator, case, match, normalize, perturb, state_of, t

torch.manual_seed(2024)
torch.set_num_threads(1)


cases = {}

# FitNets: 1x1 conv regressor (maps) / linear (vectors), MSE over all elements; student pooled first.
reg = nn.ModuleList([nn.Conv2d(3, 4, 1)])
cases["fitnet_map"] = case([(2, 3, 4, 4)], [(2, 4, 2, 2)], reg,
                           lambda s, tt: F.mse_loss(reg[0](match(s[0], tt[0])[0]), tt[0]))
lin = nn.ModuleList([nn.Linear(5, 4)])
cases["fitnet_vec"] = case([(3, 5)], [(3, 4)], lin, lambda s, tt: F.mse_loss(lin[0](s[0]), tt[0]))


# Attention transfer: normalize(mean_c f^2) per sample, mean squared difference, summed over pairs.
def at_map(f):
    return normalize(f.pow(2).mean(1).view(f.shape[0], -1), 1)


def at_loss(s, tt):
    total = 0
    for a, b in zip(s, tt):
        a, b = match(a, b)
        total = total + (at_map(a) - at_map(b)).pow(2).mean()
    return total


cases["at"] = case([(2, 3, 4, 4), (2, 2, 4, 4)], [(2, 5, 4, 4), (2, 3, 2, 2)], None, at_loss)

# Activation boundaries: connector (1x1 conv + BN, identity when channels agree), hinge with margin 1,
# layer weights 2^(l-(L-1)), divided by the batch size.
conn = nn.ModuleList([nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4)), nn.Identity()])
perturb(conn)


def ab_loss(s, tt, m=1.0):
    total = 0
    n = len(s)
    for l, (a, b) in enumerate(zip(s, tt)):
        a, b = match(a, b)
        x = conn[l](a)
        h = ((x + m) ** 2 * ((x > -m) & (b <= 0)).float() + (x - m) ** 2 * ((x <= m) & (b > 0)).float()).sum()
        total = total + h * 2.0 ** (l - (n - 1)) / x.shape[0]
    return total


cases["ab"] = case([(2, 3, 2, 2), (2, 2, 4, 4)], [(2, 4, 2, 2), (2, 2, 2, 2)], conn, ab_loss)


# FSP: G = top · bottomᵀ / (H·W) over consecutive taps (larger map of a pair pooled), MSE per pair, summed.
def fsp(maps):
    out = []
    for k in range(len(maps) - 1):
        b, u = match(maps[k], maps[k + 1])
        b = b.reshape(b.shape[0], b.shape[1], -1)
        u = u.reshape(u.shape[0], u.shape[1], -1)
        out.append(torch.bmm(u, b.transpose(1, 2)) / b.shape[2])
    return out


cases["fsp"] = case([(2, 3, 4, 4), (2, 4, 2, 2), (2, 2, 2, 2)], [(2, 3, 2, 2), (2, 4, 2, 2), (2, 2, 1, 1)], None,
                    lambda s, tt: sum((a - b).pow(2).mean() for a, b in zip(fsp(s), fsp(tt))))


# Factor transfer: paraphraser and translator (fixture_common); factor =
# per-sample L2-normalised flattened encoder output; L1 mean.
para, trans = Paraphraser(4, 2), Translator(3, 2)
perturb(trans)


def ft_factor(f):
    return normalize(f.reshape(f.shape[0], -1), 1)


def ft_loss(s, tt):
    with torch.no_grad():
        ft = para.encoder(tt[0])
    fs = trans.encoder(s[0])
    fs, ft = match(fs, ft)
    return (ft_factor(fs) - ft_factor(ft)).abs().mean()


cases["ft"] = case([(2, 3, 4, 4)], [(2, 4, 2, 2)], trans, ft_loss)
cases["ft"]["paraphraser"] = state_of(para)
teacher_ft = torch.tensor(cases["ft"]["teacher"][0]["data"]).reshape(2, 4, 2, 2)
rec = F.mse_loss(para.decoder(para.encoder(teacher_ft)), teacher_ft)
rec.backward()
cases["ft"]["reconstruction"] = float(rec.item())
cases["ft"]["grad_paraphraser"] = {k: t(p.grad) for k, p in para.named_parameters()}


# VID: bias-free 1x1 conv regressor (mid = teacher channels), variance softplus(alpha) + 1e-5,
# mean over all elements of 0.5 * ((t - mu)^2 / var + log var).
class Estimator(nn.Module):
    def __init__(self, cs, cm, ct, init_var=5.0, eps=1e-5):
        super().__init__()
        self.regressor = nn.Sequential(nn.Conv2d(cs, cm, 1, bias=False), nn.ReLU(), nn.Conv2d(cm, cm, 1, bias=False),
                                       nn.ReLU(), nn.Conv2d(cm, ct, 1, bias=False))
        self.log_scale = nn.Parameter(math.log(math.exp(init_var - eps) - 1.0) * torch.ones(ct))


est = nn.ModuleList([Estimator(3, 4, 4), Estimator(2, 3, 3)])
with torch.no_grad():
    for e in est:
        e.log_scale.add_(torch.rand(e.log_scale.shape) * 2 - 1 - 3.0)  # variances near softplus(2 ± 1)


def vid_loss(s, tt, eps=1e-5):
    total = 0
    for e, a, b in zip(est, s, tt):
        a, b = match(a, b)
        mu = e.regressor(a)
        var = (F.softplus(e.log_scale) + eps).view(1, -1, 1, 1)
        total = total + (0.5 * ((mu - b) ** 2 / var + torch.log(var))).mean()
    return total


cases["vid"] = case([(2, 3, 4, 4), (2, 2, 2, 2)], [(2, 4, 2, 2), (2, 3, 2, 2)], est, vid_loss)
# the default init, to check the Swift initial log_scale
cases["vid"]["init_log_scale"] = math.log(math.exp(5.0 - 1e-5) - 1.0)


# NST: per-channel position vectors, L2-normalised; squared MMD with k(x, y) = (x.y)^2, means over (n, i, j).
def poly_mean(a, b):
    return torch.bmm(a, b.transpose(1, 2)).pow(2).mean()


def nst_loss(s, tt):
    total = 0
    for a, b in zip(s, tt):
        a, b = match(a, b)
        a = normalize(a.reshape(a.shape[0], a.shape[1], -1), 2)
        b = normalize(b.reshape(b.shape[0], b.shape[1], -1), 2)
        total = total + poly_mean(b, b).detach() + poly_mean(a, a) - 2 * poly_mean(a, b)
    return total


cases["nst"] = case([(2, 3, 4, 4)], [(2, 4, 2, 2)], None, nst_loss)


# PKT: cosine-similarity conditional probabilities, KL averaged over N^2 entries, eps = 1e-7.
def pkt_probs(x, eps=1e-7):
    x = x.reshape(x.shape[0], -1)
    x = x / (x.norm(dim=1, keepdim=True) + eps)
    k = (x @ x.t() + 1.0) / 2.0
    return k / k.sum(dim=1, keepdim=True)


def pkt_loss(s, tt, eps=1e-7):
    ps, pt = pkt_probs(s[0]), pkt_probs(tt[0])
    return (pt * torch.log((pt + eps) / (ps + eps))).mean()


cases["pkt"] = case([(4, 3, 2, 2)], [(4, 5)], None, pkt_loss)

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "feature_fixtures.json")
with open(path, "w") as fh:
    json.dump({"generator": "make_feature_fixtures.py, torch " + torch.__version__, "cases": cases}, fh)
print("wrote", path, os.path.getsize(path), "bytes")
