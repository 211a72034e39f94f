import DistillCore

/// Errors naming a model specification.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case unknownModel(String, known: [String])
    case badOption(model: String, option: String, detail: String)
    /// A spec whose model exceeds `ModelLimits` (the detail gives its size and the limit).
    case tooLarge(model: String, detail: String)

    public var description: String {
        switch self {
        case let .unknownModel(name, known):
            return "unknown model '\(name)'; known models: \(known.joined(separator: ", "))"
        case let .badOption(model, option, detail):
            return "model '\(model)': option '\(option)' \(detail)"
        case let .tooLarge(model, detail):
            return "model '\(model)' \(detail)"
        }
    }
}

/// What a model is built for: images [C, H, W] or token ids [T], and the class count.
public struct ModelInput: Equatable, Sendable {
    /// Images (every data set the tool reads today) or sequences of token ids (text models).
    public enum Modality: String, Sendable { case images, tokens }
    public var channels: Int, height: Int, width: Int, classes: Int
    public var modality: Modality
    public init(channels: Int = 1, height: Int = 28, width: Int = 28, classes: Int = 10, modality: Modality = .images) {
        self.channels = channels; self.height = height; self.width = width; self.classes = classes; self.modality = modality
    }
    /// Token ids, for the text models (`bilstm`, `transformer`).
    public static func tokens(classes: Int) -> ModelInput { ModelInput(classes: classes, modality: .tokens) }
    public static let fashionMNIST = ModelInput()
    public static let cifar10 = ModelInput(channels: 3, height: 32, width: 32, classes: 10)
}

/// Builds models by name: `resnet20`, `mlp:1200x1200`, `mlp:800x800,dropout=0.5`, `wrn-40-2`,
/// `vgg8`, `cnn:32x64x128,fc=256`, `lenet5`, `bilstm:vocab=1000`, `transformer:vocab=1000,depth=2`.
///
/// A spec is `family[:arguments][,key=value]*`. Unknown names and options throw, listing what is
/// known. The same spec and seed always give the same initial weights.
public enum ModelZoo {
    public struct Entry: Sendable {
        public let name: String, example: String, summary: String
    }

    /// The families, with an example spec each (what `distill models` lists).
    public static let entries: [Entry] = [
        Entry(name: "mlp", example: "mlp:1200x1200", summary: "MLP, hidden widths joined by x; options dropout, input_dropout"),
        Entry(name: "lenet5", example: "lenet5", summary: "LeNet-5 with ReLU and max pooling; options half (true: DAFL's LeNet5Half, widths 3-8-60-42), bn (true: BatchNorm after each conv)"),
        Entry(name: "convnet3", example: "convnet3", summary: "DC's ConvNet: depth × [conv3×3, norm, ReLU, avg-pool 2] + linear; options width (128), depth (3), norm (instancenorm|batchnorm|none)"),
        Entry(name: "cnn", example: "cnn:32x64x128", summary: "conv3×3-ReLU-pool blocks + 2 linear; options fc (256), bn (0/1)"),
        Entry(name: "resnet8", example: "resnet8", summary: "CIFAR ResNet-8, filters 16-16-32-64"),
        Entry(name: "resnet14", example: "resnet14", summary: "CIFAR ResNet-14"),
        Entry(name: "resnet20", example: "resnet20", summary: "CIFAR ResNet-20; option shortcut=a: zero-padding shortcuts and head `linear` (akamaster's checkpoints), b: projection (default)"),
        Entry(name: "resnet32", example: "resnet32", summary: "CIFAR ResNet-32"),
        Entry(name: "resnet44", example: "resnet44", summary: "CIFAR ResNet-44"),
        Entry(name: "resnet56", example: "resnet56", summary: "CIFAR ResNet-56"),
        Entry(name: "resnet110", example: "resnet110", summary: "CIFAR ResNet-110"),
        Entry(name: "resnet8x4", example: "resnet8x4", summary: "ResNet-8 with filters 32-64-128-256"),
        Entry(name: "resnet32x4", example: "resnet32x4", summary: "ResNet-32 with filters 32-64-128-256"),
        Entry(name: "wrn", example: "wrn-16-2", summary: "Wide ResNet wrn-DEPTH-WIDTH; option dropout"),
        Entry(name: "vgg8", example: "vgg8", summary: "CIFAR VGG-8 with batch norm"),
        Entry(name: "vgg11", example: "vgg11", summary: "CIFAR VGG-11 with batch norm"),
        Entry(name: "vgg13", example: "vgg13", summary: "CIFAR VGG-13 with batch norm"),
        Entry(name: "one", example: "one:800x800,branches=3,trunk=1", summary: "ONE's multi-branch MLP: shared trunk, gated branches; options branches, trunk, dropout"),
        Entry(name: "bilstm", example: "bilstm:vocab=1000", summary: "BiLSTM text classifier; options vocab, embed, hidden, layers"),
        Entry(name: "vit", example: "vit:patch=7,dim=64,depth=2", summary: "Vision Transformer (pre-norm, GELU, class token): options patch (4; must tile the image), dim (64), heads (4), depth (2), ff (128), dropout (0)"),
        Entry(name: "transformer", example: "transformer:vocab=1000", summary: "Transformer encoder classifier; options vocab, dim, heads, depth, ff, maxlen, dropout"),
    ]

