#!/usr/bin/python3
"""Checks that DistillNN checkpoints interoperate with PyTorch (used by TorchInteropTests; never
writes into the repository).

  torch_interop.py check SPEC CKPT INPUT.npy LOGITS.npy
      Builds the PyTorch mirror of SPEC (torch_models.py), loads the Swift-written safetensors
      checkpoint with load_state_dict(strict=True) (only BatchNorm's num_batches_tracked may be
      absent), runs eval-mode forward on INPUT and compares with the Swift LOGITS: passes when
      max|Δ| ≤ 1e-4 · max|logit|. The input shape [N, C, H, W] (or [N, T] token ids) and the class
      count (LOGITS [N, classes]) fix the model's input.
  torch_interop.py export SPEC SEED OUT.safetensors INPUT.npy LOGITS.npy [--shape 1x28x28] [--classes 10] [--batch 3]
      Builds SPEC with torch.manual_seed(SEED), perturbs BatchNorm running statistics and affine
      parameters (and LayerNorm / attention biases) so eval mode is non-trivial, writes its
      state dict as safetensors, a seeded input (--shape C×H×W, or T for token-id models) and its
      eval-mode logits as .npy.
  torch_interop.py batch JOBS
      Runs one check or export per line of JOBS (arguments separated by spaces) in one process,
      printing `job K: OK …` or `job K: FAIL …` per line; exits 1 when any job fails.

Exit status 0 on success, 1 on a mismatch or load failure (the message says which), 2 on usage.
Only PyTorch and numpy are needed (safetensors is read and written here with json + numpy).
"""
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_models  # noqa: E402

TOLERANCE = 1e-4


class Failure(Exception):
    """A check that did not pass; the message says why."""


class Usage(Exception):
    """Arguments that name no command."""


def read_safetensors(path):
    """{name: torch tensor} of an F32/I64 safetensors file."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    header.pop("__metadata__", None)
    data = blob[8 + n:]
    out = {}
    for name, e in header.items():
        dt = {"F32": "<f4", "I64": "<i8"}[e["dtype"]]
        b, end = e["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[b:end], dtype=dt).reshape(e["shape"]).copy())
    return out


def write_safetensors(path, tensors):
    """Writes {name: tensor} (float32 → F32, int64 → I64), I64 first so every tensor is aligned."""
    arrays = {k: v.detach().cpu().contiguous().numpy() for k, v in tensors.items()}
    header, chunks, offset = {"__metadata__": {"format": "pt", "source": "torch_interop.py"}}, [], 0
    for name in sorted(arrays, key=lambda k: (-arrays[k].dtype.itemsize, k)):
        a = arrays[name]
        dtype = {"float32": "F32", "int64": "I64"}[str(a.dtype)]
        raw = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    h = json.dumps(header).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(chunks))


def input_shape(spec, x_shape):
    """(channels, height, width) for torch_models.build from an input array's shape."""
    if torch_models.is_text(spec):
        if len(x_shape) != 2:
            raise Failure(f"{spec}: token-id input must be [N, T], got {list(x_shape)}")
        return 1, 1, x_shape[1]
    if len(x_shape) != 4:
        raise Failure(f"{spec}: image input must be [N, C, H, W], got {list(x_shape)}")
    return x_shape[1], x_shape[2], x_shape[3]


def describe_mismatch(own, state, limit=6):
    """What keeps `state` from loading strictly into a model whose state dict is `own`: missing and
    unexpected keys, and shape mismatches naming both shapes ('' when it fits)."""
    def listed(keys):
        keys = sorted(keys)
        return ", ".join(keys[:limit]) + (f" (and {len(keys) - limit} more)" if len(keys) > limit else "")
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f"{k} expects {list(own[k].shape)}, got {list(state[k].shape)}"
              for k in sorted(own) if k in state and tuple(own[k].shape) != tuple(state[k].shape)]
    parts = []
    if missing:
        parts.append(f"missing keys: {listed(missing)}")
    if unexpected:
        parts.append(f"unexpected keys: {listed(unexpected)}")
    if shapes:
        parts.append("shape mismatch: " + "; ".join(shapes[:limit]) + (f" (and {len(shapes) - limit} more)" if len(shapes) > limit else ""))
    return "; ".join(parts)


