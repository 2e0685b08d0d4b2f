/* ResNet-18 / ResNet-50 plain C double-precision references: see resnet_ref.h. */
#include "resnet_ref.h"

#include "cnn_ref.h"
#include "nnb_support.h"
#include "resnet_init.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ref_model {
    const char *name; /* static */
    nnb_resnet_arch arch;
    nnb_cnn_ref_net net;
    int threads;
    float *params, *grads, *x, *grad_logits, *logits, *dx; /* float views, as the other ResNet runners' */
    nnb_tensor *in_tensors, *out_tensors;
    int n_in, n_out;
    /* infer (eval mode): its logits, the outputs() list after it, and whether the last pass was one */
    double *infer_logits_d; /* (N, 1000), the first n rows written */
    float *infer_logits;    /* (N, 1000), the same rounded to float32 */
    nnb_tensor *infer_tensors;
    int n_infer, last_infer_n; /* 0: the last pass was a training forward (or none) */
} ref_model;

void nnb_resnet_ref_destroy(void *p) {
    ref_model *r = p;
    if (!r)
        return;
    nnb_cnn_ref_net_free(&r->net);
    nnb_free(r->params), nnb_free(r->grads), nnb_free(r->x), nnb_free(r->grad_logits), nnb_free(r->logits);
    nnb_free(r->dx);
    free(r->in_tensors), free(r->out_tensors), free(r->infer_tensors);
    nnb_free(r->infer_logits), free(r->infer_logits_d);
    nnb_resnet_arch_free(&r->arch);
    free(r);
}

void *nnb_resnet_ref_create_from_arch(nnb_resnet_arch *arch, const char *name, const nnb_config *cfg, char *err,
                                      size_t err_len) {
    ref_model *r = calloc(1, sizeof *r);
    if (!r) {
        nnb_resnet_arch_free(arch);
        nnb_fail(err, err_len, "%s: out of memory", name);
        return NULL;
    }
    r->name = name;
    r->arch = *arch;
    memset(arch, 0, sizeof *arch);
    r->threads = cfg->threads;
    nnb_set_threads(cfg->threads);
    if (nnb_resnet_alloc_host(&r->arch, cfg->seed, &r->params, &r->grads, &r->x, &r->grad_logits, &r->logits, &r->dx) ||
        nnb_resnet_tensor_lists(&r->arch, r->params, r->grads, r->x, r->grad_logits, r->logits, r->dx, &r->in_tensors,
                                &r->n_in, &r->out_tensors, &r->n_out) ||
        !(r->infer_logits = nnb_alloc_floats(nnb_resnet_shape_count(r->arch.acts[r->arch.num_acts - 1]))) ||
        !(r->infer_logits_d =
              malloc(nnb_resnet_shape_count(r->arch.acts[r->arch.num_acts - 1]) * sizeof *r->infer_logits_d)) ||
        nnb_resnet_infer_tensor_list(&r->arch, r->params, r->infer_logits, &r->infer_tensors, &r->n_infer)) {
        nnb_fail(err, err_len, "%s: out of memory", name);
        goto fail;
    }
    nnb_resnet_round_to_precision(&r->arch, cfg->precision, r->params,
                                  r->x); /* ABI 1.3: fp32 math on the rounded data */
    if (nnb_cnn_ref_net_create(&r->net, &r->arch, err, err_len))
        goto fail;
    for (size_t i = 0; i < r->arch.param_floats; i++)
        r->net.params[i] = r->params[i];
    size_t nx = nnb_resnet_shape_count(r->arch.acts[0]);
    for (size_t i = 0; i < nx; i++)
        r->net.acts[0][i] = r->x[i];
    return r;
fail:
    nnb_resnet_ref_destroy(r);
    return NULL;
}

void *nnb_resnet_ref_create(const nnb_config *cfg, const char *name, char *err, size_t err_len) {
    if (nnb_check_fuser_executor(name, cfg, nnb_every_fuser, nnb_eager_only, err, err_len))
        return NULL;
    nnb_resnet_arch arch;
    if (nnb_resnet_arch_build(&arch, nnb_resnet_depth_from_name(name), cfg->cnn_batch, cfg->image_size, err, err_len))
        return NULL;
    return nnb_resnet_ref_create_from_arch(&arch, name, cfg, err, err_len);
}

int nnb_resnet_ref_forward(void *p, char *err, size_t err_len) {
    (void)err, (void)err_len;
    ref_model *r = p;
    nnb_set_threads(r->threads);
    nnb_cnn_ref_net_forward(&r->net);
    r->last_infer_n = 0;
    return 0;
}