    /// The families that read token ids rather than images.
    public static let textFamilies = ["bilstm", "transformer"]

    /// The family of a spec (`mlp` for `mlp:800x800,dropout=0.5`), "" when it does not parse.
    public static func family(of spec: String) -> String { (try? Spec(spec))?.family ?? "" }

    /// Builds the model named by `spec` for `input`, initialised from `seed`.
    public static func make(_ spec: String, input: ModelInput = .fashionMNIST, seed: UInt64 = 0) throws -> Module {
        try make(spec, input: input, seed: seed, build: true)!
    }

    /// Throws exactly what `make` would for `spec` and `input`, without allocating the model
    /// (what an experiment file's validation runs for every model it names).
    public static func check(_ spec: String, input: ModelInput = .fashionMNIST) throws {
        _ = try make(spec, input: input, seed: 0, build: false)
    }

    static func make(_ spec: String, input: ModelInput, seed: UInt64, build: Bool) throws -> Module? {
        let parsed = try Spec(spec)
        let name = parsed.family
        let known = entries.map(\.example)
        for (what, v) in [("channels", input.channels), ("height", input.height), ("width", input.width), ("classes", input.classes)]
        where !(1...Limits.maxDimension).contains(v) {
            throw ModelError.badOption(model: spec, option: "input", detail: "needs input \(what) in 1…\(Limits.maxDimension), got \(v)")
        }
        let pixels = input.channels * input.height * input.width   // each ≤ 2^20: no overflow in Int64
        if textFamilies.contains(name) != (input.modality == .tokens) {
            throw ModelError.badOption(model: spec, option: "input", detail: input.modality == .images
                ? "is a text model (token ids [T]); the data are images \(input.channels)×\(input.height)×\(input.width)"
                : "is an image model; the data are token ids")
        }
        switch name {
        case "mlp":
            let hidden = try parsed.widths(default: [1200, 1200])
            try ModelLimits.check(spec, parameters: ModelLimits.sumOfProducts(layers([pixels] + hidden + [input.classes])))
            let dropout = try parsed.float("dropout", default: 0, range: 0..<1)
            let inputDropout = try parsed.float("input_dropout", default: 0, range: 0..<1)
            try parsed.finish(["dropout", "input_dropout"])
            guard build else { return nil }
            return MLP(inputs: pixels, hidden: hidden, classes: input.classes, dropout: dropout, inputDropout: inputDropout, seed: seed)
        case "one":
            let hidden = try parsed.widths(default: [800, 800])
            let branches = try parsed.int("branches", default: 3, range: 2...16), trunk = try parsed.int("trunk", default: 1, range: 1...max(hidden.count, 1))
            let widths = [pixels] + hidden + [input.classes]
            let shared = layers(Array(widths[...trunk])), branch = layers(Array(widths[trunk...]))
            try ModelLimits.check(spec, parameters: ModelLimits.sumOfProducts(shared + Array(repeating: branch, count: branches).flatMap { $0 }
                                                                                + [[widths[trunk] + 1, branches]]))
            let dropout = try parsed.float("dropout", default: 0, range: 0..<1)
            try parsed.finish(["branches", "trunk", "dropout"])
            guard build else { return nil }
            return OneNetwork(inputs: pixels, hidden: hidden, classes: input.classes, branches: branches, trunk: trunk, dropout: dropout, seed: seed)
        case "lenet5":
            let half = try parsed.flag("half"), bn = try parsed.flag("bn")
            try parsed.finish(["half", "bn"])
            guard input.height >= 12, input.width >= 12 else {
                throw ModelError.badOption(model: spec, option: "input", detail: "needs images of at least 12×12, got \(input.height)×\(input.width)")
            }
            guard build else { return nil }
            return LeNet5(channels: input.channels, height: input.height, width: input.width, classes: input.classes, half: half, batchNorm: bn, seed: seed)
        case "cnn":
            let widths = try parsed.widths(default: [32, 64, 128])
            let hidden = try parsed.int("fc", default: 256, range: 1...Limits.maxDimension)
            let bn = try parsed.int("bn", default: 0, range: 0...1) == 1
            try parsed.finish(["fc", "bn"])
            guard widths.count < 32, input.height >> widths.count > 0, input.width >> widths.count > 0 else {
                throw ModelError.badOption(model: spec, option: "widths", detail: "has \(widths.count) pooling stages, too many for \(input.height)×\(input.width) images")
            }
            let flat = widths.last! * (input.height >> widths.count) * (input.width >> widths.count)
            let convs = zip([input.channels] + widths, widths).map { [9 * $0.0 + 1, $0.1] }
            try ModelLimits.check(spec, parameters: ModelLimits.sumOfProducts(convs + [[flat + 1, hidden], [hidden + 1, input.classes]]))
            guard build else { return nil }
            return ConvNet(channels: input.channels, height: input.height, width: input.width, widths: widths, hidden: hidden,
                           classes: input.classes, batchNorm: bn, seed: seed)
        case "convnet3":
            let netWidth = try parsed.int("width", default: 128, range: 1...Limits.maxDimension)
            let depth = try parsed.int("depth", default: 3, range: 1...16)
            let normName = parsed.string("norm", default: "instancenorm")
            guard let norm = ConvNet3.Norm(rawValue: normName) else {
                throw ModelError.badOption(model: spec, option: "norm", detail: "must be one of \(ConvNet3.Norm.allCases.map(\.rawValue).joined(separator: ", ")), got '\(normName)'")
            }
            try parsed.finish(["width", "depth", "norm"])
            guard let oh = ConvNet3.outputSide(input.height, channels: input.channels, depth: depth),
                  let ow = ConvNet3.outputSide(input.width, channels: input.channels, depth: depth) else {
                throw ModelError.badOption(model: spec, option: "depth", detail: "has \(depth) pooling stages, too many for \(input.height)×\(input.width) images")
            }
            let convs = zip([input.channels] + Array(repeating: netWidth, count: depth - 1), Array(repeating: netWidth, count: depth)).map { [9 * $0.0 + 3, $0.1] }
            try ModelLimits.check(spec, parameters: ModelLimits.sumOfProducts(convs + [[netWidth * oh * ow + 1, input.classes]]))
            guard build else { return nil }
            return ConvNet3(channels: input.channels, height: input.height, width: input.width, classes: input.classes,
                            netWidth: netWidth, depth: depth, norm: norm, seed: seed)
        case "vgg8", "vgg11", "vgg13":
            try parsed.finish([])
            guard input.height >= 16, input.width >= 16 else {
                throw ModelError.badOption(model: spec, option: "input", detail: "needs images of at least 16×16")
            }
            guard build else { return nil }
            return VGG(depth: Int(name.dropFirst(3))!, channels: input.channels, height: input.height, width: input.width,
                       classes: input.classes, seed: seed)
        case "bilstm":
            let vocab = try parsed.int("vocab", default: 1000, range: 1...Limits.maxDimension)
            let embed = try parsed.int("embed", default: 64, range: 1...Limits.maxDimension)
            let hidden = try parsed.int("hidden", default: 64, range: 1...Limits.maxDimension)
            let depth = try parsed.int("layers", default: 1, range: 1...Limits.maxRepeats)
            try ModelLimits.check(spec, parameters: ModelLimits.sumOfProducts([[vocab, embed], [8, hidden, embed + hidden + 2],
                                                                              [depth - 1, 8, hidden, 3 * hidden + 2], [2 * hidden + 1, input.classes]]))
            try parsed.finish(["vocab", "embed", "hidden", "layers"])
            guard build else { return nil }
            return BiLSTMClassifier(vocabulary: vocab, embedDim: embed, hidden: hidden, layers: depth, classes: input.classes, seed: seed)
        case "vit":
            let patch = try parsed.int("patch", default: 4, range: 1...Limits.maxDimension)
            guard input.height % patch == 0, input.width % patch == 0 else {
                throw ModelError.badOption(model: spec, option: "patch", detail: "\(patch) does not tile \(input.height)×\(input.width) images (it must divide both sides)")
            }
            let dim = try parsed.int("dim", default: 64, range: 1...Limits.maxDimension)
            let heads = try parsed.int("heads", default: 4, range: 1...Limits.maxRepeats)
            guard dim % heads == 0 else { throw ModelError.badOption(model: spec, option: "heads", detail: "must divide dim \(dim)") }
            let depth = try parsed.int("depth", default: 2, range: 1...Limits.maxRepeats)
            let ff = try parsed.int("ff", default: 128, range: 1...Limits.maxDimension)
            let tokens = (input.height / patch) * (input.width / patch)
            guard tokens <= 4096 else {   // attention holds [N, heads, T + 1, T + 1] per layer
                throw ModelError.badOption(model: spec, option: "patch", detail: "gives \(tokens) tokens for \(input.height)×\(input.width) images; at most 4096 (use a larger patch)")
            }
            try ModelLimits.check(spec, parameters: ModelLimits.sumOfProducts([[input.channels * patch * patch + 1, dim], [tokens + 2, dim],
                                                                              [depth, 4 * dim + 4, dim], [depth, 2 * dim * ff + ff + 5 * dim],
                                                                              [2, dim], [dim + 1, input.classes]]))
            let dropout = try parsed.float("dropout", default: 0, range: 0..<1)
            try parsed.finish(["patch", "dim", "heads", "depth", "ff", "dropout"])
            guard build else { return nil }
            return VisionTransformer(channels: input.channels, height: input.height, width: input.width, patch: patch, dModel: dim, heads: heads,
                                     depth: depth, feedforward: ff, dropout: dropout, classes: input.classes, seed: seed)
        case "transformer":
            let dim = try parsed.int("dim", default: 64, range: 1...Limits.maxDimension)
            let heads = try parsed.int("heads", default: 4, range: 1...Limits.maxRepeats)
            guard dim % heads == 0 else { throw ModelError.badOption(model: spec, option: "heads", detail: "must divide dim \(dim)") }
            let vocab = try parsed.int("vocab", default: 1000, range: 1...Limits.maxDimension)
            let depth = try parsed.int("depth", default: 2, range: 1...Limits.maxRepeats)
            let ff = try parsed.int("ff", default: 128, range: 1...Limits.maxDimension)
            let maxlen = try parsed.int("maxlen", default: 256, range: 1...Limits.maxDimension)
            try ModelLimits.check(spec, parameters: ModelLimits.sumOfProducts([[vocab + maxlen, dim], [depth, 4 * dim + 4, dim],
                                                                              [depth, 2 * dim * ff + ff + 5 * dim], [dim + 1, input.classes]]))
            let dropout = try parsed.float("dropout", default: 0.1, range: 0..<1)
            try parsed.finish(["vocab", "dim", "heads", "depth", "ff", "maxlen", "dropout"])
            guard build else { return nil }
            return TransformerClassifier(vocabulary: vocab, dModel: dim, heads: heads, depth: depth, feedforward: ff, maxLength: maxlen,
                                         dropout: dropout, classes: input.classes, seed: seed)
        default:
            if name.hasPrefix("resnet") {
                let wide = name.hasSuffix("x4")
                let digits = name.dropFirst(6).dropLast(wide ? 2 : 0)
                if let depth = Int(digits), [8, 14, 20, 32, 44, 56, 110].contains(depth), !wide || depth == 8 || depth == 32 {
                    let shortcut = parsed.string("shortcut", default: "b")
                    guard let sc = CIFARResNet.Shortcut(rawValue: shortcut) else {
                        throw ModelError.badOption(model: spec, option: "shortcut", detail: "must be a (zero-padding, akamaster's checkpoints) or b (1×1 projection, the default), got '\(shortcut)'")
                    }
                    try parsed.finish(["shortcut"])
                    guard build else { return nil }
                    return CIFARResNet(depth: depth, filters: wide ? [32, 64, 128, 256] : [16, 16, 32, 64],
                                       channels: input.channels, classes: input.classes, shortcut: sc, seed: seed)
                }
            }
            if name.hasPrefix("wrn-") {
                let parts = name.split(separator: "-")
                if parts.count == 3, let d = Int(parts[1]), let w = Int(parts[2]), (d - 4) % 6 == 0, d >= 10, d <= 1000, w >= 1, w <= 64 {
                    let drop = try parsed.float("dropout", default: 0, range: 0..<1)
                    try parsed.finish(["dropout"])
                    let n = (d - 4) / 6, c = [16, 16 * w, 32 * w, 64 * w]
                    var terms: [[Int]] = [[9, input.channels, 16], [64 * w + 1, input.classes]]
                    for g in 1...3 { terms += [[9, c[g - 1], c[g]], [c[g - 1], c[g]], [2 * n - 1, 9, c[g], c[g]]] }
                    try ModelLimits.check(spec, parameters: ModelLimits.sumOfProducts(terms))
                    guard build else { return nil }
                    return WideResNet(depth: d, widen: w, dropRate: drop, channels: input.channels, classes: input.classes, seed: seed)
                }
                throw ModelError.badOption(model: spec, option: "depth/width", detail: "must be wrn-D-W with D = 6n + 4 in 10…1000 and W in 1…64")
            }
            throw ModelError.unknownModel(spec, known: known)
        }
    }

