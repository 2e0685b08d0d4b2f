/* ABI 1.2 inference bookkeeping of the CPU LSTM runners: see lstm_infer.h. */
#include "lstm_infer.h"

#include <stdio.h>
#include <string.h>

static float *alloc3(int64_t a, int64_t b, int64_t c, int *fail) {
    size_t n;
    float *p = nnb_mul_size3(&n, (size_t)a, (size_t)b, (size_t)c) ? NULL : nnb_alloc_floats(n);
    if (!p)
        *fail = 1;
    return p;
}

int nnb_lstm_infer_bufs_init(nnb_lstm_infer_bufs *b, const nnb_lstm_data *d, unsigned packs, char *err,
                             size_t err_len) {
    memset(b, 0, sizeof *b);
    int fail = 0;
    b->y = alloc3(d->T, d->B, d->H, &fail);  /* (T, B, H) */
    b->hy = alloc3(d->L, d->B, d->H, &fail); /* (L, B, H) */
    b->cy = alloc3(d->L, d->B, d->H, &fail); /* (L, B, H) */
    if (packs & NNB_INFER_PACK_X)
        b->x = alloc3(d->T, d->B, d->I, &fail); /* (T, B, I) */
    if (packs & NNB_INFER_PACK_STATES) {
        b->hx = alloc3(d->L, d->B, d->H, &fail); /* (L, B, H) */
        b->cx = alloc3(d->L, d->B, d->H, &fail); /* (L, B, H) */
    }
    if (fail) {
        nnb_lstm_infer_bufs_free(b);
        return nnb_fail(err, err_len, "out of memory for inference buffers (T=%lld B=%lld I=%lld H=%lld L=%lld)",
                        (long long)d->T, (long long)d->B, (long long)d->I, (long long)d->H, (long long)d->L);
    }
    return 0;
}

void nnb_lstm_infer_bufs_free(nnb_lstm_infer_bufs *b) {
    if (!b)
        return;
    float *bufs[] = {b->x, b->hx, b->cx, b->y, b->hy, b->cy};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        nnb_free(bufs[i]);
    memset(b, 0, sizeof *b);
}

int nnb_lstm_infer_check_batch(const nnb_lstm_data *d, int64_t n, const char *runner, char *err, size_t err_len) {
    if (n >= 1 && n <= d->B)
        return 0;
    return nnb_fail(err, err_len, "%s: infer: batch n=%lld outside 1..B=%lld (the batch it was created for)", runner,
                    (long long)n, (long long)d->B);
}

void nnb_lstm_pack_columns(const float *src, int64_t rows, int64_t B, int64_t W, int64_t n, float *dst) {
    const size_t bytes = sizeof(float) * (size_t)(n * W);
    for (int64_t r = 0; r < rows; r++)
        memcpy(dst + r * n * W, src + r * B * W, bytes);
}

void nnb_lstm_infer_inputs(nnb_lstm_infer_bufs *b, const nnb_lstm_data *d, int64_t n, const float **x, const float **hx,
                           const float **cx) {
    const int packed = n < d->B;
    *x = d->x, *hx = d->hx, *cx = d->cx;
    if (packed && b->x) {
        nnb_lstm_pack_columns(d->x, d->T, d->B, d->I, n, b->x);
        *x = b->x;
    }
    if (packed && b->hx) {
        nnb_lstm_pack_columns(d->hx, d->L, d->B, d->H, n, b->hx);
        nnb_lstm_pack_columns(d->cx, d->L, d->B, d->H, n, b->cx);
        *hx = b->hx, *cx = b->cx;
    }
}

static void set_view(nnb_tensor *t, const char *name, const float *data, int64_t d0, int64_t d1, int64_t d2) {
    memset(t, 0, sizeof *t);
    t->name = name;
    t->dtype = NNB_F32;
    t->ndim = 3;
    t->shape[0] = d0, t->shape[1] = d1, t->shape[2] = d2;
    t->data = data;
}

void nnb_lstm_infer_done(nnb_lstm_infer_bufs *b, const nnb_lstm_data *d, int64_t n) {
    b->n = n;
    set_view(&b->views[0], "y", b->y, d->T, n, d->H);
    set_view(&b->views[1], "hy", b->hy, d->L, n, d->H);
    set_view(&b->views[2], "cy", b->cy, d->L, n, d->H);
}

