import CDNNL

/// Single-precision GEMM through oneDNN (`dnnl_sgemm`, row-major):
/// C[M×N] = alpha · op(A) · op(B) + beta · C.
///
/// oneDNN was measured at about 2× OpenBLAS on this machine for the MLP shapes (480 vs 220
/// GFLOP/s on two cores, `Benchmarks/gemm_probe.c`), and it shares OpenMP with the
/// convolution primitives, so every GEMM goes here.
enum GEMM {
    static func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                      a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                      beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        Threads.ensureApplied()   // the thread count (default applied once, before the first kernel)
        if m == 0 || n == 0 { return }
        if k == 0 {
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
            return
        }
        let status = dnnl_sgemm(transA ? 84 : 78, transB ? 84 : 78, dnnl_dim_t(m), dnnl_dim_t(n), dnnl_dim_t(k),
                                alpha, a, dnnl_dim_t(lda), b, dnnl_dim_t(ldb), beta, c, dnnl_dim_t(ldc))
        ensure(status == dnnl_success, "dnnl_sgemm failed with status \(status.rawValue) for M=\(m) N=\(n) K=\(k)")
    }
}
