#if canImport(Glibc)
import Glibc
#endif
import CDNNL

/// Single-precision GEMM through oneDNN, row-major: C[M×N] = alpha · op(A) · op(B) + beta · C.
///
/// The plain product (alpha 1, beta 0) outside a parallel region runs oneDNN's matmul
/// primitive (brgemm kernels), created once per shape and layout and cached; anything else goes
/// to `dnnl_sgemm`. Timed alternately on one core (`Benchmarks/gemm_probe.c`): with B
/// transposed, x·Wᵀ, the form of every Linear forward, the primitive is 1.2–1.3× faster than
/// `dnnl_sgemm` at batch 128 (1.08 vs 1.40 ms for 128×1200×784); on the other MLP shapes the
/// two are within 8 %.
enum GEMM {
    /// Inside a parallel region (the per-image convolution loops run one GEMM per thread at
    /// once) every call goes to `dnnl_sgemm`, which is reentrant: the cached primitives share
    /// memory objects under one lock and would run the threads one after another (measured: the
    /// benchmark CNN 4,966 → 6,882 img/s, ResNet-20 training 577 → 922 img/s at 2 threads).
    static func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                      a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                      beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        Threads.ensureApplied()   // the thread count (default applied once, before the first kernel)
        if m == 0 || n == 0 { return }
        if k == 0 {
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
            return
        }
        if alpha == 1 && beta == 0 && omp_in_parallel() == 0 {
            let key = MatMulPrimitives.Key(transA: transA, transB: transB, m: m, n: n, k: k, lda: lda, ldb: ldb, ldc: ldc)
            if MatMulPrimitives.run(key, a: a, b: b, c: c) { return }
        }
        let status = dnnl_sgemm(transA ? 84 : 78, transB ? 84 : 78, dnnl_dim_t(m), dnnl_dim_t(n), dnnl_dim_t(k),
                                alpha, a, dnnl_dim_t(lda), b, dnnl_dim_t(ldb), beta, c, dnnl_dim_t(ldc))
        ensure(status == dnnl_success, "dnnl_sgemm failed with status \(status.rawValue) for M=\(m) N=\(n) K=\(k)")
    }
}

/// Cache of oneDNN matmul primitives, one per (layout, shape). Creating a primitive costs far
/// more than running a small one, and a training loop repeats the same few shapes.
enum MatMulPrimitives {
    struct Key: Hashable {
        let transA: Bool, transB: Bool
        let m: Int, n: Int, k: Int, lda: Int, ldb: Int, ldc: Int
    }

    final class Entry {
        let primitive: dnnl_primitive_t
        let a: dnnl_memory_t, b: dnnl_memory_t, c: dnnl_memory_t
        init(primitive: dnnl_primitive_t, a: dnnl_memory_t, b: dnnl_memory_t, c: dnnl_memory_t) {
            self.primitive = primitive; self.a = a; self.b = b; self.c = c
        }
    }

    /// Guards the cache and the memory objects of its entries (their data handles change per call).
    nonisolated(unsafe) private static var lock: UnsafeMutablePointer<pthread_mutex_t> = {
        let p = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(p, nil)
        return p
    }()
    nonisolated(unsafe) private static var engine: dnnl_engine_t? = nil
    nonisolated(unsafe) private static var stream: dnnl_stream_t? = nil
    nonisolated(unsafe) private static var cache: [Key: Entry] = [:]
    /// Keys oneDNN declined; they go to `dnnl_sgemm`.
    nonisolated(unsafe) private static var unsupported: Set<Key> = []

    /// Runs C = op(A)·op(B) with a cached primitive; false when oneDNN cannot build one.
    static func run(_ key: Key, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>) -> Bool {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        if unsupported.contains(key) { return false }
        let entry: Entry
        if let e = cache[key] {
            entry = e
        } else if let e = create(key) {
            cache[key] = e
            entry = e
        } else {
            unsupported.insert(key)
            return false
        }
        dnnl_memory_set_data_handle(entry.a, UnsafeMutableRawPointer(mutating: a))
        dnnl_memory_set_data_handle(entry.b, UnsafeMutableRawPointer(mutating: b))
        dnnl_memory_set_data_handle(entry.c, UnsafeMutableRawPointer(c))
        var args = [dnnl_exec_arg_t(arg: DNNL_ARG_SRC, memory: entry.a),
                    dnnl_exec_arg_t(arg: DNNL_ARG_WEIGHTS, memory: entry.b),
                    dnnl_exec_arg_t(arg: DNNL_ARG_DST, memory: entry.c)]
        let status = dnnl_primitive_execute(entry.primitive, stream, Int32(args.count), &args)
        ensure(status == dnnl_success, "oneDNN matmul failed with status \(status.rawValue) for M=\(key.m) N=\(key.n) K=\(key.k)")
        dnnl_stream_wait(stream)
        return true
    }

    private static func create(_ key: Key) -> Entry? {
        if engine == nil {
            guard dnnl_engine_create(&engine, dnnl_cpu, 0) == dnnl_success,
                  dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue) == dnnl_success else { return nil }
        }
        // A is [M, K], B is [K, N], C is [M, N], each described by strides over the caller's layout.
        func desc(_ rows: Int, _ cols: Int, rowStride: Int, colStride: Int) -> dnnl_memory_desc_t? {
            var md = dnnl_memory_desc_t()
            var dims: [dnnl_dim_t] = [dnnl_dim_t(rows), dnnl_dim_t(cols)]
            var strides: [dnnl_dim_t] = [dnnl_dim_t(rowStride), dnnl_dim_t(colStride)]
            return dnnl_memory_desc_init_by_strides(&md, 2, &dims, dnnl_f32, &strides) == dnnl_success ? md : nil
        }
        guard var amd = key.transA ? desc(key.m, key.k, rowStride: 1, colStride: key.lda) : desc(key.m, key.k, rowStride: key.lda, colStride: 1),
              var bmd = key.transB ? desc(key.k, key.n, rowStride: 1, colStride: key.ldb) : desc(key.k, key.n, rowStride: key.ldb, colStride: 1),
              var cmd = desc(key.m, key.n, rowStride: key.ldc, colStride: 1) else { return nil }
        var opDesc = dnnl_matmul_desc_t()
        guard dnnl_matmul_desc_init(&opDesc, &amd, &bmd, nil, &cmd) == dnnl_success else { return nil }
        var pd: dnnl_primitive_desc_t? = nil
        guard dnnl_primitive_desc_create(&pd, &opDesc, nil, engine, nil) == dnnl_success else { return nil }
        defer { dnnl_primitive_desc_destroy(pd) }
        var prim: dnnl_primitive_t? = nil
        var ma: dnnl_memory_t? = nil, mb: dnnl_memory_t? = nil, mc: dnnl_memory_t? = nil
        guard dnnl_primitive_create(&prim, pd) == dnnl_success,
              dnnl_memory_create(&ma, &amd, engine, nil) == dnnl_success,
              dnnl_memory_create(&mb, &bmd, engine, nil) == dnnl_success,
              dnnl_memory_create(&mc, &cmd, engine, nil) == dnnl_success,
              let prim, let ma, let mb, let mc else { return nil }
        return Entry(primitive: prim, a: ma, b: mb, c: mc)
    }
}
