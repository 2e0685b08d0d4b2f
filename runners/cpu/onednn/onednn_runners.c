/*
 * fastrnns' "cudnn" runners on the CPU: the vendor library's LSTM, which on the
 * CPU is oneDNN (C API). See docs/onednn-runners.md.
 *
 *   cudnn            oneDNN LSTM, forward training + backward, all --numLayers
 *   cudnn_dropout    layer-by-layer oneDNN LSTMs, dropout p=0.4 between layers (binary mul)
 *   cudnn_layernorm  forward only: oneDNN LSTM + fastrnns' T x 3 layer norms (layer_normalization)
 *   vl_cudnn         variable length, packed-sequence semantics: sorted batch, one segment per
 *                    distinct length, states carried between segments
 *   py_cudnn_layernorm (hidden) plain reference for cudnn_layernorm
 *
 * cudnn and cudnn_dropout also serve (ABI 1.2): infer(n) runs one forward_inference LSTM primitive per layer
 * group (dropout off) on the first n sequences, from a plan built at n's first call and cached per n.
 */
#include "lstm_infer.h"
#include "onednn_lstm.h"
#include "plain_lstm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DROPOUT_P 0.4f
#define LN_EPS 1e-5f

typedef enum runner_kind { KIND_CUDNN, KIND_DROPOUT, KIND_LAYERNORM, KIND_VL, KIND_PLAIN_LAYERNORM } runner_kind;

/* Variable-length bookkeeping: the batch sorted by length (descending) and cut into segments of
 * constant active batch; sequence-major data is "packed" (PyTorch's PackedSequence layout). */
typedef struct vl_plan {
    int S;                                     /* segments */
    int64_t *order;                            /* (B) sorted position j -> original batch index */
    int64_t *last_seg;                         /* (B) sorted position j -> last segment it is active in */
    int64_t *seg_t0, *seg_T, *seg_N, *seg_row; /* (S) first step, steps, active batch, first packed row */
    int64_t *seg_state;                 /* (S) first row of the segment's states in the per-layer state buffers */
    int64_t rows, state_rows;           /* packed rows (sum of lengths), state rows (sum of N_s) */
    float *xp, *gyp, *dxp;              /* (rows, I), (rows, H), (rows, I) packed x, grad_y, dx */
    float **yp;                         /* [L] (rows, H) packed output of each layer */
    float **hs, **cs;                   /* [L] (state_rows, H) final states of every segment */
    float *hx_s, *cx_s, *dhx_s, *dcx_s; /* (L, B, H) sorted initial states and their gradients */
} vl_plan;

typedef struct runner {
    runner_kind kind;
    const char *name;
    nnb_lstm_data d;
    onx_model m;
    int threads;
    vl_plan vl;
    float *ln_input; /* (B, 4H) fastrnns' ln_input1 (layernorm runners) */
    float *ln_out;   /* (B, 4H) its normalised copy, discarded as in fastrnns */
    int lstm_prims;  /* distinct LSTM primitive shapes */

    /* infer(n) (cudnn, cudnn_dropout) */
    nnb_lstm_infer_bufs inf; /* packed x (T, n, I), hx, cx (L, n, H); y (T, n, H), hy, cy (L, n, H) */
    float *inf_mid[2];       /* (T, B, H) room for the (T, n, H) outputs of groups below the top, alternating */
    onx_steps *inf_plans;    /* [B + 1]: the inference steps of batch n, built at n's first infer(), or NULL */
    int inf_plan_count;      /* plans built */
    double inf_plan_ms;      /* time spent building them */
    int inferred;            /* outputs() lists infer()'s results: the last run was infer() */
} runner;

/* ------------------------------------------------------------------ fixed-length plans */

/* cudnn and cudnn_layernorm: one primitive for all layers when every layer has the same input
 * width (oneDNN stacks need SLC == DIC), else layer 0 and layers 1..L-1 separately.
 * cudnn_dropout: one group per layer, dropout mask multiplied in between. */
static int layer_groups(const runner *r, int64_t *counts) {
    const nnb_lstm_data *d = &r->d;
    if (r->kind == KIND_DROPOUT) {
        for (int64_t k = 0; k < d->L; k++)
            counts[k] = 1;
        return (int)d->L;
    }
    if (d->L == 1 || d->I == d->H) {
        counts[0] = d->L;
        return 1;
    }
    counts[0] = 1;
    counts[1] = d->L - 1;
    return 2;
}

/* Per-group buffers of a fixed-length plan: y[g] (T, B, H) group output and dy[g] its gradient;
 * x[g], dx[g] the group's input and its gradient (with dropout, x[g] = y[g-1] * mask[g]). */
typedef struct fixed_bufs {
    int64_t *counts;
    float **y, **dy, **x, **dx, **mask;
    onx_step *fwd, *bwd;
} fixed_bufs;

static void free_fixed_bufs(fixed_bufs *f) {
    free(f->counts), free(f->y), free(f->dy), free(f->x), free(f->dx), free(f->mask), free(f->fwd), free(f->bwd);
}

static int alloc_fixed_bufs(fixed_bufs *f, size_t L) {
    memset(f, 0, sizeof *f);
    f->counts = (int64_t *)calloc(L, sizeof *f->counts);
    f->y = (float **)calloc(L, sizeof(float *)), f->dy = (float **)calloc(L, sizeof(float *));
    f->x = (float **)calloc(L, sizeof(float *)), f->dx = (float **)calloc(L, sizeof(float *));
    f->mask = (float **)calloc(L, sizeof(float *));
    f->fwd = (onx_step *)calloc(L, sizeof(onx_step)), f->bwd = (onx_step *)calloc(L, sizeof(onx_step));
    return f->counts && f->y && f->dy && f->x && f->dx && f->mask && f->fwd && f->bwd ? 0 : -1;
}

