#!/usr/bin/python3
"""PyTorch mirrors of the DistillNN model zoo (Sources/DistillNN/Models/*.swift).

Each class has the same parameter and buffer names (`state_dict()` keys) and the same forward
computation as its Swift counterpart, so a checkpoint moves between the two with
`load_state_dict(strict=True)` (PyTorch's BatchNorm `num_batches_tracked` is the one key Swift
does not keep). `build(spec, channels, height, width, classes)` parses the same spec strings as
`ModelZoo.make`. Only PyTorch (and numpy for callers) is needed; no PyPI packages.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class MLP(nn.Module):
    """fc1…fcK; [Linear → ReLU → Dropout] per hidden layer (dropout is a no-op in eval)."""

    def __init__(self, inputs, hidden, classes, dropout=0.0, input_dropout=0.0):
        super().__init__()
        widths = [inputs] + list(hidden) + [classes]
        self.count = len(widths) - 1
        self.input_dropout = nn.Dropout(input_dropout) if input_dropout > 0 else None
        self.drops = []
        for i in range(self.count):
            setattr(self, f"fc{i + 1}", nn.Linear(widths[i], widths[i + 1]))
            if dropout > 0 and i < len(hidden):
                d = nn.Dropout(dropout)
                setattr(self, f"dropout{i + 1}", d)
                self.drops.append(d)

    def forward(self, x):
        h = x if x.dim() == 2 else x.flatten(1)
        if self.input_dropout is not None:
            h = self.input_dropout(h)
        for i in range(self.count):
            h = getattr(self, f"fc{i + 1}")(h)
            if i < self.count - 1:
                h = F.relu(h)
                if i < len(self.drops):
                    h = self.drops[i](h)
        return h


class LeNet5(nn.Module):
    """conv1 (5×5, padding 2) → pool → conv2 (5×5) → pool → fc1 → fc2 → fc3, ReLU throughout."""

    def __init__(self, channels, height, width, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        h, w = (height // 2 - 4) // 2, (width // 2 - 4) // 2
        self.fc1 = nn.Linear(16 * h * w, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, classes)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.conv1(x)), 2)
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)
        h = F.relu(self.fc2(F.relu(self.fc1(h.flatten(1)))))
        return self.fc3(h)


class ConvNet(nn.Module):
    """conv{i} (3×3, padding 1) → [bn{i}] → ReLU → max-pool 2 per width, then fc1 → ReLU → fc2."""

    def __init__(self, channels, height, width, widths, hidden, classes, batch_norm=False):
        super().__init__()
        self.k, self.batch_norm = len(widths), batch_norm
        c, h, w = channels, height, width
        for i, cw in enumerate(widths):
            setattr(self, f"conv{i + 1}", nn.Conv2d(c, cw, 3, padding=1))
            if batch_norm:
                setattr(self, f"bn{i + 1}", nn.BatchNorm2d(cw))
            c, h, w = cw, h // 2, w // 2
        self.fc1 = nn.Linear(c * h * w, hidden)
        self.fc2 = nn.Linear(hidden, classes)

    def forward(self, x):
        h = x
        for i in range(self.k):
            h = getattr(self, f"conv{i + 1}")(h)
            if self.batch_norm:
                h = getattr(self, f"bn{i + 1}")(h)
            h = F.max_pool2d(F.relu(h), 2)
        return self.fc2(F.relu(self.fc1(h.flatten(1))))


class BasicBlock(nn.Module):
    """conv1 → bn1 → ReLU → conv2 → bn2, + identity or downsample (1×1 conv + BN), → ReLU."""

    def __init__(self, in_planes, planes, stride, shortcut="b"):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        self.option_a = None
        if stride != 1 or in_planes != planes:
            if shortcut == "a":
                # akamaster/pytorch_resnet_cifar10's LambdaLayer: subsample, zero channels on both sides
                extra = planes - in_planes
                self.option_a = lambda x: F.pad(x[:, :, ::stride, ::stride], (0, 0, 0, 0, extra // 2, extra - extra // 2), "constant", 0)
            else:
                self.downsample = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        if self.option_a is not None:
            return F.relu(out + self.option_a(x))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class CIFARResNet(nn.Module):
    """conv1 → bn1 → ReLU → layer1..3 (n = (depth − 2) / 6 blocks each) → adaptive avg pool → fc."""

    def __init__(self, depth, filters, channels, classes, shortcut="b"):
        super().__init__()
        self.shortcut = shortcut
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(channels, filters[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(filters[0])
        planes = filters[0]
        stages = []
        for out, stride in ((filters[1], 1), (filters[2], 2), (filters[3], 2)):
            blocks = []
            for i in range(n):
                blocks.append(BasicBlock(planes, out, stride if i == 0 else 1, shortcut))
                planes = out
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        head = nn.Linear(filters[3], classes)
        if shortcut == "a":
            self.linear = head   # akamaster's name
        else:
            self.fc = head

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.layer3(self.layer2(self.layer1(h)))
        head = self.linear if self.shortcut == "a" else self.fc
        return head(F.adaptive_avg_pool2d(h, 1).flatten(1))


class WideBasicBlock(nn.Module):
    """Pre-activation: a = ReLU(bn1(x)); conv2(ReLU(bn2(conv1(a)))) + (convShortcut(a) or x)."""

    def __init__(self, in_planes, out_planes, stride, drop_rate):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, out_planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_planes)
        self.conv2 = nn.Conv2d(out_planes, out_planes, 3, padding=1, bias=False)
        self.convShortcut = None if in_planes == out_planes else nn.Conv2d(in_planes, out_planes, 1, stride=stride, bias=False)
        self.drop_rate = drop_rate

    def forward(self, x):
        a = F.relu(self.bn1(x))
        out = F.relu(self.bn2(self.conv1(a)))
        out = F.dropout(out, self.drop_rate, self.training)
        out = self.conv2(out)
        return out + (x if self.convShortcut is None else self.convShortcut(a))


class NetworkBlock(nn.Module):
    """The reference code's group wrapper: its blocks live in `layer` (paths `block1.layer.0`)."""

    def __init__(self, n, in_planes, out_planes, stride, drop_rate):
        super().__init__()
        self.layer = nn.Sequential(*[WideBasicBlock(in_planes if i == 0 else out_planes, out_planes,
                                                    stride if i == 0 else 1, drop_rate) for i in range(n)])

    def forward(self, x):
        return self.layer(x)


