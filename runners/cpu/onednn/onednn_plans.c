/*
 * The step plans of the oneDNN LSTM runners, built once by create(): fixed-length (cudnn: layer groups; dropout:
 * one group per layer with binary-mul masks between), variable-length (vl_cudnn: sorted batch, one call per
 * layer and segment of constant active batch, states carried in place) and fastrnns' layer norms. Separate from
 * the entry points (onednn_runners.c): this is where the runners differ; what runs the plans is shared.
 */
#include "onednn_runners_internal.h"

#include "nnb_precision.h"

#include <stdlib.h>
#include <string.h>

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
 * x[g], dx[g] the group's input and its gradient (with dropout, x[g] = y[g-1] * mask[g]). y and x hold the
 * model's data type, the gradients and masks f32. */
typedef struct fixed_bufs {
    int64_t *counts;
    void **y, **x;
    float **dy, **dx, **mask;
    onx_step *fwd, *bwd;
} fixed_bufs;

static void free_fixed_bufs(fixed_bufs *f) {
    free(f->counts), free(f->y), free(f->dy), free(f->x), free(f->dx), free(f->mask), free(f->fwd), free(f->bwd);
}

static int alloc_fixed_bufs(fixed_bufs *f, size_t L) {
    memset(f, 0, sizeof *f);
    f->counts = (int64_t *)calloc(L, sizeof *f->counts);
    f->y = (void **)calloc(L, sizeof(void *)), f->dy = (float **)calloc(L, sizeof(float *));
    f->x = (void **)calloc(L, sizeof(void *)), f->dx = (float **)calloc(L, sizeof(float *));
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
        if (!(f->y[g] = top ? r->y_data : onx_data_buffer(m, tbh)))
            return -1;
        if (m->with_backward && !(f->dy[g] = top ? d->grad_y : onx_buffer(m, tbh)))
            return -1;
    }
    for (int g = 0; g < G; g++) {
        if (g == 0) {
            f->x[g] = r->x_data, f->dx[g] = d->dx;
        } else if (r->kind == KIND_DROPOUT) {
            if (!(f->x[g] = onx_data_buffer(m, tbh)) || !(f->mask[g] = onx_buffer(m, tbh)))
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
            (onx_binary_step(m, dnnl_binary_mul, TB, H, m->data_dt, f->y[g - 1], f->mask[g], f->x[g], &st, err,
                             err_len) ||
             onx_push(&m->fwd, &st, err, err_len)))
            return -1;
        if (onx_push(&m->fwd, &f->fwd[g], err, err_len))
            return -1;
    }
    for (int g = G - 1; m->with_backward && g >= 0; g--) {
        if (onx_push(&m->bwd, &f->bwd[g], err, err_len))
            return -1;
        if (dropout && g > 0 &&
            (onx_binary_step(m, dnnl_binary_mul, TB, H, dnnl_f32, f->dx[g], f->mask[g], f->dy[g - 1], &st, err,
                             err_len) ||
             onx_push(&m->bwd, &st, err, err_len)))
            return -1;
    }
    return 0;
}

