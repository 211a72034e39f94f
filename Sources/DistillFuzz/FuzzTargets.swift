import Foundation
import DistillCore
import DistillNN
import DistillData
import Distill

/// The fuzz targets: every file parser and every string mini-language of the tool, each a function
/// of raw bytes that runs the same code the command line runs on a file or an argument. A target
/// may throw any error (that is bad input refused); it must never trap, hang or allocate without
/// bound. `Fuzz/TARGET/main.swift` hands each to libFuzzer (`make fuzz`); `FuzzCorpusTests`
/// replays the committed seeds, and mutations of them, through the same functions in every test run.
public enum FuzzTargets {
    public typealias Target = (UnsafeRawBufferPointer) throws -> Void

    /// Models the fuzzers may build: small, so a valid spec costs microseconds, not gigabytes.
    public static let parameterLimit = 4_000_000

    public static let all: [(name: String, run: Target)] = [
        ("idx", idx), ("cifar", cifar), ("npy", npy), ("npz", npz), ("safetensors", safetensors),
        ("experiment", experiment), ("model-spec", modelSpec), ("method-spec", methodSpec),
        ("augmentation", augmentation), ("schedule", schedule), ("png", png), ("jpeg", jpeg), ("csv", csv),
        ("data-spec", dataSpec), ("dsa-strategy", dsaStrategy),
    ]

    public static func target(_ name: String) -> Target? { all.first { $0.name == name }?.run }

    /// Runs a target, swallowing the errors it throws (refusals are the expected outcome).
    public static func run(_ name: String, _ bytes: UnsafeRawBufferPointer) {
        guard let t = target(name) else { fatalError("no fuzz target \(name)") }
        withParameterLimit { do { try t(bytes) } catch {} }
    }

    /// Runs `body` with `DISTILL_MAX_PARAMETERS` at `parameterLimit` (unless already set), then
    /// restores the environment.
    public static func withParameterLimit<T>(_ body: () throws -> T) rethrows -> T {
        guard getenv("DISTILL_MAX_PARAMETERS") == nil else { return try body() }
        setenv("DISTILL_MAX_PARAMETERS", String(parameterLimit), 1)
        defer { unsetenv("DISTILL_MAX_PARAMETERS") }
        return try body()
    }

    static func text(_ b: UnsafeRawBufferPointer) -> String { String(decoding: b, as: UTF8.self) }

    /// IDX images and labels, raw or gzip.
    static func idx(_ b: UnsafeRawBufferPointer) throws {
        let bytes = Array(b)
        _ = try? IDX.readImages(bytes: bytes, path: "fuzz.idx")
        _ = try? IDX.readLabels(bytes: bytes, path: "fuzz.idx")
        _ = try IDX.read(bytes: bytes, path: "fuzz.idx").ints(path: "fuzz.idx")
    }

    /// CIFAR-10 and CIFAR-100 binary records.
    static func cifar(_ b: UnsafeRawBufferPointer) throws {
        let bytes = Array(b)
        let ten = { try CIFAR.read(bytes: [("fuzz.bin", bytes)], labelBytes: 1, labelLimits: [10]) }
        let hundred = { try CIFAR.read(bytes: [("fuzz.bin", bytes)], labelBytes: 2, labelLimits: [20, 100]) }
        if bytes.count % 3073 == 0 { _ = try? hundred(); _ = try ten() } else { _ = try? ten(); _ = try hundred() }
    }

    /// A `.npy` array, read as floats and as integers as the tool does.
    static func npy(_ b: UnsafeRawBufferPointer) throws {
        let a = try NumPy.read(bytes: Array(b), path: "fuzz.npy")
        _ = a.tensor
        _ = try? a.intTensor()
    }

    /// A `.npz` archive (zip directory, stored and deflated members).
    static func npz(_ b: UnsafeRawBufferPointer) throws {
        for (_, a) in try NumPy.readArchive(bytes: Array(b), path: "fuzz.npz") { _ = a.tensor }
    }

    /// A PNG through libpng's simplified API (header, size bound, pixels, alpha dropped).
    static func png(_ b: UnsafeRawBufferPointer) throws {
        _ = try ImageCodec.decodePNG(b, path: "fuzz.png").rgb
    }

    /// A JPEG through TurboJPEG (header, size bound, pixels).
    static func jpeg(_ b: UnsafeRawBufferPointer) throws {
        _ = try ImageCodec.decodeJPEG(b, path: "fuzz.jpg").rgb
    }

    /// A CSV file of images: square gray by default, then as RGB rows in H, W, C order.
    static func csv(_ b: UnsafeRawBufferPointer) throws {
        guard let r = try? CSVImages.read(bytes: b, path: "fuzz.csv") else {
            let columns = b.prefix { $0 != 0x0A }.filter { $0 == 0x2C }.count
            _ = try CSVImages.read(bytes: b, path: "fuzz.csv", shape: [3, 1, max(columns / 3, 1)], layout: .nhwc)
            return
        }
        _ = r.images.allFinite
    }

    /// A `--data` spec (family, path, `,key=value` options), parsed, printed and parsed again.
    static func dataSpec(_ b: UnsafeRawBufferPointer) throws {
        let spec = try DataSpec(text(b))
        _ = try DataSpec(spec.description)
    }

