import DistillCore
import DistillData
import DistillNN
import Foundation
import Yams

/// Which examples the student is distilled on (the transfer set).
public enum TransferSet: Equatable, Sendable, CustomStringConvertible {
    /// The teacher's training set.
    case train
    /// The first `count` training examples.
    case subset(count: Int)
    /// The training set without these classes (Hinton's omitted-class experiment).
    case dropClasses([Int])
    /// The last `count` training examples without their labels; the teacher is trained on the rest.
    case unlabelled(count: Int)
    /// The teacher's training set (the first `teacher.train.subset` examples, or all but the
    /// last `count`), labelled, followed by the next `count` examples without labels, which the
    /// teacher never saw (Stanton et al.'s extra distillation data).
    case withUnlabelled(count: Int)

    public var description: String {
        switch self {
        case .train: return "train"
        case .subset(let n): return "subset of \(n)"
        case .dropClasses(let c): return "train without classes \(c)"
        case .unlabelled(let n): return "\(n) unlabelled held-out examples"
        case .withUnlabelled(let n): return "the teacher's training set plus \(n) unlabelled held-out examples"
        }
    }
}

/// Where the teacher comes from.
public struct TeacherSpec: Equatable, Sendable {
    public var model: String = "mlp:1200x1200,dropout=0.5"
    /// Checkpoints of the members; members without one are trained first.
    public var checkpoints: [String] = []
    public var ensemble: Int = 1
    public var combine: EnsembleTeacher.Combine = .probabilities
    /// Precomputed logits `[transfer examples, classes]` from any framework (offline distillation).
    public var logits: String? = nil
    /// Precomputed logits on the test split, for fidelity on test with an offline teacher.
    public var testLogits: String? = nil
    /// One teacher (ensemble) for every seed (true), or one per seed.
    public var shared: Bool = true
    public var train = TrainingConfig()
    /// Distil from the teacher as it was after this epoch of its training (`stop_epoch`), read from
    /// the per-epoch snapshots its run then keeps (Cho & Hariharan 2019's early-stopped teachers);
    /// nil: the teacher at the end of training. Teachers that differ only in this share one run.
    public var stopEpoch: Int? = nil
}

public struct StudentSpec: Equatable, Sendable {
    public var model: String = "mlp:800x800"
    public var train = TrainingConfig()
    /// Also train the student alone with cross-entropy (same initialisation and data order).
    public var baseline: Bool = true
    /// Start the distilled student at θ = λ·θ_teacher + (1 − λ)·θ_random (Stanton et al. 2021,
    /// §5): parameters and buffers of teacher member 0, which must have the student's model.
    public var initFromTeacher: Float? = nil
}

/// The distillation loss drawn over the plane through three parameter vectors of a
/// self-distilled student (its initialisation, the trained student and the teacher) and along
/// the line from the student to the teacher (`Landscape`).
public struct LandscapeSpec: Equatable, Sendable {
    /// Grid points per side of the plane.
    public var grid: Int = 15
    /// Points on the line from the student (0) to the teacher (1), both included; the line goes on
    /// at the same spacing for `margin` beyond each end.
    public var linePoints: Int = 25
    /// Transfer examples the loss is averaged over (the first ones).
    public var examples: Int = 1000
    /// Extra room around the three points, as a fraction of the plane's extent.
    public var margin: Double = 0.25
    /// Seeds drawn (the first `seeds` of the experiment).
    public var seeds: Int = 1
}

/// How a sweep's variants line up on a numeric axis (each variant then gives its `x`): the
/// report plots accuracy, agreement and KL against it.
public struct SweepAxis: Codable, Equatable, Sendable {
    public var label: String
    public var log: Bool = false
}

/// Hinton's bias correction after an omitted-class distillation: raise the student's output bias
/// of `classIndex` by the value among `candidates` that maximises accuracy on `heldOut` training
/// examples kept out of the transfer set.
public struct BiasAdjustSpec: Equatable, Sendable {
    public var classIndex: Int
    public var heldOut: Int = 5000
    public var candidates: [Float] = stride(from: 0, through: 8, by: 0.5).map { Float($0) }
}

/// One variant of a sweep: the base experiment with some keys overridden.
public struct ExperimentVariant: Equatable, Sendable {
    public var name: String
    public var overrides: [String]
    public var config: ExperimentConfig
    /// Its position on the sweep's `axis` (nil when the file names none).
    public var x: Double? = nil
}

