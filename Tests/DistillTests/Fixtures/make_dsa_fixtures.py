"""Golden values for SiameseAugmentation: each DSA transform of the reference
(VICO-UoE/DatasetCondensation utils.py: rand_brightness, rand_saturation, rand_contrast, rand_crop,
rand_cutout, rand_flip, rand_scale, rand_rotate) re-written here with its random draws replaced by
fixed per-sample values, applied to a seeded x [2, 3, 8, 8], with the gradient of sum(out * proj)
w.r.t. x. affine_grid / grid_sample get no align_corners argument, as in the reference (PyTorch's
default, False). Run with PyTorch 1.13: /usr/bin/python3 make_dsa_fixtures.py → dsa_fixtures.json."""
import json, math, os, warnings
import torch
import torch.nn.functional as F

warnings.simplefilter("ignore")
torch.manual_seed(1)
N, C, H, W = 2, 3, 8, 8
x0 = torch.rand(N, C, H, W) * 2 - 1
proj = torch.rand(N, C, H, W) * 2 - 1
col = lambda v: torch.tensor(v, dtype=torch.float).reshape(N, 1, 1, 1)

def brightness(x, r): return x + (col(r) - 0.5) * 1.0
def saturation(x, r):
    m = x.mean(dim=1, keepdim=True)
    return (x - m) * (col(r) * 2.0) + m
def contrast(x, r):
    m = x.mean(dim=[1, 2, 3], keepdim=True)
    return (x - m) * (col(r) + 0.5) + m
def crop(x, tx, ty):
    translation_x = torch.tensor(tx).reshape(N, 1, 1); translation_y = torch.tensor(ty).reshape(N, 1, 1)
    gb, gx, gy = torch.meshgrid(torch.arange(N), torch.arange(H), torch.arange(W), indexing="ij")
    gx = torch.clamp(gx + translation_x + 1, 0, H + 1)
    gy = torch.clamp(gy + translation_y + 1, 0, W + 1)
    x_pad = F.pad(x, [1, 1, 1, 1, 0, 0, 0, 0])
    return x_pad.permute(0, 2, 3, 1).contiguous()[gb, gx, gy].permute(0, 3, 1, 2)
def cutout(x, ox, oy):
    size = int(H * 0.5 + 0.5), int(W * 0.5 + 0.5)
    offset_x = torch.tensor(ox).reshape(N, 1, 1); offset_y = torch.tensor(oy).reshape(N, 1, 1)
    gb, gx, gy = torch.meshgrid(torch.arange(N), torch.arange(size[0]), torch.arange(size[1]), indexing="ij")
    gx = torch.clamp(gx + offset_x - size[0] // 2, min=0, max=H - 1)
    gy = torch.clamp(gy + offset_y - size[1] // 2, min=0, max=W - 1)
    mask = torch.ones(N, H, W)
    mask[gb, gx, gy] = 0
    return x * mask.unsqueeze(1)
def flip(x, f):
    randf = torch.tensor([0.2 if v else 0.7 for v in f]).reshape(N, 1, 1, 1)
    return torch.where(randf < 0.5, x.flip(3), x)
def scale(x, sx, sy):
    theta = torch.tensor([[[sx[i], 0, 0], [0, sy[i], 0]] for i in range(N)], dtype=torch.float)
    return F.grid_sample(x, F.affine_grid(theta, x.shape))
def rotate(x, a):
    theta = torch.tensor(a, dtype=torch.float)
    theta = torch.stack([torch.stack([torch.cos(theta), torch.sin(-theta), torch.zeros(N)], 1),
                         torch.stack([torch.sin(theta), torch.cos(theta), torch.zeros(N)], 1)], 1)
    return F.grid_sample(x, F.affine_grid(theta, x.shape))

params = {
    "brightness": [0.13, 0.91], "saturation": [0.27, 0.74], "contrast": [0.05, 0.66],
    "crop_rows": [-2, 1], "crop_columns": [3, -1], "cutout_rows": [0, 6], "cutout_columns": [8, 3],
    "flip": [True, False], "scale_sx": [0.9, 1.15], "scale_sy": [1.1, 0.87],
    "rotate": [0.2, -0.25],
}
fns = {
    "brightness": lambda x: brightness(x, params["brightness"]),
    "saturation": lambda x: saturation(x, params["saturation"]),
    "contrast": lambda x: contrast(x, params["contrast"]),
    "crop": lambda x: crop(x, params["crop_rows"], params["crop_columns"]),
    "cutout": lambda x: cutout(x, params["cutout_rows"], params["cutout_columns"]),
    "flip": lambda x: flip(x, params["flip"]),
    "scale": lambda x: scale(x, params["scale_sx"], params["scale_sy"]),
    "rotate": lambda x: rotate(x, params["rotate"]),
}
t = lambda v: {"shape": list(v.shape), "data": [float(a) for a in v.detach().reshape(-1).tolist()]}
cases = {}
for name, f in fns.items():
    x = x0.clone().requires_grad_(True)
    out = f(x)
    (out * proj).sum().backward()
    cases[name] = {"out": t(out), "grad_x": t(x.grad)}
root = {"torch": torch.__version__, "x": t(x0), "proj": t(proj), "params": params, "cases": cases}
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "dsa_fixtures.json"), "w") as fh:
    json.dump(root, fh)