static int group_buffers(runner *r, fixed_bufs *f, int G, uint64_t seed) {
    nnb_lstm_data *d = &r->d;
    onx_model *m = &r->m;
    const size_t tbh = (size_t)(d->T * d->B * d->H); /* fits: checked by nnb_lstm_data_init */
    for (int g = 0; g < G; g++) {
        int top = g == G - 1;
        if (!(f->y[g] = top ? d->y : onx_buffer(m, tbh)))
            return -1;
        if (m->with_backward && !(f->dy[g] = top ? d->grad_y : onx_buffer(m, tbh)))
            return -1;
    }
    for (int g = 0; g < G; g++) {
        if (g == 0) {
            f->x[g] = d->x, f->dx[g] = d->dx;
        } else if (r->kind == KIND_DROPOUT) {
            if (!(f->x[g] = onx_buffer(m, tbh)) || !(f->mask[g] = onx_buffer(m, tbh)))
                return -1;
            if (m->with_backward && !(f->dx[g] = onx_buffer(m, tbh)))
                return -1;
            nnb_dropout_mask(f->mask[g], tbh, seed, g, DROPOUT_P); /* mask on layer g's input */
        } else {
            f->x[g] = f->y[g - 1], f->dx[g] = f->dy[g - 1];
        }
    }
    return 0;
}

/* forward: [dropout] lstm(g) for g up; backward: lstm_bwd(g) [dropout_bwd] for g down. */
static int push_fixed_steps(runner *r, const fixed_bufs *f, int G, char *err, size_t err_len) {
    onx_model *m = &r->m;
    const int64_t TB = r->d.T * r->d.B, H = r->d.H;
    const int dropout = r->kind == KIND_DROPOUT;
    onx_step st;
    for (int g = 0; g < G; g++) {
        if (dropout && g > 0 &&
            (onx_binary_step(m, dnnl_binary_mul, TB, H, f->y[g - 1], f->mask[g], f->x[g], &st, err, err_len) ||
             onx_push(&m->fwd, &st, err, err_len)))
            return -1;
        if (onx_push(&m->fwd, &f->fwd[g], err, err_len))
            return -1;
    }
    for (int g = G - 1; m->with_backward && g >= 0; g--) {
        if (onx_push(&m->bwd, &f->bwd[g], err, err_len))
            return -1;
        if (dropout && g > 0 &&
            (onx_binary_step(m, dnnl_binary_mul, TB, H, f->dx[g], f->mask[g], f->dy[g - 1], &st, err, err_len) ||
             onx_push(&m->bwd, &st, err, err_len)))
            return -1;
    }
    return 0;
}

static int build_fixed(runner *r, uint64_t seed, char *err, size_t err_len) {
    nnb_lstm_data *d = &r->d;
    onx_model *m = &r->m;
    const size_t bh = (size_t)(d->B * d->H);
    fixed_bufs f;
    int rc = -1;
    if (alloc_fixed_bufs(&f, (size_t)d->L)) {
        nnb_fail(err, err_len, "out of memory");
        goto out;
    }
    const int G = layer_groups(r, f.counts);
    if (onx_set_groups(m, f.counts, G, d->I, d->H, err, err_len))
        goto out;
    float *zeros = onx_buffer(m, (size_t)d->L * bh); /* (L, B, H): hy and cy get no upstream gradient */
    if (!zeros || group_buffers(r, &f, G, seed)) {
        nnb_fail(err, err_len, "out of memory for T=%lld B=%lld H=%lld buffers", (long long)d->T, (long long)d->B,
                 (long long)d->H);
        goto out;
    }
    for (int g = 0; g < G; g++) {
        const size_t s0 = (size_t)m->groups[g].first * bh; /* the group's first layer in (L, B, H) states */
        onx_io io = {f.x[g],  d->hx + s0,  d->cx + s0,  f.y[g],  d->hy + s0, d->cy + s0,
                     f.dx[g], d->dhx + s0, d->dcx + s0, f.dy[g], zeros,      zeros};
        if (onx_add_call(m, d, g, d->T, d->B, &io, &f.fwd[g], &f.bwd[g], err, err_len))
            goto out;
    }
    rc = push_fixed_steps(r, &f, G, err, err_len);
out:
    free_fixed_bufs(&f);
    return rc;
}

/* ------------------------------------------------------------------ variable-length plan */

/* Sort the batch by length (descending, stable) and cut time into segments between distinct lengths:
 * segment s covers steps [t0_s, t0_s + T_s) during which exactly N_s sequences (sorted 0..N_s-1) are
 * active. Returns 0 or -1 (no memory). */
