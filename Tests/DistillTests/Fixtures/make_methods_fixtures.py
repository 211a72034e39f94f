#!/usr/bin/python3
"""Reference values for Tests/DistillTests/MethodOptionsGoldenTests.swift: the faithful-adapter
options (FitNets regressors, attention transfer's paper form, factor transfer's RepDistiller factor)
and the logit options and methods (Hinton without T², logit standardisation, DIST), computed with
PyTorch 1.13 (CPU, float32).

Run from the repository root:  /usr/bin/python3 Tests/DistillTests/Fixtures/make_methods_fixtures.py
Writes methods_fixtures.json beside this script. Tensors are {"shape", "data"}.
  cases.<key>: student, teacher (feature lists), state (adapter state dict, PyTorch names), loss,
               grad_student (one per tap), grad_state (by parameter name); "ft_repdistiller" also
               holds "paraphraser" (its state)
  logits.student, logits.teacher [6, 5], logits.labels [6]
  response.<key>.value / .grad   loss and d loss / d student logits
Each formula is written out below from the papers and the reference code named in the Swift method
cards (RepDistiller's ConvReg / FactorTransfer, torchdistill's AttentionTransferLoss mode 'paper' and
KDLoss, the DIST authors' DIST module, the logit-standardisation authors' normalize), independently
of the Swift code.
"""
import json
import os
import torch
import torch.nn as nn
import torch.nn.functional as F
from fixture_common import Paraphraser, Translator, case, dkd_loss, logit_case, match, normalize, perturb, state_of, t

torch.manual_seed(2026)
torch.set_num_threads(1)


cases = {}


# RepDistiller's ConvReg (models/util.py), use_relu=True.
class ConvReg(nn.Module):
    def __init__(self, s_shape, t_shape):
        super().__init__()
        _, s_c, s_h, s_w = s_shape
        _, t_c, t_h, t_w = t_shape
        if s_h == 2 * t_h:
            self.conv = nn.Conv2d(s_c, t_c, kernel_size=3, stride=2, padding=1)
        elif s_h * 2 == t_h:
            self.conv = nn.ConvTranspose2d(s_c, t_c, kernel_size=4, stride=2, padding=1)
        elif s_h >= t_h:
            self.conv = nn.Conv2d(s_c, t_c, kernel_size=(1 + s_h - t_h, 1 + s_w - t_w))
        else:
            raise NotImplementedError((s_h, t_h))
        self.bn = nn.BatchNorm2d(t_c)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


def fitnet_repdistiller(key, s_shape, t_shape):
    reg = nn.ModuleList([ConvReg(s_shape, t_shape)])
    perturb(reg)
    cases[key] = case([s_shape], [t_shape], reg, lambda s, tt: F.mse_loss(reg[0](s[0]), tt[0]))


fitnet_repdistiller("fitnet_rd_same", (2, 3, 4, 4), (2, 4, 4, 4))     # 1x1 conv
fitnet_repdistiller("fitnet_rd_down", (2, 3, 4, 4), (2, 4, 2, 2))     # 3x3 stride 2
fitnet_repdistiller("fitnet_rd_up", (2, 3, 2, 2), (2, 4, 4, 4))       # transposed 4x4 stride 2
fitnet_repdistiller("fitnet_rd_kernel", (2, 3, 5, 5), (2, 4, 3, 3))   # 3x3 valid conv (1 + 5 - 3)
# regressor=none: equal channels, larger map pooled, MSE.
cases["fitnet_none"] = case([(2, 3, 4, 4)], [(2, 3, 2, 2)], None, lambda s, tt: F.mse_loss(*match(s[0], tt[0])))


# Attention transfer, torchdistill mode 'paper': normalize(sum_c f^2) per sample,
# sum over layers of sum over samples of ||Q_s - Q_t||_2, divided by the batch size.
def at_paper(s, tt):
    total = 0
    for a, b in zip(s, tt):
        a, b = match(a, b)
        qa = normalize(a.pow(2).sum(1).flatten(1), 1)
        qb = normalize(b.pow(2).sum(1).flatten(1), 1)
        total = total + torch.norm(qa - qb, dim=1).sum()
    return total / s[0].shape[0]


cases["at_paper"] = case([(2, 3, 4, 4), (2, 2, 4, 4)], [(2, 5, 4, 4), (2, 3, 2, 2)], None, at_paper)


# Factor transfer with RepDistiller's FactorTransfer.factor: normalize(F^2 channel mean), L1 mean.
para, trans = Paraphraser(4, 2), Translator(3, 2)
perturb(trans)


def rd_factor(f):
    return normalize(f.pow(2).mean(1).view(f.size(0), -1), 1)