class WideResNet(nn.Module):
    """conv1 → block1..3 → bn1 → ReLU → adaptive avg pool → fc; widths 16, 16w, 32w, 64w."""

    def __init__(self, depth, widen, drop_rate, channels, classes):
        super().__init__()
        n = (depth - 4) // 6
        w = [16, 16 * widen, 32 * widen, 64 * widen]
        self.conv1 = nn.Conv2d(channels, w[0], 3, padding=1, bias=False)
        self.block1 = NetworkBlock(n, w[0], w[1], 1, drop_rate)
        self.block2 = NetworkBlock(n, w[1], w[2], 2, drop_rate)
        self.block3 = NetworkBlock(n, w[2], w[3], 2, drop_rate)
        self.bn1 = nn.BatchNorm2d(w[3])
        self.fc = nn.Linear(w[3], classes)

    def forward(self, x):
        h = F.relu(self.bn1(self.block3(self.block2(self.block1(self.conv1(x))))))
        return self.fc(F.adaptive_avg_pool2d(h, 1).flatten(1))


VGG_CONFIGS = {
    8: [[64], [128], [256], [512], [512]],
    11: [[64], [128], [256, 256], [512, 512], [512, 512]],
    13: [[64, 64], [128, 128], [256, 256], [512, 512], [512, 512]],
}


class VGG(nn.Module):
    """block0..4 of [conv3×3 → BN → ReLU]* with each block's last ReLU outside it; max-pool 2
    after blocks 0–3, adaptive avg pool after block 4, then `classifier`."""

    def __init__(self, depth, channels, classes):
        super().__init__()
        c = channels
        for b, widths in enumerate(VGG_CONFIGS[depth]):
            layers = []
            for i, cw in enumerate(widths):
                layers += [nn.Conv2d(c, cw, 3, padding=1), nn.BatchNorm2d(cw)]
                if i < len(widths) - 1:
                    layers.append(nn.ReLU())
                c = cw
            setattr(self, f"block{b}", nn.Sequential(*layers))
        self.classifier = nn.Linear(c, classes)

    def forward(self, x):
        h = x
        for b in range(5):
            h = F.relu(getattr(self, f"block{b}")(h))
            h = F.max_pool2d(h, 2) if b < 4 else F.adaptive_avg_pool2d(h, 1)
        return self.classifier(h.flatten(1))


class BiLSTMClassifier(nn.Module):
    """embedding → lstm (bidirectional, batch-first) → mean over time → fc; ids come as floats."""

    def __init__(self, vocab, embed, hidden, layers, classes):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden, num_layers=layers, bidirectional=True, batch_first=True)
        self.fc = nn.Linear(2 * hidden, classes)

    def forward(self, x):
        out, _ = self.lstm(self.embedding(x.long()))
        return self.fc(out.mean(1))


