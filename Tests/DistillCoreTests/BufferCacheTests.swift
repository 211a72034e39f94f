import XCTest
@testable import DistillCore

/// The free-list cache behind large `TensorStorage` buffers.
final class BufferCacheTests: XCTestCase {
    func testReleasedLargeBufferIsReusedForTheSameRoundedSize() {
        let bytes = BufferCache.minimumBytes + 100
        let p = BufferCache.allocate(byteCount: bytes)
        XCTAssertEqual(Int(bitPattern: p) % 64, 0)
        BufferCache.release(p, byteCount: bytes)
        let q = BufferCache.allocate(byteCount: bytes + 8)   // same page-rounded size
        XCTAssertEqual(p, q)
        BufferCache.release(q, byteCount: bytes + 8)
        BufferCache.purge()
    }

    func testRecycledStorageHoldsNewValues() {
        let n = BufferCache.minimumBytes / 4 * 3
        for v in [Float(1), 2, 3] {
            let t = Tensor(shape: [n], repeating: v)
            XCTAssertEqual(t.sum().item, v * Float(n))
            XCTAssertEqual(Tensor.ones([3, 1]).expanded(to: [3, n / 3]).sum().item, Float(n))
        }
    }
}
