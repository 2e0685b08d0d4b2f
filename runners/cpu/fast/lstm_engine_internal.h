/*
 * Internals of the CPU LSTM engine (lstm_engine.h), shared by its three files; only they include this.
 *
 *   lstm_engine.c           packing of the batch, create / destroy, load_param, describe
 *   lstm_engine_forward.c   the forward (every strategy) and infer(n), which runs it on a view of the engine
 *   lstm_engine_backward.c  the backward (every strategy)
 *
 * The helpers below are static inline: they sit in the recurrences' inner loops and OpenMP regions, where a
 * call across files (no LTO here) would cost what the strategies are measured on.
 */
#ifndef NNB_FAST_LSTM_ENGINE_INTERNAL_H
#define NNB_FAST_LSTM_ENGINE_INTERNAL_H

#include "lstm_engine.h"

#ifdef _OPENMP
#include <omp.h>
#endif

static inline int thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

static inline int thread_count(void) {
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

/* Our own passes run on the OpenMP team unless the GEMM is OpenBLAS's, whose
 * pthreads would fight spinning OpenMP threads: then our passes run serially. */
static inline int pass_threads(const lstm_engine *e) { return e->gemm == NNB_GEMM_CBLAS ? 1 : e->threads; }

/* This thread's slice of [0, H), in 16-column chunks. */
static inline void column_slice(int64_t H, int64_t *j0, int64_t *j1) {
    int t = thread_id(), nt = thread_count();
    int64_t chunks = (H + 15) / 16;
    *j0 = chunks * t / nt * 16;
    *j1 = chunks * (t + 1) / nt * 16;
    if (*j1 > H)
        *j1 = H;
    if (*j0 > H)
        *j0 = H;
}

/* This thread's slice of [0, H) in whole GEMM panels (NNB_GEMM_NR columns). */
static inline void panel_slice(int64_t H, int64_t *j0, int64_t *j1) {
    int t = thread_id(), nt = thread_count();
    int64_t panels = (H + NNB_GEMM_NR - 1) / NNB_GEMM_NR;
    *j0 = panels * t / nt * NNB_GEMM_NR;
    *j1 = panels * (t + 1) / nt * NNB_GEMM_NR;
    if (*j1 > H)
        *j1 = H;
    if (*j0 > H)
        *j0 = H;
}

static inline const float *layer_input(const lstm_engine *e, int64_t k) {
    return k == 0 ? e->x_packed : e->layers[k - 1].hs;
}

static inline const float *h_prev(const lstm_layer *ly, const lstm_engine *e, int64_t t) {
    return t == 0 ? ly->h0 : ly->hs + e->off[t - 1] * e->H;
}

static inline int is_premul(const lstm_engine *e) { return e->mode == MODE_PREMUL || e->mode == MODE_PREMUL_BIAS; }

static inline float *c_at(const lstm_engine *e, const lstm_layer *ly, int64_t t) {
    return ly->cs + (e->infer_view ? (t & 1) * e->B : e->off[t]) * e->H;
}

static inline const float *c_prev(const lstm_layer *ly, const lstm_engine *e, int64_t t) {
    return t == 0 ? ly->c0 : c_at(e, ly, t - 1);
}

/* Rows of a (T, B, W) array -> packed (N, W), and back (zeros where inactive). */
void lstm_engine_gather_rows(const lstm_engine *e, const float *src, float *dst, int64_t W);
void lstm_engine_scatter_rows(const lstm_engine *e, const float *src, float *dst, int64_t W);

#endif