/// A declarative distillation experiment, read from YAML (`distill run FILE.yaml`).
///
/// With `variants:` (a mapping from a variant name to a list of `key.path=value` overrides) the
/// file describes a sweep: every variant is run as its own experiment in `DIR/variant-NAME`,
/// teachers with identical settings are trained once and shared, and one report compares them.
public struct ExperimentConfig: Equatable, Sendable {
    public var name: String = "experiment"
    public var data: String = "fashion-mnist"
    public var seeds: [UInt64] = [0]
    public var threads: Int? = nil
    public var transfer: TransferSet = .train
    public var teacher = TeacherSpec()
    public var student = StudentSpec()
    public var methods: [MethodSpec] = [MethodSpec(name: "hinton")]
    /// The training scheme (`scheme:`): offline distillation unless the file names another.
    public var scheme = SchemeSpec()
    /// Corrupt the training labels (`label_noise:`); test labels are never touched.
    public var labelNoise: LabelNoise? = nil
    public var biasAdjust: BiasAdjustSpec? = nil
    /// Measure the distilled student's agreement and KL with its teacher before training and
    /// after every epoch, on (up to `fidelityExamples` of) the transfer set and on the test split.
    public var trackFidelity: Bool = false
    public var fidelityExamples: Int = 10000
    /// Evaluate on the first N test examples only (quick runs and tests; nil: the whole split).
    public var testSubset: Int? = nil
    public var landscape: LandscapeSpec? = nil
    public var axis: SweepAxis? = nil
    public var variants: [ExperimentVariant] = []
    /// Overrides that make the short version of the experiment (`distill run --short`).
    public var short: [String] = []

    public init() {}

