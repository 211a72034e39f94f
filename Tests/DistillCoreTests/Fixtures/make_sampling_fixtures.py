"""Golden values for GridSample.swift: F.affine_grid + F.grid_sample (bilinear, zeros padding)
on a small seeded case, for align_corners False (PyTorch's default) and True, with the gradient
of sum(out * proj) w.r.t. the input. Run with PyTorch 1.13: /usr/bin/python3 make_sampling_fixtures.py
Writes sampling_reference.json beside this script."""
import json, math, os
import torch
import torch.nn.functional as F

torch.manual_seed(0)
def t(x):
    return {"shape": list(x.shape), "data": [float(v) for v in x.detach().reshape(-1).tolist()]}

cases = {}
for align in (False, True):
    x = torch.rand(2, 3, 5, 6) * 2 - 1
    theta = torch.tensor([[[1.1 * math.cos(0.3), -1.1 * math.sin(0.3), 0.1], [1.1 * math.sin(0.3), 1.1 * math.cos(0.3), -0.05]],
                          [[0.85, 0.0, -0.2], [0.0, 1.15, 0.12]]], dtype=torch.float)
    grid = F.affine_grid(theta, [2, 3, 4, 7], align_corners=align)
    xg = x.clone().requires_grad_(True)
    out = F.grid_sample(xg, grid, mode="bilinear", padding_mode="zeros", align_corners=align)
    proj = torch.rand(out.shape) * 2 - 1
    (out * proj).sum().backward()
    cases["affine_grid_sample_align_%s" % str(align).lower()] = {
        "x": t(x), "theta": t(theta), "grid": t(grid), "out": t(out), "proj": t(proj), "grad_x": t(xg.grad)}

# The PyTorch default the DSA reference relies on (no align_corners argument): record it.
x = torch.rand(1, 1, 4, 4)
theta = torch.tensor([[[1.2, 0.0, 0.0], [0.0, 0.9, 0.0]]])
import warnings
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    default = F.grid_sample(x, F.affine_grid(theta, [1, 1, 4, 4]))
explicit = F.grid_sample(x, F.affine_grid(theta, [1, 1, 4, 4], align_corners=False), align_corners=False)
assert torch.equal(default, explicit), "PyTorch's default align_corners is not False"

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "sampling_reference.json"), "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f)
