#!/usr/bin/python3
"""Reference values for Tests/DistillNNTests, computed with PyTorch 1.13 (CPU, float32).

Run from the repository root:  /usr/bin/python3 Tests/DistillNNTests/Fixtures/make_nn_fixtures.py
Writes nn_fixtures.json beside this script. Every case stores, as {"shape", "data"} tensors:
  state   - the module's state_dict (PyTorch names), loaded by the Swift test via loadStateDict
  inputs  - inputs (and "probe" r: the tests differentiate sum(output * r))
  outputs - forward results
  grads   - d sum(output * r) / d(input or parameter), keyed "input" or the parameter name
"""
import json
import os
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(1234)
torch.set_num_threads(1)


def t(x):
    x = x.detach().to(torch.float32).contiguous()
    return {"shape": list(x.shape), "data": [float(v) for v in x.reshape(-1).tolist()]}


def module_case(module, inputs, forward, probe_shape=None):
    """forward(module, inputs) -> output tensor; differentiates sum(out * probe)."""
    for v in inputs.values():
        if v.is_floating_point():
            v.requires_grad_(True)
    state = {k: t(v) for k, v in module.state_dict().items() if not k.endswith("num_batches_tracked")}
    out = forward(module, inputs)
    probe = torch.rand(out.shape) + 0.5
    (out * probe).sum().backward()
    case = {
        "state": state,
        "state_after": {k: t(v) for k, v in module.state_dict().items() if not k.endswith("num_batches_tracked")},
        "inputs": {k: t(v) for k, v in inputs.items() if v.is_floating_point()},
        "outputs": {"output": t(out)},
        "grads": {k: t(p.grad) for k, p in module.named_parameters() if p.grad is not None},
    }
    case["inputs"]["probe"] = t(probe)
    for k, v in inputs.items():
        if v.is_floating_point() and v.grad is not None:
            case["grads"][k] = t(v.grad)
    return case


cases = {}

cases["linear"] = module_case(nn.Linear(3, 2), {"x": torch.randn(4, 3)}, lambda m, i: m(i["x"]))
cases["linear_3d"] = module_case(nn.Linear(3, 2), {"x": torch.randn(2, 2, 3)}, lambda m, i: m(i["x"]))
ln = nn.LayerNorm(4)
with torch.no_grad():
    ln.weight.uniform_(0.5, 1.5)
    ln.bias.uniform_(-0.5, 0.5)
cases["layernorm"] = module_case(ln, {"x": torch.randn(2, 3, 4)}, lambda m, i: m(i["x"]))

lstm = nn.LSTM(3, 2, num_layers=2, bidirectional=True, batch_first=True)
lstm_case = module_case(lstm, {"x": torch.randn(2, 3, 3)}, lambda m, i: m(i["x"])[0])
with torch.no_grad():
    _, (h_n, c_n) = lstm(torch.tensor(lstm_case["inputs"]["x"]["data"]).reshape(2, 3, 3))
lstm_case["outputs"]["h_n"] = t(h_n)
lstm_case["outputs"]["c_n"] = t(c_n)
cases["lstm"] = lstm_case

mha = nn.MultiheadAttention(4, 2, batch_first=True)
with torch.no_grad():
    mha.in_proj_bias.uniform_(-0.2, 0.2)
    mha.out_proj.bias.uniform_(-0.2, 0.2)
mask = torch.tensor([[False, False, True], [False, False, False]])
cases["mha"] = module_case(mha, {"x": torch.randn(2, 3, 4)},
                           lambda m, i: m(i["x"], i["x"], i["x"], key_padding_mask=mask, need_weights=False)[0])
cases["mha"]["mask"] = [[0, 0, 1], [0, 0, 0]]

enc = nn.TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.0, batch_first=True)
with torch.no_grad():
    enc.self_attn.in_proj_bias.uniform_(-0.2, 0.2)
    enc.norm1.weight.uniform_(0.5, 1.5)
    enc.norm2.bias.uniform_(-0.3, 0.3)
cases["encoder"] = module_case(enc, {"x": torch.randn(2, 3, 4)}, lambda m, i: m(i["x"], src_key_padding_mask=mask))
cases["encoder"]["mask"] = [[0, 0, 1], [0, 0, 0]]

emb = nn.Embedding(5, 3)
idx = torch.tensor([[0, 2], [4, 2]])
emb_case = module_case(emb, {}, lambda m, i: m(idx))
emb_case["indices"] = [[0, 2], [4, 2]]
cases["embedding"] = emb_case

cases["conv2d"] = module_case(nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 0), groups=2),
                              {"x": torch.randn(2, 4, 5, 4)}, lambda m, i: m(i["x"]))
cases["conv2d_plain"] = module_case(nn.Conv2d(2, 3, 3, padding=1, bias=False), {"x": torch.randn(1, 2, 4, 4)},
                                    lambda m, i: m(i["x"]))


def bn_module(cls, c):
    m = cls(c, momentum=0.2)
    with torch.no_grad():
        m.weight.uniform_(0.5, 1.5)
        m.bias.uniform_(-0.5, 0.5)
        m.running_mean.uniform_(-0.5, 0.5)
        m.running_var.uniform_(0.5, 1.5)
    return m


