#if canImport(Glibc)
import Glibc
#endif

/// How the kernels' OpenMP threads wait between parallel regions, chosen by the binary itself.
///
/// libgomp reads `OMP_WAIT_POLICY` and `GOMP_SPINCOUNT` once, when it is loaded — before `main`
/// runs — and its default spins up to 300,000 iterations per wait. On shared cores that made a
/// 2-thread `distill train` about 3× slower (issue 13), and only the Makefile set
/// `OMP_WAIT_POLICY=PASSIVE`. So when the user has set neither variable (nor
/// `DISTILL_WAIT_POLICY=keep`), the binary sets `chosen` and executes itself again (same PID,
/// same arguments; about 20 ms: `distill --version` took a median 37 ms against 16 ms with DISTILL_WAIT_POLICY=keep, 15 runs each, Benchmarks/reexec_cost.py), so every way of starting it gets the measured choice.
/// What the user sets is kept. `Benchmarks/wait_policy.sh` measures the policies on an idle and
/// a busy machine (README, "Threads and waiting").
enum WaitPolicy {
    /// The variable and value set when the user set none.
    static let chosen = (name: "GOMP_SPINCOUNT", value: "10000")
    /// Marks the re-executed process, so the choice is made once.
    static let marker = "DISTILL_WAIT_POLICY"

    static func apply() {
        #if os(Linux)
        let env = { (k: String) in getenv(k) != nil }
        guard !env("OMP_WAIT_POLICY"), !env("GOMP_SPINCOUNT"), !env(marker) else { return }
        setenv(chosen.name, chosen.value, 1)
        setenv(marker, "\(chosen.name)=\(chosen.value)", 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // exec failed (no /proc): run on with libgomp's default rather than not at all
        #endif
    }
}
