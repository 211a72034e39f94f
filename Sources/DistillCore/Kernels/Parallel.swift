#if canImport(Glibc)
import Glibc
#endif
import CDNNL

/// Fork-join parallelism on the OpenMP pool that oneDNN already uses (libgomp), so our loops and
/// oneDNN's GEMMs never run two thread pools against each other (see DESIGN.md). GEMMs called
/// inside a parallel region run single-threaded (oneDNN checks `omp_in_parallel`), which is what
/// the per-image convolution loops want: each thread owns whole images.
///
/// `GOMP_parallel` and `omp_get_thread_num` are looked up with `dlsym` (libgomp is linked through
/// CDNNL) so that they are called with the C calling convention.
enum Parallel {
    private typealias Outlined = @convention(c) (UnsafeMutableRawPointer?) -> Void
    private typealias GOMPParallel = @convention(c) (Outlined, UnsafeMutableRawPointer?, UInt32, UInt32) -> Void
    private typealias IntQuery = @convention(c) () -> Int32

    private static let gompParallel: GOMPParallel? = dlsym(nil, "GOMP_parallel").map { unsafeBitCast($0, to: GOMPParallel.self) }
    private static let threadNum: IntQuery? = dlsym(nil, "omp_get_thread_num").map { unsafeBitCast($0, to: IntQuery.self) }
    private static let numThreads: IntQuery? = dlsym(nil, "omp_get_num_threads").map { unsafeBitCast($0, to: IntQuery.self) }

    private final class Job {
        let body: (Int, Int) -> Void
        init(_ body: @escaping (Int, Int) -> Void) { self.body = body }
    }

    /// Threads a parallel region will use (OMP_NUM_THREADS, else the core count).
    static var maxThreads: Int {
        Threads.ensureApplied()
        return Int(omp_get_max_threads())
    }

    /// Runs `body(thread, threads)` once on each of `threads` threads and waits for all.
    static func run(threads requested: Int = maxThreads, _ body: (Int, Int) -> Void) {
        guard requested > 1, let fork = gompParallel, threadNum != nil, numThreads != nil else {
            body(0, 1)
            return
        }
        withoutActuallyEscaping(body) { esc in
            let job = Job(esc)
            let ctx = Unmanaged.passRetained(job).toOpaque()
            fork({ raw in
                let job = Unmanaged<Job>.fromOpaque(raw!).takeUnretainedValue()
                job.body(Int(Parallel.threadNum!()), Int(Parallel.numThreads!()))
            }, ctx, UInt32(requested), 0)
            Unmanaged<Job>.fromOpaque(ctx).release()
        }
    }

    /// Splits 0 ..< n into contiguous ranges, one per thread, and runs `body(range)` on each
    /// (serially when n is below `grain`).
    static func forRanges(_ n: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        let threads = Swift.min(maxThreads, Swift.max(1, n / Swift.max(grain, 1)))
        if threads <= 1 { body(0..<n); return }
        run(threads: threads) { t, tn in
            let lo = n * t / tn, hi = n * (t + 1) / tn
            if lo < hi { body(lo..<hi) }
        }
    }
}

/// Runs `body` over contiguous chunks of 0 ..< n on the kernel threads (the same OpenMP pool as
/// the GEMMs), one chunk per thread; serially when n < 2·grain. `body` must only write
/// locations indexed by its own range. Used by memory-bound loops such as optimizer updates.
public func parallelChunks(_ n: Int, grain: Int = 65_536, _ body: (Range<Int>) -> Void) {
    Parallel.forRanges(n, grain: grain, body)
}
