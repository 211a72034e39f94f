/* dnnl_sgemm against oneDNN's matmul primitive for the GEMMs of the MLP workloads, timed
 * alternately in one process (the machine is shared and noisy), as used for Kernels/GEMM.swift.
 *
 *   cc -O2 Benchmarks/gemm_probe.c -o /tmp/gemm_probe -ldnnl && OMP_NUM_THREADS=1 /tmp/gemm_probe
 */
#include <dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

#define CHECK(x) do { dnnl_status_t s_ = (x); if (s_) { printf("oneDNN error %d: %s\n", s_, #x); exit(1); } } while (0)

static dnnl_engine_t engine;
static dnnl_stream_t stream;

/* C[M,N] = op(A) op(B), row-major; ta/tb: A is stored [K,M] / B is stored [N,K]. */
static void compare(int ta, int tb, int m, int n, int k) {
    float *a = aligned_alloc(64, sizeof(float) * m * k), *b = aligned_alloc(64, sizeof(float) * k * n),
          *c = aligned_alloc(64, sizeof(float) * m * n);
    for (long i = 0; i < (long)m * k; i++) a[i] = 0.01f * (i % 7);
    for (long i = 0; i < (long)k * n; i++) b[i] = 0.01f * (i % 5);
    int lda = ta ? m : k, ldb = tb ? k : n;
    dnnl_dims_t ad = {m, k}, bd = {k, n}, cd = {m, n};
    dnnl_dims_t as = {ta ? 1 : k, ta ? m : 1}, bs = {tb ? 1 : n, tb ? k : 1}, cs = {n, 1};
    dnnl_memory_desc_t amd, bmd, cmd;
    CHECK(dnnl_memory_desc_init_by_strides(&amd, 2, ad, dnnl_f32, as));
    CHECK(dnnl_memory_desc_init_by_strides(&bmd, 2, bd, dnnl_f32, bs));
    CHECK(dnnl_memory_desc_init_by_strides(&cmd, 2, cd, dnnl_f32, cs));
    dnnl_matmul_desc_t md;
    CHECK(dnnl_matmul_desc_init(&md, &amd, &bmd, NULL, &cmd));
    dnnl_primitive_desc_t pd;
    CHECK(dnnl_primitive_desc_create(&pd, &md, NULL, engine, NULL));
    const char *impl;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    dnnl_primitive_t prim;
    CHECK(dnnl_primitive_create(&prim, pd));
    dnnl_memory_t am, bm, cm;
    CHECK(dnnl_memory_create(&am, &amd, engine, a));
    CHECK(dnnl_memory_create(&bm, &bmd, engine, b));
    CHECK(dnnl_memory_create(&cm, &cmd, engine, c));
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}};
    char opa = ta ? 'T' : 'N', opb = tb ? 'T' : 'N';
    for (int i = 0; i < 5; i++) {
        CHECK(dnnl_primitive_execute(prim, stream, 3, args));
        dnnl_sgemm(opa, opb, m, n, k, 1, a, lda, b, ldb, 0, c, n);
    }
    double tp = 0, ts = 0;
    for (int r = 0; r < 10; r++) {
        double t0 = now();
        for (int i = 0; i < 10; i++) dnnl_primitive_execute(prim, stream, 3, args);
        dnnl_stream_wait(stream);
        double t1 = now();
        for (int i = 0; i < 10; i++) dnnl_sgemm(opa, opb, m, n, k, 1, a, lda, b, ldb, 0, c, n);
        double t2 = now();
        tp += t1 - t0;
        ts += t2 - t1;
    }
    double flop = 2.0 * m * n * k * 100;
    printf("%c%c M=%d N=%d K=%d: matmul primitive %.0f GFLOP/s (%s), dnnl_sgemm %.0f GFLOP/s, ratio %.2f\n",
           opa, opb, m, n, k, flop / tp * 1e-9, impl, flop / ts * 1e-9, ts / tp);
    dnnl_primitive_destroy(prim);
    dnnl_primitive_desc_destroy(pd);
    dnnl_memory_destroy(am); dnnl_memory_destroy(bm); dnnl_memory_destroy(cm);
    free(a); free(b); free(c);
}

int main(void) {
    CHECK(dnnl_engine_create(&engine, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
    compare(0, 1, 128, 1200, 784);   /* forward x·W1ᵀ */
    compare(0, 1, 128, 1200, 1200);  /* forward h·W2ᵀ */
    compare(0, 0, 128, 1200, 1200);  /* backward g·W2 */
    compare(1, 0, 1200, 1200, 128);  /* backward gᵀ·h, dW2 */
    compare(1, 0, 1200, 784, 128);   /* backward gᵀ·x, dW1 */
    compare(0, 1, 1024, 1200, 784);  /* inference */
    compare(0, 1, 1024, 1200, 1200);
    return 0;
}