def ft_rd_loss(s, tt):
    with torch.no_grad():
        ft = para.encoder(tt[0])
    fs, ft = match(trans.encoder(s[0]), ft)
    return (rd_factor(fs) - rd_factor(ft)).abs().mean()


cases["ft_repdistiller"] = case([(2, 3, 4, 4)], [(2, 4, 2, 2)], trans, ft_rd_loss)
cases["ft_repdistiller"]["paraphraser"] = state_of(para)

# ---- logits ----
N, C = 6, 5
student = torch.randn(N, C) * 2
teacher = torch.randn(N, C) * 2 + 0.5
labels = torch.randint(0, C, (N,))


def standardize(z):
    # the logit-standardisation authors' normalize: unbiased std, 1e-7 added to it
    return (z - z.mean(dim=-1, keepdim=True)) / (1e-7 + z.std(dim=-1, keepdim=True))


def soft_kl(s, tt, T, t2=True, stand=False):
    if stand:
        s, tt = standardize(s), standardize(tt)
    kl = F.kl_div(F.log_softmax(s / T, 1), F.softmax(tt / T, 1), reduction="batchmean")
    return kl * T * T if t2 else kl


def hinton(T, a, t2=True, stand=False):
    return lambda s, tt: a * soft_kl(s, tt, T, t2, stand) + (1 - a) * F.cross_entropy(s, labels)


def dkd(alpha, beta, T, stand):
    def f(s, tt):
        if stand:
            s, tt = standardize(s), standardize(tt)
        return dkd_loss(s, tt, labels, alpha, beta, T)
    return f


# DIST (hunto/DIST_KD, classification/lib/models/losses/dist_kd.py)
def cosine_similarity(a, b, eps=1e-8):
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1) + eps)


def pearson_correlation(a, b, eps=1e-8):
    return cosine_similarity(a - a.mean(1).unsqueeze(1), b - b.mean(1).unsqueeze(1), eps)


def dist(beta, gamma, tau, stand=False):
    def f(z_s, z_t):
        if stand:
            z_s, z_t = standardize(z_s), standardize(z_t)
        y_s, y_t = (z_s / tau).softmax(dim=1), (z_t / tau).softmax(dim=1)
        inter = tau ** 2 * (1 - pearson_correlation(y_s, y_t).mean())
        intra = tau ** 2 * (1 - pearson_correlation(y_s.transpose(0, 1), y_t.transpose(0, 1)).mean())
        return beta * inter + gamma * intra
    return f


def response(f):
    return logit_case(f, student, teacher)


responses = {
    "hinton_T4_a0.9_not2": response(hinton(4.0, 0.9, t2=False)),
    "kd_T4_not2": response(hinton(4.0, 1.0, t2=False)),
    "hinton_T2_a0.9_std": response(hinton(2.0, 0.9, stand=True)),
    "kd_T4_std": response(hinton(4.0, 1.0, stand=True)),
    "dkd_a1_b8_T4_std": response(dkd(1.0, 8.0, 4.0, True)),
    "dist_b1_g1_T1": response(dist(1.0, 1.0, 1.0)),
    "dist_b2_g2_T4": response(dist(2.0, 2.0, 4.0)),
    "dist_b1_g1_T1_std": response(dist(1.0, 1.0, 1.0, True)),
}



# Correlation congruence without embedding heads (embed=none) on the flattened features.
def cc_gaussian(f, gamma=0.4, order=2):
    e = normalize(f.flatten(1), 1)
    g = e @ e.t()
    c = torch.exp(torch.tensor(-2 * gamma))
    k = torch.full_like(g, float(c))
    coef = float(c)
    for p in range(1, order + 1):
        coef = coef * 2 * gamma / p
        k = k + coef * g.pow(p)
    return k


def cc_gaussian_loss(s, tt):
    d = cc_gaussian(tt[0]) - cc_gaussian(s[0])
    return d.pow(2).sum() / s[0].shape[0] ** 2


def cc_repdistiller_loss(s, tt):
    # RepDistiller's distiller_zoo.Correlation
    delta = torch.abs(s[0].flatten(1) - tt[0].flatten(1))
    return torch.mean((delta[:-1] * delta[1:]).sum(1))


cases["cc_none_gaussian"] = case([(4, 6)], [(4, 2, 2)], None, cc_gaussian_loss)
cases["cc_none_repdistiller"] = case([(4, 5)], [(4, 5)], None, cc_repdistiller_loss)

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "methods_fixtures.json")
with open(path, "w") as fh:
    json.dump({"generator": "make_methods_fixtures.py, torch " + torch.__version__, "cases": cases,
               "logits": {"student": t(student), "teacher": t(teacher), "labels": [int(v) for v in labels]},
               "response": responses}, fh)
print("wrote", path, os.path.getsize(path), "bytes")
