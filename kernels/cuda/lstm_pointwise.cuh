/*
 * The LSTM pointwise kernels of the CUDA runners, written in the common subset
 * of C11 and CUDA C++ so that the same source compiles with nvcc (real kernels,
 * kernels/cuda/lstm_kernels.cu) and with a C compiler through grid_shim.h (the
 * CPU tests). Per-element LSTM math comes from kernels/lstm_cell_math.h only.
 *
 * Layouts (row-major, rows = active batch rows):
 *   gates (B, 4H): gate pre-activations in, activated gates i, f, g, o out
 *   c_prev, c, h, dh, dc (B, H)
 * Fused variants (cfg->fuser):
 *   te:  1-D grid over the B*H cells; each thread owns loop_level consecutive
 *        cells per grid-stride iteration (instruction-level parallelism).
 *   old: 2-D grid, y = batch row (grid-stride over rows), x = hidden unit; each
 *        thread owns loop_level units strided by blockDim.x (coalesced loads).
 * Unfused (aten, fuser none): one generic strided elementwise kernel per op.
 */
#ifndef NNB_LSTM_POINTWISE_CUH
#define NNB_LSTM_POINTWISE_CUH

#include "grid_shim.h"
#include "lstm_cell_math.h"
#include "pointwise_geometry.h"
#include "pointwise_ops.h"

#define NNB_MAX_GRID_Y 65535u

/* ---------------------------------------------------------------- te (fused) */

/* Cell e of a (B, H) grid: pre-activations plus optional biases, then the cell. */
NNB_DEVICE void nnb_fwd_one_cell(float *gates, const float *bias_a, const float *bias_b, const float *c_prev, float *c,
                                 float *h, long long b, long long j, long long H) {
    float *g = gates + b * 4 * H;
    float bi = 0, bf = 0, bg = 0, bo = 0;
    if (bias_a) {
        bi += bias_a[j], bf += bias_a[H + j], bg += bias_a[2 * H + j], bo += bias_a[3 * H + j];
    }
    if (bias_b) {
        bi += bias_b[j], bf += bias_b[H + j], bg += bias_b[2 * H + j], bo += bias_b[3 * H + j];
    }
    float ai = g[j] + bi, af = g[H + j] + bf, ag = g[2 * H + j] + bg, ao = g[3 * H + j] + bo;
    long long e = b * H + j;
    nnb_lstm_cell_fwdf(&ai, &af, &ag, &ao, c_prev[e], &c[e], &h[e]);
    g[j] = ai, g[H + j] = af, g[2 * H + j] = ag, g[3 * H + j] = ao;
}

/* Cell e backward: dh = dy + dh_rec (either may be NULL), dc in/out. */
NNB_DEVICE void nnb_bwd_one_cell(const float *gates, const float *c_prev, const float *c, const float *dy,
                                 const float *dh_rec, float *dc, float *dgates, long long b, long long j, long long H) {
    const float *g = gates + b * 4 * H;
    float *dg = dgates + b * 4 * H;
    long long e = b * H + j;
    float dh = (dy ? dy[e] : 0.0f) + (dh_rec ? dh_rec[e] : 0.0f);
    float dc_prev;
    nnb_lstm_cell_bwdf(g[j], g[H + j], g[2 * H + j], g[3 * H + j], c_prev[e], c[e], dh, dc[e], &dg[j], &dg[H + j],
                       &dg[2 * H + j], &dg[3 * H + j], &dc_prev);
    dc[e] = dc_prev;
}

NNB_KERNEL void nnb_lstm_fwd_te_kernel(float *gates, const float *bias_a, const float *bias_b, const float *c_prev,
                                       float *c, float *h, long long B, long long H, int loop) {
    long long n = B * H, stride = (long long)gridDim.x * blockDim.x * loop;
    for (long long base = ((long long)blockIdx.x * blockDim.x + threadIdx.x) * loop; base < n; base += stride)
        for (long long e = base; e < base + loop && e < n; e++)
            nnb_fwd_one_cell(gates, bias_a, bias_b, c_prev, c, h, e / H, e % H, H);
}

