# Writes the seed corpora of the fuzz targets (Fuzz/corpus/TARGET/*): small valid inputs of every
# format. Run from the repository root: python3 Fuzz/make_corpus.py (needs numpy; the checkpoint
# seed needs `pip install xxhash` for its checksums).
import gzip, io, json, os, shutil, struct, zipfile
import numpy as np

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
shutil.rmtree(root, ignore_errors=True)

def put(target, name, data):
    d = os.path.join(root, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())

rng = np.random.default_rng(0)

def idx(type_code, arr, dtype):
    return struct.pack(">BBBB", 0, 0, type_code, arr.ndim) + b"".join(struct.pack(">I", d) for d in arr.shape) + arr.astype(dtype).tobytes()

images = idx(0x08, rng.integers(0, 256, (3, 4, 4)), np.uint8)
labels = idx(0x08, np.array([1, 0, 9]), np.uint8)
put("idx", "images", images)
put("idx", "images.gz", gzip.compress(images, mtime=0))
put("idx", "labels", labels)
put("idx", "labels.gz", gzip.compress(labels, mtime=0))
put("idx", "labels-f64", idx(0x0E, np.array([1.0, 2.0, 3.0]), ">f8"))
put("idx", "images-f32", idx(0x0D, rng.random((2, 2, 2)), ">f4"))

rec = lambda labels_: bytes(labels_) + bytes(rng.integers(0, 256, 3072, dtype=np.uint8))
put("cifar", "cifar10", rec([3]) + rec([7]))
put("cifar", "cifar100", rec([4, 42]))

def npy(a):
    b = io.BytesIO(); np.save(b, a); return b.getvalue()
put("npy", "f4", npy(rng.random((2, 3)).astype("<f4")))
put("npy", "i8", npy(np.arange(5, dtype="<i8")))
put("npy", "f8", npy(rng.random((2, 2))))
put("npy", "u1", npy(np.arange(4, dtype=np.uint8)))

for name, save in (("stored", np.savez), ("deflated", np.savez_compressed)):
    b = io.BytesIO(); save(b, logits=rng.random((2, 3)).astype("<f4"), labels=np.arange(2)); put("npz", name, b.getvalue())

def safetensors(tensors, metadata):
    header, payload = {}, b""
    if metadata: header["__metadata__"] = metadata
    for k in sorted(tensors):
        a = tensors[k].astype("<f4"); data = a.tobytes()
        header[k] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [len(payload), len(payload) + len(data)]}
        payload += data
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + payload

mlp = {"fc1.weight": rng.random((4, 64)), "fc1.bias": rng.random(4), "fc2.weight": rng.random((3, 4)), "fc2.bias": rng.random(3)}
put("safetensors", "model", safetensors(mlp, {"model": "mlp:4", "data": "fashion-mnist"}))
described = {"model": "mlp:4", "data": "fashion-mnist", "classes": "3", "input_shape": "1x8x8",
             "class_names": json.dumps(["a", "b", "c"]), "input_transform": "normalize:0.25:0.5"}
put("safetensors", "described-model", safetensors(mlp, described))
put("safetensors", "wrapped-model", safetensors({"module." + k: v for k, v in mlp.items()}, {"model": "mlp:4"}))
try:
    import xxhash
    tensors = {"model." + k: v for k, v in mlp.items()}
    meta = {"format": "swift-distill-checkpoint-3", "result_format": "2", "epoch": "1", "batch": "0", "step": "4",
            "sums": json.dumps({"lossSum": 0, "correct": 0, "seen": 0, "termSums": {}, "termSeen": {}, "counted": 0}),
            "seconds": "0.5", "config": "{}", "random": "{}", "history": "[]"}
    sums = {k: "%016x" % xxhash.xxh64(v.astype("<f4").tobytes()).intdigest() for k, v in tensors.items()}
    meta["checksum.tensors"] = json.dumps(sums, sort_keys=True, separators=(",", ":"))
    blob = b"".join(k.encode() + b"\0" + meta[k].encode() + b"\0" for k in sorted(meta))
    meta["checksum.metadata"] = "%016x" % xxhash.xxh64(blob).intdigest()
    put("safetensors", "checkpoint", safetensors(tensors, meta))
except ImportError:
    print("xxhash missing: no checkpoint seed")

here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for f in ("hinton-short.yaml", "mutual-learning-fashion-mnist.yaml", "co-teaching-fashion-mnist.yaml", "early-stopped-teachers-fashion-mnist.yaml",
          "condense-fashion-mnist.yaml", "datafree-fashion-mnist.yaml"):
    put("experiment", f, open(os.path.join(here, "experiments", f)).read())
# the first line "#short" makes the target parse the file's short version
for f in ("condense-fashion-mnist.yaml", "datafree-fashion-mnist.yaml"):
    put("experiment", "short-" + f, "#short\n" + open(os.path.join(here, "experiments", f)).read())
