#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Reference-counted, 64-byte aligned Float32 buffer behind `Tensor`.
///
/// Storage is never resized. `Tensor` implements copy-on-write on top of it: a tensor that
/// mutates its elements first checks that it holds the only reference. Large buffers are
/// recycled through `BufferCache` (a training step allocates the same sizes every step).
public final class TensorStorage: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int

    /// Allocates `count` uninitialised elements (at least one byte so the pointer is valid).
    public init(uninitializedCount count: Int) {
        ensure(count >= 0, "TensorStorage: negative element count \(count)")
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        let raw = BufferCache.allocate(byteCount: bytes)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        self.count = count
    }

    public convenience init(repeating value: Float, count: Int) {
        self.init(uninitializedCount: count)
        pointer.initialize(repeating: value, count: count)
    }

    public convenience init<C: Collection>(copying values: C) where C.Element == Float {
        self.init(uninitializedCount: values.count)
        var i = 0
        for v in values { pointer[i] = v; i += 1 }
    }

    public func copy() -> TensorStorage {
        let s = TensorStorage(uninitializedCount: count)
        s.pointer.update(from: pointer, count: count)
        return s
    }

    deinit { BufferCache.release(UnsafeMutableRawPointer(pointer), byteCount: max(count, 1) * MemoryLayout<Float>.stride) }
}

/// Free lists of large buffers, keyed by size rounded up to whole pages.
///
/// A fresh buffer above glibc's mmap threshold (128 KiB by default) is mapped on allocation and
/// unmapped on release, so every op of a training step paid page faults on its output (about
/// 6 % of a step of the 1200-unit MLP, mostly in the kernel). Released buffers of at least
/// `minimumBytes` are kept here instead, most recent first, and handed back for the next
/// request of the same rounded size; at most `capacityBytes` are kept in all (further releases
/// evict buffers of other sizes first). Guarded by a mutex, so storage may be released on any thread.
enum BufferCache {
    /// Buffers below this size go straight to the allocator (64 KiB: 16,384 floats).
    static let minimumBytes = 64 << 10
    /// Most bytes kept in the free lists (256 MiB).
    static let capacityBytes = 256 << 20
    private static let page = 4096

    nonisolated(unsafe) private static var lists: [Int: [UnsafeMutableRawPointer]] = [:]
    nonisolated(unsafe) private static var cachedBytes = 0
    nonisolated(unsafe) private static let lock: UnsafeMutablePointer<pthread_mutex_t> = {
        let p = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(p, nil)
        return p
    }()

    @inline(__always)
    private static func rounded(_ bytes: Int) -> Int { (bytes + page - 1) & ~(page - 1) }

    /// A 64-byte aligned buffer of at least `bytes` bytes.
    static func allocate(byteCount bytes: Int) -> UnsafeMutableRawPointer {
        if bytes < minimumBytes { return UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64) }
        let size = rounded(bytes)
        pthread_mutex_lock(lock)
        if let p = lists[size]?.popLast() {
            cachedBytes -= size
            pthread_mutex_unlock(lock)
            return p
        }
        pthread_mutex_unlock(lock)
        return UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
    }

    /// Returns a buffer from `allocate(byteCount:)` with the same `bytes`.
    static func release(_ p: UnsafeMutableRawPointer, byteCount bytes: Int) {
        if bytes < minimumBytes { p.deallocate(); return }
        let size = rounded(bytes)
        if size > capacityBytes { p.deallocate(); return }
        var evicted: [UnsafeMutableRawPointer] = []
        pthread_mutex_lock(lock)
        // Make room by dropping buffers of other sizes (the working set moved on, e.g. from
        // evaluation batches back to training batches), so the cache never fills up with stale
        // sizes and stops serving the current ones.
        while cachedBytes + size > capacityBytes,
              let key = lists.first(where: { $0.key != size && !$0.value.isEmpty })?.key {
            evicted.append(lists[key]!.removeFirst())
            if lists[key]!.isEmpty { lists[key] = nil }
            cachedBytes -= key
        }
        if cachedBytes + size <= capacityBytes {
            lists[size, default: []].append(p)
            cachedBytes += size
        } else {
            evicted.append(p)
        }
        pthread_mutex_unlock(lock)
        for q in evicted { q.deallocate() }
    }

    /// Bytes now held in the free lists (for tests and diagnostics).
    static var heldBytes: Int {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return cachedBytes
    }

    /// Frees every cached buffer (for memory-bound callers; the cache refills as it is used).
    static func purge() {
        pthread_mutex_lock(lock)
        let all = lists.values.flatMap { $0 }
        lists = [:]
        cachedBytes = 0
        pthread_mutex_unlock(lock)
        for p in all { p.deallocate() }
    }
}
