/* AVX-512 half of nnb_cnn_cpu's stem input gradient (see conv_input_grad.h). Built with -mavx512f; called
 * only after nnb_conv_input_grad_available().
 *
 * Work item: one input row iy of one image. Its kernel rows kh (and output rows oy) are fixed by iy; its
 * pixels split into `stride` phases ix = px + stride * j, and within a phase the kernel columns kw are fixed
 * and pixel j reads output column ox = ox0(kw) + j. So 8 consecutive pixels of a phase share every weight
 * vector: each (block, kh, kw) loads c weight vectors (16 output channels each) and 8 gradient vectors and
 * does 8c FMAs into 8c accumulators, reduced across lanes at the end. Pixels whose taps fall off the output
 * edge go through a one-pixel path with per-tap checks. */
#include "conv_input_grad.h"

#include <immintrin.h>

enum { GROUP = 8, MAX_CI = NNB_CONV_INPUT_GRAD_MAX_C, MAX_R = NNB_CONV_INPUT_GRAD_MAX_R };

typedef struct geom {
    int64_t c, h, w, kb, r, s, pad, oh, ow;
    __mmask16 last; /* valid lanes of the last output-channel block */
    const float *wt;
} geom;

/* Kernel offsets k[i] that reach this input coordinate, and the output coordinate o[i] each reads. */
typedef struct taps {
    int n;
    int k[MAX_R];
    int64_t o[MAX_R];
} taps;

/* Rows: kh with iy + pad - kh = oy * s, 0 <= oy < oh. */
static void row_taps(const geom *g, int64_t iy, taps *t) {
    t->n = 0;
    for (int kh = 0; kh < g->r; kh++) {
        int64_t d = iy + g->pad - kh;
        if (d < 0 || d % g->s || d / g->s >= g->oh)
            continue;
        t->k[t->n] = kh;
        t->o[t->n++] = d / g->s;
    }
}

/* Columns of phase px: kw with px + pad - kw divisible by s; pixel j then reads ox = o[i] + j (range not
 * checked here: callers do, per pixel or per group). */
static void phase_taps(const geom *g, int64_t px, taps *t) {
    t->n = 0;
    for (int kw = 0; kw < g->r; kw++) {
        int64_t d = px + g->pad - kw;
        if (((d % g->s) + g->s) % g->s)
            continue;
        t->k[t->n] = kw;
        t->o[t->n++] = d / g->s; /* exact, also for negative d */
    }
}

static const float *weight_vectors(const geom *g, int64_t cb, int kh, int kw) {
    return g->wt + ((cb * g->r + kh) * g->r + kw) * g->c * 16;
}

/* One pixel (ix = px + s * j), any c <= MAX_CI: out[ci] for ci < c. */
static void one_pixel(const geom *g, const float *dyn, const taps *th, const taps *tw, int64_t j, float *out) {
    __m512 acc[MAX_CI];
    for (int ci = 0; ci < g->c; ci++)
        acc[ci] = _mm512_setzero_ps();
    for (int64_t cb = 0; cb < g->kb; cb++) {
        __mmask16 m = cb == g->kb - 1 ? g->last : (__mmask16)0xFFFF;
        const float *dyc = dyn + cb * g->oh * g->ow * 16;
        for (int a = 0; a < th->n; a++)
            for (int b = 0; b < tw->n; b++) {
                int64_t ox = tw->o[b] + j;
                if (ox < 0 || ox >= g->ow)
                    continue;
                __m512 d = _mm512_maskz_loadu_ps(m, dyc + (th->o[a] * g->ow + ox) * 16);
                const float *wp = weight_vectors(g, cb, th->k[a], tw->k[b]);
                for (int ci = 0; ci < g->c; ci++)
                    acc[ci] = _mm512_fmadd_ps(_mm512_loadu_ps(wp + ci * 16), d, acc[ci]);
            }
    }
    for (int ci = 0; ci < g->c; ci++)
        out[ci] = _mm512_reduce_add_ps(acc[ci]);
}

/* GROUP pixels j0 .. j0+7 of a phase, all of whose taps are inside the output; CI (1..3) a constant after
 * inlining, so the 8 * CI accumulators live in registers. out: (GROUP, CI). */