int onr_build_fixed(runner *r, uint64_t seed, char *err, size_t err_len) {
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
        onx_io io = {f.x[g],
                     onx_data_at(m, r->hx_data, s0),
                     d->cx + s0,
                     f.y[g],
                     onx_data_at(m, r->hy_data, s0),
                     d->cy + s0,
                     f.dx[g],
                     d->dhx + s0,
                     d->dcx + s0,
                     f.dy[g],
                     zeros,
                     zeros};
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

/* (T, B, W) time-major padded array <-> packed rows of the sorted batch; es bytes per element. */
static void vl_pack(const vl_plan *v, int64_t B, int64_t W, size_t es, const void *padded, void *packed) {
    const size_t row = (size_t)W * es;
    for (int s = 0; s < v->S; s++)
        for (int64_t t = 0; t < v->seg_T[s]; t++)
            for (int64_t j = 0; j < v->seg_N[s]; j++)
                memcpy((char *)packed + (size_t)(v->seg_row[s] + t * v->seg_N[s] + j) * row,
                       (const char *)padded + (size_t)((v->seg_t0[s] + t) * B + v->order[j]) * row, row);
}

static void vl_unpack(const vl_plan *v, int64_t B, int64_t W, const float *packed, float *padded) {
    for (int s = 0; s < v->S; s++)
        for (int64_t t = 0; t < v->seg_T[s]; t++)
            for (int64_t j = 0; j < v->seg_N[s]; j++)
                memcpy(padded + (size_t)((v->seg_t0[s] + t) * B + v->order[j]) * W,
                       packed + (size_t)(v->seg_row[s] + t * v->seg_N[s] + j) * W, sizeof(float) * (size_t)W);
}

/* (L, B, H) states: original batch order -> sorted (es bytes per element), and sorted -> original (f32). */
static void vl_sort_states(const vl_plan *v, const nnb_lstm_data *d, size_t es, const void *src, void *sorted) {
    const size_t row = (size_t)d->H * es;
    for (int64_t k = 0; k < d->L; k++)
        for (int64_t j = 0; j < d->B; j++)
            memcpy((char *)sorted + (size_t)(k * d->B + j) * row,
                   (const char *)src + (size_t)(k * d->B + v->order[j]) * row, row);
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
    if (!(v->xp = onx_data_buffer(m, rows * (size_t)d->I)) || !(v->gyp = onx_buffer(m, rows * H)) ||
        !(v->dxp = onx_buffer(m, rows * (size_t)d->I)) || !(v->hx_s = onx_data_buffer(m, lbh)) ||
        !(v->cx_s = onx_buffer(m, lbh)) || !(v->dhx_s = onx_buffer(m, lbh)) || !(v->dcx_s = onx_buffer(m, lbh)))
        return -1;
    if (!(v->yp = (void **)onx_bytes(m, sizeof(void *) * L)) || !(v->hs = (void **)onx_bytes(m, sizeof(void *) * L)) ||
        !(v->cs = (float **)onx_bytes(m, sizeof(float *) * L)))
        return -1;
    for (size_t k = 0; k < L; k++)
        if (!(v->yp[k] = onx_data_buffer(m, rows * H)) || !(v->hs[k] = onx_data_buffer(m, (size_t)v->state_rows * H)) ||
            !(v->cs[k] = onx_buffer(m, (size_t)v->state_rows * H)))
            return -1;
    /* bf16: outputs() widens the top layer's packed output here before unpacking it */
    v->y_f32 = m->data_dt == dnnl_f32 ? (float *)v->yp[L - 1] : onx_buffer(m, rows * H);
    if (!v->y_f32)
        return -1;
    /* inputs are constant: packed and sorted once, as a packed-sequence user holds them */
    vl_pack(v, d->B, d->I, m->data_size, r->x_data, v->xp);
    vl_pack(v, d->B, d->H, sizeof(float), d->grad_y, v->gyp);
    vl_sort_states(v, d, m->data_size, r->hx_data, v->hx_s);
    vl_sort_states(v, d, sizeof(float), d->cx, v->cx_s);
    return 0;
}

/* One single-layer group per layer, one call per (layer, segment). Segment s starts from the
 * states segment s-1 ended with: the first N_s rows of its (N_{s-1}, H) dst_iter, which are
 * contiguous, so no copy. Backward runs segments in reverse; segment s reads its incoming state
 * gradient from ping-pong buffer s&1 (rows >= N_{s+1} zero: those sequences end here and hy, cy
 * get no gradient) and writes diff_src_iter to buffer (s+1)&1, or to dhx/dcx for s = 0. */
int onr_build_vl(runner *r, char *err, size_t err_len) {
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
            io.src_layer =
                k == 0 ? onx_data_at(m, v->xp, row * (size_t)I) : onx_data_at(m, v->yp[k - 1], row * (size_t)H);
            io.src_iter = s == 0 ? onx_data_at(m, v->hx_s, k0) : onx_data_at(m, v->hs[k], prev);
            io.src_iter_c = s == 0 ? v->cx_s + k0 : v->cs[k] + prev;
            io.dst_layer = onx_data_at(m, v->yp[k], row * (size_t)H);
            io.dst_iter = onx_data_at(m, v->hs[k], st);
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

void onr_vl_outputs(runner *r) {
    nnb_lstm_data *d = &r->d;
    const vl_plan *v = &r->vl;
    const onx_model *m = &r->m;
    const size_t H = (size_t)d->H;
    onx_data_to_f32(m, v->yp[d->L - 1], v->y_f32, (size_t)v->rows * H);
    vl_unpack(v, d->B, d->H, v->y_f32, d->y);
    vl_unpack(v, d->B, d->I, v->dxp, d->dx);
    for (int64_t k = 0; k < d->L; k++) /* final states sit in the segment each sequence ended in */
        for (int64_t j = 0; j < d->B; j++) {
            size_t from = (size_t)(v->seg_state[v->last_seg[j]] + j) * H;
            size_t to = (size_t)((k * d->B + v->order[j])) * H;
            onx_data_to_f32(m, onx_data_at(m, v->hs[k], from), d->hy + to, H);
            memcpy(d->cy + to, v->cs[k] + from, sizeof(float) * H);
        }
    vl_unsort_states(v, d, v->dhx_s, d->dhx);
    vl_unsort_states(v, d, v->dcx_s, d->dcx);
}

/* ------------------------------------------------------------------ layer norm (fastrnns' cudnn_layernorm) */

/* fastrnns adds, after the library LSTM, for each of the T steps: ln_i(ln_input1), ln_h(ln_input1)
 * on a (B, 4H) input (results discarded) and cy = ln_c(cy) on the final cell state. ln_i and ln_h run in the
 * model's data type; ln_c in f32, the type of oneDNN's cell state. */
int onr_push_layer_norm_steps(runner *r, char *err, size_t err_len) {
    nnb_lstm_data *d = &r->d;
    onx_model *m = &r->m;
    onx_step ln_i, ln_h, ln_c;
    if (onx_layer_norm_step(m, d->B, 4 * d->H, LN_EPS, m->data_dt, r->ln_input_data, r->ln_out_data, &ln_i, err,
                            err_len) ||
        onx_layer_norm_step(m, d->B, 4 * d->H, LN_EPS, m->data_dt, r->ln_input_data, r->ln_out_data, &ln_h, err,
                            err_len) ||
        onx_layer_norm_step(m, d->L * d->B, d->H, LN_EPS, dnnl_f32, d->cy, d->cy, &ln_c, err, err_len))
        return -1;
    for (int64_t t = 0; t < d->T; t++)
        if (onx_push(&m->fwd, &ln_i, err, err_len) || onx_push(&m->fwd, &ln_h, err, err_len) ||
            onx_push(&m->fwd, &ln_c, err, err_len))
            return -1;
    return 0;
}

int onr_alloc_ln_input(runner *r, uint64_t seed, char *err, size_t err_len) {
    size_t n;
    if (nnb_mul_size3(&n, (size_t)r->d.B, 4, (size_t)r->d.H))
        return nnb_fail(err, err_len, "B*4H overflows");
    r->ln_input = nnb_alloc_floats(n);
    r->ln_out = nnb_alloc_floats(n);
    if (!r->ln_input || !r->ln_out)
        return nnb_fail(err, err_len, "out of memory");
    nnb_fill_normal(r->ln_input, n, seed, "ln_input1");
    nnb_round_to_precision(r->ln_input, n, r->precision);
    if (r->kind == KIND_PLAIN_LAYERNORM)
        return 0; /* no oneDNN model */
    r->ln_input_data = onx_data_copy(&r->m, r->ln_input, n);
    r->ln_out_data = r->m.data_dt == dnnl_f32 ? (void *)r->ln_out : onx_data_buffer(&r->m, n);
    return r->ln_input_data && r->ln_out_data ? 0 : nnb_fail(err, err_len, "out of memory");
}