    /// [in + 1, out] for every linear layer of a chain of widths (weights and bias).
    static func layers(_ widths: [Int]) -> [[Int]] {
        zip(widths, widths.dropFirst()).map { [$0.0 + 1, $0.1] }
    }

    /// A parsed `family[:args][,key=value]*` spec that tracks which options were read.
    struct Spec {
        let raw: String
        let family: String
        let argument: String?
        let options: [String: String]

        init(_ raw: String) throws {
            self.raw = raw
            let parts = raw.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            let head = parts[0].split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            if head.count > 1, head[1].isEmpty {
                throw ModelError.badOption(model: raw, option: ":", detail: "is followed by nothing; give the arguments (e.g. mlp:800x800) or drop the ':'")
            }
            family = head.first?.lowercased() ?? ""
            var arg = head.count > 1 ? head[1] : nil
            var opts: [String: String] = [:]
            for p in parts.dropFirst() + (arg?.contains("=") == true ? [arg!] : []) {
                let kv = p.split(separator: "=", maxSplits: 1).map(String.init)
                guard kv.count == 2, !kv[0].isEmpty else {
                    throw ModelError.badOption(model: raw, option: p, detail: "is not key=value")
                }
                opts[kv[0]] = kv[1]
            }
            if arg?.contains("=") == true { arg = nil }
            argument = arg
            options = opts
        }

