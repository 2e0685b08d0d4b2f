#include "check.h"

#include "precision.h"

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double nnb_default_tolerance(const nnb_config *cfg, const char *group) {
    double k;
    if (group && !strcmp(group, NNB_GROUP_CNNS))
        k = 3.0 * 3.0 * 512.0 * (double)cfg->cnn_batch; /* widest conv reduction, batch-norm over N */
    else
        k = (double)(cfg->input_size + cfg->hidden_size) * (double)(cfg->seq_length > 0 ? cfg->seq_length : 100) *
            (double)cfg->num_layers;
    double tol = 8.0 * FLT_EPSILON * sqrt(k);
    return tol < 1e-4 ? 1e-4 : tol;
}

static const nnb_tensor *find_tensor(const nnb_tensor_list *l, const char *name) {
    for (int i = 0; i < l->count; i++)
        if (!strcmp(l->items[i].name, name))
            return &l->items[i];
    return NULL;
}

static int64_t element_count(const nnb_tensor *t) {
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++)
        n *= t->shape[d];
    return n;
}

static int same_shape(const nnb_tensor *a, const nnb_tensor *b) {
    if (a->ndim != b->ndim || a->dtype != b->dtype)
        return 0;
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] != b->shape[d])
            return 0;
    return 1;
}

static double element(const nnb_tensor *t, int64_t i) {
    switch (t->dtype) {
    case NNB_F32: return ((const float *)t->data)[i];
    case NNB_F64: return ((const double *)t->data)[i];
    case NNB_I64: return (double)((const int64_t *)t->data)[i];
    case NNB_I32: return ((const int32_t *)t->data)[i];
    }
    return 0;
}

static size_t dtype_size(nnb_dtype d) { return d == NNB_F32 || d == NNB_I32 ? 4 : 8; }

int nnb_compare_tensors(const nnb_tensor_list *ref, const nnb_tensor_list *got, double tol, nnb_tensor_check **checks,
                        int *count, char *err, size_t err_len) {
    return nnb_compare_tensors_l2_grads(ref, got, tol, 0, checks, count, err, err_len);
}

int nnb_compare_tensors_l2_grads(const nnb_tensor_list *ref, const nnb_tensor_list *got, double tol, double grad_tol,
                                 nnb_tensor_check **checks, int *count, char *err, size_t err_len) {
    *checks = calloc((size_t)(got->count > 0 ? got->count : 1), sizeof **checks);
    *count = 0;
    if (!*checks) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    int failing = 0;
    for (int i = 0; i < got->count; i++) {
        const nnb_tensor *g = &got->items[i];
        const nnb_tensor *r = find_tensor(ref, g->name);
        if (!r) {
            snprintf(err, err_len, "reference has no tensor '%s'", g->name);
            return -1;
        }
        if (!same_shape(r, g)) {
            snprintf(err, err_len, "tensor '%s' has another shape or type than the reference's", g->name);
            return -1;
        }
        double max_ref = 0, max_abs = 0, sq_diff = 0, sq_ref = 0;
        int64_t n = element_count(g);
        int nan_seen = 0;
        for (int64_t e = 0; e < n; e++) {
            double rv = element(r, e), gv = element(g, e);
            double diff = fabs(gv - rv);
            if (isnan(diff))
                nan_seen = 1;
            if (diff > max_abs)
                max_abs = diff;
            if (fabs(rv) > max_ref)
                max_ref = fabs(rv);
            sq_diff += diff * diff;
            sq_ref += rv * rv;
        }
        nnb_tensor_check *c = &(*checks)[(*count)++];
        snprintf(c->name, sizeof c->name, "%s", g->name);
        c->max_abs_err = nan_seen ? NAN : max_abs;
        c->max_rel_err = nan_seen ? NAN : max_abs / (max_ref > 1e-30 ? max_ref : 1e-30);
        c->l2_rel_err = nan_seen ? NAN : sqrt(sq_diff) / (sq_ref > 1e-60 ? sqrt(sq_ref) : 1e-30);
        c->l2 = grad_tol > 0 && g->name[0] == 'd';
        c->tolerance = c->l2 ? grad_tol : tol;
        c->pass = !nan_seen && (c->l2 ? c->l2_rel_err : c->max_rel_err) <= c->tolerance;
        if (!c->pass)
            failing++;
    }
    return failing;
}

