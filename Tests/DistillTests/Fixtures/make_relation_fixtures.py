#!/usr/bin/python3
"""Reference values for the relation-based distillation losses (sp, rkd, cc, crd, mi).

Written independently of the Swift code from the papers and RepDistiller's conventions:
seeded float32 inputs and adapter weights are exported, then each loss and its gradients are
computed in float64 from those exact float32 values. Run from the repository root:

    /usr/bin/python3 Tests/DistillTests/Fixtures/make_relation_fixtures.py

It writes Tests/DistillTests/Fixtures/relation_fixtures.json (committed, read-only for tests).
Tensors are {"shape": [...], "data": [...]}; adapter weights use the Swift adapter paths.
"""
import json
import math
import os

import torch
import torch.nn.functional as F

torch.manual_seed(20260101)
out = {}


def rand(*shape, scale=1.0):
    """A float32 tensor rounded once, returned as float64 for the reference computation."""
    return ((torch.rand(*shape) * 2 - 1) * scale).float().double()


def enc(x):
    x = x.detach().double()
    return {"shape": list(x.shape), "data": [float(v) for v in x.reshape(-1).tolist()]}


def leaf(x):
    return x.clone().requires_grad_(True)


# ---------------------------------------------------------------- sp (Tung & Mori)
def sp_layer(fs, ft):
    b = fs.shape[0]
    fs, ft = fs.reshape(b, -1), ft.reshape(b, -1)
    gs = F.normalize(fs @ fs.t(), p=2, dim=1)
    gt = F.normalize(ft @ ft.t(), p=2, dim=1)
    return ((gt - gs) ** 2).sum() / (b * b)


s0, t0, s1, t1 = rand(4, 3, 2, 2), rand(4, 5, 2, 2), rand(4, 6), rand(4, 7)
a0, a1 = leaf(s0), leaf(s1)
loss = sp_layer(a0, t0) + sp_layer(a1, t1)
loss.backward()
out["sp"] = {"s0": enc(s0), "t0": enc(t0), "s1": enc(s1), "t1": enc(t1), "loss": float(loss),
             "grad_s0": enc(a0.grad), "grad_s1": enc(a1.grad)}


# ---------------------------------------------------------------- rkd (Park et al.)
def pdist(e, eps=1e-12):
    sq = (e ** 2).sum(1)
    d = (sq.unsqueeze(1) + sq.unsqueeze(0) - 2 * e @ e.t()).clamp(min=eps).sqrt().clone()
    d[range(len(e)), range(len(e))] = 0
    return d


def rkd_parts(fs, ft):
    s, t = fs.reshape(fs.shape[0], -1), ft.reshape(ft.shape[0], -1)
    with torch.no_grad():
        td = pdist(t)
        td = td / td[td > 0].mean()
    d = pdist(s)
    d = d / d[d > 0].mean()
    ld = F.smooth_l1_loss(d, td)
    with torch.no_grad():
        nt = F.normalize(t.unsqueeze(0) - t.unsqueeze(1), p=2, dim=2)
        ta = torch.bmm(nt, nt.transpose(1, 2)).reshape(-1)
    ns = F.normalize(s.unsqueeze(0) - s.unsqueeze(1), p=2, dim=2)
    sa = torch.bmm(ns, ns.transpose(1, 2)).reshape(-1)
    la = F.smooth_l1_loss(sa, ta)
    return ld, la


s, t = rand(5, 2, 3), rand(5, 4, scale=3.0)
a = leaf(s)
ld, la = rkd_parts(a, t)
loss = 25 * ld + 50 * la
loss.backward()
out["rkd"] = {"s": enc(s), "t": enc(t), "loss": float(loss), "distance": float(ld), "angle": float(la), "grad_s": enc(a.grad)}


# ---------------------------------------------------------------- cc (Peng et al.)
def linear_state(prefix, n_in, n_out):
    w, b = rand(n_out, n_in, scale=1 / math.sqrt(n_in)), rand(n_out, scale=1 / math.sqrt(n_in))
    return {prefix + ".weight": w, prefix + ".bias": b}


def cc_kernel(e, gamma=0.4, order=2):
    g = e @ e.t()
    k = torch.zeros_like(g)
    for p in range(order + 1):
        k = k + math.exp(-2 * gamma) * (2 * gamma) ** p / math.factorial(p) * g ** p
    return k