static int vl_segments(runner *r) {
    const nnb_lstm_data *d = &r->d;
    vl_plan *v = &r->vl;
    const int64_t B = d->B;
    if (!(v->order = (int64_t *)onx_bytes(&r->m, sizeof(int64_t) * (size_t)B)) ||
        !(v->last_seg = (int64_t *)onx_bytes(&r->m, sizeof(int64_t) * (size_t)B)))
        return -1;
    for (int64_t b = 0; b < B; b++)
        v->order[b] = b;
    for (int64_t i = 1; i < B; i++) /* insertion sort: stable, B is small */
        for (int64_t j = i; j > 0 && d->lengths[v->order[j]] > d->lengths[v->order[j - 1]]; j--) {
            int64_t t = v->order[j];
            v->order[j] = v->order[j - 1], v->order[j - 1] = t;
        }
    int S = 0;
    for (int64_t j = B - 1; j >= 0; j--) /* distinct lengths, ascending = shortest sequence first */
        if (j == B - 1 || d->lengths[v->order[j]] != d->lengths[v->order[j + 1]])
            S++;
    v->S = S;
    int64_t *arrays = (int64_t *)onx_bytes(&r->m, sizeof(int64_t) * 5 * (size_t)S);
    if (!arrays)
        return -1;
    v->seg_t0 = arrays, v->seg_T = arrays + S, v->seg_N = arrays + 2 * S, v->seg_row = arrays + 3 * S;
    v->seg_state = arrays + 4 * S;
    int s = 0;
    int64_t t0 = 0, row = 0, state = 0;
    for (int64_t j = B - 1; j >= 0; j--) {
        int64_t len = d->lengths[v->order[j]];
        if (j + 1 < B && d->lengths[v->order[j + 1]] == len)
            continue; /* j is the last (sorted) sequence of its length: sequences 0..j are active up to len */
        v->seg_t0[s] = t0, v->seg_T[s] = len - t0, v->seg_N[s] = j + 1, v->seg_row[s] = row, v->seg_state[s] = state;
        row += v->seg_T[s] * v->seg_N[s];
        state += v->seg_N[s];
        t0 = len;
        s++;
    }
    v->rows = row, v->state_rows = state;
    for (int64_t j = 0; j < B; j++) /* sequence j is last active in the segment that ends at its length */
        for (int k = 0; k < S; k++)
            if (v->seg_t0[k] + v->seg_T[k] == d->lengths[v->order[j]])
                v->last_seg[j] = k;
    return 0;
}

/* (T, B, W) time-major padded array <-> packed rows of the sorted batch. */
static void vl_pack(const vl_plan *v, int64_t B, int64_t W, const float *padded, float *packed) {
    for (int s = 0; s < v->S; s++)
        for (int64_t t = 0; t < v->seg_T[s]; t++)
            for (int64_t j = 0; j < v->seg_N[s]; j++)
                memcpy(packed + (size_t)(v->seg_row[s] + t * v->seg_N[s] + j) * W,
                       padded + (size_t)((v->seg_t0[s] + t) * B + v->order[j]) * W, sizeof(float) * (size_t)W);
}

static void vl_unpack(const vl_plan *v, int64_t B, int64_t W, const float *packed, float *padded) {
    for (int s = 0; s < v->S; s++)
        for (int64_t t = 0; t < v->seg_T[s]; t++)
            for (int64_t j = 0; j < v->seg_N[s]; j++)
                memcpy(padded + (size_t)((v->seg_t0[s] + t) * B + v->order[j]) * W,
                       packed + (size_t)(v->seg_row[s] + t * v->seg_N[s] + j) * W, sizeof(float) * (size_t)W);
}

/* (L, B, H) states: original batch order <-> sorted. */
static void vl_sort_states(const vl_plan *v, const nnb_lstm_data *d, const float *src, float *sorted) {
    for (int64_t k = 0; k < d->L; k++)
        for (int64_t j = 0; j < d->B; j++)
            memcpy(sorted + (size_t)((k * d->B + j) * d->H), src + (size_t)((k * d->B + v->order[j]) * d->H),
                   sizeof(float) * (size_t)d->H);
}

static void vl_unsort_states(const vl_plan *v, const nnb_lstm_data *d, const float *sorted, float *dst) {
    for (int64_t k = 0; k < d->L; k++)
        for (int64_t j = 0; j < d->B; j++)
            memcpy(dst + (size_t)((k * d->B + v->order[j]) * d->H), sorted + (size_t)((k * d->B + j) * d->H),
                   sizeof(float) * (size_t)d->H);
}

static int vl_buffers(runner *r) {
    nnb_lstm_data *d = &r->d;
    vl_plan *v = &r->vl;
    onx_model *m = &r->m;
    const size_t L = (size_t)d->L, H = (size_t)d->H, lbh = L * (size_t)d->B * H;
    const size_t rows = (size_t)v->rows; /* <= T * B: every size below fits, like (T, B, I) and (T, B, H) */
    if (!(v->xp = onx_buffer(m, rows * (size_t)d->I)) || !(v->gyp = onx_buffer(m, rows * H)) ||
        !(v->dxp = onx_buffer(m, rows * (size_t)d->I)) || !(v->hx_s = onx_buffer(m, lbh)) ||
        !(v->cx_s = onx_buffer(m, lbh)) || !(v->dhx_s = onx_buffer(m, lbh)) || !(v->dcx_s = onx_buffer(m, lbh)))
        return -1;
    if (!(v->yp = (float **)onx_bytes(m, sizeof(float *) * L)) ||
        !(v->hs = (float **)onx_bytes(m, sizeof(float *) * L)) ||
        !(v->cs = (float **)onx_bytes(m, sizeof(float *) * L)))
        return -1;
    for (size_t k = 0; k < L; k++)
        if (!(v->yp[k] = onx_buffer(m, rows * H)) || !(v->hs[k] = onx_buffer(m, (size_t)v->state_rows * H)) ||
            !(v->cs[k] = onx_buffer(m, (size_t)v->state_rows * H)))
            return -1;
    /* inputs are constant: packed and sorted once, as a packed-sequence user holds them */
    vl_pack(v, d->B, d->I, d->x, v->xp);
    vl_pack(v, d->B, d->H, d->grad_y, v->gyp);
    vl_sort_states(v, d, d->hx, v->hx_s);
    vl_sort_states(v, d, d->cx, v->cx_s);
    return 0;
}

