/*
 * lstm_gemm_bench: the GEMM shapes of an LSTM step, own kernel versus this
 * machine's sgemm (OpenBLAS), side by side in one process; medians.
 *   usage: lstm_gemm_bench [T B I H threads reps]   (default 100 64 512 512 2 15)
 * Shapes (row-major C(M,N) = op(A) op(B)):
 *   fwd step      h . W_hh^T          (B, 4H, H)        B prepacked
 *   fwd premul    X . W_ih^T          (T*B, 4H, I)      B prepacked
 *   bwd step      dG . W_hh           (B, H, 4H)        B prepacked
 *   bwd dx        dG_all . W_ih       (T*B, I, 4H)      B prepacked
 *   bwd dW_ih     dG_all^T . X        (4H, I, T*B)
 *   bwd dW_hh     dG_all^T . H_prev   (4H, H, T*B)
 * Last two rows: the GEMM mix of a premultiplied layer's forward and backward, whose sgemm GFLOP/s is
 * what jit_premul's whole-runner GFLOP/s (lstm_time) is compared with.
 * OpenBLAS runs with its own threads (openblas_set_num_threads), never
 * concurrently with OpenMP work. Note OPENBLAS_CORETYPE in the environment.
 */
#include "cpu_kernels.h"
#include "fma_peak.h"
#include "nnb_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef NNB_HAVE_CBLAS
#include <cblas.h>
#endif

typedef struct shape {
    const char *name;
    char ta, tb;
    int64_t M, N, K;
    int prepack;
} shape;

static double median_seconds(nnb_gemm_impl impl, const shape *s, int threads, int reps, const float *A, const float *B,
                             float *C, const nnb_packed_b *Bp) {
    double *t = malloc(sizeof(double) * (size_t)reps);
    int64_t lda = s->ta == 'N' ? s->K : s->M, ldb = s->tb == 'N' ? s->N : s->K;
    for (int r = -2; r < reps; r++) { /* two warm-up runs */
        double t0 = nnb_bench_seconds();
        if (Bp)
            nnb_sgemm_packed(threads, s->ta, s->M, A, lda, Bp, 0.0f, C, s->N);
        else
            nnb_sgemm(impl, threads, s->ta, s->tb, s->M, s->N, s->K, A, lda, B, ldb, 0.0f, C, s->N);
        if (r >= 0)
            t[r] = nnb_bench_seconds() - t0;
    }
    double m = nnb_median(t, reps);
    free(t);
    return m;
}