nnb_tensor_list nnb_lstm_infer_outputs(const nnb_lstm_infer_bufs *b) {
    nnb_tensor_list l = {b->n > 0 ? 3 : 0, b->views};
    return l;
}

/* ------------------------------------------------------------------ load_param */

/* "(52, 11)" */
static const char *shape_text(const nnb_tensor *t, char *buf, size_t len) {
    size_t used = 0;
    nnb_appendf(buf, len, &used, "(");
    for (int i = 0; i < t->ndim && i < NNB_MAX_DIMS; i++)
        nnb_appendf(buf, len, &used, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
    nnb_appendf(buf, len, &used, "%s)", t->ndim == 1 ? "," : "");
    return buf;
}

static int same_layout(const nnb_tensor *a, const nnb_tensor *b) {
    if (a->dtype != b->dtype || a->ndim != b->ndim)
        return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i])
            return 0;
    return 1;
}

/* w_ih_l3 -> kind, layer 3; -1 when the name is not a parameter name of this form. */
static int parse_param_name(const char *name, nnb_lstm_param_kind *kind, int64_t *layer) {
    static const char *const prefixes[] = {"w_ih_l", "w_hh_l", "b_ih_l", "b_hh_l"};
    for (int k = 0; k < 4; k++) {
        size_t len = strlen(prefixes[k]);
        if (strncmp(name, prefixes[k], len))
            continue;
        const char *p = name + len;
        int64_t v = 0;
        if (!*p)
            return -1;
        for (; *p; p++) {
            if (*p < '0' || *p > '9' || v > (INT64_MAX - 9) / 10)
                return -1;
            v = v * 10 + (*p - '0');
        }
        *kind = (nnb_lstm_param_kind)k;
        *layer = v;
        return 0;
    }
    return -1;
}

static const nnb_tensor *find_view(const nnb_lstm_data *d, const char *name) {
    nnb_tensor_list p = nnb_lstm_data_params(d);
    for (int i = 0; i < p.count; i++)
        if (!strcmp(p.items[i].name, name))
            return &p.items[i];
    return NULL;
}

int nnb_lstm_param_lookup(const nnb_lstm_data *d, const nnb_tensor *value, const char *runner, float **dst,
                          int64_t *layer, nnb_lstm_param_kind *kind, size_t *count, char *err, size_t err_len) {
    if (!value || !value->name)
        return nnb_fail(err, err_len, "%s: load_param: no tensor (or a tensor without a name) given", runner);
    char loadable[96];
    snprintf(loadable, sizeof loadable, "loadable: w_ih_l{k}, w_hh_l{k}, b_ih_l{k}, b_hh_l{k}, k = 0..%lld",
             (long long)(d->L - 1));
    const nnb_tensor *own = find_view(d, value->name);
    if (parse_param_name(value->name, kind, layer) || *layer >= d->L || !own) {
        if (own) /* x, hx, cx, grad_y, lengths */
            return nnb_fail(err, err_len, "%s: load_param: '%s' is an input, not a parameter (%s)", runner, value->name,
                            loadable);
        return nnb_fail(err, err_len, "%s: load_param: no parameter '%s' (%s)", runner, value->name, loadable);
    }
    if (!same_layout(own, value)) {
        char given[128], mine[128];
        return nnb_fail(err, err_len, "%s: load_param: %s: given %s %s, the model's is %s %s", runner, value->name,
                        nnb_dtype_name(value->dtype), shape_text(value, given, sizeof given),
                        nnb_dtype_name(own->dtype), shape_text(own, mine, sizeof mine));
    }
    if (!value->data)
        return nnb_fail(err, err_len, "%s: load_param: %s: no data", runner, value->name);
    float **arrays[] = {d->w_ih, d->w_hh, d->b_ih, d->b_hh};
    *dst = arrays[*kind][*layer];
    *count = 1;
    for (int i = 0; i < own->ndim; i++)
        *count *= (size_t)own->shape[i];
    return 0;
}

int nnb_lstm_load_param(nnb_lstm_data *d, const nnb_tensor *value, const char *runner, int64_t *layer,
                        nnb_lstm_param_kind *kind, char *err, size_t err_len) {
    float *dst;
    size_t count;
    if (nnb_lstm_param_lookup(d, value, runner, &dst, layer, kind, &count, err, err_len))
        return -1;
    memmove(dst, value->data, sizeof(float) * count); /* memmove: a caller may hand back params()' own view */
    return 0;
}