cases["batchnorm2d_train"] = module_case(bn_module(nn.BatchNorm2d, 3), {"x": torch.randn(2, 3, 2, 3)}, lambda m, i: m(i["x"]))
cases["batchnorm2d_eval"] = module_case(bn_module(nn.BatchNorm2d, 3).eval(), {"x": torch.randn(2, 3, 2, 2)}, lambda m, i: m(i["x"]))
cases["batchnorm1d_train"] = module_case(bn_module(nn.BatchNorm1d, 3), {"x": torch.randn(4, 3)}, lambda m, i: m(i["x"]))
cases["batchnorm1d_seq_train"] = module_case(bn_module(nn.BatchNorm1d, 2), {"x": torch.randn(2, 2, 3)}, lambda m, i: m(i["x"]))
x_pool = torch.randperm(2 * 2 * 5 * 5).float().reshape(2, 2, 5, 5) / 50.0 - 1.0  # distinct values: no max ties
cases["maxpool"] = module_case(nn.MaxPool2d(3, stride=2, padding=1), {"x": x_pool.clone()}, lambda m, i: m(i["x"]))
cases["avgpool"] = module_case(nn.AvgPool2d(2, stride=2), {"x": x_pool.clone()}, lambda m, i: m(i["x"]))
cases["adaptive_avgpool"] = module_case(nn.AdaptiveAvgPool2d((2, 3)), {"x": x_pool.clone()}, lambda m, i: m(i["x"]))

# activations: a parameter-free module each
acts = {"relu": nn.ReLU(), "leaky_relu": nn.LeakyReLU(0.1), "gelu": nn.GELU(), "tanh": nn.Tanh(), "sigmoid": nn.Sigmoid()}
x_act = torch.tensor([-2.0, -0.7, -0.2, 0.3, 0.9, 1.8])
for name, m in acts.items():
    cases[name] = module_case(m, {"x": x_act.clone()}, lambda m, i: m(i["x"]))

# losses: value and gradient with respect to the first argument
losses = {}
logits = torch.randn(3, 4)
labels = torch.tensor([1, 0, 3])
p_target = torch.softmax(torch.randn(3, 4), 1)
p_target[0, 2] = 0.0  # a zero target probability (0·log 0 = 0)
p_target = p_target / p_target.sum(1, keepdim=True)
probs = torch.rand(2, 3) * 0.8 + 0.1
bin_targets = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.3, 1.0]])
reg_a, reg_b = torch.randn(2, 3), torch.randn(2, 3)


def loss_case(fn, x, **extra):
    x = x.clone().requires_grad_(True)
    v = fn(x)
    v.backward()
    d = {"input": t(x), "value": float(v), "grad": t(x.grad)}
    d.update(extra)
    return d


losses["cross_entropy"] = loss_case(lambda x: F.cross_entropy(x, labels), logits)
losses["cross_entropy_smooth"] = loss_case(lambda x: F.cross_entropy(x, labels, label_smoothing=0.1), logits)
logp = torch.log_softmax(logits, 1)
losses["nll"] = loss_case(lambda x: F.nll_loss(x, labels), logp)
losses["mse"] = loss_case(lambda x: F.mse_loss(x, reg_b), reg_a, target=t(reg_b))
losses["kl"] = loss_case(lambda x: F.kl_div(x, p_target, reduction="batchmean"), logp, target=t(p_target))
losses["bce"] = loss_case(lambda x: F.binary_cross_entropy(x, bin_targets), probs, target=t(bin_targets))
losses["bce_logits"] = loss_case(lambda x: F.binary_cross_entropy_with_logits(x, bin_targets), reg_a, target=t(bin_targets))
losses["labels"] = labels.tolist()

# optimizers: L(θ) = Σ a⊙θ²/2 + b⊙θ, gradient a⊙θ + b, 5 steps
theta0 = torch.randn(2, 3)
qa = torch.rand(2, 3) + 0.5
qb = torch.randn(2, 3)
optim_cases = {"theta0": t(theta0), "a": t(qa), "b": t(qb), "runs": {}}
configs = {
    "sgd": (torch.optim.SGD, dict(lr=0.1)),
    "sgd_momentum": (torch.optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    "sgd_nesterov": (torch.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.05)),
    "adam": (torch.optim.Adam, dict(lr=0.05, weight_decay=0.1)),
    "adamw": (torch.optim.AdamW, dict(lr=0.05, weight_decay=0.1, betas=(0.8, 0.99))),
}
for name, (cls, kw) in configs.items():
    theta = nn.Parameter(theta0.clone())
    opt = cls([theta], **kw)
    traj = []
    for _ in range(5):
        opt.zero_grad()
        loss = (qa * theta * theta / 2 + qb * theta).sum()
        loss.backward()
        opt.step()
        traj.append(t(theta))
    optim_cases["runs"][name] = {"options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in kw.items()},
                                 "trajectory": traj}

fixture = {"torch_version": torch.__version__, "modules": cases, "losses": losses, "optimizers": optim_cases}
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "nn_fixtures.json"), "w") as f:
    json.dump(fixture, f, separators=(",", ":"))
print("wrote", os.path.join(here, "nn_fixtures.json"))