int main(int argc, char **argv) {
    int64_t T = 100, B = 64, In = 512, Hd = 512;
    int threads = 2, reps = 15;
    if (argc == 7) {
        T = atoll(argv[1]), B = atoll(argv[2]), In = atoll(argv[3]), Hd = atoll(argv[4]);
        threads = atoi(argv[5]), reps = atoi(argv[6]);
    } else if (argc != 1) {
        fprintf(stderr, "usage: %s [T B I H threads reps]\n", argv[0]);
        return 2;
    }
    nnb_set_threads(threads);
    /* OpenBLAS starts its worker threads when loaded and they busy-wait for a while (THREAD_TIMEOUT)
     * before sleeping: let them settle so they do not take the second core from the first shapes. */
    struct timespec settle = {0, 500 * 1000 * 1000};
    nanosleep(&settle, NULL);
    int64_t TB = T * B, G = 4 * Hd, H = Hd;
    const shape shapes[] = {
        {"fwd step h.W_hh^T", 'N', 'T', B, G, H, 1},  {"fwd premul X.W_ih^T", 'N', 'T', TB, G, In, 1},
        {"bwd step dG.W_hh", 'N', 'N', B, H, G, 1},   {"bwd dx dG.W_ih", 'N', 'N', TB, In, G, 1},
        {"bwd dW_ih dG^T.X", 'T', 'N', G, In, TB, 0}, {"bwd dW_hh dG^T.H", 'T', 'N', G, H, TB, 0},
    };
    char desc[512];
    printf("own:  %s\n", nnb_gemm_impl_describe(NNB_GEMM_OWN_AVX512, desc, sizeof desc));
    printf("blas: %s\n", nnb_gemm_impl_describe(NNB_GEMM_CBLAS, desc, sizeof desc));
    printf("threads %d, median of %d\n", threads, reps);
    double peak = nnb_fma_peak_gflops(threads, 0.3);
    if (peak > 0)
        printf("FMA peak: %.1f GFLOP/s on %d threads (24 independent AVX-512 FMA chains per thread, registers only)\n",
               peak, threads);
    printf("%-22s %6s %6s %6s  %10s %10s  %7s\n", "shape", "M", "N", "K", "own GF/s", "sgemm GF/s", "own/blas");
    /* All own runs first, then all sgemm runs: OpenBLAS worker threads busy-wait for a while
     * after each call and would steal the second core from the OpenMP team. */
    enum { NS = sizeof shapes / sizeof *shapes };
    double gown[NS] = {0}, gblas[NS] = {0};
    for (int pass = 0; pass < 2; pass++) {
        nnb_gemm_impl impl = pass == 0 ? NNB_GEMM_OWN_AVX512 : NNB_GEMM_CBLAS;
        if (!nnb_gemm_impl_available(impl))
            continue;
#ifdef NNB_HAVE_CBLAS
        if (pass == 1)
            openblas_set_num_threads(threads);
#endif
        for (int i = 0; i < NS; i++) {
            const shape *s = &shapes[i];
            size_t na = (size_t)(s->M * s->K), nb = (size_t)(s->K * s->N), nc = (size_t)(s->M * s->N);
            float *A = nnb_alloc_floats(na), *Bm = nnb_alloc_floats(nb), *C = nnb_alloc_floats(nc);
            nnb_fill_uniform(A, na, 1, "A", -1, 1);
            nnb_fill_uniform(Bm, nb, 1, "B", -1, 1);
            nnb_packed_b p;
            int packed = pass == 0 && s->prepack &&
                         !nnb_pack_b(&p, NNB_GEMM_OWN_AVX512, s->tb, s->K, s->N, Bm, s->tb == 'N' ? s->N : s->K);
            double sec = median_seconds(impl, s, threads, reps, A, Bm, C, packed ? &p : NULL);
            if (packed)
                nnb_packed_b_free(&p);
            (pass == 0 ? gown : gblas)[i] = 2.0 * (double)s->M * (double)s->N * (double)s->K / sec * 1e-9;
            nnb_free(A), nnb_free(Bm), nnb_free(C);
        }
    }
    for (int i = 0; i < NS; i++) {
        const shape *s = &shapes[i];
        printf("%-22s %6lld %6lld %6lld  %10.1f %10.1f  %7.2f%s\n", s->name, (long long)s->M, (long long)s->N,
               (long long)s->K, gown[i], gblas[i], gblas[i] > 0 ? gown[i] / gblas[i] : 0,
               s->prepack ? "  (own: B prepacked)" : "");
    }
    /* The GEMM mix of one premultiplied LSTM layer: forward = premul + T steps, backward = T steps + dx +
     * dW_ih + dW_hh. Its FLOPs over the time each implementation needs for it: the throughput to hold
     * jit_premul's whole-runner GFLOP/s (lstm_time) against. */
    const double fwd_parts[NS] = {(double)T, 1, 0, 0, 0, 0}, bwd_parts[NS] = {0, 0, (double)T, 1, 1, 1};
    for (int dir = 0; dir < 2; dir++) {
        const double *parts = dir ? bwd_parts : fwd_parts;
        double flops = 0, t_own = 0, t_blas = 0;
        for (int i = 0; i < NS; i++) {
            double f = parts[i] * 2.0 * (double)shapes[i].M * (double)shapes[i].N * (double)shapes[i].K;
            flops += f;
            t_own += gown[i] > 0 ? f / (gown[i] * 1e9) : 0;
            t_blas += gblas[i] > 0 ? f / (gblas[i] * 1e9) : 0;
        }
        double g_own = t_own > 0 ? flops / t_own * 1e-9 : 0, g_blas = t_blas > 0 ? flops / t_blas * 1e-9 : 0;
        printf("%-22s %20.1f GFLOP  %10.1f %10.1f  (GFLOP/s over the mix",
               dir ? "bwd mix (jit_premul)" : "fwd mix (jit_premul)", flops * 1e-9, g_own, g_blas);
        if (peak > 0)
            printf("; %.0f%% / %.0f%% of FMA peak", 100 * g_own / peak, 100 * g_blas / peak);
        printf(")\n");
    }
    return 0;
}