NNB_KERNEL void nnb_lstm_bwd_te_kernel(const float *gates, const float *c_prev, const float *c, const float *dy,
                                       const float *dh_rec, float *dc, float *dgates, long long B, long long H,
                                       int loop) {
    long long n = B * H, stride = (long long)gridDim.x * blockDim.x * loop;
    for (long long base = ((long long)blockIdx.x * blockDim.x + threadIdx.x) * loop; base < n; base += stride)
        for (long long e = base; e < base + loop && e < n; e++)
            nnb_bwd_one_cell(gates, c_prev, c, dy, dh_rec, dc, dgates, e / H, e % H, H);
}

/* --------------------------------------------------------------- old (fused) */

NNB_KERNEL void nnb_lstm_fwd_old_kernel(float *gates, const float *bias_a, const float *bias_b, const float *c_prev,
                                        float *c, float *h, long long B, long long H, int loop) {
    long long stride = (long long)gridDim.x * blockDim.x * loop;
    for (long long b = blockIdx.y; b < B; b += gridDim.y)
        for (long long base = (long long)blockIdx.x * blockDim.x * loop + threadIdx.x; base < H; base += stride)
            for (int k = 0; k < loop; k++) {
                long long j = base + (long long)k * blockDim.x;
                if (j < H)
                    nnb_fwd_one_cell(gates, bias_a, bias_b, c_prev, c, h, b, j, H);
            }
}

NNB_KERNEL void nnb_lstm_bwd_old_kernel(const float *gates, const float *c_prev, const float *c, const float *dy,
                                        const float *dh_rec, float *dc, float *dgates, long long B, long long H,
                                        int loop) {
    long long stride = (long long)gridDim.x * blockDim.x * loop;
    for (long long b = blockIdx.y; b < B; b += gridDim.y)
        for (long long base = (long long)blockIdx.x * blockDim.x * loop + threadIdx.x; base < H; base += stride)
            for (int k = 0; k < loop; k++) {
                long long j = base + (long long)k * blockDim.x;
                if (j < H)
                    nnb_bwd_one_cell(gates, c_prev, c, dy, dh_rec, dc, dgates, b, j, H);
            }
}

/* ------------------------------------------ LayerNorm LSTM cell (fused halves) */

/* Gate half forward: pre = LN_i(x W_ih^T) + LN_h(h W_hh^T) (no gate biases), the
 * activations written over gi_n, and the raw new cell f * c + i * g (before LN_c). */
NNB_KERNEL void nnb_ln_cell_gates_fwd_kernel(float *gi_n, const float *gh_n, const float *c_prev, float *c_raw,
                                             long long B, long long H, int loop) {
    long long n = B * H, stride = (long long)gridDim.x * blockDim.x * loop;
    for (long long base = ((long long)blockIdx.x * blockDim.x + threadIdx.x) * loop; base < n; base += stride)
        for (long long e = base; e < base + loop && e < n; e++) {
            long long b = e / H, j = e % H;
            float *g = gi_n + b * 4 * H;
            const float *q = gh_n + b * 4 * H;
            float ai = g[j] + q[j], af = g[H + j] + q[H + j], ag = g[2 * H + j] + q[2 * H + j];
            float ao = g[3 * H + j] + q[3 * H + j], h_unused;
            nnb_lstm_cell_fwdf(&ai, &af, &ag, &ao, c_prev[e], &c_raw[e], &h_unused);
            g[j] = ai, g[H + j] = af, g[2 * H + j] = ag, g[3 * H + j] = ao;
        }
}

/* Output half forward: h' = o * tanh(LN_c(c)). */
NNB_KERNEL void nnb_ln_cell_out_fwd_kernel(const float *acts, const float *c_norm, float *h, long long B, long long H,
                                           int loop) {
    long long n = B * H, stride = (long long)gridDim.x * blockDim.x * loop;
    for (long long base = ((long long)blockIdx.x * blockDim.x + threadIdx.x) * loop; base < n; base += stride)
        for (long long e = base; e < base + loop && e < n; e++)
            h[e] = acts[(e / H) * 4 * H + 3 * H + e % H] * nnb_tanhf(c_norm[e]);
}

/* Output half backward, from the shared cell backward with i = g = 0, f = 1 (its
 * dc_prev is then the gradient reaching LN_c's output, its dao exact):
 * writes dgates' o block and dc_norm. dh = dy + dh_rec (either may be NULL). */
