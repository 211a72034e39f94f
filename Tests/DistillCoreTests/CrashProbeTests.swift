import Foundation
import XCTest
@testable import DistillCore

/// Runs one test of this bundle in a child process (the test binary re-launched with the test's
/// name, `DistillCoreTests.Class/method`, as XCTest on Linux accepts) with extra environment
/// variables (and without those in `unset`), and returns how it ended and everything it printed (stdout and stderr merged).
enum ChildTest {
    /// Set to 1 in the child: probe tests do their (crashing) work only then.
    static let probeVariable = "DISTILL_CRASH_PROBE"
    static var isChild: Bool { ProcessInfo.processInfo.environment[probeVariable] == "1" }

    struct Outcome {
        let reason: Process.TerminationReason
        let status: Int32
        let output: String
        /// A Swift precondition failure: SIGILL (ud2) on x86-64, SIGTRAP (brk) on arm64.
        var trapped: Bool { reason == .uncaughtSignal && (status == SIGILL || status == SIGTRAP) }
    }

    static func run(_ test: String, environment extra: [String: String] = [:], unset: [String] = []) throws -> Outcome {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        p.arguments = ["DistillCoreTests.\(test)"]
        var env = ProcessInfo.processInfo.environment
        env[probeVariable] = "1"
        env["SWIFT_BACKTRACE"] = "enable=no"   // no slow symbolicated backtrace on the trap
        for (k, v) in extra { env[k] = v }
        for k in unset { env[k] = nil }
        p.environment = env
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Outcome(reason: p.terminationReason, status: p.terminationStatus,
                       output: String(decoding: data, as: UTF8.self))
    }
}

/// Bad use of the engine traps with a message that names what was wrong (both shapes, or the
/// offending index and its range). Each `testProbe…` does the bad thing only inside a child
/// process (see `ChildTest`); in the normal run it returns at once. Each `test…Traps` launches
/// its probe and checks that the child died of a trap and printed the expected message.
final class CrashProbeTests: XCTestCase {
    // MARK: probes (crash in the child only)

    func testProbeMatmulShapeMismatch() {
        guard ChildTest.isChild else { return }
        _ = Tensor.matmul(Tensor.ones([2, 3]), Tensor.ones([4, 5]))
    }

    func testProbeBroadcastMismatch() {
        guard ChildTest.isChild else { return }
        _ = Tensor.ones([2, 3]) + Tensor.ones([4])
    }

    func testProbeReshapeCount() {
        guard ChildTest.isChild else { return }
        _ = Tensor.ones([2, 3]).reshaped([4, 2])
    }

    func testProbeCrossEntropyLabel() {
        guard ChildTest.isChild else { return }
        _ = crossEntropy(logits: Tensor.zeros([2, 3]), labels: IntTensor([0, 5]))
    }

    func testProbeEmbeddingIndex() {
        guard ChildTest.isChild else { return }
        _ = embedding(IntTensor([1, 7]), weight: Tensor.zeros([5, 3]))
    }

    func testProbeGatherIndex() {
        guard ChildTest.isChild else { return }
        _ = Tensor.zeros([2, 4]).gather(alongAxis: 1, indices: IntTensor(shape: [2, 1], scalars: [1, 9]))
    }

    func testProbeConcatMismatch() {
        guard ChildTest.isChild else { return }
        _ = Tensor.concatenated([Tensor.zeros([2, 3]), Tensor.zeros([3, 2])], alongAxis: 0)
    }

    // MARK: checks (run in the normal suite)

    func expectTrap(_ probe: String, mentions: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        if ChildTest.isChild { return }
        let out = try ChildTest.run("CrashProbeTests/\(probe)")
        XCTAssertTrue(out.trapped, "\(probe): expected a trap, got \(out.reason) status \(out.status)\n\(out.output)", file: file, line: line)
        XCTAssertTrue(out.output.contains("Precondition failed") || out.output.contains("Fatal error"),
                      "\(probe): no precondition message\n\(out.output)", file: file, line: line)
        for m in mentions {
            XCTAssertTrue(out.output.contains(m), "\(probe): message does not mention \(m)\n\(out.output)", file: file, line: line)
        }
    }

    func testMatmulShapeMismatchTraps() throws {
        try expectTrap("testProbeMatmulShapeMismatch", mentions: ["matmul", "[2, 3]", "[4, 5]"])
    }

    func testBroadcastMismatchTraps() throws {
        try expectTrap("testProbeBroadcastMismatch", mentions: ["add", "[2, 3]", "[4]", "broadcast"])
    }

    func testReshapeToWrongCountTraps() throws {
        try expectTrap("testProbeReshapeCount", mentions: ["reshape", "[2, 3]", "[4, 2]"])
    }

    func testCrossEntropyLabelOutOfRangeTraps() throws {
        try expectTrap("testProbeCrossEntropyLabel", mentions: ["crossEntropy", "label 5", "0..<3"])
    }

    func testEmbeddingIndexOutOfRangeTraps() throws {
        try expectTrap("testProbeEmbeddingIndex", mentions: ["embedding", "index 7", "0..<5", "[5, 3]"])
    }

    func testGatherIndexOutOfRangeTraps() throws {
        try expectTrap("testProbeGatherIndex", mentions: ["gather", "index 9", "0..<4", "[2, 4]", "[2, 1]"])
    }

    func testConcatMismatchTraps() throws {
        try expectTrap("testProbeConcatMismatch", mentions: ["concat", "[2, 3]", "[3, 2]"])
    }

    /// The harness itself: a probe that does not crash is reported as a clean exit, so a check
    /// above cannot pass by accident (e.g. if the child ran no test at all).
    func testHarnessSeesACleanChild() throws {
        if ChildTest.isChild { return }
        let out = try ChildTest.run("CrashProbeTests/testHarnessSeesACleanChildProbe")
        XCTAssertFalse(out.trapped)
        XCTAssertEqual(out.reason, .exit)
        XCTAssertEqual(out.status, 0, out.output)
        XCTAssertTrue(out.output.contains("Executed 1 test"), out.output)
    }

    func testHarnessSeesACleanChildProbe() {}
}
