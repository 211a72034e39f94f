"""Pieces shared by the fixture scripts beside this file (make_feature_fixtures.py,
make_methods_fixtures.py, make_response_fixtures.py): tensor encoding, adapter state, spatial
matching, a feature-loss case, factor transfer's networks and DKD. Imported, never run.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def t(x):
    x = torch.as_tensor(x).detach().to(torch.float32).contiguous()
    return {"shape": list(x.shape), "data": [float(v) for v in x.reshape(-1).tolist()]}


def state_of(m):
    return {k: t(v) for k, v in m.state_dict().items() if not k.endswith("num_batches_tracked")}


def match(a, b):
    """Adaptive-average-pool the larger of two NCHW maps to the smaller size."""
    h, w = min(a.shape[2], b.shape[2]), min(a.shape[3], b.shape[3])
    if a.shape[2:] != (h, w):
        a = F.adaptive_avg_pool2d(a, (h, w))
    if b.shape[2:] != (h, w):
        b = F.adaptive_avg_pool2d(b, (h, w))
    return a, b


def perturb(m):
    """Random affine parameters for batch norms (default 1/0 would hide mistakes)."""
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            with torch.no_grad():
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.5, 0.5)


def case(student_shapes, teacher_shapes, adapters, loss_fn, positive_teacher=False):
    """Seeded student / teacher features, the loss and its gradients, as a fixture case."""
    s = [torch.randn(*sh).requires_grad_(True) for sh in student_shapes]
    tt = [torch.randn(*sh) for sh in teacher_shapes]
    if positive_teacher:
        tt = [x.abs() + 0.1 for x in tt]
    state = state_of(adapters) if adapters is not None else {}
    loss = loss_fn(s, tt)
    loss.backward()
    out = {
        "student": [t(x) for x in s],
        "teacher": [t(x) for x in tt],
        "state": state,
        "loss": float(loss.item()),
        "grad_student": [t(x.grad) for x in s],
        "grad_state": {k: t(p.grad) for k, p in adapters.named_parameters()} if adapters is not None else {},
    }
    return out


def normalize(x, dim):
    return x / x.norm(dim=dim, keepdim=True).clamp_min(1e-12)


# Factor transfer: paraphraser (no BN) and translator (BN), 3x3 convs, LeakyReLU(0.1).
def lrelu():
    return nn.LeakyReLU(0.1)


class Paraphraser(nn.Module):
    def __init__(self, c, f):
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1), lrelu(), nn.Conv2d(c, f, 3, 1, 1), lrelu(),
                                     nn.Conv2d(f, f, 3, 1, 1), lrelu())
        self.decoder = nn.Sequential(nn.Conv2d(f, f, 3, 1, 1), lrelu(), nn.Conv2d(f, c, 3, 1, 1), lrelu(),
                                     nn.Conv2d(c, c, 3, 1, 1), lrelu())


class Translator(nn.Module):
    def __init__(self, c, f):
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1), nn.BatchNorm2d(c), lrelu(),
                                     nn.Conv2d(c, f, 3, 1, 1), nn.BatchNorm2d(f), lrelu(),
                                     nn.Conv2d(f, f, 3, 1, 1), nn.BatchNorm2d(f), lrelu())


def dkd_loss(s, tt, y, alpha, beta, T):
    """Zhao et al. 2022, following mdistiller's dkd_loss (the target masked with -1000 for NCKD)."""
    gt = torch.zeros_like(s).scatter_(1, y.unsqueeze(1), 1.0)
    other = 1.0 - gt
    ps, pt = F.softmax(s / T, 1), F.softmax(tt / T, 1)
    bs = torch.cat([(ps * gt).sum(1, keepdim=True), (ps * other).sum(1, keepdim=True)], 1)
    bt = torch.cat([(pt * gt).sum(1, keepdim=True), (pt * other).sum(1, keepdim=True)], 1)
    tckd = F.kl_div(torch.log(bs), bt, reduction="sum") * T ** 2 / s.shape[0]
    pt2 = F.softmax(tt / T - 1000.0 * gt, 1)
    lps2 = F.log_softmax(s / T - 1000.0 * gt, 1)
    nckd = F.kl_div(lps2, pt2, reduction="sum") * T ** 2 / s.shape[0]
    return alpha * tckd + beta * nckd


def logit_case(f, student, teacher):
    """A response-loss case: f(student, teacher) and its gradient in the student logits."""
    s = student.clone().requires_grad_(True)
    v = f(s, teacher)
    v.backward()
    return {"value": float(v), "grad": t(s.grad)}
