# Reference values of LossReductionTests and NoisyLabelDistillationTests (PyTorch 1.13):
#   /usr/bin/python3 Tests/DistillNNTests/Fixtures/make_reduction_values.py
import torch
import torch.nn.functional as F
z = torch.tensor([[1.0, 2.0, 0.5], [0.1, -1.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True)
y = torch.tensor([1, 2, 0])
for eps in (0.0, 0.1):
    ce = F.cross_entropy(z, y, reduction="none", label_smoothing=eps)
    print("ce none eps", eps, [round(v, 7) for v in ce.tolist()], "sum", round(ce.sum().item(), 7))
p = torch.tensor([[0.2, 0.5, 0.3], [0.0, 0.1, 0.9], [1/3, 1/3, 1/3]])
kl = F.kl_div(F.log_softmax(z, 1), p, reduction="none").sum(1)
print("kl none", [round(v, 7) for v in kl.tolist()])
# Li et al. 2017: CE to lambda*onehot(y) + (1-lambda)*softmax(t/T), labels [1, -1, 0]
t = torch.tensor([[0.3, 1.2, -0.4], [2.0, 0.0, 1.0], [0.5, -0.5, 1.5]])
for lam, T in ((0.5, 1.0), (0.3, 2.0)):
    soft = F.softmax(t / T, 1)
    hard = F.one_hot(torch.tensor([1, 0, 0]), 3).float()
    w = torch.tensor([[lam], [0.0], [lam]])
    target = w * hard + (1 - w) * soft
    loss = -(target * F.log_softmax(z, 1)).sum(1).mean()
    print("noisy-label-kd lambda", lam, "T", T, round(loss.item(), 7))