    /// Parses and validates an experiment file, with `overrides` (`student.train.epochs=5`)
    /// applied first. Every error names the file, the line and the key.
    /// Overrides apply in order, later ones winning: a variant's own, then the file's `short:`
    /// list (with `short`), then `overrides` (the command line's `--set`).
    public static func load(path: String, overrides: [String] = [], short: Bool = false) throws -> ExperimentConfig {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ExperimentError(file: path, line: nil, "cannot read the file")
        }
        return try parse(text, file: path, overrides: overrides, short: short)
    }

    public static func parse(_ text: String, file: String = "<experiment>", overrides: [String] = [], short: Bool = false) throws -> ExperimentConfig {
        if short {
            let base = try parse(text, file: file, overrides: overrides, readVariants: false)
            guard !base.short.isEmpty else {
                throw ExperimentError(file: file, line: nil, "has no 'short:' list of overrides, so there is no short version to run")
            }
            return try parse(text, file: file, overrides: base.short + overrides, readVariants: true)
        }
        return try parse(text, file: file, overrides: overrides, readVariants: true)
    }

    /// A name usable as one path component: no separators, no `..`, no hidden or empty name.
    static func isSafeName(_ name: String) -> Bool {
        guard (1...100).contains(name.count), !name.hasPrefix(".") else { return false }
        return name.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0) }
    }

    static func parse(_ text: String, file: String, overrides: [String], readVariants: Bool) throws -> ExperimentConfig {
        let root: Node
        do {
            guard let composed = try Yams.compose(yaml: text) else {
                // an empty file would silently start the full default study (hours)
                throw ExperimentError(file: file, line: nil, "is empty (or holds only comments); an experiment file needs at least its name: and what to train")
            }
            root = composed
        } catch let e as YamlError {
            throw ExperimentError(file: file, line: nil, "is not valid YAML: \(e)")
        }
        let doc = try YAMLOverrides.apply(overrides, to: root, file: file)
        let r = try MapReader(doc, file: file, path: "")
        var c = ExperimentConfig()
        c.name = try r.string("name") ?? c.name
        guard ExperimentConfig.isSafeName(c.name) else {
            throw r.fail("name", r.mapping[Node("name")], "a name of 1 to 100 letters, digits, '.', '-' or '_', not starting with '.' (it names the run directory runs/NAME)")
        }
        c.data = try r.string("data") ?? c.data
        do { _ = try DataSpec(c.data) } catch {
            throw ExperimentError(file: file, line: r.mapping[Node("data")]?.mark.map { $0.line }, "key 'data': \(error)")
        }
        if let s = try r.ints("seeds", min: 0) {
            guard !s.isEmpty else { throw r.fail("seeds", r.mapping[Node("seeds")], "at least one seed") }
            c.seeds = s.map { UInt64($0) }
        }
        c.threads = try r.int("threads", min: 1)
        if let t = c.threads, t > Limits.maxThreads {
            throw r.fail("threads", r.mapping[Node("threads")], "an integer in 1…\(Limits.maxThreads) (8 per core of this machine)")
        }
        if let t = try r.map("transfer") { c.transfer = try transfer(t) }
        if let t = try r.map("teacher") { c.teacher = try teacher(t, data: c.data) }
        if let s = try r.map("student") { c.student = try student(s, data: c.data) }
        c.teacher.train.data = c.data
        c.student.train.data = c.data
        // without a teacher: or student: block the defaults' training configs name the spec's model too
        c.teacher.train.model = c.teacher.model
        c.student.train.model = c.student.model
        if let m = r.raw("method") { c.methods = try methods(m, file: file, reader: r) }
        if let s = try r.map("scheme") { c.scheme = try SchemeSpec.parse(s) }
        if let n = try r.map("label_noise") { c.labelNoise = try labelNoise(n) }
        if c.scheme.kind == "co-teaching" {
            do { _ = try c.scheme.coTeachingOptions(noiseRate: c.labelNoise?.rate) } catch {
                throw ExperimentError(file: file, line: r.mapping[Node("scheme")]?.mark.map { $0.line }, "scheme: \(error)")
            }
        }
        if let b = try r.map("bias_adjust") { c.biasAdjust = try biasAdjust(b) }
        c.trackFidelity = try r.bool("track_fidelity") ?? c.trackFidelity
        c.fidelityExamples = try r.int("fidelity_examples", min: 1) ?? c.fidelityExamples
        c.testSubset = try r.int("test_subset", min: 1)
        if let l = try r.map("landscape") { c.landscape = try landscape(l) }
        if let a = try r.map("axis") {
            c.axis = SweepAxis(label: try a.requiredString("label"), log: try a.bool("log") ?? false)
            try a.finish()
        }
        c.short = try r.strings("short") ?? []
        let variantNode = r.raw("variants")
        try r.finish()
        try checkStudentInit(c, r)
        if c.scheme.kind == "born-again" && (c.teacher.model != c.student.model || c.teacher.logits != nil) {
            throw ExperimentError(file: file, line: r.mapping[Node("scheme")]?.mark.map { $0.line }, "scheme 'born-again' distils generations of one architecture: teacher.model ('\(c.teacher.logits ?? c.teacher.model)') must be student.model ('\(c.student.model)'), a network, not logits")
        }
        if c.scheme.kind == "teacher-assistant" && c.teacher.logits != nil {
            throw ExperimentError(file: file, line: r.mapping[Node("scheme")]?.mark.map { $0.line }, "scheme 'teacher-assistant' needs a teacher network or ensemble at the head of the chain, not precomputed logits")
        }
        if !(try SchemeRegistry.kind(c.scheme.kind)).usesTeacher {
            for key in ["teacher", "method", "landscape", "bias_adjust"] where r.has(key) {
                throw ExperimentError(file: file, line: r.mapping[Node(key)]?.mark.map { $0.line }, "key '\(key)' does not apply to scheme '\(c.scheme.kind)', whose participants teach each other; remove it")
            }
            if c.student.initFromTeacher != nil || c.trackFidelity {
                throw ExperimentError(file: file, line: nil, "student.init_from_teacher and track_fidelity need a teacher, which scheme '\(c.scheme.kind)' has not")
            }
            switch c.transfer {
            case .train, .subset: break
            default:
                throw ExperimentError(file: file, line: r.mapping[Node("transfer")]?.mark.map { $0.line }, "scheme '\(c.scheme.kind)' trains its participants on labelled training data; 'transfer' must be kind train or subset")
            }
        }
        if readVariants, let v = variantNode {
            guard case .mapping(let m) = v, !m.isEmpty else {
                throw ExperimentError(file: file, line: v.mark.map { $0.line }, "'variants' must map variant names to lists of key.path=value overrides")
            }
            for (k, value) in m {
                guard let name = k.string, ExperimentConfig.isSafeName(name) else {
                    throw ExperimentError(file: file, line: k.mark.map { $0.line }, "variant names are 1 to 100 letters, digits, '-', '_' or '.', not starting with '.'")
                }
                var list: [String] = [], x: Double? = nil
                switch value {
                case .scalar: list = value.string.map { $0.isEmpty ? [] : [$0] } ?? []
                case .sequence(let items): list = items.compactMap(\.string)
                case .mapping:
                    let vr = try MapReader(value, file: file, path: "variants.\(name)")
                    list = try vr.strings("set") ?? []
                    x = try vr.float("x").map(Double.init)
                    try vr.finish()
                default: throw ExperimentError(file: file, line: value.mark.map { $0.line }, "variant '\(name)' must be a list of key.path=value overrides, or {x: NUMBER, set: [overrides]}")
                }
                if c.axis != nil && x == nil {
                    throw ExperimentError(file: file, line: k.mark.map { $0.line }, "variant '\(name)' needs its position on the axis '\(c.axis!.label)': {x: NUMBER, set: [...]}")
                }
                let vc: ExperimentConfig
                do { vc = try parse(text, file: file, overrides: list + overrides, readVariants: false) } catch {
                    throw ExperimentError(file: file, line: k.mark.map { $0.line }, "variant '\(name)': \(error)")
                }
                c.variants.append(ExperimentVariant(name: name, overrides: list, config: vc, x: x))
            }
        }
        // everything a method can check without data: names and options
        for (i, m) in c.methods.enumerated() {
            do { _ = try MethodRegistry.make(m.name, options: m.options) } catch {
                throw ExperimentError(file: file, line: methodLine(doc, i), "method: \(error)")
            }
        }
        if case .dropClasses(let cls) = c.transfer, let b = c.biasAdjust, !cls.contains(b.classIndex) {
            throw ExperimentError(file: file, line: nil, "bias_adjust.class \(b.classIndex) is not one of the dropped classes \(cls)")
        }
        return c
    }

    private static func methodLine(_ doc: Node, _ i: Int) -> Int? {
        guard let m = doc.mapping?[Node("method")] else { return nil }
        if case .sequence(let s) = m, i < s.count { return s[i].mark.map { $0.line } }
        return m.mark.map { $0.line }
    }

    static func transfer(_ r: MapReader) throws -> TransferSet {
        let kind = try r.string("kind") ?? "train"
        let count = try r.int("count", min: 1)
        let classes = try r.ints("classes", min: 0)
        try r.finish()
        switch kind {
        case "train": return .train
        case "subset":
            guard let n = count else { throw r.fail("count", nil, "an integer ≥ 1 for kind 'subset'") }
            return .subset(count: n)
        case "drop-classes":
            guard let c = classes, !c.isEmpty else { throw r.fail("classes", nil, "a list of class indices for kind 'drop-classes'") }
            return .dropClasses(c)
        case "unlabelled":
            guard let n = count else { throw r.fail("count", nil, "an integer ≥ 1 for kind 'unlabelled'") }
            return .unlabelled(count: n)
        case "train+unlabelled":
            guard let n = count else { throw r.fail("count", nil, "an integer ≥ 1 for kind 'train+unlabelled'") }
            return .withUnlabelled(count: n)
        default:
            throw r.fail("kind", r.mapping[Node("kind")], "train, subset, drop-classes, unlabelled or train+unlabelled")
        }
    }

    static func training(_ r: MapReader?, model: String, data: String, defaults: TrainingConfig = TrainingConfig()) throws -> TrainingConfig {
        var t = defaults
        t.model = model; t.data = data
        guard let r else { return t }
        t.epochs = try r.int("epochs", min: 1) ?? t.epochs
        t.batchSize = try r.int("batch_size", min: 1) ?? t.batchSize
        t.optimizer = try r.string("optimizer") ?? t.optimizer
        t.learningRate = try r.float("learning_rate") ?? t.learningRate
        t.momentum = try r.float("momentum") ?? t.momentum
        t.nesterov = try r.bool("nesterov") ?? t.nesterov
        t.weightDecay = try r.float("weight_decay") ?? t.weightDecay
        t.schedule = try r.string("schedule") ?? t.schedule
        t.warmupEpochs = try r.int("warmup_epochs", min: 0) ?? t.warmupEpochs
        t.augmentation = try r.string("augmentation") ?? t.augmentation
        t.checkpointEvery = try r.int("checkpoint_every", min: 0) ?? t.checkpointEvery
        t.subset = try r.int("subset", min: 1) ?? t.subset
        t.gradClip = try r.float("grad_clip") ?? t.gradClip
        t.labelSmoothing = try r.float("label_smoothing") ?? t.labelSmoothing
        t.valSplit = try r.double("val_split") ?? t.valSplit
        t.valSeed = try r.int("val_seed", min: 0).map { UInt64($0) } ?? t.valSeed
        try r.finish()
        do { try t.validate() } catch {
            throw ExperimentError(file: r.file, line: r.line, "\(r.path): \(error)")
        }
        return t
    }

    static func teacher(_ r: MapReader, data: String) throws -> TeacherSpec {
        var t = TeacherSpec()
        t.model = try r.string("model") ?? t.model
        t.checkpoints = try r.strings("checkpoint") ?? []
        t.ensemble = try r.int("ensemble", min: 1) ?? max(t.checkpoints.count, 1)
        if let c = try r.string("combine") {
            guard let v = EnsembleTeacher.Combine(rawValue: c) else { throw r.fail("combine", r.mapping[Node("combine")], "probabilities or logits") }
            t.combine = v
        }
        t.logits = try r.string("logits")
        t.testLogits = try r.string("test_logits")
        t.shared = try r.bool("shared") ?? t.shared
        t.train = try training(try r.map("train"), model: t.model, data: data)
        t.stopEpoch = try r.int("stop_epoch", min: 1)
        try r.finish()
        if let e = t.stopEpoch {
            guard e <= t.train.epochs else { throw r.fail("stop_epoch", r.mapping[Node("stop_epoch")], "an epoch of the teacher's training, 1 to \(t.train.epochs)") }
            guard t.checkpoints.isEmpty, t.logits == nil else {
                throw r.fail("stop_epoch", r.mapping[Node("stop_epoch")], "a teacher trained here (it reads the snapshots of its run), not checkpoint: or logits:")
            }
        }
        if t.checkpoints.count > t.ensemble {
            throw r.fail("checkpoint", r.mapping[Node("checkpoint")], "at most `ensemble` (\(t.ensemble)) checkpoints")
        }
        _ = try modelCheck(t.model, r, "model", data: data)
        return t
    }

    static func student(_ r: MapReader, data: String) throws -> StudentSpec {
        var s = StudentSpec()
        s.model = try r.string("model") ?? s.model
        s.baseline = try r.bool("baseline") ?? s.baseline
        if let l = try r.float("init_from_teacher") {
            guard (0...1).contains(l) else { throw r.fail("init_from_teacher", r.mapping[Node("init_from_teacher")], "λ in [0, 1]") }
            s.initFromTeacher = l
        }
        s.train = try training(try r.map("train"), model: s.model, data: data)
        if s.train.labelSmoothing != nil {
            // the distilled student (and every scheme's participants) train on their own objective
            throw ExperimentError(file: r.file, line: r.line, "student.train.label_smoothing would smooth the student alone but not the distilled student, whose objective is method: (use ce:label_smoothing=ε there); label smoothing applies to teacher.train")
        }
        try r.finish()
        _ = try modelCheck(s.model, r, "model", data: data)
        return s
    }

    /// Checks a model spec parses so typos fail before any training: on the input of `data` when
    /// it is a built-in set (its shape is known without reading it), else on 1×32×32 images.
    static func modelCheck(_ spec: String, _ r: MapReader, _ key: String, data: String? = nil) throws -> Bool {
        let input = data.flatMap { try? DataSpec($0) }?.knownInput ?? ModelInput(channels: 1, height: 32, width: 32, classes: 10)
        do { try ModelZoo.check(spec, input: input) } catch let e as ModelError {
            throw ExperimentError(file: r.file, line: r.mapping[Node(key)]?.mark.map { $0.line } ?? r.line, "\(r.path).\(key): \(e)")
        }
        return true
    }

    /// `method:` is a spec string (`hinton:temperature=20`), a list of them, a mapping
    /// `{name:, weight:, ...options}`, or a list of such mappings.
    static func methods(_ node: Node, file: String, reader: MapReader) throws -> [MethodSpec] {
        func one(_ n: Node) throws -> MethodSpec {
            switch n {
            case .scalar:
                do { return try MethodSpec(parsing: n.string ?? "") } catch {
                    throw ExperimentError(file: file, line: n.mark.map { $0.line }, "method: \(error)")
                }
            case .mapping(let m):
                var spec = MethodSpec(name: "")
                for (k, v) in m {
                    guard let key = k.string, case .scalar = v, let value = v.string else {
                        throw ExperimentError(file: file, line: k.mark.map { $0.line }, "method options must be scalars")
                    }
                    switch key {
                    case "name": spec.name = value
                    case "weight":
                        guard let w = Float(value), w.isFinite, w >= 0 else {
                            throw ExperimentError(file: file, line: v.mark.map { $0.line }, "key 'method.weight' expects a number ≥ 0, got '\(value)'")
                        }
                        spec.weight = w
                    default: spec.options[key] = value
                    }
                }
                guard !spec.name.isEmpty else { throw ExperimentError(file: file, line: n.mark.map { $0.line }, "a method needs 'name'") }
                return spec
            case .sequence:
                throw ExperimentError(file: file, line: n.mark.map { $0.line }, "method lists cannot nest")
            default:
                throw ExperimentError(file: file, line: n.mark.map { $0.line }, "method must be a spec string or a mapping")
            }
        }
        if case .sequence(let seq) = node {
            guard !seq.isEmpty else { throw ExperimentError(file: file, line: node.mark.map { $0.line }, "method: the list is empty") }
            return try seq.map(one)
        }
        return [try one(node)]
    }

    static func landscape(_ r: MapReader) throws -> LandscapeSpec {
        var l = LandscapeSpec()
        l.grid = try r.int("grid", min: 3) ?? l.grid
        l.linePoints = try r.int("line_points", min: 3) ?? l.linePoints
        l.examples = try r.int("examples", min: 1) ?? l.examples
        l.seeds = try r.int("seeds", min: 1) ?? l.seeds
        if let m = try r.float("margin") {
            guard m >= 0, m <= 10 else { throw r.fail("margin", r.mapping[Node("margin")], "a number in [0, 10]") }
            l.margin = Double(m)
        }
        try r.finish()
        return l
    }

    /// Initialising from the teacher, and the landscape through student and teacher, need one
    /// teacher network with the student's architecture.
    static func checkStudentInit(_ c: ExperimentConfig, _ r: MapReader) throws {
        for (what, needed) in [("student.init_from_teacher", c.student.initFromTeacher != nil), ("landscape", c.landscape != nil)] where needed {
            guard c.teacher.model == c.student.model, c.teacher.logits == nil else {
                throw ExperimentError(file: r.file, line: nil, "\(what) needs a teacher network with the student's model (self-distillation); the teacher is '\(c.teacher.logits ?? c.teacher.model)', the student '\(c.student.model)'")
            }
        }
        if c.landscape != nil && (c.methods.count != 1 || c.methods[0].name != "kd") {
            throw ExperimentError(file: r.file, line: nil, "landscape draws the distillation loss T²·KL(teacher ‖ student), so the objective must be the single term kd:temperature=T; it is \(c.methods.map(\.name).joined(separator: " + "))")
        }
        if c.landscape != nil && c.teacher.ensemble != 1 {
            throw ExperimentError(file: r.file, line: nil, "landscape needs a single teacher (the plane passes through its parameters); this teacher is an ensemble of \(c.teacher.ensemble)")
        }
    }

    /// `label_noise: {kind: symmetric|pair, rate: ε, seed: S, clean: N}`.
    static func labelNoise(_ r: MapReader) throws -> LabelNoise {
        let name = try r.string("kind") ?? LabelNoise.Kind.symmetric.rawValue
        guard let kind = LabelNoise.Kind(rawValue: name) else { throw r.fail("kind", r.mapping[Node("kind")], "symmetric or pair") }
        guard let rate = try r.float("rate") else { throw r.fail("rate", nil, "the probability ε that a label is corrupted, in [0, 1)") }
        guard rate >= 0, rate < 1 else { throw r.fail("rate", r.mapping[Node("rate")], "a probability in [0, 1)") }
        let seed = try r.int("seed", min: 0) ?? 0
        let clean = try r.int("clean", min: 0) ?? 0
        try r.finish()
        return try LabelNoise(kind: kind, rate: Double("\(rate)") ?? Double(rate), seed: UInt64(seed), clean: clean)
    }

    static func biasAdjust(_ r: MapReader) throws -> BiasAdjustSpec {
        guard let cls = try r.int("class", min: 0) else { throw r.fail("class", nil, "the class index whose bias is raised") }
        var b = BiasAdjustSpec(classIndex: cls)
        b.heldOut = try r.int("held_out", min: 1) ?? b.heldOut
        b.candidates = try r.floats("candidates") ?? b.candidates
        try r.finish()
        return b
    }
}