    /// A safetensors file, then as a training checkpoint, then as a model file: its metadata
    /// interpreted, checked against a tiny data set and its recorded model built and loaded
    /// (wrapper prefixes and the key-mismatch report included).
    static func safetensors(_ b: UnsafeRawBufferPointer) throws {
        let f = try SafeTensors.parse(Array(b), file: "fuzz.safetensors")
        _ = try? TrainingCheckpoint.decode(f, path: "fuzz.safetensors")
        let m = try ModelFile(path: "fuzz.safetensors", file: f)
        _ = (m.classCount, m.inputShape, m.classNames)
        _ = try? m.normalization()
        try? m.check(fits: fuzzData, data: "fuzz")
        _ = try m.module(input: ModelInput(channels: 1, height: 8, width: 8, classes: 3))
    }

    static let fuzzData = Dataset(name: "fuzz", images: Tensor.zeros([2, 1, 8, 8]), labels: IntTensor([0, 1]), classCount: 3,
                                  classNames: ["a", "b", "c"])

    /// An experiment file of any kind, parsed like `distill run` does (its kind first, then the
    /// kind's parser, plain and with a first line `#short` its short version); lines
    /// `#set KEY=VALUE` at its top are `--set` overrides.
    static func experiment(_ b: UnsafeRawBufferPointer) throws {
        let t = text(b)
        let head = t.split(separator: "\n", omittingEmptySubsequences: false).prefix { $0.hasPrefix("#set ") || $0 == "#short" }
        let sets = head.filter { $0.hasPrefix("#set ") }.map { String($0.dropFirst(5)) }
        let short = head.contains("#short")
        switch try ExperimentKind.of(text: t, file: "fuzz.yaml", overrides: sets) {
        case .distill:
            let c = try ExperimentConfig.parse(t, file: "fuzz.yaml", overrides: sets, short: short)
            _ = ExperimentReport.resolvedConfig(c)
            for v in c.variants { _ = ExperimentReport.resolvedConfig(v.config) }
        case .condense:
            // every seed's run is checked as `distill run` checks it before the first one starts
            _ = try CondenseExperiment.parse(t, file: "fuzz.yaml", overrides: sets, short: short).runs(directory: URL(fileURLWithPath: "/nonexistent/fuzz"))
        case .datafree:
            _ = try DataFreeExperiment.parse(t, file: "fuzz.yaml", overrides: sets, short: short)
        }
    }

    /// A model spec, built for small images and for tokens.
    static func modelSpec(_ b: UnsafeRawBufferPointer) throws {
        let spec = text(b)
        _ = try? ModelZoo.make(spec, input: .tokens(classes: 3))
        _ = try ModelZoo.make(spec, input: ModelInput(channels: 1, height: 16, width: 16, classes: 3))
    }

    /// A method spec (`name*weight:key=value,…`), then the method built from the registry.
    static func methodSpec(_ b: UnsafeRawBufferPointer) throws {
        let m = try MethodSpec(parsing: text(b))
        _ = try MethodRegistry.make(m.name, options: m.options)
    }

    /// An augmentation spec, validated for 1×12×12 images and applied to a batch of two.
    static func augmentation(_ b: UnsafeRawBufferPointer) throws {
        let a = try Augmentation.parse(text(b))
        try a.validate(imageShape: [1, 12, 12])
        var batch = Batch(images: Tensor.zeros([2, 1, 12, 12]) + 0.5, labels: IntTensor([0, 1]), indices: [0, 1])
        var g = SeededGenerator(seed: 1)
        a.apply(to: &batch, using: &g)
    }

    /// A DSA strategy (`color_crop_…`), applied in both modes to a real and a synthetic batch.
    static func dsaStrategy(_ b: UnsafeRawBufferPointer) throws {
        for mode in [DSAHyperparameters.Mode.single, .multiple] {
            var p = DSAHyperparameters(); p.mode = mode
            let aug = try SiameseAugmentation(strategy: text(b), seed: 1, parameters: p)
            _ = try aug([Tensor.zeros([2, 3, 9, 9]) + 0.5, Tensor.zeros([1, 3, 9, 9]) + 0.25])
        }
    }

    /// A learning-rate schedule spec, built and sampled over its whole run.
    static func schedule(_ b: UnsafeRawBufferPointer) throws {
        var c = TrainingConfig()
        c.schedule = text(b); c.epochs = 7
        try c.validate()
        let s = try c.makeSchedule(stepsPerEpoch: 5)
        for t in 0..<35 { _ = s.learningRate(at: t) }
    }
}

extension FuzzTargets {
    nonisolated(unsafe) static var driven = ""

    typealias Driver = @convention(c) (UnsafeMutablePointer<Int32>, UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                                       @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

    /// Hands target `name` to libFuzzer with this process's arguments (`-runs=`, `-max_total_time=`,
    /// corpus directories…). libFuzzer's `LLVMFuzzerRunDriver` (compiler-rt, LLVM 11 and later) is
    /// looked up at run time, so this library also links into binaries without `-sanitize=fuzzer`
    /// (the tests), where `drive` reports that it is missing.
    public static func drive(_ name: String) -> Int32 {
        driven = name
        guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "LLVMFuzzerRunDriver") else {
            fputs("fuzz-\(name): libFuzzer is not linked in; build with -sanitize=fuzzer and -Xlinker --export-dynamic (make fuzz)\n", stderr)
            return 2
        }
        let runDriver = unsafeBitCast(sym, to: Driver.self)
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        return withUnsafeMutablePointer(to: &argv) { pv in
            runDriver(&argc, pv) { data, size in
                FuzzTargets.run(FuzzTargets.driven, UnsafeRawBufferPointer(start: data, count: size))
                return 0
            }
        }
    }
}

/// The callback libFuzzer's own `main` names (linked whole into a `-sanitize=fuzzer` binary even
/// though `drive` runs the fuzzer): the target `drive` chose.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzTargets.run(FuzzTargets.driven, UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