put("experiment", "with-sets.yaml", "#set seeds=[1]\n#set student.train.epochs=2\nname: s\nteacher: {model: \"mlp:8\"}\nstudent: {model: \"mlp:4\"}\nmethod: [hinton:temperature=4, {name: at, weight: 10}]\n")

for i, s in enumerate(["mlp:800x800,dropout=0.5", "cnn:8x16,fc=32,bn=1", "resnet8", "wrn-10-2", "vgg8", "lenet5",
                       "one:32x32,branches=3,trunk=1", "transformer:vocab=50,dim=16,heads=2,depth=1,ff=32,maxlen=12", "bilstm:vocab=10,embed=4,hidden=4"]):
    put("model-spec", "spec-%d" % i, s)
for i, s in enumerate(["hinton:temperature=4,alpha=0.9", "kd*0.5:temperature=2", "at:student=conv1,conv2,teacher=layer1,layer2",
                       "dkd:alpha=1,beta=8,warmup=5", "noisy-label-kd:lambda=0.5", "crd:student=fc1,teacher=fc1", "mi:student=fc1,teacher=fc1", "ce:label_smoothing=0.1"]):
    put("method-spec", "spec-%d" % i, s)
for i, s in enumerate(["crop:4,flip", "jitter:2", "normalize:fashion-mnist", "mixup:0.2", "crop:2:10,flip:0.3", "normalize:0.5:0.25"]):
    put("augmentation", "spec-%d" % i, s)
for i, s in enumerate(["color_crop_cutout_flip_scale_rotate", "color", "crop_flip", "none", "scale_rotate_scale", "cutout"]):
    put("dsa-strategy", "spec-%d" % i, s)
for i, s in enumerate(["cosine", "constant", "step:3:0.5", "multistep:2,4:0.1"]):
    put("schedule", "spec-%d" % i, s)

try:
    from PIL import Image
    def image_bytes(img, fmt, **kw):
        b = io.BytesIO(); img.save(b, fmt, **kw); return b.getvalue()
    px = lambda *shape: rng.integers(0, 256, shape, dtype=np.uint8)
    put("png", "gray", image_bytes(Image.fromarray(px(5, 7)), "PNG"))
    put("png", "rgb", image_bytes(Image.fromarray(px(4, 6, 3)), "PNG"))
    put("png", "rgba", image_bytes(Image.fromarray(px(3, 3, 4), mode="RGBA"), "PNG"))
    put("png", "gray-alpha", image_bytes(Image.fromarray(px(3, 4, 2), mode="LA"), "PNG"))
    put("png", "gray16", image_bytes(Image.fromarray(rng.integers(0, 65536, (4, 4), dtype=np.uint16)), "PNG"))
    pal = Image.fromarray(rng.integers(0, 4, (6, 6), dtype=np.uint8), mode="P"); pal.putpalette(list(px(12)))
    put("png", "palette-trns", image_bytes(pal, "PNG", transparency=2))
    put("png", "bilevel", image_bytes(Image.fromarray(px(8, 8) > 127), "PNG"))
    put("jpeg", "gray", image_bytes(Image.fromarray(px(8, 8)), "JPEG", quality=90))
    put("jpeg", "rgb-420", image_bytes(Image.fromarray(px(16, 16, 3)), "JPEG", quality=75))
    put("jpeg", "rgb-444", image_bytes(Image.fromarray(px(9, 11, 3)), "JPEG", quality=95, subsampling=0))
    put("jpeg", "progressive", image_bytes(Image.fromarray(px(16, 16, 3)), "JPEG", progressive=True))
    put("jpeg", "optimized-restart", image_bytes(Image.fromarray(px(16, 24, 3)), "JPEG", optimize=True, restart_marker_blocks=1))
except ImportError:
    print("PIL missing: no PNG or JPEG seeds")

put("csv", "kaggle", "label,pixel1,pixel2,pixel3,pixel4\n3,0,51,102,255\n0,1,2,3,4\n")
put("csv", "no-header-crlf", "1,9,9,9,9\r\n\r\n2, 8 ,8,8,8\r\n")
put("csv", "rgb", "label,r,g,b,r,g,b\n0,10,20,30,40,50,60\n1,0,0,0,255,255,255\n")
put("csv", "nine", "label," + ",".join("p%d" % i for i in range(9)) + "\n" + "\n".join(str(i) + "," + ",".join(str((i * 31 + j) % 256) for j in range(9)) for i in range(4)) + "\n")
for i, s in enumerate(["fashion-mnist", "mnist:/data/mnist", "folder:/data/pets", "npz:/data/mnist.npz,layout=nhwc", "npy:/data/arrays,layout=nchw",
                       "csv:/data/kaggle", "csv:/data/train.csv,/data/test.csv,shape=3x32x32,layout=nhwc", "csv:/d,shape=28x28"]):
    put("data-spec", "spec-%d" % i, s)