/* Eval mode over the first n samples of x (torchvision's eval()): kernels/cnn_ref's infer, in buffers of its
 * own, so a training forward's activations and the running statistics stay as they are. */
int nnb_resnet_ref_infer(void *p, int64_t n, char *err, size_t err_len) {
    ref_model *r = p;
    nnb_set_threads(r->threads);
    char msg[256];
    if (nnb_cnn_ref_net_infer(&r->net, n, r->infer_logits_d, msg, sizeof msg))
        return nnb_fail(err, err_len, "%s: %s", r->name, msg);
    const nnb_resnet_shape y = r->arch.acts[r->arch.num_acts - 1]; /* (N, classes, 1, 1) */
    for (size_t i = 0; i < (size_t)n * (size_t)(y.c * y.h * y.w); i++)
        r->infer_logits[i] = (float)r->infer_logits_d[i];
    r->last_infer_n = (int)n;
    return 0;
}

/* Into both copies of the parameters: the float one params() shows and the double one the loops use. */
int nnb_resnet_ref_load_param(void *p, const nnb_tensor *value, char *err, size_t err_len) {
    ref_model *r = p;
    int k = nnb_resnet_load_param_index(&r->arch, r->name, value, err, err_len);
    if (k < 0)
        return -1;
    const nnb_resnet_param *pp = &r->arch.params[k];
    const float *v = value->data;
    for (size_t i = 0; i < pp->count; i++) {
        r->params[pp->offset + i] = v[i];
        r->net.params[pp->offset + i] = v[i];
    }
    return 0;
}

int nnb_resnet_ref_backward(void *p, char *err, size_t err_len) {
    ref_model *r = p;
    size_t n = nnb_resnet_shape_count(r->arch.acts[r->arch.num_acts - 1]);
    double *g = malloc(n * sizeof *g);
    if (!g)
        return nnb_fail(err, err_len, "out of memory");
    for (size_t i = 0; i < n; i++)
        g[i] = r->grad_logits[i];
    nnb_set_threads(r->threads);
    nnb_cnn_ref_net_backward(&r->net, g);
    free(g);
    return 0;
}

int nnb_resnet_ref_params(void *p, nnb_tensor_list *out, char *err, size_t err_len) {
    (void)err, (void)err_len;
    ref_model *r = p;
    out->count = r->n_in;
    out->items = r->in_tensors;
    return 0;
}

int nnb_resnet_ref_outputs(void *p, nnb_tensor_list *out, char *err, size_t err_len) {
    (void)err, (void)err_len;
    ref_model *r = p;
    const nnb_resnet_arch *a = &r->arch;
    for (int k = 0; k < a->num_params; k++) { /* running statistics as the last training forward left them */
        const nnb_resnet_param *pp = &a->params[k];
        for (size_t i = pp->offset; !pp->learnable && i < pp->offset + pp->count; i++)
            r->params[i] = (float)r->net.params[i];
    }
    if (r->last_infer_n) { /* logits (n, 1000) and the running statistics, which infer leaves as they are */
        r->infer_tensors[0].shape[0] = r->last_infer_n;
        out->count = r->n_infer;
        out->items = r->infer_tensors;
        return 0;
    }
    size_t nx = nnb_resnet_shape_count(a->acts[0]), nl = nnb_resnet_shape_count(a->acts[a->num_acts - 1]);
    for (size_t i = 0; i < nl; i++)
        r->logits[i] = (float)r->net.acts[a->num_acts - 1][i];
    for (size_t i = 0; i < nx; i++)
        r->dx[i] = (float)r->net.dacts[0][i];
    for (int k = 0; k < a->num_params; k++) {
        const nnb_resnet_param *pp = &a->params[k];
        for (size_t i = pp->offset; pp->learnable && i < pp->offset + pp->count; i++)
            r->grads[i] = (float)r->net.grads[i];
    }
    out->count = r->n_out;
    out->items = r->out_tensors;
    return 0;
}

int nnb_resnet_ref_describe(void *p, char *buf, size_t len) {
    ref_model *r = p;
    int n = snprintf(buf, len,
                     "{\"library\":\"plain C (kernels/cnn_ref)\",\"precision\":\"double\",\"model\":\"resnet%d\","
                     "\"conv\":\"im2col + triple loop\",\"infer\":\"eval mode: BatchNorm with the running "
                     "statistics, plain loops in buffers of its own\",\"infer_buffers\":%d,\"threads\":%d}",
                     r->arch.depth, r->net.infer_num_slots, r->threads);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

double nnb_resnet_ref_forward_flops(void *p) { return ((ref_model *)p)->arch.forward_flops; }
double nnb_resnet_ref_backward_flops(void *p) { return ((ref_model *)p)->arch.backward_flops; }
