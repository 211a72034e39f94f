import CDNNL
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// The number of threads the kernels use (oneDNN runs on OpenMP, so this is OpenMP's count).
///
/// Default, applied once before the first kernel call (or the first use of `count`):
/// `DISTILL_NUM_THREADS`, else `OMP_NUM_THREADS` (its first entry when it is a list), else the
/// number of cores this process may run on (`sched_getaffinity`, falling back to
/// `sysconf(_SC_NPROCESSORS_ONLN)`). A variable that is not a positive integer is skipped with
/// a warning on stderr. `set(_:)` overrides the default at any time; results for a given seed
/// are reproducible for a given thread count. OpenMP keeps its count per calling thread, so the
/// kernels re-apply `count` on a thread whose OpenMP setting differs (one TLS read per call).
public enum Threads {
    nonisolated(unsafe) private static var current = 0

    /// Called at the start of every kernel that runs on OpenMP: applies the default once, and
    /// `count` to the calling thread if its OpenMP setting differs (another thread of control).
    @inline(__always)
    static func ensureApplied() {
        _ = configured
        let n = Int32(clamping: current)
        if omp_get_max_threads() != n { omp_set_num_threads(n) }
    }

    /// Applies the default once.
    static let configured: Void = {
        if current == 0 { apply(defaultCount(environment: environment(), cores: availableCores())) }
    }()

    /// The thread count in effect.
    public static var count: Int {
        _ = configured
        return current
    }

    /// The largest thread count accepted: 8 per core this process may run on, at least 16
    /// (more only queues on the cores, and OpenMP fails outright at tens of thousands).
    public static var maxCount: Int { Swift.max(8 * availableCores(), 16) }

    /// Sets the thread count for every later kernel call (`omp_set_num_threads`).
    public static func set(_ n: Int) {
        ensure(n >= 1 && n <= maxCount, "Threads.set: thread count must be in 1…\(maxCount), got \(n)")
        apply(n)
        _ = configured   // the default must not overwrite this later
    }

    private static func apply(_ n: Int) {
        current = n
        omp_set_num_threads(Int32(clamping: n))
    }

    /// OpenMP's own view of the count (`omp_get_max_threads`), for tests.
    static var openMPMaxThreads: Int { Int(omp_get_max_threads()) }

    /// The default for an environment and a core count (see the type's documentation).
    static func defaultCount(environment env: [String: String], cores: Int, warn: Bool = true) -> Int {
        for name in ["DISTILL_NUM_THREADS", "OMP_NUM_THREADS"] {
            guard let raw = env[name] else { continue }
            let first = raw.split(separator: ",", omittingEmptySubsequences: false).first.map(String.init) ?? ""
            if let n = Int(first.trimmingSpaces), n >= 1, n <= Swift.max(8 * cores, 16) { return n }
            if warn { fputs("distill: ignoring \(name)=\"\(raw)\": not an integer in 1…\(Swift.max(8 * cores, 16))\n", stderr) }
        }
        return Swift.max(cores, 1)
    }

    /// The two variables the default reads, from the process environment.
    static func environment() -> [String: String] {
        var env: [String: String] = [:]
        for name in ["DISTILL_NUM_THREADS", "OMP_NUM_THREADS"] {
            if let v = getenv(name) { env[name] = String(cString: v) }
        }
        return env
    }

    /// Cores this process may run on.
    static func availableCores() -> Int {
        #if os(Linux)
        // glibc declares sched_getaffinity only under _GNU_SOURCE, which Swift's Glibc module
        // lacks, so look it up by name; the mask is a cpu_set_t (1024 bits).
        typealias Affinity = @convention(c) (pid_t, Int, UnsafeMutableRawPointer) -> Int32
        if let sym = dlsym(nil, "sched_getaffinity") {
            var mask = [UInt64](repeating: 0, count: 16)
            let ok = mask.withUnsafeMutableBytes { unsafeBitCast(sym, to: Affinity.self)(0, $0.count, $0.baseAddress!) }
            let n = mask.reduce(0) { $0 + $1.nonzeroBitCount }
            if ok == 0 && n > 0 { return n }
        }
        #endif
        return Swift.max(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), 1)
    }
}

private extension String {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
