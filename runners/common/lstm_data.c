#include "lstm_data.h"

#include "nnb_precision.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { MAX_VIEWS_PER_LAYER = 4 };

static void set_view(nnb_tensor *t, const char *name, const void *data, int ndim, int64_t d0, int64_t d1, int64_t d2) {
    memset(t, 0, sizeof *t);
    t->name = name;
    t->dtype = NNB_F32;
    t->ndim = ndim;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->shape[2] = d2;
    t->data = data;
}

static float **alloc_layer_array(int64_t L) { return (float **)nnb_alloc_bytes(sizeof(float *) * (size_t)L); }

static int alloc_all(nnb_lstm_data *d, char *err, size_t err_len) {
    size_t tbi, tbh, lbh, g4h;
    if (nnb_mul_size3(&tbi, (size_t)d->T, (size_t)d->B, (size_t)d->I) ||
        nnb_mul_size3(&tbh, (size_t)d->T, (size_t)d->B, (size_t)d->H) ||
        nnb_mul_size3(&lbh, (size_t)d->L, (size_t)d->B, (size_t)d->H) || nnb_mul_size(&g4h, 4, (size_t)d->H))
        return nnb_fail(err, err_len, "LSTM buffer sizes overflow size_t");
    d->x = nnb_alloc_floats(tbi);
    d->dx = nnb_alloc_floats(tbi);
    d->y = nnb_alloc_floats(tbh);
    d->grad_y = nnb_alloc_floats(tbh);
    d->hx = nnb_alloc_floats(lbh);
    d->cx = nnb_alloc_floats(lbh);
    d->hy = nnb_alloc_floats(lbh);
    d->cy = nnb_alloc_floats(lbh);
    d->dhx = nnb_alloc_floats(lbh);
    d->dcx = nnb_alloc_floats(lbh);
    float ***arrays[] = {&d->w_ih, &d->w_hh, &d->b_ih, &d->b_hh, &d->dw_ih, &d->dw_hh, &d->db_ih, &d->db_hh};
    for (size_t a = 0; a < sizeof arrays / sizeof *arrays; a++)
        if (!(*arrays[a] = alloc_layer_array(d->L)))
            return nnb_fail(err, err_len, "out of memory");
    for (int64_t k = 0; k < d->L; k++) {
        size_t wih, whh;
        if (nnb_mul_size(&wih, g4h, (size_t)nnb_lstm_layer_input(d, k)) || nnb_mul_size(&whh, g4h, (size_t)d->H))
            return nnb_fail(err, err_len, "LSTM weight sizes overflow size_t");
        d->w_ih[k] = nnb_alloc_floats(wih);
        d->dw_ih[k] = nnb_alloc_floats(wih);
        d->w_hh[k] = nnb_alloc_floats(whh);
        d->dw_hh[k] = nnb_alloc_floats(whh);
        d->b_ih[k] = nnb_alloc_floats(g4h);
        d->b_hh[k] = nnb_alloc_floats(g4h);
        d->db_ih[k] = nnb_alloc_floats(g4h);
        d->db_hh[k] = nnb_alloc_floats(g4h);
        if (!d->w_ih[k] || !d->dw_ih[k] || !d->w_hh[k] || !d->dw_hh[k] || !d->b_ih[k] || !d->b_hh[k] || !d->db_ih[k] ||
            !d->db_hh[k])
            return nnb_fail(err, err_len, "out of memory for layer %lld weights", (long long)k);
    }
    if (!d->x || !d->dx || !d->y || !d->grad_y || !d->hx || !d->cx || !d->hy || !d->cy || !d->dhx || !d->dcx)
        return nnb_fail(err, err_len, "out of memory for LSTM buffers (T=%lld B=%lld I=%lld H=%lld L=%lld)",
                        (long long)d->T, (long long)d->B, (long long)d->I, (long long)d->H, (long long)d->L);
    return 0;
}

