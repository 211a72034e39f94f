#!/usr/bin/python3
"""Reference values for the response-based losses and metrics of Tests/DistillTests, computed with
PyTorch 1.13 (CPU, float32) and, for the metrics, straightforward float64 NumPy.

Run from the repository root:  /usr/bin/python3 Tests/DistillTests/Fixtures/make_response_fixtures.py
Writes response_fixtures.json beside this script. Tensors are {"shape", "data"}.
  inputs.student, inputs.teacher      logits [6, 5]
  inputs.labels                       [6], all labelled
  inputs.partial_labels               [6], rows 2 and 4 unlabelled (-1)
  losses.<case>.value / .grad         loss and d loss / d student logits
  metrics.*                           logits, labels and metric values on 200 rows
  ensemble.*                          member logits [3 x (4, 5)] and the two combinations
"""
import json
import os
import numpy as np
import torch
import torch.nn.functional as F
from fixture_common import dkd_loss, logit_case, t

torch.manual_seed(2024)
torch.set_num_threads(1)


N, C = 6, 5
student = torch.randn(N, C) * 2
teacher = torch.randn(N, C) * 2
labels = torch.randint(0, C, (N,))
partial = labels.clone()
partial[2] = -1
partial[4] = -1


def soft_kl(s, tt, T):
    return F.kl_div(F.log_softmax(s / T, 1), F.softmax(tt / T, 1), reduction="batchmean") * T * T


def labelled_ce(s, y, eps=0.0):
    keep = y != -1
    if keep.sum() == 0:
        return (s * 0).sum()
    return F.cross_entropy(s[keep], y[keep], label_smoothing=eps)


def hinton(T, a, y):
    def f(s, tt):
        soft = soft_kl(s, tt, T)
        if a == 1:
            return soft
        return a * soft + (1 - a) * labelled_ce(s, y)
    return f


def dkd(alpha, beta, T, y):
    # unlabelled rows dropped first (our documented semantics), then fixture_common.dkd_loss
    def f(s, tt):
        keep = y != -1
        return dkd_loss(s[keep], tt[keep], y[keep], alpha, beta, T)
    return f


def case(f):
    return logit_case(f, student, teacher)


# the ignore_index semantics we document for CE equal PyTorch's own
assert torch.allclose(labelled_ce(student, partial), F.cross_entropy(student, partial, ignore_index=-1))

losses = {
    "hinton_T1_a0.5": case(hinton(1.0, 0.5, labels)),
    "hinton_T4_a0.9": case(hinton(4.0, 0.9, labels)),
    "hinton_T2_a0.3": case(hinton(2.0, 0.3, labels)),
    "hinton_T4_a0": case(hinton(4.0, 0.0, labels)),
    "hinton_T4_a0.9_partial": case(hinton(4.0, 0.9, partial)),
    "kd_T4": case(hinton(4.0, 1.0, labels)),
    "kd_T2": case(hinton(2.0, 1.0, labels)),
    "ce": case(lambda s, tt: labelled_ce(s, labels)),
    "ce_smooth0.1": case(lambda s, tt: labelled_ce(s, labels, 0.1)),
    "ce_partial": case(lambda s, tt: labelled_ce(s, partial)),
    "logits": case(lambda s, tt: F.mse_loss(s, tt)),
    "dkd_a1_b8_T4": case(dkd(1.0, 8.0, 4.0, labels)),
    "dkd_a0.5_b2_T2": case(dkd(0.5, 2.0, 2.0, labels)),
    "dkd_a1_b8_T4_partial": case(dkd(1.0, 8.0, 4.0, partial)),
    "pseudo": case(lambda s, tt: F.cross_entropy(s, tt.argmax(1))),
}

# ---- metrics, in float64 NumPy from the float32 logits ----
M = 200
m_student = (torch.randn(M, C) * 1.5).numpy().astype(np.float32)
m_teacher = (torch.from_numpy(m_student) * 1.2 + torch.randn(M, C)).numpy().astype(np.float32)
m_labels = m_teacher.argmax(1)
flip = np.random.RandomState(7).rand(M) < 0.3
m_labels[flip] = np.random.RandomState(8).randint(0, C, flip.sum())


def softmax64(z):
    z = z.astype(np.float64)
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def ece(p, y, bins=15):
    conf = p.max(1)
    pred = p.argmax(1)
    correct = (pred == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        inb = (conf > lo) & (conf <= hi)
        if inb.sum() > 0:
            total += inb.mean() * abs(correct[inb].mean() - conf[inb].mean())
    return float(total)


ps, pt = softmax64(m_student), softmax64(m_teacher)
metrics = {
    "student": t(m_student),
    "teacher": t(m_teacher),
    "labels": [int(v) for v in m_labels],
    "student_accuracy": float((ps.argmax(1) == m_labels).mean()),
    "teacher_accuracy": float((pt.argmax(1) == m_labels).mean()),
    "student_nll": float(-np.log(ps[np.arange(M), m_labels]).mean()),
    "teacher_nll": float(-np.log(pt[np.arange(M), m_labels]).mean()),
    "student_ece": ece(ps, m_labels),
    "teacher_ece": ece(pt, m_labels),
    "student_ece_10": ece(ps, m_labels, 10),
    "agreement": float((ps.argmax(1) == pt.argmax(1)).mean()),
    "kl": float((pt * (np.log(pt) - np.log(ps))).sum(1).mean()),
}
# torch's own view of NLL and KL agrees with the float64 ones
assert abs(F.cross_entropy(torch.from_numpy(m_student), torch.from_numpy(m_labels)).item() - metrics["student_nll"]) < 1e-5
assert abs(F.kl_div(F.log_softmax(torch.from_numpy(m_student), 1), F.softmax(torch.from_numpy(m_teacher), 1),
                    reduction="batchmean").item() - metrics["kl"]) < 1e-5

members = [torch.randn(4, C) * 2 for _ in range(3)]
ensemble = {
    "members": [t(m) for m in members],
    "mean_probabilities": t(torch.log(torch.stack([F.softmax(m, 1) for m in members]).mean(0))),
    "mean_logits": t(torch.stack(members).mean(0)),
}

out = {
    "inputs": {"student": t(student), "teacher": t(teacher), "labels": [int(v) for v in labels],
               "partial_labels": [int(v) for v in partial]},
    "losses": losses,
    "metrics": metrics,
    "ensemble": ensemble,
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "response_fixtures.json")
with open(path, "w") as fh:
    json.dump(out, fh, indent=1, sort_keys=True)
print("wrote", path, "losses:", ", ".join(sorted(losses)))
