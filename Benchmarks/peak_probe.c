/* The hardware limit the benchmark table measures each workload against, in the same run:
 * the AVX-512 FMA peak (16 independent vfmadd231ps chains per thread, so latency is hidden) and
 * oneDNN's dnnl_sgemm rate on a square GEMM, both with the process's OpenMP threads.
 * Prints one JSON line.
 *
 *   cc -O2 -mavx512f -fopenmp Benchmarks/peak_probe.c -o /tmp/peak_probe -ldnnl
 *   OMP_NUM_THREADS=2 /tmp/peak_probe [gemm size, default 1536]
 */
#include <dnnl.h>
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* GFLOP/s of `iters` rounds of 16 FMAs on 16-float vectors per thread. */
static double fma_peak(long iters) {
    double t0 = now();
    float sink = 0;
#pragma omp parallel reduction(+ : sink)
    {
        __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(1e-6f);
        float t = (float)omp_get_thread_num();
#define INIT(j) __m512 c##j = _mm512_set1_ps(t + j);
        INIT(0) INIT(1) INIT(2) INIT(3) INIT(4) INIT(5) INIT(6) INIT(7)
        INIT(8) INIT(9) INIT(10) INIT(11) INIT(12) INIT(13) INIT(14) INIT(15)
#define STEP(j) c##j = _mm512_fmadd_ps(c##j, a, b);
        for (long i = 0; i < iters; i++) {
            STEP(0) STEP(1) STEP(2) STEP(3) STEP(4) STEP(5) STEP(6) STEP(7)
            STEP(8) STEP(9) STEP(10) STEP(11) STEP(12) STEP(13) STEP(14) STEP(15)
        }
        __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(c0, c1), _mm512_add_ps(c2, c3)),
                                 _mm512_add_ps(_mm512_add_ps(c4, c5), _mm512_add_ps(c6, c7)));
        s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(c8, c9), _mm512_add_ps(c10, c11)),
                                           _mm512_add_ps(_mm512_add_ps(c12, c13), _mm512_add_ps(c14, c15))));
        sink += _mm512_reduce_add_ps(s);
    }
    double t = now() - t0;
    if (sink == 12345.f) printf("#");
    return 2.0 * 16 * 16 * iters * omp_get_max_threads() / t / 1e9;
}

/* Best GFLOP/s of `reps` calls of C = A·B, n×n×n, row-major. */
static double sgemm_rate(int n, int reps) {
    float *a = aligned_alloc(64, sizeof(float) * n * n), *b = aligned_alloc(64, sizeof(float) * n * n),
          *c = aligned_alloc(64, sizeof(float) * n * n);
    for (long i = 0; i < (long)n * n; i++) { a[i] = 0.001f * (i % 13); b[i] = 0.001f * (i % 7); c[i] = 0; }
    double best = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        if (dnnl_sgemm('N', 'N', n, n, n, 1.f, a, n, b, n, 0.f, c, n) != dnnl_success) { printf("{\"error\": \"dnnl_sgemm failed\"}\n"); exit(1); }
        double g = 2.0 * n * n * n / (now() - t0) / 1e9;
        if (g > best) best = g;
    }
    free(a); free(b); free(c);
    return best;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 1536;
    if (n < 64 || n > 8192) { fprintf(stderr, "peak_probe: gemm size must be in 64…8192\n"); return 2; }
    fma_peak(2000000); /* warm the clocks */
    double fma = 0, gemm = 0;
    for (int r = 0; r < 3; r++) { double f = fma_peak(20000000); if (f > fma) fma = f; }
    sgemm_rate(n, 2);
    gemm = sgemm_rate(n, 5);
    printf("{\"side\": \"peak\", \"threads\": %d, \"fma_gflops\": %.1f, \"sgemm_gflops\": %.1f, \"sgemm_n\": %d}\n",
           omp_get_max_threads(), fma, gemm, n);
    return 0;
}