static inline __attribute__((always_inline)) void pixel_group(const geom *g, const float *dyn, const taps *th,
                                                              const taps *tw, int64_t j0, const int CI, float *out) {
    __m512 acc[GROUP][3];
#pragma GCC unroll 8
    for (int j = 0; j < GROUP; j++)
        acc[j][0] = acc[j][1] = acc[j][2] = _mm512_setzero_ps();
    for (int64_t cb = 0; cb < g->kb; cb++) {
        __mmask16 m = cb == g->kb - 1 ? g->last : (__mmask16)0xFFFF;
        const float *dyc = dyn + cb * g->oh * g->ow * 16;
        for (int a = 0; a < th->n; a++) {
            const float *row = dyc + th->o[a] * g->ow * 16;
            for (int b = 0; b < tw->n; b++) {
                const float *wp = weight_vectors(g, cb, th->k[a], tw->k[b]);
                __m512 w0 = _mm512_loadu_ps(wp);
                __m512 w1 = CI > 1 ? _mm512_loadu_ps(wp + 16) : w0;
                __m512 w2 = CI > 2 ? _mm512_loadu_ps(wp + 32) : w0;
                const float *dp = row + (tw->o[b] + j0) * 16;
#pragma GCC unroll 8
                for (int j = 0; j < GROUP; j++) {
                    __m512 d = _mm512_maskz_loadu_ps(m, dp + j * 16);
                    acc[j][0] = _mm512_fmadd_ps(w0, d, acc[j][0]);
                    if (CI > 1)
                        acc[j][1] = _mm512_fmadd_ps(w1, d, acc[j][1]);
                    if (CI > 2)
                        acc[j][2] = _mm512_fmadd_ps(w2, d, acc[j][2]);
                }
            }
        }
    }
#pragma GCC unroll 8
    for (int j = 0; j < GROUP; j++)
        for (int ci = 0; ci < CI; ci++)
            out[j * CI + ci] = _mm512_reduce_add_ps(acc[j][ci]);
}

static void group_any(const geom *g, const float *dyn, const taps *th, const taps *tw, int64_t j0, float *out) {
    switch (g->c) {
    case 1: pixel_group(g, dyn, th, tw, j0, 1, out); break;
    case 2: pixel_group(g, dyn, th, tw, j0, 2, out); break;
    default: pixel_group(g, dyn, th, tw, j0, 3, out); break;
    }
}

/* Input row iy of one image: dxn (c, h, w). */
static void input_row(const geom *g, const float *dyn, float *dxn, int64_t iy) {
    taps th, tw;
    row_taps(g, iy, &th);
    float out[GROUP * MAX_CI];
    for (int64_t px = 0; px < g->s && px < g->w; px++) {
        phase_taps(g, px, &tw);
        int64_t npx = (g->w - px + g->s - 1) / g->s, jlo = 0, jhi = npx; /* [jlo, jhi): every tap inside */
        for (int b = 0; b < tw.n; b++) {
            if (-tw.o[b] > jlo)
                jlo = -tw.o[b];
            if (g->ow - tw.o[b] < jhi)
                jhi = g->ow - tw.o[b];
        }
        for (int64_t j = 0; j < npx;) {
            int64_t count = 1;
            if (g->c <= 3 && j >= jlo && j + GROUP <= jhi) {
                group_any(g, dyn, &th, &tw, j, out);
                count = GROUP;
            } else {
                one_pixel(g, dyn, &th, &tw, j, out);
            }
            for (int64_t q = 0; q < count; q++)
                for (int64_t ci = 0; ci < g->c; ci++)
                    dxn[(ci * g->h + iy) * g->w + px + g->s * (j + q)] = out[q * g->c + ci];
            j += count;
        }
    }
}

void nnb_conv_input_grad_nchw16c(int64_t n, int64_t c, int64_t h, int64_t w, int64_t k, int64_t r, int64_t stride,
                                 int64_t pad, int64_t oh, int64_t ow, const float *wt, const float *dy, float *dx,
                                 int threads) {
    geom g = {
        .c = c, .h = h, .w = w, .kb = (k + 15) / 16, .r = r, .s = stride, .pad = pad, .oh = oh, .ow = ow, .wt = wt};
    g.last = k % 16 ? (__mmask16)((1u << (k % 16)) - 1u) : (__mmask16)0xFFFF;
    const int64_t rows = n * h, dy_image = g.kb * oh * ow * 16, dx_image = c * h * w;
    (void)threads;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t q = 0; q < rows; q++)
        input_row(&g, dy + q / h * dy_image, dx + q / h * dx_image, q % h);
}