/* One single-layer group per layer, one call per (layer, segment). Segment s starts from the
 * states segment s-1 ended with: the first N_s rows of its (N_{s-1}, H) dst_iter, which are
 * contiguous, so no copy. Backward runs segments in reverse; segment s reads its incoming state
 * gradient from ping-pong buffer s&1 (rows >= N_{s+1} zero: those sequences end here and hy, cy
 * get no gradient) and writes diff_src_iter to buffer (s+1)&1, or to dhx/dcx for s = 0. */
static int build_vl(runner *r, char *err, size_t err_len) {
    nnb_lstm_data *d = &r->d;
    vl_plan *v = &r->vl;
    onx_model *m = &r->m;
    const int64_t L = d->L, B = d->B, H = d->H, I = d->I;
    if (vl_segments(r) || vl_buffers(r))
        return nnb_fail(err, err_len, "out of memory for variable-length plan");
    int64_t *counts = (int64_t *)calloc((size_t)L, sizeof *counts);
    onx_step *bwd = (onx_step *)calloc((size_t)(L * v->S), sizeof *bwd);
    float **dy = (float **)calloc((size_t)L, sizeof *dy); /* [L] (rows, H) gradient reaching layer k's output */
    float *pp = onx_buffer(m, 4 * (size_t)(B * H));       /* ping-pong (2, B, H) for h, then for c */
    int rc = -1;
    if (!counts || !bwd || !dy || !pp) {
        nnb_fail(err, err_len, "out of memory");
        goto out;
    }
    for (int64_t k = 0; k < L; k++) {
        counts[k] = 1;
        dy[k] = k == L - 1 ? v->gyp : onx_buffer(m, (size_t)v->rows * (size_t)H);
        if (!dy[k]) {
            nnb_fail(err, err_len, "out of memory");
            goto out;
        }
    }
    if (onx_set_groups(m, counts, (int)L, I, H, err, err_len))
        goto out;
    float *pp_h[2] = {pp, pp + B * H}, *pp_c[2] = {pp + 2 * B * H, pp + 3 * B * H};
    for (int64_t k = 0; k < L; k++)
        for (int s = 0; s < v->S; s++) {
            const size_t row = (size_t)v->seg_row[s], st = (size_t)v->seg_state[s] * (size_t)H;
            const size_t prev = s > 0 ? (size_t)v->seg_state[s - 1] * (size_t)H : 0;
            const size_t k0 = (size_t)(k * B * H);
            onx_io io;
            io.src_layer = k == 0 ? v->xp + row * (size_t)I : v->yp[k - 1] + row * (size_t)H;
            io.src_iter = s == 0 ? v->hx_s + k0 : v->hs[k] + prev;
            io.src_iter_c = s == 0 ? v->cx_s + k0 : v->cs[k] + prev;
            io.dst_layer = v->yp[k] + row * (size_t)H;
            io.dst_iter = v->hs[k] + st;
            io.dst_iter_c = v->cs[k] + st;
            io.diff_src_layer = k == 0 ? v->dxp + row * (size_t)I : dy[k - 1] + row * (size_t)H;
            io.diff_src_iter = s == 0 ? v->dhx_s + k0 : pp_h[(s + 1) & 1];
            io.diff_src_iter_c = s == 0 ? v->dcx_s + k0 : pp_c[(s + 1) & 1];
            io.diff_dst_layer = dy[k] + row * (size_t)H;
            io.diff_dst_iter = pp_h[s & 1];
            io.diff_dst_iter_c = pp_c[s & 1];
            onx_step fwd;
            if (onx_add_call(m, d, (int)k, v->seg_T[s], v->seg_N[s], &io, &fwd, &bwd[k * v->S + s], err, err_len) ||
                onx_push(&m->fwd, &fwd, err, err_len))
                goto out;
        }
    /* layer k's backward needs the gradient from layer k+1's backward, so layers go top down */
    for (int64_t k = L - 1; m->with_backward && k >= 0; k--) {
        onx_step zero = onx_zero_step(pp, sizeof(float) * 4 * (size_t)(B * H));
        if (onx_push(&m->bwd, &zero, err, err_len))
            goto out;
        for (int s = v->S - 1; s >= 0; s--)
            if (onx_push(&m->bwd, &bwd[k * v->S + s], err, err_len))
                goto out;
    }
    rc = 0;
out:
    free(counts);
    free(bwd);
    free(dy);
    return rc;
}

/* ------------------------------------------------------------------ layer norm (fastrnns' cudnn_layernorm) */

/* fastrnns adds, after the library LSTM, for each of the T steps: ln_i(ln_input1), ln_h(ln_input1)
 * on a (B, 4H) input (results discarded) and cy = ln_c(cy) on the final cell state. */
static int push_layer_norm_steps(runner *r, char *err, size_t err_len) {
    nnb_lstm_data *d = &r->d;
    onx_model *m = &r->m;
    onx_step ln_i, ln_h, ln_c;
    if (onx_layer_norm_step(m, d->B, 4 * d->H, LN_EPS, r->ln_input, r->ln_out, &ln_i, err, err_len) ||
        onx_layer_norm_step(m, d->B, 4 * d->H, LN_EPS, r->ln_input, r->ln_out, &ln_h, err, err_len) ||
        onx_layer_norm_step(m, d->L * d->B, d->H, LN_EPS, d->cy, d->cy, &ln_c, err, err_len))
        return -1;
    for (int64_t t = 0; t < d->T; t++)
        if (onx_push(&m->fwd, &ln_i, err, err_len) || onx_push(&m->fwd, &ln_h, err, err_len) ||
            onx_push(&m->fwd, &ln_c, err, err_len))
            return -1;
    return 0;
}