static void draw_lengths(nnb_lstm_data *d, uint64_t seed) {
    nnb_rng r = nnb_rng_for(seed, "lengths");
    const uint64_t span = NNB_VL_MAX_LENGTH - NNB_VL_MIN_LENGTH + 1;
    d->T = 0;
    for (int64_t b = 0; b < d->B; b++) {
        d->lengths[b] = NNB_VL_MIN_LENGTH + (int64_t)(nnb_rng_next_u64(&r) % span);
        if (d->lengths[b] > d->T)
            d->T = d->lengths[b];
    }
}

/* Zero rows of a (T, B, W) array at t >= lengths[b]. */
static void mask_beyond_lengths(const nnb_lstm_data *d, float *a, int64_t W) {
    for (int64_t t = 0; t < d->T; t++)
        for (int64_t b = 0; b < d->B; b++)
            if (t >= d->lengths[b])
                memset(a + ((size_t)t * d->B + b) * W, 0, sizeof(float) * (size_t)W);
}

static void fill_inputs(nnb_lstm_data *d, uint64_t seed) {
    char name[32];
    float bound = 1.0f / sqrtf((float)d->H);
    size_t g4h = 4 * (size_t)d->H;
    for (int64_t k = 0; k < d->L; k++) {
        snprintf(name, sizeof name, "w_ih_l%lld", (long long)k);
        nnb_fill_uniform(d->w_ih[k], g4h * (size_t)nnb_lstm_layer_input(d, k), seed, name, -bound, bound);
        snprintf(name, sizeof name, "w_hh_l%lld", (long long)k);
        nnb_fill_uniform(d->w_hh[k], g4h * (size_t)d->H, seed, name, -bound, bound);
        snprintf(name, sizeof name, "b_ih_l%lld", (long long)k);
        nnb_fill_uniform(d->b_ih[k], g4h, seed, name, -bound, bound);
        snprintf(name, sizeof name, "b_hh_l%lld", (long long)k);
        nnb_fill_uniform(d->b_hh[k], g4h, seed, name, -bound, bound);
    }
    size_t lbh = (size_t)(d->L * d->B * d->H);
    nnb_fill_normal(d->x, (size_t)(d->T * d->B * d->I), seed, "x");
    nnb_fill_normal(d->hx, lbh, seed, "hx");
    nnb_fill_normal(d->cx, lbh, seed, "cx");
    nnb_fill_normal(d->grad_y, (size_t)(d->T * d->B * d->H), seed, "grad_y");
    if (d->variable) {
        mask_beyond_lengths(d, d->x, d->I);
        mask_beyond_lengths(d, d->grad_y, d->H);
    }
}

