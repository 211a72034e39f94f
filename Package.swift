// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "swift-distill",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "DistillCore", targets: ["DistillCore"]),
        .library(name: "DistillNN", targets: ["DistillNN"]),
        .library(name: "DistillData", targets: ["DistillData"]),
        .library(name: "Distill", targets: ["Distill"]),
        .executable(name: "distill", targets: ["DistillCLI"]),
        .executable(name: "distill-bench", targets: ["DistillBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL"),
        .target(name: "DistillCore", dependencies: ["CDNNL"]),
        .target(name: "DistillNN", dependencies: ["DistillCore"]),
        .target(name: "DistillData", dependencies: ["DistillCore", "DistillNN"]),
        .target(name: "Distill", dependencies: ["DistillCore", "DistillNN", "DistillData"]),
        .executableTarget(
            name: "DistillCLI",
            dependencies: ["Distill", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "DistillBench", dependencies: ["DistillCore", "DistillNN"], path: "Benchmarks/DistillBench"),
        .executableTarget(name: "ConvProbe", dependencies: ["DistillCore"], path: "Benchmarks/ConvProbe", exclude: ["conv_probe.py"]),
        .testTarget(name: "DistillCoreTests", dependencies: ["DistillCore"], resources: [.copy("Fixtures")]),
    ],
    swiftLanguageModes: [.v5]
)