static int alloc_ln_input(runner *r, uint64_t seed, char *err, size_t err_len) {
    size_t n;
    if (nnb_mul_size3(&n, (size_t)r->d.B, 4, (size_t)r->d.H))
        return nnb_fail(err, err_len, "B*4H overflows");
    r->ln_input = nnb_alloc_floats(n);
    r->ln_out = nnb_alloc_floats(n);
    if (!r->ln_input || !r->ln_out)
        return nnb_fail(err, err_len, "out of memory");
    nnb_fill_normal(r->ln_input, n, seed, "ln_input1");
    return 0;
}

/* ------------------------------------------------------------------ inference (ABI 1.2) */

/* infer()'s buffers for n up to B; its plans are built per n at first use. */
static int alloc_infer(runner *r, char *err, size_t err_len) {
    const nnb_lstm_data *d = &r->d;
    if (nnb_lstm_infer_bufs_init(&r->inf, d, NNB_INFER_PACK_X | NNB_INFER_PACK_STATES, err, err_len))
        return -1;
    const size_t tbh = (size_t)(d->T * d->B * d->H); /* fits: checked by nnb_lstm_data_init */
    for (int i = 0; i < 2 && i + 1 < r->m.group_count; i++)
        if (!(r->inf_mid[i] = onx_buffer(&r->m, tbh)))
            return nnb_fail(err, err_len, "out of memory for inference buffers");
    r->inf_plans = (onx_steps *)calloc((size_t)d->B + 1, sizeof *r->inf_plans);
    return r->inf_plans ? 0 : nnb_fail(err, err_len, "out of memory");
}

/* Batch n's plan: group g reads x (or group g-1's output) and its layers' rows of hx, cx (packed to (L, n, H) when
 * n < B), and writes its layers' rows of hy, cy and its output (T, n, H); the top group writes y. No dropout. */
static int build_infer_plan(runner *r, int64_t n, onx_steps *plan, char *err, size_t err_len) {
    nnb_lstm_data *d = &r->d;
    onx_model *m = &r->m;
    const double t0 = nnb_now_seconds();
    const int packed = n < d->B;
    float *x = packed ? r->inf.x : d->x;                                      /* (T, n, I) */
    float *hx = packed ? r->inf.hx : d->hx, *cx = packed ? r->inf.cx : d->cx; /* (L, n, H) */
    const int G = m->group_count;
    onx_steps s = {0};
    for (int g = 0; g < G; g++) {
        const size_t s0 = (size_t)(m->groups[g].first * n * d->H); /* the group's first layer in (L, n, H) */
        onx_io io = {.src_layer = g == 0 ? x : r->inf_mid[(g - 1) & 1],
                     .src_iter = hx + s0,
                     .src_iter_c = cx + s0,
                     .dst_layer = g == G - 1 ? r->inf.y : r->inf_mid[g & 1],
                     .dst_iter = r->inf.hy + s0,
                     .dst_iter_c = r->inf.cy + s0};
        onx_step st;
        if (onx_add_infer_call(m, d, g, d->T, n, &io, &st, err, err_len) || onx_push(&s, &st, err, err_len)) {
            free(s.v);
            return -1;
        }
    }
    if (onx_bind_infer_scratch(m, &s, err, err_len)) {
        free(s.v);
        return -1;
    }
    *plan = s;
    r->inf_plan_count++;
    r->inf_plan_ms += 1e3 * (nnb_now_seconds() - t0);
    return 0;
}

static int infer(void *model, int64_t n, char *err, size_t err_len) {
    runner *r = (runner *)model;
    nnb_lstm_data *d = &r->d;
    if (nnb_lstm_infer_check_batch(d, n, r->name, err, err_len))
        return -1;
    onx_steps *plan = &r->inf_plans[n];
    if (!plan->n && build_infer_plan(r, n, plan, err, err_len))
        return -1;
    const float *x, *hx, *cx; /* the plan's memories wrap these very pointers */
    nnb_lstm_infer_inputs(&r->inf, d, n, &x, &hx, &cx);
    if (onx_run(&r->m, plan, err, err_len))
        return -1;
    nnb_lstm_infer_done(&r->inf, d, n);
    r->inferred = 1;
    return 0;
}

/* Into the PyTorch arrays, then every reordered copy of the layer's group (forward, backward, inference formats);
 * when a reorder fails the old values go back. */
static int load_param(void *model, const nnb_tensor *value, char *err, size_t err_len) {
    runner *r = (runner *)model;
    nnb_lstm_data *d = &r->d;
    float *dst;
    int64_t layer;
    nnb_lstm_param_kind kind;
    size_t count;
    if (nnb_lstm_param_lookup(d, value, r->name, &dst, &layer, &kind, &count, err, err_len))
        return -1;
    float *old = nnb_alloc_floats(count);
    if (!old)
        return nnb_fail(err, err_len, "%s: load_param: out of memory", r->name);
    memcpy(old, dst, sizeof(float) * count);
    memmove(dst, value->data, sizeof(float) * count); /* value may be params()' own view of dst */
    int g = 0;
    while (g + 1 < r->m.group_count && r->m.groups[g + 1].first <= layer)
        g++;
    int rc = onx_refresh_group_weights(&r->m, d, g, err, err_len);
    if (rc) {
        memcpy(dst, old, sizeof(float) * count);
        onx_refresh_group_weights(&r->m, d, g, NULL, 0);
    }
    nnb_free(old);
    return rc;
}

/* ------------------------------------------------------------------ runner entry points */