NNB_KERNEL void nnb_ln_cell_out_bwd_kernel(const float *acts, const float *c_norm, const float *dy, const float *dh_rec,
                                           const float *dc_next, float *dgates, float *dc_norm, long long B,
                                           long long H, int loop) {
    long long n = B * H, stride = (long long)gridDim.x * blockDim.x * loop;
    for (long long base = ((long long)blockIdx.x * blockDim.x + threadIdx.x) * loop; base < n; base += stride)
        for (long long e = base; e < base + loop && e < n; e++) {
            long long b = e / H, j = e % H;
            float dh = (dy ? dy[e] : 0.0f) + (dh_rec ? dh_rec[e] : 0.0f), u0, u1, u2;
            nnb_lstm_cell_bwdf(0.0f, 1.0f, 0.0f, acts[b * 4 * H + 3 * H + j], 0.0f, c_norm[e], dh, dc_next[e], &u0, &u1,
                               &u2, &dgates[b * 4 * H + 3 * H + j], &dc_norm[e]);
        }
}

/* Gate half backward: the shared cell backward with dh = 0 and dc_in = the
 * gradient reaching the raw cell; writes dgates' i, f, g blocks and dc_prev. */
NNB_KERNEL void nnb_ln_cell_gates_bwd_kernel(const float *acts, const float *c_prev, const float *dc_raw, float *dgates,
                                             float *dc_prev, long long B, long long H, int loop) {
    long long n = B * H, stride = (long long)gridDim.x * blockDim.x * loop;
    for (long long base = ((long long)blockIdx.x * blockDim.x + threadIdx.x) * loop; base < n; base += stride)
        for (long long e = base; e < base + loop && e < n; e++) {
            long long b = e / H, j = e % H;
            const float *a = acts + b * 4 * H;
            float *dg = dgates + b * 4 * H, dao_unused;
            nnb_lstm_cell_bwdf(a[j], a[H + j], a[2 * H + j], a[3 * H + j], c_prev[e], 0.0f, 0.0f, dc_raw[e], &dg[j],
                               &dg[H + j], &dg[2 * H + j], &dao_unused, &dc_prev[e]);
        }
}

/* ---------------------------------------------------- unfused, one op a pass */

NNB_DEVICE float nnb_pw_apply(int op, float a, float b) {
    switch (op) {
    case NNB_PW_ADD: return a + b;
    case NNB_PW_MUL: return a * b;
    case NNB_PW_SIGMOID: return nnb_sigmoidf(a);
    case NNB_PW_TANH: return nnb_tanhf(a);
    case NNB_PW_SIGMOID_BWD: return a * b * (1.0f - b);
    case NNB_PW_TANH_BWD: return a * (1.0f - b * b);
    default: return a;
    }
}

/* out[r, col] = op(a[r, col], b[r, col]) over a (rows, cols) view with row strides
 * (ld* = 0 broadcasts one row, as for a bias). b is ignored by unary ops. Safe
 * in place (out == a or out == b with the same stride). */
NNB_KERNEL void nnb_pointwise_kernel(int op, float *out, long long ldo, const float *a, long long lda, const float *b,
                                     long long ldb, long long rows, long long cols, int loop) {
    long long n = rows * cols, stride = (long long)gridDim.x * blockDim.x * loop;
    for (long long base = ((long long)blockIdx.x * blockDim.x + threadIdx.x) * loop; base < n; base += stride)
        for (long long e = base; e < base + loop && e < n; e++) {
            long long r = e / cols, col = e % cols;
            out[r * ldo + col] = nnb_pw_apply(op, a[r * lda + col], b ? b[r * ldb + col] : 0.0f);
        }
}

/* ------------------------------------------------------------------ launchers */

static inline void nnb_launch_lstm_fwd(int old_variant, const nnb_pw_geometry *geo, void *stream, float *gates,
                                       const float *bias_a, const float *bias_b, const float *c_prev, float *c,
                                       float *h, long long B, long long H) {
    if (B <= 0 || H <= 0)
        return;
    if (old_variant) {
        unsigned rows = B < (long long)NNB_MAX_GRID_Y ? (unsigned)B : NNB_MAX_GRID_Y;
        NNB_LAUNCH(nnb_lstm_fwd_old_kernel, nnb_dim3(nnb_pw_blocks(geo, H), rows), nnb_dim3(geo->block_size, 1), stream,
                   gates, bias_a, bias_b, c_prev, c, h, B, H, geo->loop_level);
    } else {
        NNB_LAUNCH(nnb_lstm_fwd_te_kernel, nnb_dim3(nnb_pw_blocks(geo, B * H), 1), nnb_dim3(geo->block_size, 1), stream,
                   gates, bias_a, bias_b, c_prev, c, h, B, H, geo->loop_level);
    }
}