        func widths(default d: [Int]) throws -> [Int] {
            guard let a = argument else { return d }
            let ws = a.split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
            guard !ws.isEmpty, ws.count <= Limits.maxRepeats, ws.allSatisfy({ (1...Limits.maxDimension).contains($0 ?? 0) }) else {
                throw ModelError.badOption(model: raw, option: a, detail: "is not a list of widths in 1…\(Limits.maxDimension) like 1200x1200")
            }
            return ws.map { $0! }
        }

        func int(_ key: String, default d: Int, range: ClosedRange<Int>) throws -> Int {
            guard let v = options[key] else { return d }
            guard let i = Int(v), range.contains(i) else {
                throw ModelError.badOption(model: raw, option: key, detail: "expects an integer in \(range.lowerBound)…\(range.upperBound), got '\(v)'")
            }
            return i
        }

        func float(_ key: String, default d: Float, range: Range<Float>) throws -> Float {
            guard let v = options[key] else { return d }
            guard let f = Float(v), range.contains(f) else {
                throw ModelError.badOption(model: raw, option: key, detail: "expects a number in [\(range.lowerBound), \(range.upperBound)), got '\(v)'")
            }
            return f
        }

        func string(_ key: String, default d: String) -> String { options[key] ?? d }

        /// A boolean option: true/1 or false/0 (absent: false).
        func flag(_ key: String) throws -> Bool {
            guard let v = options[key] else { return false }
            switch v.lowercased() {
            case "true", "1": return true
            case "false", "0": return false
            default: throw ModelError.badOption(model: raw, option: key, detail: "expects true or false, got '\(v)'")
            }
        }

        /// Throws for any option outside `allowed`, and for a positional argument where none is taken.
        func finish(_ allowed: [String]) throws {
            for k in options.keys.sorted() where !allowed.contains(k) {
                throw ModelError.badOption(model: raw, option: k, detail: "is not an option of \(family)" + (allowed.isEmpty ? "" : "; options: \(allowed.joined(separator: ", "))"))
            }
        }
    }
}