static void destroy(void *model) {
    runner *r = (runner *)model;
    if (!r)
        return;
    for (int64_t n = 0; r->inf_plans && n <= r->d.B; n++)
        free(r->inf_plans[n].v);
    free(r->inf_plans);
    nnb_lstm_infer_bufs_free(&r->inf);
    onx_model_free(&r->m);
    nnb_lstm_data_free(&r->d);
    nnb_free(r->ln_input);
    nnb_free(r->ln_out);
    free(r);
}

static runner *create_kind(runner_kind kind, const char *name, const nnb_config *cfg, char *err, size_t err_len) {
    /* oneDNN's own kernels: --fuser does not apply (describe() says so); its primitives run eagerly. */
    if (nnb_check_fuser_executor(name, cfg, nnb_every_fuser, nnb_eager_only, err, err_len))
        return NULL;
    nnb_set_threads(cfg->threads); /* oneDNN runs on the OpenMP runtime */
    runner *r = (runner *)calloc(1, sizeof *r);
    if (!r) {
        nnb_fail(err, err_len, "out of memory");
        return NULL;
    }
    r->kind = kind;
    r->name = name;
    r->threads = cfg->threads;
    const int backward = kind == KIND_CUDNN || kind == KIND_DROPOUT || kind == KIND_VL;
    int rc = nnb_lstm_data_init(&r->d, cfg, kind == KIND_VL, 0, err, err_len);
    if (!rc && kind != KIND_PLAIN_LAYERNORM)
        rc = onx_model_init(&r->m, backward, err, err_len);
    if (!rc && (kind == KIND_LAYERNORM || kind == KIND_PLAIN_LAYERNORM))
        rc = alloc_ln_input(r, cfg->seed, err, err_len);
    if (!rc && kind == KIND_VL)
        rc = build_vl(r, err, err_len);
    if (!rc && (kind == KIND_CUDNN || kind == KIND_DROPOUT || kind == KIND_LAYERNORM))
        rc = build_fixed(r, cfg->seed, err, err_len);
    if (!rc && kind == KIND_LAYERNORM)
        rc = push_layer_norm_steps(r, err, err_len);
    if (!rc && kind != KIND_PLAIN_LAYERNORM)
        rc = onx_finalize(&r->m, err, err_len);
    if (!rc && (kind == KIND_CUDNN || kind == KIND_DROPOUT))
        rc = alloc_infer(r, err, err_len);
    if (rc) {
        destroy(r);
        return NULL;
    }
    for (int i = 0; i < r->m.prim_count; i++)
        r->lstm_prims += r->m.prims[i]->L > 0;
    return r;
}

static void *create_cudnn(const nnb_config *cfg, char *err, size_t err_len) {
    return create_kind(KIND_CUDNN, "cudnn", cfg, err, err_len);
}
static void *create_dropout(const nnb_config *cfg, char *err, size_t err_len) {
    return create_kind(KIND_DROPOUT, "cudnn_dropout", cfg, err, err_len);
}
static void *create_layernorm(const nnb_config *cfg, char *err, size_t err_len) {
    return create_kind(KIND_LAYERNORM, "cudnn_layernorm", cfg, err, err_len);
}
static void *create_vl(const nnb_config *cfg, char *err, size_t err_len) {
    return create_kind(KIND_VL, "vl_cudnn", cfg, err, err_len);
}
static void *create_plain_layernorm(const nnb_config *cfg, char *err, size_t err_len) {
    return create_kind(KIND_PLAIN_LAYERNORM, "py_cudnn_layernorm", cfg, err, err_len);
}

/* Timed: the plan's primitive executions only (inputs already sit in oneDNN memories). */
static int forward(void *model, char *err, size_t err_len) {
    runner *r = (runner *)model;
    r->inferred = 0;
    return onx_run(&r->m, &r->m.fwd, err, err_len);
}

static int backward(void *model, char *err, size_t err_len) {
    runner *r = (runner *)model;
    r->inferred = 0;
    return onx_run(&r->m, &r->m.bwd, err, err_len);
}

/* Untimed: oneDNN's LSTM backward accumulates into diff weights and bias. */
static int zero_grad(void *model, char *err, size_t err_len) {
    (void)err, (void)err_len;
    onx_zero_weight_grads(&((runner *)model)->m);
    return 0;
}

static int params(void *model, nnb_tensor_list *out, char *err, size_t err_len) {
    (void)err, (void)err_len;
    *out = nnb_lstm_data_params(&((runner *)model)->d);
    return 0;
}

/* Untimed, lazy: bring results back to PyTorch's layout. */
static int outputs(void *model, nnb_tensor_list *out, char *err, size_t err_len) {
    runner *r = (runner *)model;
    nnb_lstm_data *d = &r->d;
    if (r->inferred) {
        *out = nnb_lstm_infer_outputs(&r->inf);
        return 0;
    }
    if (r->kind == KIND_VL) {
        const vl_plan *v = &r->vl;
        const size_t H = (size_t)d->H;
        vl_unpack(v, d->B, d->H, v->yp[d->L - 1], d->y);
        vl_unpack(v, d->B, d->I, v->dxp, d->dx);
        for (int64_t k = 0; k < d->L; k++) /* final states sit in the segment each sequence ended in */
            for (int64_t j = 0; j < d->B; j++) {
                size_t from = (size_t)(v->seg_state[v->last_seg[j]] + j) * H;
                size_t to = (size_t)((k * d->B + v->order[j])) * H;
                memcpy(d->hy + to, v->hs[k] + from, sizeof(float) * H);
                memcpy(d->cy + to, v->cs[k] + from, sizeof(float) * H);
            }
        vl_unsort_states(v, d, v->dhx_s, d->dhx);
        vl_unsort_states(v, d, v->dcx_s, d->dcx);
    }
    if (r->kind != KIND_PLAIN_LAYERNORM && onx_export_weight_grads(&r->m, d, err, err_len))
        return -1;
    *out = nnb_lstm_data_outputs(d);
    if (r->kind == KIND_LAYERNORM || r->kind == KIND_PLAIN_LAYERNORM)
        out->count = 3; /* y, hy, cy */
    return 0;
}

