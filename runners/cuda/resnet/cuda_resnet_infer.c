/* CUDA ResNet runners: ABI 1.2 inference (cuda_resnet.h). */
#include "cuda_resnet.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ inference */

/* Where infer keeps activation a: the input buffer, the logits buffer, or its slot. */
static void *infer_act(const cuda_resnet_model *m, int a) {
    if (a == 0)
        return m->acts[0];
    if (a == m->arch.num_acts - 1)
        return m->infer_logits;
    return m->infer_slot[a] >= 0 ? m->infer_buf[m->infer_slot[a]] : NULL;
}

/* Activation a's elements at batch n. */
static size_t infer_count(const cuda_resnet_model *m, int a, int64_t n) {
    return act_count(m, a) / (size_t)m->arch.batch * (size_t)n;
}

/* Forward algorithm of convolution class k at batch n (n < N): cuDNN's heuristics, first acceptable result whose
 * workspace fits the model's one workspace; the create-time (measured) choice when none does and it fits. */
static int choose_infer_algo(cuda_resnet_model *m, int k, cudnnTensorDescriptor_t xd, cudnnTensorDescriptor_t yd,
                             cudnnConvolutionFwdAlgo_t *algo, int64_t n, char *err, size_t err_len) {
    const conv_algos *c = &m->convs[k];
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int returned = 0;
    size_t ws = 0;
    NNB_CUDNN_TRY(cudnnGetConvolutionForwardAlgorithm_v7(m->cudnn, xd, c->filter, c->conv, yd,
                                                         CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &returned, perf));
    for (int i = 0; i < returned; i++)
        if (cuda_resnet_acceptable(m, perf[i].status, perf[i].memory, perf[i].mathType) &&
            chosen_math(m, perf[i].mathType) == c->math_fwd && /* the forward descriptor's math type, as chosen */
            perf[i].memory <= m->workspace_bytes &&
            cudnnGetConvolutionForwardWorkspaceSize(m->cudnn, xd, c->filter, c->conv, yd, perf[i].algo, &ws) ==
                CUDNN_STATUS_SUCCESS &&
            ws <= m->workspace_bytes) {
            *algo = perf[i].algo;
            return 0;
        }
    if (cudnnGetConvolutionForwardWorkspaceSize(m->cudnn, xd, c->filter, c->conv, yd, c->fwd, &ws) ==
            CUDNN_STATUS_SUCCESS &&
        ws <= m->workspace_bytes) {
        *algo = c->fwd;
        return 0;
    }
    const nnb_plan_conv *g = &m->plan.convs[k];
    return nnb_fail(err, err_len,
                    "%s: infer(n = %lld): no cuDNN forward algorithm for conv %dx%d stride %d, %d -> %d channels fits "
                    "the %zu-byte workspace (tf32 %s)",
                    m->name, (long long)n, g->r, g->r, g->stride, g->c, g->k, m->workspace_bytes,
                    m->tf32 ? "on" : "off");
}

/* The plan of infer(n), built on first use: descriptors at batch n for every activation infer touches, and
 * the forward algorithm of every convolution class. Host-only cuDNN calls. */
static int infer_plan_for(cuda_resnet_model *m, int64_t n, infer_plan **out, char *err, size_t err_len) {
    const nnb_resnet_plan *p = &m->plan;
    infer_plan *ip = &m->infer_plans[n];
    *out = ip;
    if (ip->ready)
        return 0;
    if (!ip->td)
        ip->td = calloc((size_t)p->num_acts, sizeof *ip->td);
    if (!ip->fwd)
        ip->fwd = calloc((size_t)(p->num_conv_classes ? p->num_conv_classes : 1), sizeof *ip->fwd);
    if (!ip->td || !ip->fwd)
        return nnb_fail(err, err_len, "out of host memory");
    for (int a = 0; a < p->num_acts; a++) {
        if (ip->td[a] || !infer_act(m, a) || !p->act_used[a])
            continue;
        nnb_plan_tensor t = p->act_desc[a];
        t.n = (int)n;
        if (cuda_resnet_set_tensor(&ip->td[a], &t, act_dtype(m, a), err, err_len))
            return -1;
    }
    for (int k = 0; k < p->num_conv_classes; k++) {
        if (n == m->arch.batch) { /* create measured these at N */
            ip->fwd[k] = m->convs[k].fwd;
            continue;
        }
        cudnnTensorDescriptor_t xd = NULL, yd = NULL;
        nnb_plan_tensor x = p->convs[k].x, y = p->convs[k].y;
        x.n = y.n = (int)n;
        int rc = cuda_resnet_set_tensor(&xd, &x, m->dtype, err, err_len) ||
                 cuda_resnet_set_tensor(&yd, &y, m->dtype, err, err_len) ||
                 choose_infer_algo(m, k, xd, yd, &ip->fwd[k], n, err, err_len);
        if (xd)
            cudnnDestroyTensorDescriptor(xd);
        if (yd)
            cudnnDestroyTensorDescriptor(yd);
        if (rc)
            return -1;
    }
    ip->ready = 1;
    m->infer_plans_built++;
    return 0;
}