def check(spec, ckpt, input_path, logits_path):
    x = np.load(input_path).astype(np.float32)
    expected = np.load(logits_path).astype(np.float32)
    if expected.ndim != 2 or expected.shape[0] != x.shape[0]:
        raise Failure(f"{spec}: logits {list(expected.shape)} are not [N={x.shape[0]}, classes]")
    c, h, w = input_shape(spec, x.shape)
    model = torch_models.build(spec, c, h, w, expected.shape[1])
    state = read_safetensors(ckpt)
    own = model.state_dict()
    for k in own:
        if k.endswith("num_batches_tracked") and k not in state:
            state[k] = own[k]
    problems = describe_mismatch(own, state)
    if problems:
        raise Failure(f"{spec}: checkpoint {ckpt} does not fit the PyTorch model: {problems}")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise Failure(f"{spec}: load_state_dict(strict=True) failed: {' '.join(str(e).split())}")
    model.eval()
    with torch.no_grad():
        y = model(torch.from_numpy(x)).numpy()
    if y.shape != expected.shape:
        raise Failure(f"{spec}: PyTorch logits {list(y.shape)} vs Swift logits {list(expected.shape)}")
    diff = float(np.abs(y - expected).max())
    scale = float(np.abs(expected).max())
    rel = diff / max(scale, 1e-12)
    summary = f"{spec}: max|Δ| = {diff:.3e}, max|logit| = {scale:.3e}, relative {rel:.3e} (tolerance {TOLERANCE:g})"
    if not rel <= TOLERANCE:
        raise Failure(summary + " MISMATCH")
    return summary


def perturb(model, gen):
    """Makes eval mode non-trivial: BatchNorm running stats and affine params, LayerNorm affine
    params and attention biases get seeded random values instead of their 0/1 initial ones."""
    def rand(t, lo, hi):
        return torch.rand(t.shape, generator=gen) * (hi - lo) + lo
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(rand(m.running_mean, -0.5, 0.5))
                m.running_var.copy_(rand(m.running_var, 0.5, 2.0))
                m.weight.copy_(rand(m.weight, 0.5, 1.5))
                m.bias.copy_(rand(m.bias, -0.3, 0.3))
                m.num_batches_tracked.fill_(7)
            elif isinstance(m, torch.nn.LayerNorm):
                m.weight.copy_(rand(m.weight, 0.5, 1.5))
                m.bias.copy_(rand(m.bias, -0.3, 0.3))
            elif isinstance(m, torch.nn.MultiheadAttention):
                m.in_proj_bias.copy_(rand(m.in_proj_bias, -0.3, 0.3))
                m.out_proj.bias.copy_(rand(m.out_proj.bias, -0.3, 0.3))


def export(spec, seed, out_path, input_path, logits_path, shape="1x28x28", classes=10, batch=3):
    seed = int(seed)
    torch.manual_seed(seed)
    dims = [int(v) for v in str(shape).split("x")]
    if torch_models.is_text(spec):
        if len(dims) != 1:
            raise Failure(f"{spec}: --shape for a token-id model is the length T, got {shape}")
        c, h, w = 1, 1, dims[0]
    else:
        if len(dims) != 3:
            raise Failure(f"{spec}: --shape must be CxHxW, got {shape}")
        c, h, w = dims
    model = torch_models.build(spec, c, h, w, int(classes))
    gen = torch.Generator().manual_seed(seed + 1)
    perturb(model, gen)
    if torch_models.is_text(spec):
        vocab = model.embedding.num_embeddings
        x = torch.randint(0, vocab, (int(batch), w), generator=gen).float()
    else:
        x = torch.randn((int(batch), c, h, w), generator=gen)
    model.eval()
    with torch.no_grad():
        y = model(x)
    write_safetensors(out_path, model.state_dict())
    np.save(input_path, x.numpy().astype(np.float32))
    np.save(logits_path, y.numpy().astype(np.float32))
    return f"{spec}: exported {len(model.state_dict())} tensors, logits {list(y.shape)}, max|logit| = {float(y.abs().max()):.3e}"


def run(args):
    """Runs one command line (without the program name); returns its summary or raises Failure."""
    if not args:
        raise Usage("no command")
    if args[0] == "check" and len(args) == 5:
        return check(*args[1:])
    if args[0] == "export" and len(args) >= 6:
        opts, rest = {}, args[6:]
        while rest:
            if len(rest) < 2 or rest[0] not in ("--shape", "--classes", "--batch"):
                raise Usage(f"bad export option {rest[:2]}")
            opts[rest[0][2:]] = rest[1]
            rest = rest[2:]
        return export(*args[1:6], **opts)
    raise Usage(f"bad arguments {args}")


def main(argv):
    torch.set_num_threads(1)
    if len(argv) == 2 and argv[0] == "batch":
        with open(argv[1]) as f:
            jobs = [line.split() for line in f if line.strip()]
        failed = 0
        for k, job in enumerate(jobs):
            try:
                print(f"job {k}: OK {run(job)}", flush=True)
            except Failure as e:
                failed += 1
                print(f"job {k}: FAIL {e}", flush=True)
            except Exception as e:  # a crash in one job must not hide the others
                failed += 1
                print(f"job {k}: FAIL {job[:2]}: {type(e).__name__}: {' '.join(str(e).split())}", flush=True)
        return 1 if failed else 0
    try:
        print(run(argv))
        return 0
    except Failure as e:
        print(f"FAIL {e}")
        return 1
    except Usage as e:
        print(f"{e}\n{__doc__}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