static double forward_flops(void *model) { return nnb_lstm_forward_flops(&((runner *)model)->d); }
static double backward_flops(void *model) { return nnb_lstm_backward_flops(&((runner *)model)->d); }

/* ------------------------------------------------------------------ plain reference for cudnn_layernorm */

static int plain_layernorm_forward(void *model, char *err, size_t err_len) {
    runner *r = (runner *)model;
    nnb_lstm_data *d = &r->d;
    if (onx_plain_lstm_forward(d, err, err_len))
        return -1;
    for (int64_t t = 0; t < d->T; t++) {
        onx_plain_layer_norm(r->ln_input, r->ln_out, d->B, 4 * d->H, LN_EPS); /* ln_i */
        onx_plain_layer_norm(r->ln_input, r->ln_out, d->B, 4 * d->H, LN_EPS); /* ln_h */
        onx_plain_layer_norm(d->cy, d->cy, d->L * d->B, d->H, LN_EPS);        /* cy = ln_c(cy) */
    }
    return 0;
}

/* ------------------------------------------------------------------ describe */

static const char *plan_note(const runner *r) {
    switch (r->kind) {
    case KIND_CUDNN:
        return "one oneDNN LSTM primitive per layer group (all layers in one when every layer input is H, "
               "else layer 0 and layers 1..L-1); weights reordered once at create";
    case KIND_DROPOUT:
        return "one oneDNN LSTM primitive per layer; dropout p=0.4 on layer inputs above layer 0 by oneDNN binary mul "
               "with nnb_dropout_mask, and the same mask on the way back";
    case KIND_LAYERNORM:
        return "oneDNN LSTM (forward training) then T x {ln_i(ln_input1), ln_h(ln_input1), cy=ln_c(cy)} with oneDNN "
               "layer_normalization (gain 1, bias 0, eps 1e-5)";
    case KIND_VL:
        return "batch sorted by length, time cut into segments between distinct lengths; per layer, one oneDNN LSTM "
               "call per segment over the active (shrinking) batch, states carried in place (prefix rows of the "
               "previous segment's dst_iter); backward in reverse with diff_dst_iter carried; x and grad_y packed "
               "once at create";
    case KIND_PLAIN_LAYERNORM:
        return "plain double-accumulating loops (kernels/lstm_cell_math.h) then T plain layer norms";
    }
    return "";
}

