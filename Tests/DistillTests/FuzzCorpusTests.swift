import XCTest
import DistillCore
import DistillFuzz

/// Every fuzz target on its committed seeds (`Fuzz/corpus/TARGET`) and on seeded mutations of
/// them (flipped bytes, truncations, insertions, repeated chunks), in-process and in every test
/// run: no input may trap. The long runs under libFuzzer and AddressSanitizer are `make fuzz`;
/// `make fuzz-ci` (in `.ci/run`) runs each target for a few seconds.
final class FuzzCorpusTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func seeds(_ target: String) throws -> [[UInt8]] {
        let dir = Self.root.appendingPathComponent("Fuzz/corpus/\(target)")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        return try names.map { [UInt8](try Data(contentsOf: dir.appendingPathComponent($0))) }
    }

    /// Mutant `k` of `seed`, from a generator seeded by (k, the seed's length).
    static func mutant(_ seed: [UInt8], _ k: Int) -> [UInt8] {
        var g = SeededGenerator(seed: UInt64(k) &* 0x9E37_79B9 &+ UInt64(seed.count))
        var b = seed
        for _ in 0...(k % 3) {
            let at = b.isEmpty ? 0 : g.nextInt(below: b.count)
            switch g.nextInt(below: 5) {
            case 0 where !b.isEmpty: b[at] ^= UInt8(1 << g.nextInt(below: 8))
            case 1 where !b.isEmpty: b[at] = [0, 0xFF, 0x7F, 0x80, 0x30, 0x2C, 0x3A, 0x78][g.nextInt(below: 8)]
            case 2: b = Array(b.prefix(at))
            case 3: b.insert(contentsOf: (0..<g.nextInt(below: 9)).map { _ in UInt8(truncatingIfNeeded: g.nextInt(below: 256)) }, at: at)
            default:
                let n = min(g.nextInt(below: 17), b.count - at)
                b.insert(contentsOf: b[at..<(at + n)], at: at)
            }
        }
        return b
    }

    func testEveryTargetSurvivesItsSeedsAndTheirMutants() throws {
        for (name, _) in FuzzTargets.all {
            let s = try seeds(name)
            XCTAssertFalse(s.isEmpty, "no seeds for \(name)")
            let perSeed = ["experiment", "model-spec"].contains(name) ? 12 : 150
            for seed in s {
                seed.withUnsafeBytes { FuzzTargets.run(name, $0) }
                for k in 0..<perSeed { Self.mutant(seed, k).withUnsafeBytes { FuzzTargets.run(name, $0) } }
            }
        }
    }

    func testEveryReproducerEverFoundStaysFixed() throws {
        // inputs that once crashed a target (Fuzz/regressions/TARGET), each fixed at its root
        let dir = Self.root.appendingPathComponent("Fuzz/regressions")
        let targets = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        XCTAssertFalse(targets.isEmpty)
        for t in targets {
            XCTAssertNotNil(FuzzTargets.target(t), "Fuzz/regressions/\(t) names no target")
            let files = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent(t).path).sorted()
            for f in files {
                let bytes = [UInt8](try Data(contentsOf: dir.appendingPathComponent("\(t)/\(f)")))
                bytes.withUnsafeBytes { FuzzTargets.run(t, $0) }
            }
        }
    }

    func testValidSeedsAreAccepted() throws {
        // the seeds are valid inputs: each target accepts them (so the fuzzers start deep in the parsers)
        for (name, run) in FuzzTargets.all where name != "model-spec" && name != "safetensors" {
            for (i, seed) in try seeds(name).enumerated() {
                XCTAssertNoThrow(try FuzzTargets.withParameterLimit { try seed.withUnsafeBytes { try run($0) } }, "\(name) seed \(i)")
            }
        }
    }
}
