"""Checks ONNX files written by `distill export` / ONNXExporter (run by ONNXExportTests).

usage: check_onnx.py JOBS [--check-only]   (one job a line: NAME MODEL.onnx X.npy Y.npy KEY=VALUE...)

For each job: onnx.checker.check_model(full_check=True); onnx.shape_inference.infer_shapes(
strict_mode=True); the input's batch axis is the symbolic "batch"; onnxruntime's logits on X (in
one batch) equal Y (the Swift engine's) to max|diff| <= 1e-4 with identical argmax, and the first
example alone (batch 1) gives its row again. Keys: init=NAME (an initializer that must exist),
meta=KEY:VALUE (a metadata_props entry), first=OP (the first node's op type).
--check-only runs the checker and shape inference alone (Debian's python3-onnx, without onnxruntime).
Prints "job K: NAME OK ..." or "job K: NAME FAIL reason" per job.
"""
import sys

CHECK_ONLY = "--check-only" in sys.argv
try:
    import onnx
    if not CHECK_ONLY:
        import numpy as np
        import onnxruntime as ort
except ImportError as e:
    print(f"MISSING: {e} ({sys.executable}; make setup installs python3-onnx, and onnx and onnxruntime from PyPI)")
    sys.exit(3)

TOL = 1e-4


def check(path, x_path, y_path, keys):
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    onnx.shape_inference.infer_shapes(m, check_type=True, strict_mode=True)
    dims = m.graph.input[0].type.tensor_type.shape.dim
    if dims[0].dim_param != "batch":
        return f"FAIL input axis 0 is {dims[0]} not the symbolic batch"
    inits = {t.name for t in m.graph.initializer}
    meta = {p.key: p.value for p in m.metadata_props}
    for k in keys:
        kind, _, v = k.partition("=")
        if kind == "init" and v not in inits:
            return f"FAIL no initializer {v} (have {sorted(inits)[:8]}...)"
        if kind == "meta":
            mk, _, mv = v.partition(":")
            if meta.get(mk) != mv:
                return f"FAIL metadata {mk} = {meta.get(mk)!r}, expected {mv!r}"
        if kind == "first" and m.graph.node[0].op_type != v:
            return f"FAIL first node is {m.graph.node[0].op_type} with inputs {list(m.graph.node[0].input)}, expected {v}"
    if CHECK_ONLY:
        return f"OK checked by onnx {onnx.__version__} (IR {m.ir_version}, opset {m.opset_import[0].version})"
    x = np.load(x_path).astype(np.float32)
    y = np.load(y_path).astype(np.float32)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    got = sess.run(["logits"], {"input": x})[0]
    if got.shape != y.shape:
        return f"FAIL onnxruntime logits {got.shape} vs Swift {y.shape}"
    diff = float(np.max(np.abs(got - y)))
    if not diff <= TOL:
        return f"FAIL max|diff| {diff:.3g} > {TOL}"
    wrong = int(np.sum(np.argmax(got, 1) != np.argmax(y, 1)))
    if wrong:
        return f"FAIL argmax differs on {wrong} of {len(y)} examples"
    one = sess.run(["logits"], {"input": x[:1]})[0]
    d1 = float(np.max(np.abs(one - y[:1])))
    if not d1 <= TOL:
        return f"FAIL batch 1: max|diff| {d1:.3g} > {TOL}"
    return f"OK n={len(y)} maxabs={diff:.3g} batch1={d1:.3g} nodes={len(m.graph.node)} opset={m.opset_import[0].version}"


def main():
    for k, line in enumerate(open(sys.argv[1]).read().splitlines()):
        parts = line.split()
        try:
            result = check(parts[1], parts[2], parts[3], parts[4:])
        except Exception as e:  # the job fails, the others still run
            result = f"FAIL {type(e).__name__}: {e}".replace("\n", " ")
        print(f"job {k}: {parts[0]} {result}", flush=True)


main()
