import XCTest
@testable import DistillCore

final class ThreadsTests: XCTestCase {
    func testDefaultPrefersDistillThenOpenMPThenCores() {
        XCTAssertEqual(Threads.defaultCount(environment: ["DISTILL_NUM_THREADS": "3", "OMP_NUM_THREADS": "5"], cores: 8), 3)
        XCTAssertEqual(Threads.defaultCount(environment: ["OMP_NUM_THREADS": "5"], cores: 8), 5)
        XCTAssertEqual(Threads.defaultCount(environment: ["OMP_NUM_THREADS": "4,2"], cores: 8), 4, "first entry of a nested list")
        XCTAssertEqual(Threads.defaultCount(environment: [:], cores: 8), 8)
        XCTAssertEqual(Threads.defaultCount(environment: ["DISTILL_NUM_THREADS": "zero", "OMP_NUM_THREADS": "2"], cores: 8, warn: false), 2,
                       "a malformed value is skipped")
        XCTAssertEqual(Threads.defaultCount(environment: ["DISTILL_NUM_THREADS": "0"], cores: 6, warn: false), 6)
    }

    func testAvailableCoresIsPositive() {
        XCTAssertGreaterThanOrEqual(Threads.availableCores(), 1)
    }

    func testSetReachesOpenMPAndSurvivesTheLazyDefault() {
        let saved = Threads.count
        defer { Threads.set(saved) }
        Threads.set(1)
        XCTAssertEqual(Threads.count, 1)
        XCTAssertEqual(Threads.openMPMaxThreads, 1)
        // a kernel call after set must not reapply the default
        _ = Tensor.matmul(Tensor.ones([2, 3]), Tensor.ones([3, 2]))
        XCTAssertEqual(Threads.count, 1)
        Threads.set(2)
        XCTAssertEqual(Threads.openMPMaxThreads, 2)
        let y = Tensor.matmul(Tensor.ones([2, 3]), Tensor.ones([3, 2]))
        XCTAssertEqual(y.scalars, [3, 3, 3, 3])
    }

    /// OpenMP's count is per thread: a kernel called from another thread still uses `count`.
    func testCountAppliesOnOtherThreads() {
        let saved = Threads.count
        defer { Threads.set(saved) }
        Threads.set(1)
        nonisolated(unsafe) var seen = 0
        let done = expectation(description: "kernel on another thread")
        let t = Thread {
            _ = Tensor.matmul(Tensor.ones([2, 2]), Tensor.ones([2, 2]))
            seen = Threads.openMPMaxThreads
            done.fulfill()
        }
        t.start()
        wait(for: [done], timeout: 10)
        XCTAssertEqual(seen, 1)
    }
}

/// The default read from the environment, end to end: a child test process started with the
/// variables checks what the first kernel call applied.
final class ThreadsEnvironmentTests: XCTestCase {
    func testProbeDefaultFromEnvironment() {
        guard ChildTest.isChild, let want = ProcessInfo.processInfo.environment["DISTILL_EXPECT_THREADS"].flatMap(Int.init) else { return }
        _ = Tensor.matmul(Tensor.ones([2, 2]), Tensor.ones([2, 2]))   // first kernel call applies the default
        XCTAssertEqual(Threads.count, want)
        XCTAssertEqual(Threads.openMPMaxThreads, want)
    }

    func check(_ env: [String: String], expect: Int) throws {
        var e = env
        e["DISTILL_EXPECT_THREADS"] = String(expect)
        let unset = ["DISTILL_NUM_THREADS", "OMP_NUM_THREADS"].filter { env[$0] == nil }
        let out = try ChildTest.run("ThreadsEnvironmentTests/testProbeDefaultFromEnvironment", environment: e, unset: unset)
        XCTAssertEqual(out.reason, .exit, out.output)
        XCTAssertEqual(out.status, 0, out.output)
        XCTAssertTrue(out.output.contains("Executed 1 test"), out.output)
    }

    func testDistillVariableWins() throws {
        if ChildTest.isChild { return }
        try check(["DISTILL_NUM_THREADS": "1", "OMP_NUM_THREADS": "3"], expect: 1)
    }

    func testOpenMPVariableIsTheFallback() throws {
        if ChildTest.isChild { return }
        try check(["OMP_NUM_THREADS": "3"], expect: 3)
    }

    func testCoresWhenNeitherIsSet() throws {
        if ChildTest.isChild { return }
        try check([:], expect: Threads.availableCores())
    }
}
