/*
 * py_simple: the plain reference of jit_simple (fastrnns' simple_lstm): one
 * layer, the cell applied T times, returning only the final (h, c); backward
 * from an upstream gradient of the final h alone (stream "grad_hy", standard
 * normal, shape (1, B, H)); c gets none. Written as obvious loops with double
 * accumulation, sharing nothing with the fast path but the data and the cell
 * math of kernels/lstm_cell_math.h.
 */
#include "py_simple.h"
#include "lstm_cell_math.h"
#include "lstm_data.h"
#include "lstm_engine.h"
#include "nnb_precision.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

typedef struct py_simple {
    nnb_lstm_data d;
    float *grad_hy; /* (B, H) */
    float *act;     /* (T, B, 4H) activated gates */
    float *hs, *cs; /* (T + 1, B, H): index 0 is the initial state */
    nnb_tensor *params, *outputs;
    int param_count, output_count;
} py_simple;

void py_simple_destroy(void *model) {
    py_simple *m = model;
    if (!m)
        return;
    nnb_free(m->grad_hy);
    nnb_free(m->act);
    nnb_free(m->hs);
    nnb_free(m->cs);
    nnb_free(m->params);
    nnb_free(m->outputs);
    nnb_lstm_data_free(&m->d);
    nnb_free(m);
}

void *py_simple_create(const nnb_config *cfg, char *err, size_t err_len) {
    /* Plain eager loops: no fusion to choose, no executor but eager. */
    if (nnb_check_fuser_executor("py_simple", cfg, nnb_every_fuser, nnb_eager_only, err, err_len))
        return NULL;
    if (cfg->num_layers > 1) {
        nnb_fail(err, err_len, "py_simple is single-layer by definition: --numLayers %lld not supported",
                 (long long)cfg->num_layers);
        return NULL;
    }
    py_simple *m = nnb_alloc_bytes(sizeof *m);
    if (!m) {
        nnb_fail(err, err_len, "out of memory");
        return NULL;
    }
    if (nnb_lstm_data_init(&m->d, cfg, 0, 1, err, err_len)) {
        py_simple_destroy(m);
        return NULL;
    }
    int64_t T = m->d.T, B = m->d.B, H = m->d.H;
    size_t bh, tbh, tb4h;
    if (nnb_mul_size(&bh, (size_t)B, (size_t)H) || nnb_mul_size(&tbh, (size_t)(T + 1), bh) ||
        nnb_mul_size(&tb4h, (size_t)T * 4, bh)) {
        nnb_fail(err, err_len, "py_simple sizes overflow size_t");
        py_simple_destroy(m);
        return NULL;
    }
    m->grad_hy = nnb_alloc_floats(bh);
    m->act = nnb_alloc_floats(tb4h);
    m->hs = nnb_alloc_floats(tbh);
    m->cs = nnb_alloc_floats(tbh);
    nnb_tensor_list p = nnb_lstm_data_params(&m->d), o = nnb_lstm_data_outputs(&m->d);
    m->params = nnb_alloc_bytes(sizeof(nnb_tensor) * (size_t)(p.count + 1));
    m->outputs = nnb_alloc_bytes(sizeof(nnb_tensor) * (size_t)o.count);
    if (!m->grad_hy || !m->act || !m->hs || !m->cs || !m->params || !m->outputs) {
        nnb_fail(err, err_len, "out of memory");
        py_simple_destroy(m);
        return NULL;
    }
    nnb_fill_normal(m->grad_hy, bh, cfg->seed, NNB_SIMPLE_GRAD_STREAM);
    if (cfg->struct_size >= offsetof(nnb_config, precision) + sizeof cfg->precision) /* rounded as every seeded input */
        nnb_round_to_precision(m->grad_hy, bh, cfg->precision);
    for (int i = 0; i < p.count; i++)
        if (strcmp(p.items[i].name, "grad_y"))
            m->params[m->param_count++] = p.items[i];
    nnb_tensor g = {.name = "grad_hy", .dtype = NNB_F32, .ndim = 3, .shape = {1, B, H}, .data = m->grad_hy};
    m->params[m->param_count++] = g;
    for (int i = 0; i < o.count; i++)
        if (strcmp(o.items[i].name, "y"))
            m->outputs[m->output_count++] = o.items[i];
    return m;
}

