// swift-tools-version: 6.1
import PackageDescription
import Foundation

let package = Package(
    name: "swift-distill",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "DistillCore", targets: ["DistillCore"]),
        .library(name: "DistillNN", targets: ["DistillNN"]),
        .library(name: "DistillData", targets: ["DistillData"]),
        .library(name: "Distill", targets: ["Distill"]),
        .library(name: "DistillExport", targets: ["DistillExport"]),
        .executable(name: "distill", targets: ["DistillCLI"]),
        .executable(name: "distill-bench", targets: ["DistillBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // Open MPI (Debian libopenmpi-dev): data-parallel training under mpirun
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c"),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG"),
        .systemLibrary(name: "CTurboJPEG", path: "Sources/CTurboJPEG"),
        .target(name: "DistillCore", dependencies: ["CDNNL"]),
        .target(name: "DistillNN", dependencies: ["DistillCore"]),
        .target(name: "DistillData", dependencies: ["DistillCore", "CZlib", "CPNG", "CTurboJPEG"]),
        .target(name: "Distill", dependencies: ["DistillCore", "DistillNN", "DistillData", .product(name: "Yams", package: "Yams")]),
        .target(name: "DistillDistributed", dependencies: ["DistillCore", "DistillNN", "CMPI"]),
        // ONNX export: traces a model's forward (Core's tape) and writes the protobuf itself.
        .target(name: "DistillExport", dependencies: ["DistillCore", "DistillNN"]),
        .executableTarget(
            name: "DistillCLI",
            dependencies: ["Distill", "DistillDistributed", "DistillExport", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "DistillBench", dependencies: ["DistillCore", "DistillNN"], path: "Benchmarks/DistillBench"),
        .executableTarget(name: "SchemeBench", dependencies: ["Distill"], path: "Benchmarks/SchemeBench"),
        .executableTarget(name: "CheckpointBench", dependencies: ["Distill"], path: "Benchmarks/CheckpointBench"),
        .executableTarget(name: "AllReduceBench", dependencies: ["DistillNN", "DistillDistributed"], path: "Benchmarks/AllReduceBench"),
        .target(name: "DistillFuzz", dependencies: ["DistillCore", "DistillNN", "DistillData", "Distill"]),
        .executableTarget(name: "OptimizerBench", dependencies: ["DistillCore", "DistillNN"], path: "Benchmarks/OptimizerBench"),
        .executableTarget(name: "DSABench", dependencies: ["DistillCore", "Distill"], path: "Benchmarks/DSABench"),
        .executableTarget(name: "UnrollBench", dependencies: ["Distill"], path: "Benchmarks/UnrollBench"),
        .executableTarget(name: "ConvBench", dependencies: ["DistillCore"], path: "Benchmarks/ConvBench"),
        .executableTarget(name: "ConvProbe", dependencies: ["DistillCore"], path: "Benchmarks/ConvProbe", exclude: ["conv_probe.py"]),
        // Assertions shared by the test targets (compiled only for the tests).
        .target(name: "DistillTestSupport", dependencies: ["DistillCore"], path: "Tests/DistillTestSupport"),
        .testTarget(name: "DistillCoreTests", dependencies: ["DistillCore", "DistillTestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "DistillDataTests", dependencies: ["DistillData"]),
        .testTarget(name: "DistillTests", dependencies: ["Distill", "DistillFuzz", "DistillTestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "DistillCLITests", dependencies: ["DistillCLI", "DistillData", "DistillNN"]),
        .testTarget(name: "DistillExportTests", dependencies: ["DistillExport", "DistillNN", "DistillData", "DistillTestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "DistillNNTests", dependencies: ["DistillNN", "DistillData", "DistillTestSupport"], resources: [.copy("Fixtures")]),
    ],
    swiftLanguageModes: [.v5]
)

// Fuzz executables for libFuzzer, only when asked (`make fuzz` sets DISTILL_FUZZ=1 and builds them
// with -sanitize=fuzzer,address -parse-as-library in .build-fuzz): one per target of DistillFuzz.
if ProcessInfo.processInfo.environment["DISTILL_FUZZ"] != nil {
    for name in ["idx", "cifar", "npy", "npz", "safetensors", "experiment", "model-spec", "method-spec", "augmentation", "schedule", "png", "jpeg", "csv", "data-spec", "dsa-strategy"] {
        package.targets.append(.executableTarget(name: "fuzz-\(name)", dependencies: ["DistillFuzz"], path: "Fuzz/targets/\(name)"))
    }
}
