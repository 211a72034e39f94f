#!/usr/bin/python3
"""safetensors interchange helper for SafeTensorsTests (never writes into the repository).

  safetensors_interop.py read PATH    print the file's tensors and metadata as JSON
  safetensors_interop.py write PATH   write a file with known tensors (see KNOWN)

Uses the `safetensors` package when installed; otherwise a tiny pure-python reader/writer
(8-byte little-endian header length, JSON header, data bytes) with numpy.
"""
import json
import struct
import sys

import numpy as np

KNOWN = {
    "layer.weight": np.arange(6, dtype=np.float32).reshape(2, 3) * 0.5 - 1.0,
    "layer.bias": np.array([1e-3, -2.5], dtype=np.float32),
    "steps": np.array([3, -1, 1 << 40], dtype=np.int64),
}
META = {"format": "pt", "note": "from python"}


def read(path):
    try:
        from safetensors.numpy import load_file
        from safetensors import safe_open
        arrays = load_file(path)
        with safe_open(path, framework="np") as f:
            meta = f.metadata() or {}
        backend = "safetensors"
    except ImportError:
        with open(path, "rb") as f:
            blob = f.read()
        (n,) = struct.unpack("<Q", blob[:8])
        header = json.loads(blob[8:8 + n])
        meta = header.pop("__metadata__", {})
        data = blob[8 + n:]
        arrays = {}
        for name, e in header.items():
            dt = {"F32": np.float32, "I64": np.int64}[e["dtype"]]
            b, end = e["data_offsets"]
            arrays[name] = np.frombuffer(data[b:end], dtype=np.dtype(dt).newbyteorder("<")).reshape(e["shape"])
        backend = "pure-python"
    out = {name: {"dtype": str(a.dtype), "shape": list(a.shape), "data": a.reshape(-1).tolist()} for name, a in arrays.items()}
    print(json.dumps({"backend": backend, "tensors": out, "metadata": meta}))


def write(path):
    try:
        from safetensors.numpy import save_file
        save_file(KNOWN, path, metadata=META)
    except ImportError:
        header, chunks, offset = {"__metadata__": META}, [], 0
        for name in sorted(KNOWN, key=lambda k: (-KNOWN[k].dtype.itemsize, k)):
            raw = KNOWN[name].astype(KNOWN[name].dtype.newbyteorder("<")).tobytes()
            dtype = {"float32": "F32", "int64": "I64"}[str(KNOWN[name].dtype)]
            header[name] = {"dtype": dtype, "shape": list(KNOWN[name].shape), "data_offsets": [offset, offset + len(raw)]}
            chunks.append(raw)
            offset += len(raw)
        h = json.dumps(header).encode()
        h += b" " * ((8 - (len(h) % 8)) % 8)
        with open(path, "wb") as f:
            f.write(struct.pack("<Q", len(h)) + h + b"".join(chunks))


if __name__ == "__main__":
    {"read": read, "write": write}[sys.argv[1]](sys.argv[2])