class TransformerClassifier(nn.Module):
    """embedding + position_embedding[:T] → layers (post-norm, ReLU, batch-first) → mean → fc."""

    def __init__(self, vocab, dim, heads, depth, ff, maxlen, dropout, classes):
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim)
        self.position_embedding = nn.Parameter(torch.randn(maxlen, dim) * 0.02)
        self.layers = nn.Sequential(*[nn.TransformerEncoderLayer(dim, heads, ff, dropout, batch_first=True)
                                      for _ in range(depth)])
        self.fc = nn.Linear(dim, classes)

    def forward(self, x):
        h = self.embedding(x.long()) + self.position_embedding[: x.shape[1]]
        return self.fc(self.layers(h).mean(1))


class VisionTransformer(nn.Module):
    """patch_embed (conv, kernel = stride = patch) → [cls_token; tokens] + position_embedding →
    layers (pre-norm, exact GELU, batch-first) → norm → head on the class token."""

    def __init__(self, channels, height, width, patch, dim, heads, depth, ff, dropout, classes):
        super().__init__()
        self.patch_embed = nn.Conv2d(channels, dim, patch, stride=patch)
        tokens = (height // patch) * (width // patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.position_embedding = nn.Parameter(torch.randn(1, tokens + 1, dim) * 0.02)
        self.layers = nn.Sequential(*[nn.TransformerEncoderLayer(dim, heads, ff, dropout, activation="gelu", batch_first=True,
                                                                 norm_first=True) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        h = self.patch_embed(x).flatten(2).transpose(1, 2)
        h = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), h], dim=1) + self.position_embedding
        return self.head(self.norm(self.layers(h))[:, 0])


def parse_spec(spec):
    """`family[:argument][,key=value]*` → (family, argument or None, options), as ModelZoo.Spec."""
    parts = spec.split(",")
    head = parts[0].split(":", 1)
    family = head[0].lower()
    arg = head[1] if len(head) > 1 else None
    extra = parts[1:] + ([arg] if arg is not None and "=" in arg else [])
    options = {}
    for p in extra:
        k, sep, v = p.partition("=")
        if not sep or not k:
            raise ValueError(f"model '{spec}': option '{p}' is not key=value")
        options[k] = v
    if arg is not None and "=" in arg:
        arg = None
    return family, arg, options


def build(spec, channels, height, width, classes):
    """The PyTorch model for a ModelZoo spec and input shape (PyTorch's default initialisation)."""
    family, arg, opt = parse_spec(spec)
    widths = lambda d: [int(v) for v in arg.split("x")] if arg else d
    num = lambda k, d, t=int: t(opt.pop(k)) if k in opt else d
    if family == "mlp":
        m = MLP(channels * height * width, widths([1200, 1200]), classes, num("dropout", 0.0, float), num("input_dropout", 0.0, float))
    elif family == "lenet5":
        m = LeNet5(channels, height, width, classes)
    elif family == "cnn":
        m = ConvNet(channels, height, width, widths([32, 64, 128]), num("fc", 256), classes, num("bn", 0) == 1)
    elif family in ("vgg8", "vgg11", "vgg13"):
        m = VGG(int(family[3:]), channels, classes)
    elif family == "bilstm":
        m = BiLSTMClassifier(num("vocab", 1000), num("embed", 64), num("hidden", 64), num("layers", 1), classes)
    elif family == "transformer":
        m = TransformerClassifier(num("vocab", 1000), num("dim", 64), num("heads", 4), num("depth", 2), num("ff", 128),
                                  num("maxlen", 256), num("dropout", 0.1, float), classes)
    elif family == "vit":
        m = VisionTransformer(channels, height, width, num("patch", 4), num("dim", 64), num("heads", 4), num("depth", 2), num("ff", 128),
                              num("dropout", 0.0, float), classes)
    elif family.startswith("resnet"):
        wide = family.endswith("x4")
        depth = int(family[6:-2] if wide else family[6:])
        m = CIFARResNet(depth, [32, 64, 128, 256] if wide else [16, 16, 32, 64], channels, classes, opt.pop("shortcut", "b"))
    elif family.startswith("wrn-"):
        _, d, w = family.split("-")
        m = WideResNet(int(d), int(w), num("dropout", 0.0, float), channels, classes)
    else:
        raise ValueError(f"unknown model '{spec}'")
    if opt:
        raise ValueError(f"model '{spec}': unknown options {sorted(opt)}")
    return m


def is_text(spec):
    """True for the token-id models (input [N, T] of ids carried as floats)."""
    return parse_spec(spec)[0] in ("bilstm", "transformer")