static void build_views(nnb_lstm_data *d) {
    int64_t L = d->L, T = d->T, B = d->B, I = d->I, H = d->H;
    int n = 0;
    nnb_tensor *p = d->param_views;
    set_view(&p[n++], "x", d->x, 3, T, B, I);
    set_view(&p[n++], "hx", d->hx, 3, L, B, H);
    set_view(&p[n++], "cx", d->cx, 3, L, B, H);
    int nm = 0;
    for (int64_t k = 0; k < L; k++) {
        const char *fmt[] = {"w_ih_l%lld", "w_hh_l%lld", "b_ih_l%lld", "b_hh_l%lld"};
        for (int f = 0; f < 4; f++)
            snprintf(d->names[nm + f], 32, fmt[f], (long long)k);
        set_view(&p[n++], d->names[nm], d->w_ih[k], 2, 4 * H, nnb_lstm_layer_input(d, k), 0);
        set_view(&p[n++], d->names[nm + 1], d->w_hh[k], 2, 4 * H, H, 0);
        set_view(&p[n++], d->names[nm + 2], d->b_ih[k], 1, 4 * H, 0, 0);
        set_view(&p[n++], d->names[nm + 3], d->b_hh[k], 1, 4 * H, 0, 0);
        nm += 4;
    }
    set_view(&p[n++], "grad_y", d->grad_y, 3, T, B, H);
    if (d->variable) {
        set_view(&p[n], "lengths", d->lengths, 1, B, 0, 0);
        p[n++].dtype = NNB_I64;
    }
    d->param_count = n;

    n = 0;
    nnb_tensor *o = d->output_views;
    set_view(&o[n++], "y", d->y, 3, T, B, H);
    set_view(&o[n++], "hy", d->hy, 3, L, B, H);
    set_view(&o[n++], "cy", d->cy, 3, L, B, H);
    set_view(&o[n++], "dx", d->dx, 3, T, B, I);
    set_view(&o[n++], "dhx", d->dhx, 3, L, B, H);
    set_view(&o[n++], "dcx", d->dcx, 3, L, B, H);
    for (int64_t k = 0; k < L; k++) {
        const char *fmt[] = {"dw_ih_l%lld", "dw_hh_l%lld", "db_ih_l%lld", "db_hh_l%lld"};
        for (int f = 0; f < 4; f++)
            snprintf(d->names[nm + f], 32, fmt[f], (long long)k);
        set_view(&o[n++], d->names[nm], d->dw_ih[k], 2, 4 * H, nnb_lstm_layer_input(d, k), 0);
        set_view(&o[n++], d->names[nm + 1], d->dw_hh[k], 2, 4 * H, H, 0);
        set_view(&o[n++], d->names[nm + 2], d->db_ih[k], 1, 4 * H, 0, 0);
        set_view(&o[n++], d->names[nm + 3], d->db_hh[k], 1, 4 * H, 0, 0);
        nm += 4;
    }
    d->output_count = n;
}

/* ABI 1.3: every precision sees the seeded problem rounded once (x, hx, cx, grad_y, weights and biases; a
 * rounded value is exact in fp32, so runners that keep biases or the cell state in fp32 see the same numbers). */
static void round_inputs(nnb_lstm_data *d, int precision) {
    size_t lbh = (size_t)(d->L * d->B * d->H), g4h = (size_t)(4 * d->H);
    nnb_round_to_precision(d->x, (size_t)(d->T * d->B * d->I), precision);
    nnb_round_to_precision(d->hx, lbh, precision);
    nnb_round_to_precision(d->cx, lbh, precision);
    nnb_round_to_precision(d->grad_y, (size_t)(d->T * d->B * d->H), precision);
    for (int64_t k = 0; k < d->L; k++) {
        nnb_round_to_precision(d->w_ih[k], g4h * (size_t)nnb_lstm_layer_input(d, k), precision);
        nnb_round_to_precision(d->w_hh[k], g4h * (size_t)d->H, precision);
        nnb_round_to_precision(d->b_ih[k], g4h, precision);
        nnb_round_to_precision(d->b_hh[k], g4h, precision);
    }
}

int nnb_lstm_data_init(nnb_lstm_data *d, const nnb_config *cfg, int variable, int64_t num_layers, char *err,
                       size_t err_len) {
    memset(d, 0, sizeof *d);
    d->B = cfg->mini_batch;
    d->I = cfg->input_size;
    d->H = cfg->hidden_size;
    d->L = num_layers >= 1 ? num_layers : cfg->num_layers;
    d->T = cfg->seq_length;
    d->variable = variable;
    if (d->B < 1 || d->I < 1 || d->H < 1 || d->L < 1 || (!variable && d->T < 1))
        return nnb_fail(err, err_len, "LSTM sizes must be positive");
    if (variable) {
        d->lengths = (int64_t *)nnb_alloc_bytes(sizeof(int64_t) * (size_t)d->B);
        if (!d->lengths)
            return nnb_fail(err, err_len, "out of memory");
        draw_lengths(d, cfg->seed);
    }
    size_t views = 8 + MAX_VIEWS_PER_LAYER * (size_t)d->L;
    d->param_views = (nnb_tensor *)nnb_alloc_bytes(sizeof(nnb_tensor) * views);
    d->output_views = (nnb_tensor *)nnb_alloc_bytes(sizeof(nnb_tensor) * views);
    d->names = (char(*)[32])nnb_alloc_bytes(32 * 8 * (size_t)d->L);
    if (!d->param_views || !d->output_views || !d->names)
        return nnb_fail(err, err_len, "out of memory");
    if (alloc_all(d, err, err_len))
        return -1;
    fill_inputs(d, cfg->seed);
    if (cfg->struct_size >= offsetof(nnb_config, precision) + sizeof cfg->precision)
        round_inputs(d, cfg->precision);
    build_views(d);
    return 0;
}

