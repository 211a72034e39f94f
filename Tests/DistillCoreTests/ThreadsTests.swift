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
}
