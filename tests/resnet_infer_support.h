/*
 * What the ResNet inference tests share (ABI 1.2 infer and load_param): the eval-mode BatchNorm transform
 * that tools/pytorch_compare/resnet_infer_golden.py applies the same way, applied through load_param; the
 * logits of one infer(n); the normwise relative error. Static functions, included by each test.
 *
 * The transform, with k the channel's index over all BatchNorm channels in state_dict order (bn1 first):
 *   weight = 1 + 0.2 cos(k)   bias = 0.1 sin(2k)   running_mean = 0.1 sin(k)   running_var = 1 + 0.5 cos(k)^2
 * computed in double, rounded to float32. Non-trivial statistics and affine parameters, so an inference pass
 * that used batch statistics, skipped scale or shift, or swapped mean and variance is caught.
 */
#ifndef NNB_RESNET_INFER_SUPPORT_H
#define NNB_RESNET_INFER_SUPPORT_H

#include "resnet_arch.h"
#include "test_support.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static inline float ri_bn_value(nnb_resnet_param_kind kind, double k) {
    switch (kind) {
    case NNB_RESNET_BN_WEIGHT: return (float)(1.0 + 0.2 * cos(k));
    case NNB_RESNET_BN_BIAS: return (float)(0.1 * sin(2.0 * k));
    case NNB_RESNET_BN_RUNNING_MEAN: return (float)(0.1 * sin(k));
    case NNB_RESNET_BN_RUNNING_VAR: return (float)(1.0 + 0.5 * cos(k) * cos(k));
    default: return 0.0f;
    }
}

static inline int ri_is_bn(nnb_resnet_param_kind kind) {
    return kind == NNB_RESNET_BN_WEIGHT || kind == NNB_RESNET_BN_BIAS || kind == NNB_RESNET_BN_RUNNING_MEAN ||
           kind == NNB_RESNET_BN_RUNNING_VAR;
}

/* The transform's values of parameter p (p->count floats); k0 = its BatchNorm's first global channel. */
static inline void ri_bn_fill(const nnb_resnet_param *p, int64_t k0, float *dst) {
    for (size_t c = 0; c < p->count; c++)
        dst[c] = ri_bn_value(p->kind, (double)(k0 + (int64_t)c));
}

/* Every BatchNorm parameter of the model through load_param. 0, or -1 with err. */
static inline int ri_load_bn_transform(const nnb_runner_desc *d, void *m, const nnb_resnet_arch *a, char *err,
                                       size_t err_len) {
    int64_t k0 = 0;
    float *buf = NULL;
    int rc = 0;
    for (int i = 0; i < a->num_params && rc == 0; i++) {
        const nnb_resnet_param *p = &a->params[i];
        if (!ri_is_bn(p->kind))
            continue;
        float *grown = realloc(buf, p->count * sizeof *buf);
        if (!grown) {
            rc = -1;
            snprintf(err, err_len, "out of memory");
            break;
        }
        buf = grown;
        ri_bn_fill(p, k0, buf);
        nnb_tensor t = {.name = p->name, .dtype = NNB_F32, .ndim = p->ndim, .data = buf};
        memcpy(t.shape, p->shape, sizeof p->shape);
        rc = d->load_param(m, &t, err, err_len);
        if (p->kind == NNB_RESNET_BN_RUNNING_VAR) /* the last of a BatchNorm's four */
            k0 += (int64_t)p->count;
    }
    free(buf);
    return rc;
}

static inline const nnb_tensor *ri_find(nnb_tensor_list l, const char *name) {
    for (int i = 0; i < l.count; i++)
        if (!strcmp(l.items[i].name, name))
            return &l.items[i];
    return NULL;
}

static inline size_t ri_count(const nnb_tensor *t) {
    size_t n = 1;
    for (int d = 0; d < t->ndim; d++)
        n *= (size_t)t->shape[d];
    return n;
}

/* max|got - ref| / max|ref| */
static inline double ri_normwise(const float *got, const float *ref, size_t n) {
    double diff = 0, scale = 1e-30;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - (double)ref[i]);
        diff = isnan(e) ? INFINITY : fmax(diff, e);
        scale = fmax(scale, fabs((double)ref[i]));
    }
    return diff / scale;
}

/* infer(n), then outputs()' logits, which must be (n, 1000): copied into dst (n * 1000 floats). 0 or -1. */
static inline int ri_infer_logits(const nnb_runner_desc *d, void *m, int64_t n, float *dst) {
    char err[512] = "";
    nnb_tensor_list out;
    int rc = d->infer(m, n, err, sizeof err);
    CHECK_MSG(rc == 0, "%s infer(%lld): %s", d->name, (long long)n, err);
    if (rc || d->outputs(m, &out, err, sizeof err))
        return -1;
    const nnb_tensor *t = ri_find(out, "logits");
    int ok = t && t->dtype == NNB_F32 && t->ndim == 2 && t->shape[0] == n && t->shape[1] == NNB_RESNET_CLASSES;
    CHECK_MSG(ok, "%s: after infer(%lld) outputs() has no logits (%lld, 1000)", d->name, (long long)n, (long long)n);
    if (!ok)
        return -1;
    memcpy(dst, t->data, (size_t)n * NNB_RESNET_CLASSES * sizeof *dst);
    return 0;
}

#endif