static inline void nnb_launch_lstm_bwd(int old_variant, const nnb_pw_geometry *geo, void *stream, const float *gates,
                                       const float *c_prev, const float *c, const float *dy, const float *dh_rec,
                                       float *dc, float *dgates, long long B, long long H) {
    if (B <= 0 || H <= 0)
        return;
    if (old_variant) {
        unsigned rows = B < (long long)NNB_MAX_GRID_Y ? (unsigned)B : NNB_MAX_GRID_Y;
        NNB_LAUNCH(nnb_lstm_bwd_old_kernel, nnb_dim3(nnb_pw_blocks(geo, H), rows), nnb_dim3(geo->block_size, 1), stream,
                   gates, c_prev, c, dy, dh_rec, dc, dgates, B, H, geo->loop_level);
    } else {
        NNB_LAUNCH(nnb_lstm_bwd_te_kernel, nnb_dim3(nnb_pw_blocks(geo, B * H), 1), nnb_dim3(geo->block_size, 1), stream,
                   gates, c_prev, c, dy, dh_rec, dc, dgates, B, H, geo->loop_level);
    }
}

static inline void nnb_launch_pointwise(const nnb_pw_geometry *geo, void *stream, int op, float *out, long long ldo,
                                        const float *a, long long lda, const float *b, long long ldb, long long rows,
                                        long long cols) {
    if (rows <= 0 || cols <= 0)
        return;
    NNB_LAUNCH(nnb_pointwise_kernel, nnb_dim3(nnb_pw_blocks(geo, rows * cols), 1), nnb_dim3(geo->block_size, 1), stream,
               op, out, ldo, a, lda, b, ldb, rows, cols, geo->loop_level);
}

/* The LSTM cell as separate passes (aten / fuser none). Same contract as the
 * fused forward; scratch holds 2 (B, H) arrays. */
static inline void nnb_lstm_fwd_unfused(const nnb_pw_geometry *geo, void *stream, float *gates, const float *bias_a,
                                        const float *bias_b, const float *c_prev, float *c, float *h, float *scratch,
                                        long long B, long long H) {
    long long G = 4 * H;
    float *t1 = scratch, *t2 = scratch + B * H;
    float *gi = gates, *gf = gates + H, *gg = gates + 2 * H, *go = gates + 3 * H;
    if (bias_a)
        nnb_launch_pointwise(geo, stream, NNB_PW_ADD, gates, G, gates, G, bias_a, 0, B, G);
    if (bias_b)
        nnb_launch_pointwise(geo, stream, NNB_PW_ADD, gates, G, gates, G, bias_b, 0, B, G);
    nnb_launch_pointwise(geo, stream, NNB_PW_SIGMOID, gi, G, gi, G, NULL, 0, B, H);
    nnb_launch_pointwise(geo, stream, NNB_PW_SIGMOID, gf, G, gf, G, NULL, 0, B, H);
    nnb_launch_pointwise(geo, stream, NNB_PW_TANH, gg, G, gg, G, NULL, 0, B, H);
    nnb_launch_pointwise(geo, stream, NNB_PW_SIGMOID, go, G, go, G, NULL, 0, B, H);
    nnb_launch_pointwise(geo, stream, NNB_PW_MUL, t1, H, gf, G, c_prev, H, B, H); /* f * c_prev */
    nnb_launch_pointwise(geo, stream, NNB_PW_MUL, t2, H, gi, G, gg, G, B, H);     /* i * g */
    nnb_launch_pointwise(geo, stream, NNB_PW_ADD, c, H, t1, H, t2, H, B, H);      /* c' */
    nnb_launch_pointwise(geo, stream, NNB_PW_TANH, t1, H, c, H, NULL, 0, B, H);   /* tanh(c') */
    nnb_launch_pointwise(geo, stream, NNB_PW_MUL, h, H, go, G, t1, H, B, H);      /* h' */
}

/* Backward as separate passes (autograd-style chain of per-op derivatives).
 * Same contract as the fused backward; scratch holds 3 (B, H) arrays. */
