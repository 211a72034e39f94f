#!/usr/bin/python3
"""Reference values for Tests/DistillTests/NewMethodsGoldenTests.swift: the methods of issue #14
published since 2021 (KD++'s ND loss so far), computed with PyTorch 1.13 (CPU, float32).

Run from the repository root:  /usr/bin/python3 Tests/DistillTests/Fixtures/make_new_methods_fixtures.py
Writes new_methods_fixtures.json beside this script. Tensors are {"shape", "data"}.
  nd.batchK (K = 0, 1): student, teacher [6, 5], labels [6] (3 classes), loss, grad_student, for two
                 batches in order; the class centres of batch k are the means of the teacher
                 embeddings of batches 0..k by class (the Swift loss's running means).
The ND formula is written out from the paper and the authors' DirectNormLoss
(CIFAR/utils.py of WangYZ1608/Knowledge-Distillation-via-ND), independently of the Swift code:
  L = mean_i (1 - <s_i, c_{y_i}/|c_{y_i}|> / max(|s_i|, |t_i|)).
"""
import json
import os
import torch
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

out = {"torch_version": torch.__version__, "nd": {f"batch{k}": b for k, b in enumerate(batches)}}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "new_methods_fixtures.json")
with open(path, "w") as f:
    json.dump(out, f)
print("wrote", path)