for kernel in ["gaussian", "repdistiller"]:
    s, t = rand(5, 6), rand(5, 4)
    state = {**linear_state("embed_s", 6, 3), **linear_state("embed_t", 4, 3)}
    leaves = {k: leaf(v) for k, v in state.items()}
    a = leaf(s)
    es = a @ leaves["embed_s.weight"].t() + leaves["embed_s.bias"]
    et = t @ leaves["embed_t.weight"].t() + leaves["embed_t.bias"]
    if kernel == "gaussian":
        es, et = F.normalize(es, dim=1), F.normalize(et, dim=1)
        loss = ((cc_kernel(et) - cc_kernel(es)) ** 2).sum() / 25
    else:
        delta = (es - et).abs()
        loss = (delta[:-1] * delta[1:]).sum(1).mean()
    loss.backward()
    out["cc_" + kernel] = {"s": enc(s), "t": enc(t), "state": {k: enc(v) for k, v in state.items()}, "loss": float(loss),
                           "grad_s": enc(a.grad), "grads": {k: enc(v.grad) for k, v in leaves.items()}}


# ---------------------------------------------------------------- crd (Tian et al.)
def crd_reference(s, t, state, mem_s, mem_t, rows, contrast, n, temp=0.07, mom=0.5, eps=1e-7):
    leaves = {k: leaf(v) for k, v in state.items()}
    a = leaf(s)
    vs = F.normalize(a @ leaves["embed_s.weight"].t() + leaves["embed_s.bias"], dim=1)
    vt = F.normalize(t @ leaves["embed_t.weight"].t() + leaves["embed_t.bias"], dim=1)
    b, k1 = contrast.shape
    # ContrastMemory: v1 = student, v2 = teacher; memory_v1 = student bank, memory_v2 = teacher bank
    w_v1 = mem_s.index_select(0, contrast.reshape(-1)).reshape(b, k1, -1)
    out_v2 = torch.exp(torch.bmm(w_v1, vt.unsqueeze(2)) / temp)
    w_v2 = mem_t.index_select(0, contrast.reshape(-1)).reshape(b, k1, -1)
    out_v1 = torch.exp(torch.bmm(w_v2, vs.unsqueeze(2)) / temp)
    z_v1 = (out_v1.mean() * n).item()
    z_v2 = (out_v2.mean() * n).item()
    out_v1, out_v2 = out_v1 / z_v1, out_v2 / z_v2

    def contrast_loss(x):
        x = x.reshape(b, k1)
        m = k1 - 1
        pn = 1 / float(n)
        pos = x[:, 0]
        log_d1 = torch.log(pos / (pos + m * pn + eps))
        neg = x[:, 1:]
        log_d0 = torch.log((m * pn) / (neg + m * pn + eps))
        return -(log_d1.sum() + log_d0.sum()) / b

    loss = contrast_loss(out_v1) + contrast_loss(out_v2)
    loss.backward()
    with torch.no_grad():
        new_s, new_t = mem_s.clone(), mem_t.clone()
        for bank, new, v in [(mem_s, new_s, vs), (mem_t, new_t, vt)]:
            pos = bank.index_select(0, rows) * mom + v * (1 - mom)
            pos = pos / pos.pow(2).sum(1, keepdim=True).sqrt()
            new.index_copy_(0, rows, pos)
    return loss, a.grad, {k: v.grad for k, v in leaves.items()}, (z_v1, z_v2), new_s, new_t


n, d = 8, 3
s, t = rand(4, 6), rand(4, 5)
state = {**linear_state("embed_s", 6, d), **linear_state("embed_t", 5, d)}
stdv = 1 / math.sqrt(d / 3)
mem_s, mem_t = rand(n, d, scale=stdv), rand(n, d, scale=stdv)
rows = torch.tensor([2, 5, 0, 7])
contrast = torch.tensor([[2, 1, 4, 6], [5, 0, 0, 3], [0, 7, 2, 1], [7, 6, 5, 4]])
loss, gs, grads, (z1, z2), new_s, new_t = crd_reference(s, t, state, mem_s, mem_t, rows, contrast, n)
out["crd"] = {"s": enc(s), "t": enc(t), "state": {k: enc(v) for k, v in state.items()},
              "memory_student": enc(mem_s), "memory_teacher": enc(mem_t), "rows": rows.tolist(), "contrast": contrast.tolist(),
              "dataset_size": n, "feat_dim": d, "nce_k": 3, "loss": float(loss), "grad_s": enc(gs),
              "grads": {k: enc(v) for k, v in grads.items()}, "z_student": z1, "z_teacher": z2,
              "memory_student_after": enc(new_s), "memory_teacher_after": enc(new_t)}


