import XCTest
@testable import DistillCore

/// The free-list cache behind large `TensorStorage` buffers.
final class BufferCacheTests: XCTestCase {
    func testReleasedLargeBufferIsReusedForTheSameRoundedSize() {
        BufferCache.purge()   // earlier tests may have left the cache full
        let bytes = BufferCache.minimumBytes + 100
        let p = BufferCache.allocate(byteCount: bytes)
        XCTAssertEqual(Int(bitPattern: p) % 64, 0)
        BufferCache.release(p, byteCount: bytes)
        let q = BufferCache.allocate(byteCount: bytes + 8)   // same page-rounded size
        XCTAssertEqual(p, q)
        BufferCache.release(q, byteCount: bytes + 8)
        BufferCache.purge()
    }

    func testAFullCacheEvictsStaleSizesForTheCurrentOne() {
        BufferCache.purge()
        let stale = BufferCache.minimumBytes * 4
        let count = BufferCache.capacityBytes / stale
        let buffers = (0..<count).map { _ in BufferCache.allocate(byteCount: stale) }
        for p in buffers { BufferCache.release(p, byteCount: stale) }
        XCTAssertEqual(BufferCache.heldBytes, BufferCache.capacityBytes)
        let bytes = BufferCache.minimumBytes + 4096
        let p = BufferCache.allocate(byteCount: bytes)
        BufferCache.release(p, byteCount: bytes)
        XCTAssertEqual(BufferCache.allocate(byteCount: bytes), p, "the current size is cached, not freed")
        XCTAssertLessThanOrEqual(BufferCache.heldBytes, BufferCache.capacityBytes)
        BufferCache.release(p, byteCount: bytes)
        BufferCache.purge()
        XCTAssertEqual(BufferCache.heldBytes, 0)
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