int nnb_compare_params(const nnb_tensor_list *ref, const nnb_tensor_list *got, char *err, size_t err_len) {
    for (int i = 0; i < got->count; i++) {
        const nnb_tensor *g = &got->items[i];
        const nnb_tensor *r = find_tensor(ref, g->name);
        if (!r)
            continue; /* a parameter the reference does not have */
        if (!same_shape(r, g) || memcmp(r->data, g->data, (size_t)element_count(g) * dtype_size(g->dtype)) != 0) {
            snprintf(err, err_len, "input '%s' differs from the reference's: runner does not use the seeded inputs",
                     g->name);
            return -1;
        }
    }
    return 0;
}

int nnb_run_once(const nnb_runner_desc *d, void *model, int with_backward, char *err, size_t err_len) {
    if (d->zero_grad && d->zero_grad(model, err, err_len))
        return -1;
    if (d->forward(model, err, err_len))
        return -1;
    if (!with_backward || !d->backward)
        return 0;
    if (d->backward_setup && d->backward_setup(model, err, err_len))
        return -1;
    return d->backward(model, err, err_len);
}

static void prefix_error(char *err, size_t err_len, const char *who) {
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s", err);
    snprintf(err, err_len, "%s: %s", who, tmp);
}

int nnb_check_runner(const nnb_runner_desc *runner, const nnb_runner_desc *reference, const nnb_config *cfg, double tol,
                     nnb_runner_result *result, char *err, size_t err_len) {
    char rname[96];
    snprintf(rname, sizeof rname, "reference %s", reference->name);
    int with_backward = runner->backward != NULL && reference->backward != NULL;
    if (!nnb_runner_supports_precision(reference, cfg->precision)) {
        snprintf(err, err_len,
                 "reference %s does not declare %s: a reference computes plainly on the rounded data and must "
                 "declare every precision (docs/precision.md)",
                 reference->name, nnb_precision_name(cfg->precision));
        return -1;
    }
    /* References are plain CPU runners: no CUDA executor or launch geometry. */
    nnb_config ref_cfg = *cfg;
    ref_cfg.executor = NULL;
    ref_cfg.cuda_pointwise_loop_level = ref_cfg.cuda_pointwise_block_count = ref_cfg.cuda_pointwise_block_size = 0;
    ref_cfg.cuda_stream = NULL;
    void *ref_model = reference->create(&ref_cfg, err, err_len);
    if (!ref_model) {
        prefix_error(err, err_len, rname);
        return -1;
    }
    void *model = NULL;
    int rc = -1;
    if (nnb_run_once(reference, ref_model, with_backward, err, err_len)) {
        prefix_error(err, err_len, rname);
        goto out;
    }
    model = runner->create(cfg, err, err_len);
    if (!model)
        goto out;
    if (nnb_run_once(runner, model, with_backward, err, err_len))
        goto out;

    nnb_tensor_list ref_params, got_params, ref_out, got_out;
    if (reference->params(ref_model, &ref_params, err, err_len) || runner->params(model, &got_params, err, err_len))
        goto out;
    if (nnb_compare_params(&ref_params, &got_params, err, err_len))
        goto out;
    if (reference->outputs(ref_model, &ref_out, err, err_len) || runner->outputs(model, &got_out, err, err_len))
        goto out;
    double runner_tol =
        runner->struct_size >= offsetof(nnb_runner_desc, check_tolerance) + sizeof(void *) && runner->check_tolerance
            ? runner->check_tolerance(cfg)
            : 0;
    int derived = tol <= 0;
    if (derived)
        tol = runner_tol > 0 ? runner_tol : nnb_default_tolerance(cfg, runner->group);
    /* L2-judged gradients: ten times the forward tolerance (see runner.h). */
    double grad_tol = runner->flags & NNB_FLAG_CHECK_GRADIENTS_L2 ? 10 * tol : 0;
    if (derived) /* tf32, bf16, fp16: at least the data's rounding allows (docs/precision.md) */
        nnb_precision_tolerances(cfg, runner->group, &tol, &grad_tol);
    free(result->checks);
    result->checks = NULL;
    int failing = nnb_compare_tensors_l2_grads(&ref_out, &got_out, tol, grad_tol, &result->checks, &result->check_count,
                                               err, err_len);
    if (failing < 0)
        goto out;
    result->checked = 1;
    result->check_pass = failing == 0;
    result->check_reference = reference->name;
    rc = 0;
out:
    if (model)
        runner->destroy(model);
    reference->destroy(ref_model);
    return rc;
}
