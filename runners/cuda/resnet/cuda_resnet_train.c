/* CUDA ResNet runners: the training step, forward then backward, one plan step at a time (cuda_resnet.h). */
#include "cuda_resnet.h"

/* One fc GEMM of the plan (g): cublasSgemm in fp32 and tf32; with 16-bit A and B cublasGemmEx, fp32 accumulation
 * (CUBLAS_COMPUTE_32F) and C of type c_type (fp32 logits and weight gradient, 16-bit input gradient). */
int cuda_resnet_fc_gemm(cuda_resnet_model *m, const nnb_plan_gemm *g, const void *A, const void *B, float beta, void *C,
                        cudaDataType c_type, char *err, size_t err_len) {
    const float one = 1.0f;
    cublasOperation_t ta = g->transa ? CUBLAS_OP_T : CUBLAS_OP_N, tb = g->transb ? CUBLAS_OP_T : CUBLAS_OP_N;
    if (m->st == NNB_RK_F32)
        NNB_CUBLAS_TRY(cublasSgemm(m->cublas, ta, tb, g->m, g->n, g->k, &one, (const float *)A, g->lda,
                                   (const float *)B, g->ldb, &beta, (float *)C, g->ldc));
    else
        NNB_CUBLAS_TRY(cublasGemmEx(m->cublas, ta, tb, g->m, g->n, g->k, &one, A, m->ab, g->lda, B, m->ab, g->ldb,
                                    &beta, C, c_type, g->ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    return 0;
}

/* ------------------------------------------------------------ forward */

static int conv_forward(cuda_resnet_model *m, const nnb_plan_step *s, char *err, size_t err_len) {
    const float one = 1.0f, zero = 0.0f;
    const conv_algos *c = &m->convs[s->conv_class];
    NNB_CUDNN_TRY(cudnnConvolutionForward(m->cudnn, &one, m->act_td[s->src], m->acts[s->src], c->filter,
                                          weight_ptr(m, s->layer, 0), c->conv, c->fwd, m->workspace, m->workspace_bytes,
                                          &zero, m->act_td[s->dst], m->acts[s->dst]));
    return 0;
}

/* Plain BN training forward of layer l from act src into act dst (also the fallback of fused steps). */
static int bn_forward(cuda_resnet_model *m, int l, int src, int dst, char *err, size_t err_len) {
    const float one = 1.0f, zero = 0.0f;
    NNB_CUDNN_TRY(cudnnBatchNormalizationForwardTraining(
        m->cudnn, CUDNN_BATCHNORM_SPATIAL, &one, &zero, m->act_td[src], m->acts[src], m->act_td[dst], m->acts[dst],
        m->bn_td[l], param_ptr(m, l, 0), param_ptr(m, l, 1), NNB_RESNET_BN_MOMENTUM, param_ptr(m, l, 2),
        param_ptr(m, l, 3), NNB_RESNET_BN_EPS, save_mean(m, l), save_invstd(m, l)));
    return 0;
}

static int fc_forward(cuda_resnet_model *m, const nnb_plan_step *s, char *err, size_t err_len) {
    if (cuda_resnet_fc_gemm(m, &m->plan.fc_fwd, weight_ptr(m, s->layer, 0), m->acts[s->src], 0.0f, m->acts[s->dst],
                            CUDA_R_32F, err, err_len))
        return -1;
    NNB_KERNEL_TRY(
        nnb_rk_bias_add(&m->geo, m->stream, m->acts[s->dst], param_ptr(m, s->layer, 1), m->plan.batch, m->plan.fc_out));
    return 0;
}

static int fused_forward(cuda_resnet_model *m, const nnb_plan_step *s, int step, char *err, size_t err_len) {
    int l = s->layer;
    if (m->bn_ex) {
        NNB_CUDNN_TRY(cuda_resnet_fused_forward_ex(m, s, step, param_ptr(m, l, 2), param_ptr(m, l, 3)));
        return 0;
    }
    if (bn_forward(m, l, s->src, s->dst, err, err_len))
        return -1;
    NNB_KERNEL_TRY(nnb_rk_add_relu_st(&m->geo, m->stream, m->acts[s->dst], s->src2 >= 0 ? m->acts[s->src2] : NULL,
                                      (long long)act_count(m, s->dst), m->st));
    return 0;
}

static int forward_step(cuda_resnet_model *m, int i, char *err, size_t err_len) {
    const float one = 1.0f, zero = 0.0f;
    const nnb_plan_step *s = &m->plan.steps[i];
    const nnb_resnet_layer *l = &m->arch.layers[s->layer];
    switch (s->op) {
    case NNB_STEP_SKIP: return 0;
    case NNB_STEP_CONV: return conv_forward(m, s, err, err_len);
    case NNB_STEP_BN: return bn_forward(m, s->layer, s->src, s->dst, err, err_len);
    case NNB_STEP_RELU:
        NNB_CUDNN_TRY(cudnnActivationForward(m->cudnn, m->relu, &one, m->act_td[s->src], m->acts[s->src], &zero,
                                             m->act_td[s->dst], m->acts[s->dst]));
        return 0;
    case NNB_STEP_MAXPOOL:
        NNB_CUDNN_TRY(cudnnPoolingForward(m->cudnn, m->maxpool, &one, m->act_td[s->src], m->acts[s->src], &zero,
                                          m->act_td[s->dst], m->acts[s->dst]));
        return 0;
    case NNB_STEP_ADD:
        NNB_KERNEL_TRY(nnb_rk_add_st(&m->geo, m->stream, m->acts[s->dst], m->acts[s->src], m->acts[s->src2],
                                     (long long)act_count(m, s->dst), m->st));
        return 0;
    case NNB_STEP_AVGPOOL:
        NNB_KERNEL_TRY(nnb_rk_avgpool_fwd_st(&m->geo, m->stream, m->acts[s->dst], m->acts[s->src], l->in.n * l->in.c,
                                             l->in.h * l->in.w, m->st));
        return 0;
    case NNB_STEP_FC: return fc_forward(m, s, err, err_len);
    case NNB_STEP_BN_RELU:
    case NNB_STEP_BN_ADD_RELU: return fused_forward(m, s, i, err, err_len);
    }
    return nnb_fail(err, err_len, "%s: unknown plan step %d", m->name, (int)s->op);
}

int cuda_resnet_forward(void *vm, char *err, size_t err_len) {
    cuda_resnet_model *m = vm;
    m->last_infer_n = 0;
    nnb_cuda_range_push(m->name, "forward");
    int rc = 0;
    for (int i = 0; i < m->plan.num_steps && !rc; i++)
        rc = forward_step(m, i, err, err_len);
    nnb_cuda_range_pop();
    return rc;
}

/* ------------------------------------------------------------ backward */

static int conv_backward(cuda_resnet_model *m, const nnb_plan_step *s, char *err, size_t err_len) {
    const float one = 1.0f, zero = 0.0f, beta = beta_of(s->src_grad);
    const conv_algos *c = &m->convs[s->conv_class];
    NNB_CUDNN_TRY(cudnnConvolutionBackwardData(m->cudnn, &one, c->filter, weight_ptr(m, s->layer, 0), m->act_td[s->dst],
                                               grad_of(m, s->dst), c->conv_bwd_data, c->bwd_data, m->workspace,
                                               m->workspace_bytes, &beta, m->act_td[s->src], grad_of(m, s->src)));
    NNB_CUDNN_TRY(cudnnConvolutionBackwardFilter(m->cudnn, &one, m->act_td[s->src], m->acts[s->src], m->act_td[s->dst],
                                                 grad_of(m, s->dst), c->conv_bwd_filter, c->bwd_filter, m->workspace,
                                                 m->workspace_bytes, &zero, c->filter, conv_grad_ptr(m, s->layer)));
    return 0;
}

/* Plain BN backward of layer l: dy is the gradient of act dy_act, x = acts[src]. */
static int bn_backward(cuda_resnet_model *m, int l, int src, int dy_act, nnb_grad_mode mode, char *err,
                       size_t err_len) {
    const float one = 1.0f, zero = 0.0f, beta = beta_of(mode);
    NNB_CUDNN_TRY(cudnnBatchNormalizationBackward(
        m->cudnn, CUDNN_BATCHNORM_SPATIAL, &one, &beta, &one, &zero, m->act_td[src], m->acts[src], m->act_td[dy_act],
        grad_of(m, dy_act), m->act_td[src], grad_of(m, src), m->bn_td[l], param_ptr(m, l, 0), grad_ptr(m, l, 0),
        grad_ptr(m, l, 1), NNB_RESNET_BN_EPS, save_mean(m, l), save_invstd(m, l)));
    return 0;
}

static int fc_backward(cuda_resnet_model *m, const nnb_plan_step *s, char *err, size_t err_len) {
    float *g = grad_of(m, s->dst);         /* (N, 1000) fp32 */
    const void *g_op = fc_grad_operand(m); /* the same as the GEMMs read it (16-bit in bf16/fp16) */
    if (cuda_resnet_fc_gemm(m, &m->plan.fc_dx, weight_ptr(m, s->layer, 0), g_op, beta_of(s->src_grad),
                            grad_of(m, s->src), m->ab, err, err_len) ||
        cuda_resnet_fc_gemm(m, &m->plan.fc_dw, m->acts[s->src], g_op, 0.0f, grad_ptr(m, s->layer, 0), CUDA_R_32F, err,
                            err_len))
        return -1;
    NNB_KERNEL_TRY(nnb_rk_bias_grad(&m->geo, m->stream, grad_ptr(m, s->layer, 1), g, m->plan.batch, m->plan.fc_out));
    return 0;
}

static int fused_backward(cuda_resnet_model *m, const nnb_plan_step *s, int step, char *err, size_t err_len) {
    if (m->bn_ex) {
        NNB_CUDNN_TRY(cuda_resnet_fused_backward_ex(m, s, step));
        return 0;
    }
    /* relu mask in place on the output gradient (nobody reads it after this step), fanned out to the shortcut */
    void *dz = s->src2 >= 0 ? grad_of(m, s->src2) : NULL;
    NNB_KERNEL_TRY(nnb_rk_relu_grad_st(&m->geo, m->stream, grad_of(m, s->dst), m->acts[s->dst], dz,
                                       (long long)act_count(m, s->dst), s->src2_grad == NNB_GRAD_ACCUMULATE, m->st));
    return bn_backward(m, s->layer, s->src, s->dst, s->src_grad, err, err_len);
}

static int add_backward(cuda_resnet_model *m, const nnb_plan_step *s, char *err, size_t err_len) {
    long long n = (long long)act_count(m, s->dst);
    if (s->src_grad != NNB_GRAD_NONE)
        NNB_KERNEL_TRY(nnb_rk_fanout_st(&m->geo, m->stream, grad_of(m, s->src), grad_of(m, s->dst), n,
                                        s->src_grad == NNB_GRAD_ACCUMULATE, m->st));
    if (s->src2_grad != NNB_GRAD_NONE)
        NNB_KERNEL_TRY(nnb_rk_fanout_st(&m->geo, m->stream, grad_of(m, s->src2), grad_of(m, s->dst), n,
                                        s->src2_grad == NNB_GRAD_ACCUMULATE, m->st));
    return 0;
}

static int backward_step(cuda_resnet_model *m, int i, char *err, size_t err_len) {
    const float one = 1.0f;
    const nnb_plan_step *s = &m->plan.steps[i];
    const nnb_resnet_layer *l = &m->arch.layers[s->layer];
    const float beta = beta_of(s->src_grad);
    switch (s->op) {
    case NNB_STEP_SKIP: return 0;
    case NNB_STEP_CONV: return conv_backward(m, s, err, err_len);
    case NNB_STEP_BN: return bn_backward(m, s->layer, s->src, s->dst, s->src_grad, err, err_len);
    case NNB_STEP_RELU:
        NNB_CUDNN_TRY(cudnnActivationBackward(m->cudnn, m->relu, &one, m->act_td[s->dst], m->acts[s->dst],
                                              m->act_td[s->dst], grad_of(m, s->dst), m->act_td[s->src], m->acts[s->src],
                                              &beta, m->act_td[s->src], grad_of(m, s->src)));
        return 0;
    case NNB_STEP_MAXPOOL:
        NNB_CUDNN_TRY(cudnnPoolingBackward(m->cudnn, m->maxpool, &one, m->act_td[s->dst], m->acts[s->dst],
                                           m->act_td[s->dst], grad_of(m, s->dst), m->act_td[s->src], m->acts[s->src],
                                           &beta, m->act_td[s->src], grad_of(m, s->src)));
        return 0;
    case NNB_STEP_ADD: return add_backward(m, s, err, err_len);
    case NNB_STEP_AVGPOOL:
        NNB_KERNEL_TRY(nnb_rk_avgpool_bwd_st(&m->geo, m->stream, grad_of(m, s->src), grad_of(m, s->dst),
                                             l->in.n * l->in.c, l->in.h * l->in.w, s->src_grad == NNB_GRAD_ACCUMULATE,
                                             m->st));
        return 0;
    case NNB_STEP_FC: return fc_backward(m, s, err, err_len);
    case NNB_STEP_BN_RELU:
    case NNB_STEP_BN_ADD_RELU: return fused_backward(m, s, i, err, err_len);
    }
    return nnb_fail(err, err_len, "%s: unknown plan step %d", m->name, (int)s->op);
}

int cuda_resnet_backward(void *vm, char *err, size_t err_len) {
    cuda_resnet_model *m = vm;
    m->last_infer_n = 0; /* outputs() gives the training step's tensors again (infer left them as they were) */
    nnb_cuda_range_push(m->name, "backward");
    int rc = 0;
    for (int i = m->plan.num_steps - 1; i >= 0 && !rc; i--)
        rc = backward_step(m, i, err, err_len);
    nnb_cuda_range_pop();
    return rc;
}
