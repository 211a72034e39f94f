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
///
/// The elements may live in one of two layouts, or both: plain row-major (`pointer`, what every
/// op, loss, feature tap and checkpoint reads) and, for 4-D activations whose channel count is a
/// multiple of 16, oneDNN's blocked nChw16c (`blocked(as:)`). Convolutions, batch norm and
/// elementwise ops that find their operands blocked compute and return blocked storage, so a
/// convolutional network keeps its activations and gradients in the layout oneDNN's kernels want
/// from layer to layer; the plain copy is made (once) only when something reads `pointer`.
/// Writers go through `mutablePointer`, which drops the blocked copy.
public final class TensorStorage: @unchecked Sendable {
    @usableFromInline var plainPointer: UnsafeMutablePointer<Float>?
    public let count: Int
    /// The nChw16c copy, when there is one (with the layout it was made for).
    private(set) var blockedPointer: UnsafeMutablePointer<Float>?
    private(set) var blockedLayout: Blocked16?

    private static var bytesPerElement: Int { MemoryLayout<Float>.stride }
    private var byteCount: Int { max(count, 1) * Self.bytesPerElement }

    private static func buffer(_ count: Int) -> UnsafeMutablePointer<Float> {
        BufferCache.allocate(byteCount: max(count, 1) * bytesPerElement).bindMemory(to: Float.self, capacity: max(count, 1))
    }

    /// Allocates `count` uninitialised elements (at least one byte so the pointer is valid).
    public init(uninitializedCount count: Int) {
        ensure(count >= 0, "TensorStorage: negative element count \(count)")
        plainPointer = Self.buffer(count)
        self.count = count
    }

    /// Allocates uninitialised blocked storage for `layout` (no plain copy until one is read).
    init(uninitializedBlocked layout: Blocked16) {
        count = layout.count
        blockedPointer = Self.buffer(layout.count)
        blockedLayout = layout
    }

    public convenience init(repeating value: Float, count: Int) {
        self.init(uninitializedCount: count)
        pointer.initialize(repeating: value, count: count)
    }

    public convenience init<C: Collection>(copying values: C) where C.Element == Float {
        self.init(uninitializedCount: values.count)
        let p = pointer
        var i = 0
        for v in values { p[i] = v; i += 1 }
    }

    /// The elements in plain row-major order (made from the blocked copy on first read).
    public var pointer: UnsafeMutablePointer<Float> {
        if let p = plainPointer { return p }
        return materializePlain()
    }

    /// The plain elements for writing: any blocked copy is dropped, since it would go stale.
    public func mutablePointer() -> UnsafeMutablePointer<Float> {
        let p = pointer
        dropBlocked()
        return p
    }

    /// The blocked copy if there is one in `layout` (same dims), else nil.
    func blocked(as layout: Blocked16) -> UnsafeMutablePointer<Float>? {
        blockedLayout == layout ? blockedPointer : nil
    }

    /// The layout of the blocked copy when the elements exist only blocked (no plain copy yet):
    /// the cue for layout-aware ops to stay blocked.
    var blockedOnlyLayout: Blocked16? { plainPointer == nil ? blockedLayout : nil }

    /// Whether a plain copy exists (tests and diagnostics).
    var hasPlain: Bool { plainPointer != nil }

    private func materializePlain() -> UnsafeMutablePointer<Float> {
        BufferCache.lockStorage()
        defer { BufferCache.unlockStorage() }
        if let p = plainPointer { return p }   // another thread made it first
        let p = Self.buffer(count)
        BlockedReorder.toPlain(UnsafePointer(blockedPointer!), p, blockedLayout!)
        plainPointer = p
        return p
    }

    private func dropBlocked() {
        guard let b = blockedPointer else { return }
        blockedPointer = nil
        blockedLayout = nil
        BufferCache.release(UnsafeMutableRawPointer(b), byteCount: byteCount)
    }

    public func copy() -> TensorStorage {
        if let layout = blockedOnlyLayout, let b = blockedPointer {
            let s = TensorStorage(uninitializedBlocked: layout)
            s.blockedPointer!.update(from: b, count: count)
            return s
        }
        let s = TensorStorage(uninitializedCount: count)
        s.pointer.update(from: pointer, count: count)
        return s
    }

    deinit {
        if let p = plainPointer { BufferCache.release(UnsafeMutableRawPointer(p), byteCount: byteCount) }
        if let b = blockedPointer { BufferCache.release(UnsafeMutableRawPointer(b), byteCount: byteCount) }
    }
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

    nonisolated(unsafe) private static let storageLock: UnsafeMutablePointer<pthread_mutex_t> = {
        let p = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(p, nil)
        return p
    }()
    /// Serialises `TensorStorage`'s lazy plain copies (two threads reading one blocked tensor).
    static func lockStorage() { pthread_mutex_lock(storageLock) }
    static func unlockStorage() { pthread_mutex_unlock(storageLock) }

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
