/* ResNet-18 / ResNet-50 plain C double-precision references: see resnet_ref.h. */
#include "resnet_ref.h"

#include "cnn_ref.h"
#include "nnb_support.h"
#include "resnet_init.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ref_model {
    nnb_resnet_arch arch;
    nnb_cnn_ref_net net;
    int threads;
    float *params, *grads, *x, *grad_logits, *logits, *dx; /* float views, as the other ResNet runners' */
    nnb_tensor *in_tensors, *out_tensors;
    int n_in, n_out;
} ref_model;

void nnb_resnet_ref_destroy(void *p) {
    ref_model *r = p;
    if (!r)
        return;
    nnb_cnn_ref_net_free(&r->net);
    nnb_free(r->params), nnb_free(r->grads), nnb_free(r->x), nnb_free(r->grad_logits), nnb_free(r->logits);
    nnb_free(r->dx);
    free(r->in_tensors), free(r->out_tensors);
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
    r->arch = *arch;
    memset(arch, 0, sizeof *arch);
    r->threads = cfg->threads;
    nnb_set_threads(cfg->threads);
    if (nnb_resnet_alloc_host(&r->arch, cfg->seed, &r->params, &r->grads, &r->x, &r->grad_logits, &r->logits, &r->dx) ||
        nnb_resnet_tensor_lists(&r->arch, r->params, r->grads, r->x, r->grad_logits, r->logits, r->dx, &r->in_tensors,
                                &r->n_in, &r->out_tensors, &r->n_out)) {
        nnb_fail(err, err_len, "%s: out of memory", name);
        goto fail;
    }
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
    size_t nx = nnb_resnet_shape_count(a->acts[0]), nl = nnb_resnet_shape_count(a->acts[a->num_acts - 1]);
    for (size_t i = 0; i < nl; i++)
        r->logits[i] = (float)r->net.acts[a->num_acts - 1][i];
    for (size_t i = 0; i < nx; i++)
        r->dx[i] = (float)r->net.dacts[0][i];
    for (int k = 0; k < a->num_params; k++) {
        const nnb_resnet_param *pp = &a->params[k];
        for (size_t i = pp->offset; i < pp->offset + pp->count; i++) {
            if (pp->learnable)
                r->grads[i] = (float)r->net.grads[i];
            else
                r->params[i] = (float)r->net.params[i]; /* running statistics after the step */
        }
    }
    out->count = r->n_out;
    out->items = r->out_tensors;
    return 0;
}

int nnb_resnet_ref_describe(void *p, char *buf, size_t len) {
    ref_model *r = p;
    int n = snprintf(buf, len,
                     "{\"library\":\"plain C (kernels/cnn_ref)\",\"precision\":\"double\",\"model\":\"resnet%d\","
                     "\"conv\":\"im2col + triple loop\",\"threads\":%d}",
                     r->arch.depth, r->threads);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

double nnb_resnet_ref_forward_flops(void *p) { return ((ref_model *)p)->arch.forward_flops; }
double nnb_resnet_ref_backward_flops(void *p) { return ((ref_model *)p)->arch.backward_flops; }