static int describe(void *model, char *buf, size_t buf_len) {
    runner *r = (runner *)model;
    size_t used = 0;
    if (buf_len)
        buf[0] = 0;
    const dnnl_version_t *ver = dnnl_version();
    nnb_appendf(buf, buf_len, &used,
                "{\"runner\":\"%s\",\"library\":\"oneDNN\",\"version\":\"%d.%d.%d\",\"git_hash\":\"%s\",", r->name,
                ver->major, ver->minor, ver->patch, ver->hash ? ver->hash : "");
    nnb_appendf(buf, buf_len, &used, "\"cpu_runtime\":\"%s\",\"isa\":\"%s\",\"threads\":%d,",
                dnnl_runtime2str(ver->cpu_runtime), dnnl_cpu_isa2str(dnnl_get_effective_cpu_isa()), r->threads);
    nnb_appendf(buf, buf_len, &used, "\"fuser\":\"n/a (library kernels)\",\"executor\":\"eager\",\"plan\":\"%s\"",
                plan_note(r));
    if (r->kind == KIND_PLAIN_LAYERNORM) {
        nnb_appendf(buf, buf_len, &used, "}");
        return used < buf_len ? 0 : -1;
    }
    const onx_model *m = &r->m;
    const onx_prim *p = NULL;
    for (int i = 0; i < m->prim_count && !p; i++)
        if (m->prims[i]->L > 0)
            p = m->prims[i];
    nnb_appendf(buf, buf_len, &used,
                ",\"algorithm\":\"vanilla_lstm\",\"prop_kind\":\"forward_training\",\"data_type\":\"f32\"");
    nnb_appendf(buf, buf_len, &used, ",\"forward_impl\":\"%s\"", p ? onx_impl_name(p->fwd_pd) : "?");
    if (m->with_backward)
        nnb_appendf(buf, buf_len, &used, ",\"backward_impl\":\"%s\"", p ? onx_impl_name(p->bwd_pd) : "?");
    for (int i = 0; i < m->prim_count; i++) /* binary (dropout) or layer norm */
        if (m->prims[i]->L == 0) {
            const char *kind = r->kind == KIND_DROPOUT ? "dropout_impl" : "layer_norm_impl";
            nnb_appendf(buf, buf_len, &used, ",\"%s\":\"%s\"", kind, onx_impl_name(m->prims[i]->fwd_pd));
            break;
        }
    if (p) {
        nnb_appendf(
            buf, buf_len, &used, ",\"weights_format\":{\"forward\":\"%s\"",
            onx_format_name(dnnl_primitive_desc_query_md(p->fwd_pd, dnnl_query_exec_arg_md, DNNL_ARG_WEIGHTS_LAYER)));
        if (m->with_backward)
            nnb_appendf(buf, buf_len, &used, ",\"backward\":\"%s\",\"diff\":\"%s\"",
                        onx_format_name(
                            dnnl_primitive_desc_query_md(p->bwd_pd, dnnl_query_exec_arg_md, DNNL_ARG_WEIGHTS_LAYER)),
                        onx_format_name(dnnl_primitive_desc_query_md(p->bwd_pd, dnnl_query_exec_arg_md,
                                                                     DNNL_ARG_DIFF_WEIGHTS_LAYER)));
        nnb_appendf(buf, buf_len, &used, "}");
    }
    nnb_appendf(buf, buf_len, &used, ",\"layer_groups\":[");
    for (int g = 0; g < m->group_count; g++)
        nnb_appendf(buf, buf_len, &used, "%s{\"first_layer\":%lld,\"layers\":%lld,\"input\":%lld}", g ? "," : "",
                    (long long)m->groups[g].first, (long long)m->groups[g].count, (long long)m->groups[g].in);
    nnb_appendf(buf, buf_len, &used,
                "],\"lstm_primitive_shapes\":%d,\"forward_executions\":%d,\"backward_executions\":%d", r->lstm_prims,
                m->fwd.n, m->bwd.n);
    if (r->kind == KIND_VL)
        nnb_appendf(buf, buf_len, &used, ",\"segments\":%d,\"packed_rows\":%lld", r->vl.S, (long long)r->vl.rows);
    if (r->kind == KIND_DROPOUT)
        nnb_appendf(buf, buf_len, &used, ",\"dropout\":%.2f", (double)DROPOUT_P);
    nnb_appendf(buf, buf_len, &used, ",\"scratchpad\":\"user\",\"scratchpad_bytes\":%zu,\"workspace_bytes\":%zu",
                m->scratch_bytes, m->workspace_bytes);
    int inf_copies = 0; /* weight copies in inference formats, over all groups */
    for (int g = 0; g < m->group_count; g++)
        inf_copies += m->groups[g].infer_w_count;
    if (r->inf_plans)
        nnb_appendf(buf, buf_len, &used,
                    ",\"infer\":{\"prop_kind\":\"forward_inference\",\"workspace\":false,\"dropout\":false,"
                    "\"impl\":\"%s\",\"weights_format\":\"%s\",\"weight_copies\":%d,\"plans\":%d,"
                    "\"plan_create_ms\":%.3f,\"scratchpad_bytes\":%zu}",
                    m->infer_prim_count ? onx_impl_name(m->infer_prims[0]->pd) : "not built yet",
                    m->infer_prim_count ? onx_format_name(dnnl_primitive_desc_query_md(
                                              m->infer_prims[0]->pd, dnnl_query_exec_arg_md, DNNL_ARG_WEIGHTS_LAYER))
                                        : "not built yet",
                    inf_copies, r->inf_plan_count, r->inf_plan_ms, m->infer_scratch_bytes);
    nnb_appendf(buf, buf_len, &used, "}");
    return used < buf_len ? 0 : -1;
}

/* ------------------------------------------------------------------ plugin */

/* SERVES: 1 for the runners with infer() and load_param() (ABI 1.2). */
#define ONX_RUNNER(NAME, GROUP, DESC, REF, FLAGS, CREATE, FWD, BWD, BWD_FLOPS, SERVES)                                 \
    {                                                                                                                  \
        .struct_size = sizeof(nnb_runner_desc), .name = NAME, .group = GROUP, .device = NNB_DEVICE_CPU,                \
        .description = DESC, .reference = REF, .flags = FLAGS, .create = CREATE, .forward = FWD, .backward = BWD,      \
        .zero_grad = zero_grad, .params = params, .outputs = outputs, .describe = describe,                            \
        .forward_flops = forward_flops, .backward_flops = BWD_FLOPS, .destroy = destroy,                               \
        .infer = (SERVES) ? infer : NULL, .load_param = (SERVES) ? load_param : NULL                                   \
    }

static const nnb_runner_desc runners[] = {
    ONX_RUNNER("cudnn", NNB_GROUP_RNNS, "vendor library LSTM on the CPU: oneDNN vanilla_lstm, f32, training", "py", 0,
               create_cudnn, forward, backward, backward_flops, 1),
    ONX_RUNNER("cudnn_dropout", NNB_GROUP_RNNS, "oneDNN LSTM per layer with dropout 0.4 between layers", "py_dropout",
               NNB_FLAG_HIDDEN, create_dropout, forward, backward, backward_flops, 1),
    ONX_RUNNER("cudnn_layernorm", NNB_GROUP_RNNS, "oneDNN LSTM + fastrnns' layer-norm lower bound (forward only)",
               "py_cudnn_layernorm", NNB_FLAG_HIDDEN, create_layernorm, forward, NULL, NULL, 0),
    ONX_RUNNER("vl_cudnn", NNB_GROUP_VL_RNNS, "oneDNN LSTM over length-sorted segments (packed-sequence semantics)",
               "vl_py", 0, create_vl, forward, backward, backward_flops, 0),
    ONX_RUNNER("py_cudnn_layernorm", NNB_GROUP_RNNS, "plain reference for cudnn_layernorm", NULL,
               NNB_FLAG_REFERENCE | NNB_FLAG_HIDDEN, create_plain_layernorm, plain_layernorm_forward, NULL, NULL, 0),
};

static const nnb_plugin plugin = {
    NNB_ABI_MAJOR, NNB_ABI_MINOR, sizeof(nnb_plugin), "cpu_onednn", (int)(sizeof runners / sizeof *runners), runners};

NNB_DEFINE_PLUGIN(plugin)