void nnb_lstm_data_free(nnb_lstm_data *d) {
    if (!d)
        return;
    float **arrays[] = {d->w_ih, d->w_hh, d->b_ih, d->b_hh, d->dw_ih, d->dw_hh, d->db_ih, d->db_hh};
    for (size_t a = 0; a < sizeof arrays / sizeof *arrays; a++) {
        if (!arrays[a])
            continue;
        for (int64_t k = 0; k < d->L; k++)
            nnb_free(arrays[a][k]);
        nnb_free(arrays[a]);
    }
    float *flat[] = {d->x, d->dx, d->y, d->grad_y, d->hx, d->cx, d->hy, d->cy, d->dhx, d->dcx};
    for (size_t a = 0; a < sizeof flat / sizeof *flat; a++)
        nnb_free(flat[a]);
    nnb_free(d->lengths);
    nnb_free(d->param_views);
    nnb_free(d->output_views);
    nnb_free(d->names);
    memset(d, 0, sizeof *d);
}

void nnb_lstm_data_zero_grads(nnb_lstm_data *d) {
    size_t lbh = (size_t)(d->L * d->B * d->H), g4h = 4 * (size_t)d->H;
    memset(d->dx, 0, sizeof(float) * (size_t)(d->T * d->B * d->I));
    memset(d->dhx, 0, sizeof(float) * lbh);
    memset(d->dcx, 0, sizeof(float) * lbh);
    for (int64_t k = 0; k < d->L; k++) {
        memset(d->dw_ih[k], 0, sizeof(float) * g4h * (size_t)nnb_lstm_layer_input(d, k));
        memset(d->dw_hh[k], 0, sizeof(float) * g4h * (size_t)d->H);
        memset(d->db_ih[k], 0, sizeof(float) * g4h);
        memset(d->db_hh[k], 0, sizeof(float) * g4h);
    }
}

void nnb_lstm_data_zero_outputs(nnb_lstm_data *d) {
    size_t lbh = (size_t)(d->L * d->B * d->H);
    memset(d->y, 0, sizeof(float) * (size_t)(d->T * d->B * d->H));
    memset(d->hy, 0, sizeof(float) * lbh);
    memset(d->cy, 0, sizeof(float) * lbh);
    nnb_lstm_data_zero_grads(d);
}

nnb_tensor_list nnb_lstm_data_params(const nnb_lstm_data *d) {
    nnb_tensor_list l = {d->param_count, d->param_views};
    return l;
}

nnb_tensor_list nnb_lstm_data_outputs(const nnb_lstm_data *d) {
    nnb_tensor_list l = {d->output_count, d->output_views};
    return l;
}

double nnb_lstm_forward_flops(const nnb_lstm_data *d) {
    double steps = 0; /* sequence-steps summed over the batch */
    if (d->variable)
        for (int64_t b = 0; b < d->B; b++)
            steps += (double)d->lengths[b];
    else
        steps = (double)d->T * (double)d->B;
    double flops = 0;
    for (int64_t k = 0; k < d->L; k++)
        flops += 2.0 * steps * 4.0 * (double)d->H * (double)(nnb_lstm_layer_input(d, k) + d->H);
    return flops;
}

double nnb_lstm_backward_flops(const nnb_lstm_data *d) { return 2.0 * nnb_lstm_forward_flops(d); }

double nnb_layernorm_lstm_check_tolerance(const nnb_config *cfg) {
    double tol = 1e-4 + 2e-5 * (double)cfg->seq_length * (double)cfg->num_layers;
    return tol < 3e-4 ? 3e-4 : tol;
}