static inline void nnb_lstm_bwd_unfused(const nnb_pw_geometry *geo, void *stream, const float *gates,
                                        const float *c_prev, const float *c, const float *dy, const float *dh_rec,
                                        float *dc, float *dgates, float *scratch, long long B, long long H) {
    long long G = 4 * H;
    float *dh = scratch, *tc = scratch + B * H, *t = scratch + 2 * B * H;
    const float *gi = gates, *gf = gates + H, *gg = gates + 2 * H, *go = gates + 3 * H;
    float *dgi = dgates, *dgf = dgates + H, *dgg = dgates + 2 * H, *dgo = dgates + 3 * H;
    if (dy && dh_rec)
        nnb_launch_pointwise(geo, stream, NNB_PW_ADD, dh, H, dy, H, dh_rec, H, B, H);
    else if (dy || dh_rec)
        nnb_launch_pointwise(geo, stream, NNB_PW_COPY, dh, H, dy ? dy : dh_rec, H, NULL, 0, B, H);
    else
        nnb_launch_pointwise(geo, stream, NNB_PW_MUL, dh, H, c, H, NULL, 0, B, H); /* b NULL: a * 0 = 0 */
    nnb_launch_pointwise(geo, stream, NNB_PW_TANH, tc, H, c, H, NULL, 0, B, H);
    nnb_launch_pointwise(geo, stream, NNB_PW_MUL, t, H, dh, H, go, G, B, H);          /* dh * o */
    nnb_launch_pointwise(geo, stream, NNB_PW_TANH_BWD, t, H, t, H, tc, H, B, H);      /* through tanh(c') */
    nnb_launch_pointwise(geo, stream, NNB_PW_ADD, dc, H, dc, H, t, H, B, H);          /* dc total */
    nnb_launch_pointwise(geo, stream, NNB_PW_MUL, t, H, dh, H, tc, H, B, H);          /* dh * tanh(c') */
    nnb_launch_pointwise(geo, stream, NNB_PW_SIGMOID_BWD, dgo, G, t, H, go, G, B, H); /* dao */
    nnb_launch_pointwise(geo, stream, NNB_PW_MUL, t, H, dc, H, gg, G, B, H);          /* dc * g */
    nnb_launch_pointwise(geo, stream, NNB_PW_SIGMOID_BWD, dgi, G, t, H, gi, G, B, H); /* dai */
    nnb_launch_pointwise(geo, stream, NNB_PW_MUL, t, H, dc, H, c_prev, H, B, H);      /* dc * c_prev */
    nnb_launch_pointwise(geo, stream, NNB_PW_SIGMOID_BWD, dgf, G, t, H, gf, G, B, H); /* daf */
    nnb_launch_pointwise(geo, stream, NNB_PW_MUL, t, H, dc, H, gi, G, B, H);          /* dc * i */
    nnb_launch_pointwise(geo, stream, NNB_PW_TANH_BWD, dgg, G, t, H, gg, G, B, H);    /* dag */
    nnb_launch_pointwise(geo, stream, NNB_PW_MUL, dc, H, dc, H, gf, G, B, H);         /* dc_prev = dc * f */
}

/* ------------------------------------- decomposed LayerNorm (one pass per op) */

typedef enum nnb_row_op {
    NNB_ROW_MEAN = 0,  /* out[r] = mean_c a[r, c]            (one thread per row) */
    NNB_ROW_MEAN_SQ,   /* out[r] = mean_c a[r, c]^2          (one thread per row) */
    NNB_ROW_RSQRT_EPS, /* out[r] = 1 / sqrt(a[r] + eps)      (one thread per row) */
    NNB_ROW_SUB,       /* out[r, c] = a[r, c] - s[r]         (elementwise) */
    NNB_ROW_MUL        /* out[r, c] = a[r, c] * s[r]         (elementwise) */
} nnb_row_op;

NNB_KERNEL void nnb_row_reduce_kernel(int op, float *out, const float *a, long long rows, long long cols, float eps,
                                      int loop) {
    long long stride = (long long)gridDim.x * blockDim.x * loop;
    for (long long base = ((long long)blockIdx.x * blockDim.x + threadIdx.x) * loop; base < rows; base += stride)
        for (long long r = base; r < base + loop && r < rows; r++) {
            if (op == NNB_ROW_RSQRT_EPS) {
                out[r] = 1.0f / sqrtf(a[r] + eps);
                continue;
            }
            float s = 0;
            for (long long c = 0; c < cols; c++)
                s += op == NNB_ROW_MEAN ? a[r * cols + c] : a[r * cols + c] * a[r * cols + c];
            out[r] = s / (float)cols;
        }
}

