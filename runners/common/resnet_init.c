/* Seeded ResNet tensors: see resnet_init.h. */
#include "resnet_init.h"

#include "nnb_precision.h"
#include "nnb_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fill_constant(float *dst, size_t n, float v) {
    for (size_t i = 0; i < n; i++)
        dst[i] = v;
}

void nnb_resnet_init_param(const nnb_resnet_arch *a, int index, float *dst, uint64_t seed) {
    const nnb_resnet_param *p = &a->params[index];
    switch (p->kind) {
    case NNB_RESNET_CONV_WEIGHT: {
        /* Kaiming normal, mode fan_out, ReLU gain sqrt(2): fan_out = out_c * k * k. */
        float std = (float)sqrt(2.0 / (double)(p->shape[0] * p->shape[2] * p->shape[3]));
        nnb_fill_normal(dst, p->count, seed, p->name);
        for (size_t i = 0; i < p->count; i++)
            dst[i] *= std;
        break;
    }
    case NNB_RESNET_BN_WEIGHT:
    case NNB_RESNET_BN_RUNNING_VAR: fill_constant(dst, p->count, 1.0f); break;
    case NNB_RESNET_BN_BIAS:
    case NNB_RESNET_BN_RUNNING_MEAN: fill_constant(dst, p->count, 0.0f); break;
    case NNB_RESNET_FC_WEIGHT:
    case NNB_RESNET_FC_BIAS: {
        /* nn.Linear default: both bounded by 1/sqrt(fan_in), fan_in = fc.weight's second dim. */
        const nnb_resnet_layer *l = &a->layers[p->layer];
        float bound = (float)(1.0 / sqrt((double)l->in.c));
        nnb_fill_uniform(dst, p->count, seed, p->name, -bound, bound);
        break;
    }
    }
}

void nnb_resnet_init_params(const nnb_resnet_arch *a, float *dst, uint64_t seed) {
    for (int i = 0; i < a->num_params; i++)
        nnb_resnet_init_param(a, i, dst + a->params[i].offset, seed);
}

void nnb_resnet_init_input(const nnb_resnet_arch *a, float *x, uint64_t seed) {
    nnb_fill_normal(x, nnb_resnet_shape_count(a->acts[0]), seed, "x");
}

void nnb_resnet_init_grad_logits(const nnb_resnet_arch *a, float *grad_logits, uint64_t seed) {
    nnb_fill_normal(grad_logits, (size_t)a->batch * NNB_RESNET_CLASSES, seed, "grad_logits");
}

int nnb_resnet_alloc_host(const nnb_resnet_arch *a, uint64_t seed, float **params, float **grads, float **x,
                          float **grad_logits, float **logits, float **dx) {
    size_t nx = nnb_resnet_shape_count(a->acts[0]), nl = nnb_resnet_shape_count(a->acts[a->num_acts - 1]);
    *params = nnb_alloc_floats(a->param_floats);
    *grads = nnb_alloc_floats(a->param_floats);
    *x = nnb_alloc_floats(nx);
    *dx = nnb_alloc_floats(nx);
    *grad_logits = nnb_alloc_floats(nl);
    *logits = nnb_alloc_floats(nl);
    if (!*params || !*grads || !*x || !*dx || !*grad_logits || !*logits)
        return -1;
    nnb_resnet_init_params(a, *params, seed);
    nnb_resnet_init_input(a, *x, seed);
    nnb_resnet_init_grad_logits(a, *grad_logits, seed);
    return 0;
}

static nnb_tensor tensor(const char *name, const float *data, int ndim, const int64_t *shape) {
    nnb_tensor t;
    memset(&t, 0, sizeof t);
    t.name = name;
    t.dtype = NNB_F32;
    t.ndim = ndim;
    for (int i = 0; i < ndim; i++)
        t.shape[i] = shape[i];
    t.data = data;
    return t;
}