static int infer_step(cuda_resnet_model *m, const infer_plan *ip, int i, int64_t n, char *err, size_t err_len) {
    const float one = 1.0f, zero = 0.0f;
    const nnb_plan_step *s = &m->plan.steps[i];
    const nnb_resnet_layer *l = &m->arch.layers[s->layer];
    void *x = infer_act(m, s->src), *y = infer_act(m, s->dst);
    cudnnTensorDescriptor_t xd = ip->td[s->src], yd = ip->td[s->dst];
    switch (s->op) {
    case NNB_STEP_SKIP: return 0;
    case NNB_STEP_CONV: {
        const conv_algos *c = &m->convs[s->conv_class];
        NNB_CUDNN_TRY(cudnnConvolutionForward(m->cudnn, &one, xd, x, c->filter, weight_ptr(m, s->layer, 0), c->conv,
                                              ip->fwd[s->conv_class], m->workspace, m->workspace_bytes, &zero, yd, y));
        return 0;
    }
    case NNB_STEP_BN:
        NNB_CUDNN_TRY(cudnnBatchNormalizationForwardInference(
            m->cudnn, CUDNN_BATCHNORM_SPATIAL, &one, &zero, xd, x, yd, y, m->bn_td[s->layer], param_ptr(m, s->layer, 0),
            param_ptr(m, s->layer, 1), param_ptr(m, s->layer, 2), param_ptr(m, s->layer, 3), NNB_RESNET_BN_EPS));
        return 0;
    case NNB_STEP_RELU: NNB_CUDNN_TRY(cudnnActivationForward(m->cudnn, m->relu, &one, xd, x, &zero, yd, y)); return 0;
    case NNB_STEP_MAXPOOL:
        NNB_CUDNN_TRY(cudnnPoolingForward(m->cudnn, m->maxpool, &one, xd, x, &zero, yd, y));
        return 0;
    case NNB_STEP_ADD:
        NNB_KERNEL_TRY(nnb_rk_add_st(&m->geo, m->stream, y, x, infer_act(m, s->src2),
                                     (long long)infer_count(m, s->dst, n), m->st));
        return 0;
    case NNB_STEP_AVGPOOL:
        NNB_KERNEL_TRY(nnb_rk_avgpool_fwd_st(&m->geo, m->stream, y, x, n * l->in.c, l->in.h * l->in.w, m->st));
        return 0;
    case NNB_STEP_FC: {
        nnb_plan_gemm g = m->plan.fc_fwd; /* logits^T (1000, n) = op_T(W) x^T (C, n) */
        g.n = (int)n;
        if (cuda_resnet_fc_gemm(m, &g, weight_ptr(m, s->layer, 0), x, 0.0f, y, CUDA_R_32F, err, err_len))
            return -1;
        NNB_KERNEL_TRY(nnb_rk_bias_add(&m->geo, m->stream, y, param_ptr(m, s->layer, 1), n, m->plan.fc_out));
        return 0;
    }
    case NNB_STEP_BN_RELU:
    case NNB_STEP_BN_ADD_RELU: {
        const nnb_resnet_layer *bn = &m->arch.layers[s->layer];
        NNB_KERNEL_TRY(nnb_rk_bn_infer_st(&m->geo, m->stream, y, x, s->src2 >= 0 ? infer_act(m, s->src2) : NULL,
                                          param_ptr(m, s->layer, 0), param_ptr(m, s->layer, 1),
                                          param_ptr(m, s->layer, 2), param_ptr(m, s->layer, 3),
                                          (float)NNB_RESNET_BN_EPS, n, bn->out.c, bn->out.h * bn->out.w, 1, m->st));
        return 0;
    }
    }
    return nnb_fail(err, err_len, "%s: unknown plan step %d", m->name, (int)s->op);
}

int cuda_resnet_infer(void *vm, int64_t n, char *err, size_t err_len) {
    cuda_resnet_model *m = vm;
    infer_plan *ip = NULL;
    m->last_infer_n = 0;
    if (nnb_cuda_check_infer_n(m->name, n, m->arch.batch, err, err_len) || infer_plan_for(m, n, &ip, err, err_len))
        return -1;
    nnb_cuda_range_push(m->name, "infer");
    int rc = 0;
    for (int i = 0; i < m->plan.num_steps && !rc; i++)
        rc = infer_step(m, ip, i, n, err, err_len);
    nnb_cuda_range_pop();
    if (!rc)
        m->last_infer_n = n;
    return rc;
}

/* Input: x (N, 3, S, S), one row; output: the (N, 1000) inference logits, one row. */
int cuda_resnet_infer_io(void *vm, nnb_infer_io *io, char *err, size_t err_len) {
    cuda_resnet_model *m = vm;
    if (m->st != NNB_RK_F32)
        return nnb_fail(err, err_len,
                        "%s: infer_io hands out fp32 device buffers; with --dtype %s the input is %s (serve runs fp32 "
                        "and tf32)",
                        m->name, nnb_precision_name(m->precision), nnb_precision_name(m->precision));
    const nnb_resnet_shape x = m->arch.acts[0];
    size_t sample_in = (size_t)(x.c * x.h * x.w) * sizeof(float), sample_out = (size_t)m->plan.fc_out * sizeof(float);
    return nnb_cuda_fill_infer_io(m->name, io, m->acts[0], 1, 0, sample_in, m->infer_logits, 1, 0, sample_out, err,
                                  err_len);
}

/* A weight, bias or running statistic by its state_dict key, uploaded in stream order (after any infer in
 * flight), waited for. */
int cuda_resnet_load_param(void *vm, const nnb_tensor *value, char *err, size_t err_len) {
    cuda_resnet_model *m = vm;
    int k = nnb_resnet_load_param_index(&m->arch, m->name, value, err, err_len);
    if (k < 0)
        return -1;
    const nnb_resnet_param *p = &m->arch.params[k];
    memcpy(m->h_params + p->offset, value->data, p->count * sizeof(float));
    if (nnb_cuda_upload_on(m->stream, m->params + p->offset, value->data, p->count * sizeof(float), err, err_len))
        return -1;
    if (!m->params16) /* bf16/fp16: the copy the convolutions and the fc read, too (upload_on waited) */
        return 0;
    return nnb_cuda_upload_as(m->precision, (char *)m->params16 + p->offset * m->es, value->data, p->count, err,
                              err_len);
}