int py_simple_forward(void *model, char *err, size_t err_len) {
    (void)err;
    (void)err_len;
    py_simple *m = model;
    nnb_lstm_data *d = &m->d;
    const int64_t T = d->T, B = d->B, I = d->I, H = d->H, G = 4 * H;
    memcpy(m->hs, d->hx, sizeof(float) * (size_t)(B * H));
    memcpy(m->cs, d->cx, sizeof(float) * (size_t)(B * H));
    for (int64_t t = 0; t < T; t++)
        for (int64_t b = 0; b < B; b++) {
            const float *x = d->x + (t * B + b) * I, *h = m->hs + (t * B + b) * H;
            float *a = m->act + (t * B + b) * G;
            for (int64_t n = 0; n < G; n++) {
                double s = (double)d->b_ih[0][n] + (double)d->b_hh[0][n];
                for (int64_t k = 0; k < I; k++)
                    s += (double)x[k] * d->w_ih[0][n * I + k];
                for (int64_t k = 0; k < H; k++)
                    s += (double)h[k] * d->w_hh[0][n * H + k];
                a[n] = (float)s;
            }
            const float *cp = m->cs + (t * B + b) * H;
            float *c = m->cs + ((t + 1) * B + b) * H, *hn = m->hs + ((t + 1) * B + b) * H;
            for (int64_t j = 0; j < H; j++)
                nnb_lstm_cell_fwdf(&a[j], &a[H + j], &a[2 * H + j], &a[3 * H + j], cp[j], &c[j], &hn[j]);
        }
    memcpy(d->hy, m->hs + T * B * H, sizeof(float) * (size_t)(B * H));
    memcpy(d->cy, m->cs + T * B * H, sizeof(float) * (size_t)(B * H));
    return 0;
}

int py_simple_backward(void *model, char *err, size_t err_len) {
    py_simple *m = model;
    nnb_lstm_data *d = &m->d;
    const int64_t T = d->T, B = d->B, I = d->I, H = d->H, G = 4 * H;
    float *dh = nnb_alloc_floats((size_t)(B * H)), *dc = nnb_alloc_floats((size_t)(B * H));
    float *dg = nnb_alloc_floats((size_t)G);
    if (!dh || !dc || !dg) {
        nnb_free(dh);
        nnb_free(dc);
        nnb_free(dg);
        return nnb_fail(err, err_len, "out of memory");
    }
    nnb_lstm_data_zero_grads(d);
    memcpy(dh, m->grad_hy, sizeof(float) * (size_t)(B * H));
    for (int64_t t = T - 1; t >= 0; t--)
        for (int64_t b = 0; b < B; b++) {
            const float *a = m->act + (t * B + b) * G, *x = d->x + (t * B + b) * I;
            const float *hp = m->hs + (t * B + b) * H, *cp = m->cs + (t * B + b) * H;
            const float *c = m->cs + ((t + 1) * B + b) * H;
            float *dhb = dh + b * H, *dcb = dc + b * H, *dxb = d->dx + (t * B + b) * I;
            for (int64_t j = 0; j < H; j++)
                nnb_lstm_cell_bwdf(a[j], a[H + j], a[2 * H + j], a[3 * H + j], cp[j], c[j], dhb[j], dcb[j], &dg[j],
                                   &dg[H + j], &dg[2 * H + j], &dg[3 * H + j], &dcb[j]);
            for (int64_t k = 0; k < I; k++) {
                double s = 0;
                for (int64_t n = 0; n < G; n++)
                    s += (double)dg[n] * d->w_ih[0][n * I + k];
                dxb[k] = (float)s;
            }
            for (int64_t k = 0; k < H; k++) {
                double s = 0;
                for (int64_t n = 0; n < G; n++)
                    s += (double)dg[n] * d->w_hh[0][n * H + k];
                dhb[k] = (float)s;
            }
            for (int64_t n = 0; n < G; n++) {
                for (int64_t k = 0; k < I; k++)
                    d->dw_ih[0][n * I + k] += dg[n] * x[k];
                for (int64_t k = 0; k < H; k++)
                    d->dw_hh[0][n * H + k] += dg[n] * hp[k];
                d->db_ih[0][n] += dg[n];
                d->db_hh[0][n] += dg[n];
            }
        }
    memcpy(d->dhx, dh, sizeof(float) * (size_t)(B * H));
    memcpy(d->dcx, dc, sizeof(float) * (size_t)(B * H));
    nnb_free(dh);
    nnb_free(dc);
    nnb_free(dg);
    return 0;
}

int py_simple_zero_grad(void *model, char *err, size_t err_len) {
    (void)err;
    (void)err_len;
    nnb_lstm_data_zero_grads(&((py_simple *)model)->d);
    return 0;
}

int py_simple_params(void *model, nnb_tensor_list *out, char *err, size_t err_len) {
    (void)err;
    (void)err_len;
    py_simple *m = model;
    out->count = m->param_count;
    out->items = m->params;
    return 0;
}

int py_simple_outputs(void *model, nnb_tensor_list *out, char *err, size_t err_len) {
    (void)err;
    (void)err_len;
    py_simple *m = model;
    out->count = m->output_count;
    out->items = m->outputs;
    return 0;
}

int py_simple_describe(void *model, char *buf, size_t len) {
    (void)model;
    int n = snprintf(buf, len,
                     "{\"runner\":\"py_simple\",\"implementation\":\"plain C loops, double accumulation, "
                     "single thread\",\"upstream_gradient\":\"grad_hy (stream grad_hy)\"}");
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

double py_simple_forward_flops(void *model) { return nnb_lstm_forward_flops(&((py_simple *)model)->d); }
double py_simple_backward_flops(void *model) { return nnb_lstm_backward_flops(&((py_simple *)model)->d); }
