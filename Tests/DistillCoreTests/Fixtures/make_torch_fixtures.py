#!/usr/bin/python3
"""Golden values for TorchReferenceTests.swift, computed with PyTorch (1.13, CPU).

Run from anywhere with /usr/bin/python3; it rewrites torch_reference.json beside this script.
Inputs are seeded float32 tensors saved with the outputs. Every case also saves `proj`, a
seeded tensor of the output's shape; the gradients `grad_<input>` are those of
sum(out * proj) with respect to each input, computed in float64 from the float32 inputs.
"""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(20261128)
CASES = {}


def rand(*shape, lo=-1.0, hi=1.0):
    return torch.rand(tuple(shape), dtype=torch.float32) * (hi - lo) + lo


def enc(t):
    t = t.detach().to(torch.float64).contiguous()
    return {"shape": list(t.shape), "data": [float("%.9g" % v) for v in t.reshape(-1).tolist()]}


def add(name, inputs, fn, extra=None):
    """inputs: ordered dict name -> float32 tensor; fn(*float64 leaves) -> output tensor."""
    leaves = {k: v.to(torch.float64).requires_grad_(True) for k, v in inputs.items()}
    out = fn(*leaves.values())
    proj = rand(*out.shape)
    (out * proj.to(torch.float64)).sum().backward()
    case = {k: enc(v) for k, v in inputs.items()}
    case["out"] = enc(out)
    case["proj"] = enc(proj)
    for k, v in leaves.items():
        case["grad_" + k] = enc(v.grad)
    for k, v in (extra or {}).items():
        case[k] = enc(v)
    CASES[name] = case


# convolution
add("conv2d_pad1_bias", {"x": rand(2, 3, 5, 5), "w": rand(4, 3, 3, 3), "b": rand(4)},
    lambda x, w, b: F.conv2d(x, w, b, padding=1))
add("conv2d_stride", {"x": rand(2, 2, 7, 6), "w": rand(3, 2, 3, 2)},
    lambda x, w: F.conv2d(x, w, stride=(2, 3), padding=(1, 0)))
add("conv2d_dilation", {"x": rand(1, 2, 7, 7), "w": rand(2, 2, 3, 3), "b": rand(2)},
    lambda x, w, b: F.conv2d(x, w, b, padding=(2, 1), dilation=(2, 1)))
add("conv2d_groups", {"x": rand(2, 4, 5, 5), "w": rand(6, 2, 3, 3), "b": rand(6)},
    lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1, groups=2))
add("conv2d_depthwise", {"x": rand(1, 3, 4, 4), "w": rand(3, 1, 3, 3)},
    lambda x, w: F.conv2d(x, w, padding=1, groups=3))
add("conv2d_1x1", {"x": rand(2, 3, 3, 4), "w": rand(5, 3, 1, 1), "b": rand(5)},
    lambda x, w, b: F.conv2d(x, w, b))
add("convTranspose2d_stride2_outpad", {"x": rand(2, 3, 3, 3), "w": rand(3, 2, 3, 3), "b": rand(2)},
    lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1))
add("convTranspose2d_groups_dilation", {"x": rand(1, 4, 3, 4), "w": rand(4, 3, 2, 2)},
    lambda x, w: F.conv_transpose2d(x, w, stride=(1, 2), padding=(0, 1), dilation=2, groups=2))

# pooling
add("maxPool2d_k2", {"x": rand(2, 3, 6, 6)}, lambda x: F.max_pool2d(x, 2))
add("maxPool2d_k3_s2_p1", {"x": rand(1, 2, 7, 6)}, lambda x: F.max_pool2d(x, 3, stride=2, padding=1))
add("maxPool2d_k3x2_s1x2", {"x": rand(1, 2, 5, 5)}, lambda x: F.max_pool2d(x, (3, 2), stride=(1, 2)))
add("avgPool2d_k2", {"x": rand(2, 2, 6, 6)}, lambda x: F.avg_pool2d(x, 2))
add("avgPool2d_k3_s2_p1_include", {"x": rand(1, 2, 7, 6)}, lambda x: F.avg_pool2d(x, 3, stride=2, padding=1))
add("avgPool2d_k3_s2_p1_exclude", {"x": rand(1, 2, 7, 6)},
    lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False))
add("adaptiveAvgPool2d_7x5_to_3x2", {"x": rand(1, 2, 7, 5)}, lambda x: F.adaptive_avg_pool2d(x, (3, 2)))
add("adaptiveAvgPool2d_global", {"x": rand(2, 3, 5, 5)}, lambda x: F.adaptive_avg_pool2d(x, (1, 1)))
add("adaptiveAvgPool2d_3x2_to_4x5", {"x": rand(1, 1, 3, 2)}, lambda x: F.adaptive_avg_pool2d(x, (4, 5)))


# batch norm: running stats are updated in place by F.batch_norm; saved before and after
def bn_case(name, shape, training, affine=True):
    c = shape[1]
    inputs = {"x": rand(*shape, lo=-2, hi=2)}
    if affine:
        inputs["w"] = rand(c, lo=0.5, hi=1.5)
        inputs["b"] = rand(c)
    rm0, rv0 = rand(c), rand(c, lo=0.5, hi=1.5)
    rm, rv = rm0.clone().to(torch.float64), rv0.clone().to(torch.float64)

    def fn(x, w=None, b=None):
        return F.batch_norm(x, rm, rv, w, b, training=training, momentum=0.1, eps=1e-5)

    add(name, inputs, fn)
    CASES[name].update({"running_mean": enc(rm0), "running_var": enc(rv0),
                        "running_mean_out": enc(rm), "running_var_out": enc(rv)})


bn_case("batchNorm_train_NC", (6, 4), True)
bn_case("batchNorm_train_NCHW", (3, 2, 3, 4), True)
bn_case("batchNorm_train_NCHW_noaffine", (2, 3, 2, 2), True, affine=False)
bn_case("batchNorm_eval_NC", (5, 3), False)
bn_case("batchNorm_eval_NCHW", (2, 3, 2, 3), False)

# losses and products
add("logSoftmax", {"x": rand(3, 5, lo=-3, hi=3)}, lambda x: F.log_softmax(x, dim=1))
labels = torch.tensor([1, 0, 4, 2])
add("crossEntropy", {"logits": rand(4, 5, lo=-3, hi=3)}, lambda z: F.cross_entropy(z, labels),
    extra={"labels": labels})
add("matmul_2d", {"a": rand(3, 4), "b": rand(4, 5)}, lambda a, b: a @ b)
add("matmul_batched", {"a": rand(2, 3, 4), "b": rand(2, 4, 5)}, lambda a, b: a @ b)

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_reference.json")
with open(path, "w") as f:
    json.dump({"generator": "make_torch_fixtures.py, torch " + torch.__version__, "cases": CASES}, f,
              separators=(",", ":"), sort_keys=True)
print("wrote", path, os.path.getsize(path), "bytes,", len(CASES), "cases")