NNB_KERNEL void nnb_row_scalar_kernel(int op, float *out, const float *a, const float *s, long long rows,
                                      long long cols, int loop) {
    long long n = rows * cols, stride = (long long)gridDim.x * blockDim.x * loop;
    for (long long base = ((long long)blockIdx.x * blockDim.x + threadIdx.x) * loop; base < n; base += stride)
        for (long long e = base; e < base + loop && e < n; e++)
            out[e] = op == NNB_ROW_SUB ? a[e] - s[e / cols] : a[e] * s[e / cols];
}

/* LayerNorm as fastrnns' decomposed version: mean, subtract, variance, 1/std,
 * normalise, scale, shift, each its own pass. xhat (rows, cols), rstd and
 * stat (rows) are outputs/scratch; out may alias in (read only by the first passes). */
static inline void nnb_layernorm_decomposed(const nnb_pw_geometry *geo, void *stream, float *out, float *xhat,
                                            float *rstd, float *stat, const float *in, const float *gamma,
                                            const float *beta, long long rows, long long cols, float eps) {
    dim3 row_grid = nnb_dim3(nnb_pw_blocks(geo, rows), 1), block = nnb_dim3(geo->block_size, 1);
    if (rows <= 0 || cols <= 0)
        return;
    NNB_LAUNCH(nnb_row_reduce_kernel, row_grid, block, stream, (int)NNB_ROW_MEAN, stat, in, rows, cols, eps,
               geo->loop_level);
    NNB_LAUNCH(nnb_row_scalar_kernel, nnb_dim3(nnb_pw_blocks(geo, rows * cols), 1), block, stream, (int)NNB_ROW_SUB,
               xhat, in, stat, rows, cols, geo->loop_level);
    NNB_LAUNCH(nnb_row_reduce_kernel, row_grid, block, stream, (int)NNB_ROW_MEAN_SQ, stat, xhat, rows, cols, eps,
               geo->loop_level);
    NNB_LAUNCH(nnb_row_reduce_kernel, row_grid, block, stream, (int)NNB_ROW_RSQRT_EPS, rstd, stat, rows, 1, eps,
               geo->loop_level);
    NNB_LAUNCH(nnb_row_scalar_kernel, nnb_dim3(nnb_pw_blocks(geo, rows * cols), 1), block, stream, (int)NNB_ROW_MUL,
               xhat, xhat, rstd, rows, cols, geo->loop_level);
    nnb_launch_pointwise(geo, stream, NNB_PW_MUL, out, cols, xhat, cols, gamma, 0, rows, cols);
    nnb_launch_pointwise(geo, stream, NNB_PW_ADD, out, cols, out, cols, beta, 0, rows, cols);
}

static inline void nnb_launch_ln_cell(int which, const nnb_pw_geometry *geo, void *stream, const float *p0,
                                      const float *p1, const float *p2, const float *p3, const float *p4, float *o0,
                                      float *o1, long long B, long long H) {
    dim3 grid = nnb_dim3(nnb_pw_blocks(geo, B * H), 1), block = nnb_dim3(geo->block_size, 1);
    if (B <= 0 || H <= 0)
        return;
    switch (which) {
    case 0: /* gates fwd: gi_n (in/out) = o0, gh_n = p0, c_prev = p1, c_raw = o1 */
        NNB_LAUNCH(nnb_ln_cell_gates_fwd_kernel, grid, block, stream, o0, p0, p1, o1, B, H, geo->loop_level);
        break;
    case 1: /* out fwd: acts = p0, c_norm = p1, h = o0 */
        NNB_LAUNCH(nnb_ln_cell_out_fwd_kernel, grid, block, stream, p0, p1, o0, B, H, geo->loop_level);
        break;
    case 2: /* out bwd: acts p0, c_norm p1, dy p2, dh_rec p3, dc_next p4, dgates o0, dc_norm o1 */
        NNB_LAUNCH(nnb_ln_cell_out_bwd_kernel, grid, block, stream, p0, p1, p2, p3, p4, o0, o1, B, H, geo->loop_level);
        break;
    default: /* gates bwd: acts p0, c_prev p1, dc_raw p2, dgates o0, dc_prev o1 */
        NNB_LAUNCH(nnb_ln_cell_gates_bwd_kernel, grid, block, stream, p0, p1, p2, o0, o1, B, H, geo->loop_level);
        break;
    }
}

#endif