int nnb_resnet_tensor_lists(const nnb_resnet_arch *a, const float *params, const float *grads, const float *x,
                            const float *grad_logits, const float *logits, const float *dx, nnb_tensor **in, int *n_in,
                            nnb_tensor **out, int *n_out) {
    *in = calloc((size_t)a->num_params + 2, sizeof **in);
    *out = calloc((size_t)a->num_params + 2, sizeof **out);
    if (!*in || !*out)
        return -1;
    const nnb_resnet_shape x0 = a->acts[0], y = a->acts[a->num_acts - 1];
    int64_t xs[4] = {x0.n, x0.c, x0.h, x0.w}, ls[2] = {y.n, y.c};
    int ni = 0, no = 0;
    (*in)[ni++] = tensor("x", x, 4, xs);
    (*in)[ni++] = tensor("grad_logits", grad_logits, 2, ls);
    (*out)[no++] = tensor("logits", logits, 2, ls);
    (*out)[no++] = tensor("dx", dx, 4, xs);
    for (int i = 0; i < a->num_params; i++) {
        const nnb_resnet_param *p = &a->params[i];
        if (p->learnable) {
            (*in)[ni++] = tensor(p->name, params + p->offset, p->ndim, p->shape);
            (*out)[no++] = tensor(p->grad_name, grads + p->offset, p->ndim, p->shape);
        }
    }
    for (int i = 0; i < a->num_params; i++) {
        const nnb_resnet_param *p = &a->params[i];
        if (!p->learnable)
            (*out)[no++] = tensor(p->name, params + p->offset, p->ndim, p->shape);
    }
    *n_in = ni;
    *n_out = no;
    return 0;
}

int nnb_resnet_infer_tensor_list(const nnb_resnet_arch *a, const float *params, const float *logits, nnb_tensor **out,
                                 int *n_out) {
    *out = calloc((size_t)a->num_params + 1, sizeof **out);
    if (!*out)
        return -1;
    const nnb_resnet_shape y = a->acts[a->num_acts - 1];
    int64_t ls[2] = {y.n, y.c};
    int no = 0;
    (*out)[no++] = tensor("logits", logits, 2, ls);
    for (int i = 0; i < a->num_params; i++) {
        const nnb_resnet_param *p = &a->params[i];
        if (!p->learnable)
            (*out)[no++] = tensor(p->name, params + p->offset, p->ndim, p->shape);
    }
    *n_out = no;
    return 0;
}

int nnb_resnet_load_param_index(const nnb_resnet_arch *a, const char *runner, const nnb_tensor *v, char *err,
                                size_t err_len) {
    if (!v || !v->name)
        return nnb_fail(err, err_len, "%s: load_param: no tensor (or no name) given", runner);
    if (!strcmp(v->name, "x") || !strcmp(v->name, "grad_logits"))
        return nnb_fail(err, err_len, "%s: load_param '%s': an input of the benchmark, not a loadable parameter",
                        runner, v->name);
    int k = nnb_resnet_find_param(a, v->name);
    if (k < 0)
        return nnb_fail(err, err_len,
                        "%s: load_param '%.64s': no such parameter (torchvision state_dict keys, e.g. "
                        "conv1.weight, bn1.running_mean)",
                        runner, v->name);
    const nnb_resnet_param *p = &a->params[k];
    if (nnb_check_param_value(runner, p->name, p->ndim, p->shape, v, err, err_len))
        return -1;
    return k;
}

void nnb_resnet_round_to_precision(const nnb_resnet_arch *a, int precision, float *params, float *x) {
    nnb_round_to_precision(x, nnb_resnet_shape_count(a->acts[0]), precision);
    for (int i = 0; i < a->num_params; i++) {
        const nnb_resnet_param *p = &a->params[i];
        if (p->kind == NNB_RESNET_CONV_WEIGHT || p->kind == NNB_RESNET_FC_WEIGHT || p->kind == NNB_RESNET_FC_BIAS)
            nnb_round_to_precision(params + p->offset, p->count, precision);
    }
}