# ---------------------------------------------------------------- mi (all-pairs VID)
teachers = [rand(2, 3, 4, 4), rand(2, 4, 2, 2), rand(2, 5)]
students = [rand(2, 2, 4, 4), rand(2, 3, 2, 2), rand(2, 3)]
mi_state = {}
for i, tt in enumerate(teachers):
    for j, ss in enumerate(students):
        ct, cs = tt.shape[1], ss.shape[1]
        p = "pair_%d_%d" % (i, j)
        if tt.dim() == 4 and ss.dim() == 4:
            mi_state[p + ".mean.weight"] = rand(ct, cs, 1, 1, scale=1 / math.sqrt(cs))
        else:
            mi_state[p + ".mean.weight"] = rand(ct, cs, scale=1 / math.sqrt(cs))
        mi_state[p + ".mean.bias"] = rand(ct, scale=1 / math.sqrt(cs))
        # around softplus⁻¹(5 − 1e-5) ≈ 4.993, so σ² stays near VID's initial variance
        mi_state[p + ".alpha"] = (4.993 + rand(ct, scale=1.0)).float().double()
logits = rand(3, 3, scale=1.0)


def mi_pair(i, j, s, t, w, eps=1e-5):
    p = "pair_%d_%d" % (i, j)
    if s.dim() == 4 and t.dim() == 4:
        h, wd = min(s.shape[2], t.shape[2]), min(s.shape[3], t.shape[3])
        if (s.shape[2], s.shape[3]) != (h, wd):
            s = F.adaptive_avg_pool2d(s, (h, wd))
        if (t.shape[2], t.shape[3]) != (h, wd):
            t = F.adaptive_avg_pool2d(t, (h, wd))
        mu = F.conv2d(s, w[p + ".mean.weight"], w[p + ".mean.bias"])
        var = (F.softplus(w[p + ".alpha"]) + eps).view(1, -1, 1, 1)
    else:
        if s.dim() == 4:
            s = s.mean(dim=(2, 3))
        if t.dim() == 4:
            t = t.mean(dim=(2, 3))
        mu = s @ w[p + ".mean.weight"].t() + w[p + ".mean.bias"]
        var = (F.softplus(w[p + ".alpha"]) + eps).view(1, -1)
    return (0.5 * ((mu - t) ** 2 / var + torch.log(var))).mean()


mi = {"teachers": [enc(x) for x in teachers], "students": [enc(x) for x in students],
      "state": {k: enc(v) for k, v in mi_state.items()}, "lambda_logits": enc(logits)}
for mode in ["pairwise", "all", "learned"]:
    w = {k: leaf(v) for k, v in mi_state.items()}
    a = [leaf(x) for x in students]
    lg = leaf(logits)
    if mode == "pairwise":
        lam = torch.eye(3, dtype=torch.float64)
    elif mode == "all":
        lam = torch.full((3, 3), 1 / 3, dtype=torch.float64)
    else:
        lam = torch.softmax(lg, dim=0)
    loss = 0
    nll = torch.zeros(3, 3, dtype=torch.float64)
    for i in range(3):
        for j in range(3):
            if mode == "pairwise" and i != j:
                continue
            term = mi_pair(i, j, a[j], teachers[i], w)
            nll[i, j] = term.detach()
            loss = loss + lam[i, j] * term
    loss.backward()
    entry = {"loss": float(loss), "lambda": enc(lam), "nll": enc(nll),
             "grad_students": [enc(x.grad) for x in a],
             "grads": {k: enc(v.grad) for k, v in w.items() if v.grad is not None}}
    if mode == "learned":
        entry["grad_lambda_logits"] = enc(lg.grad)
    mi[mode] = entry
out["mi"] = mi

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "relation_fixtures.json")
with open(path, "w") as f:
    json.dump(out, f, indent=None, separators=(",", ":"))
print("wrote", path, os.path.getsize(path), "bytes")
