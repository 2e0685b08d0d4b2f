/* CUDA ResNet runners: create and destroy (cuda_resnet.h). */
#include "cuda_resnet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int dev_alloc(cuda_resnet_model *m, void **p, size_t bytes, char *err, size_t err_len) {
    return nnb_cuda_buffers_alloc(&m->buffers, p, bytes, err, err_len);
}

static int dev_floats(cuda_resnet_model *m, float **p, size_t n, char *err, size_t err_len) {
    return nnb_cuda_buffers_floats(&m->buffers, p, n, err, err_len);
}

/* A zeroed device buffer of n elements of dtype (FLOAT or the 16-bit activation type). */
static int dev_elems(cuda_resnet_model *m, void **p, size_t n, cudnnDataType_t dtype, char *err, size_t err_len) {
    size_t bytes;
    if (nnb_mul_size(&bytes, n, dtype == CUDNN_DATA_FLOAT ? sizeof(float) : sizeof(uint16_t)))
        return nnb_fail(err, err_len, "device buffer size overflows size_t");
    return dev_alloc(m, p, bytes, err, err_len);
}

int cuda_resnet_download(cuda_resnet_model *m, float *dst, const float *src, size_t n, char *err, size_t err_len) {
    return nnb_cuda_download_on(m->stream, dst, src, n, err, err_len);
}

int cuda_resnet_download_act(cuda_resnet_model *m, float *dst, const void *src, size_t n, char *err, size_t err_len) {
    return nnb_cuda_download_as(m->stream, m->precision, dst, src, n, err, err_len);
}

int cuda_resnet_acceptable(const cuda_resnet_model *m, cudnnStatus_t status, size_t memory, cudnnMathType_t math) {
    if (status != CUDNN_STATUS_SUCCESS || memory > WORKSPACE_CAP)
        return 0;
    if (m->st != NNB_RK_F32)
        return 1; /* 16-bit data: tensor-op math is what it is for */
    if (math == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION)
        return 0; /* would down-convert to half */
    if (!m->tf32 && math == CUDNN_TENSOR_OP_MATH)
        return 0;
    return 1;
}

/* ------------------------------------------------------------ create */

static int check_config(cuda_resnet_model *m, const nnb_config *cfg, char *err, size_t err_len) {
    /* --fuser does not apply (cuDNN's kernels; the fusion is the runner's, _jit); one launch per step, eager. */
    if (nnb_check_fuser_executor(m->name, cfg, nnb_every_fuser, nnb_eager_only, err, err_len))
        return -1;
    int bs = cfg->cuda_pointwise_block_size ? cfg->cuda_pointwise_block_size : DEFAULT_BLOCK_SIZE;
    if (bs < 32 || bs > 1024 || bs % 32)
        return nnb_fail(err, err_len, "%s: cuda_pointwise_block_size %d: must be a multiple of 32 in [32, 1024]",
                        m->name, cfg->cuda_pointwise_block_size);
    if (cfg->cuda_pointwise_block_count < 0)
        return nnb_fail(err, err_len, "%s: cuda_pointwise_block_count %d must be >= 0", m->name,
                        cfg->cuda_pointwise_block_count);
    if (cfg->cuda_pointwise_loop_level > 1)
        return nnb_fail(err, err_len, "%s: cuda_pointwise_loop_level %d not supported (one element per thread)",
                        m->name, cfg->cuda_pointwise_loop_level);
    m->geo.block_size = bs;
    m->geo.max_blocks = cfg->cuda_pointwise_block_count;
    m->precision = nnb_cuda_config_precision(cfg);
    if (!nnb_precision_name(m->precision))
        return nnb_fail(err, err_len, "%s: unknown precision %d (fp32, tf32, bf16 or fp16)", m->name, m->precision);
    m->tf32 = cfg->allow_tf32 != 0 || m->precision == NNB_PRECISION_TF32;
    m->st = m->precision == NNB_PRECISION_BF16   ? NNB_RK_BF16
            : m->precision == NNB_PRECISION_FP16 ? NNB_RK_F16
                                                 : NNB_RK_F32;
    m->es = nnb_cuda_precision_bytes(m->precision);
    m->dtype = nnb_cudnn_data_type(m->precision);
    m->ab = nnb_cuda_data_type(m->precision);
    return 0;
}

static int setup_handles(cuda_resnet_model *m, const nnb_config *cfg, char *err, size_t err_len) {
    if (nnb_cuda_device_init(cfg, &m->device, &m->prop, err, err_len))
        return -1;
    m->stream = (cudaStream_t)cfg->cuda_stream;
    NNB_CUDNN_TRY(cudnnCreate(&m->cudnn));
    NNB_CUDNN_TRY(cudnnSetStream(m->cudnn, m->stream));
    return nnb_cuda_cublas_init(&m->cublas, m->stream, m->tf32, err, err_len);
}

int cuda_resnet_set_tensor(cudnnTensorDescriptor_t *td, const nnb_plan_tensor *t, cudnnDataType_t dtype, char *err,
                           size_t err_len) {
    NNB_CUDNN_TRY(cudnnCreateTensorDescriptor(td));
    NNB_CUDNN_TRY(cudnnSetTensor4dDescriptorEx(*td, dtype, t->n, t->c, t->h, t->w, t->stride_n, t->stride_c,
                                               t->stride_h, t->stride_w));
    return 0;
}

/* The math mode cudnnFind* searches under: strict fp32, TF32 allowed, or tensor ops on 16-bit data. */
static cudnnMathType_t search_math(const cuda_resnet_model *m) {
    if (m->st != NNB_RK_F32)
        return CUDNN_TENSOR_OP_MATH;
    return m->tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
}

/* A convolution descriptor of geometry c in the model's math mode, computing in fp32 (for 16-bit data cuDNN's
 * pseudo-half / pseudo-bf16 configuration: 16-bit tensors, fp32 accumulation). */
static int make_conv(const cuda_resnet_model *m, cudnnConvolutionDescriptor_t *d, const nnb_plan_conv *c, char *err,
                     size_t err_len) {
    NNB_CUDNN_TRY(cudnnCreateConvolutionDescriptor(d));
    NNB_CUDNN_TRY(cudnnSetConvolution2dDescriptor(*d, c->pad, c->pad, c->stride, c->stride, 1, 1,
                                                  CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    NNB_CUDNN_TRY(cudnnSetConvolutionMathType(*d, search_math(m)));
    return 0;
}

static int setup_descriptors(cuda_resnet_model *m, char *err, size_t err_len) {
    const nnb_resnet_plan *p = &m->plan;
    m->act_td = calloc((size_t)p->num_acts, sizeof *m->act_td);
    m->bn_td = calloc((size_t)p->num_steps, sizeof *m->bn_td);
    m->convs = calloc((size_t)(p->num_conv_classes ? p->num_conv_classes : 1), sizeof *m->convs);
    if (!m->act_td || !m->bn_td || !m->convs)
        return nnb_fail(err, err_len, "out of host memory");
    for (int a = 0; a < p->num_acts; a++)
        if (p->act_used[a] && cuda_resnet_set_tensor(&m->act_td[a], &p->act_desc[a], act_dtype(m, a), err, err_len))
            return -1;
    for (int i = 0; i < m->arch.num_layers; i++) {
        const nnb_resnet_layer *l = &m->arch.layers[i];
        if (l->op != NNB_RESNET_BN)
            continue;
        nnb_plan_tensor t = {1, (int)l->out.c, 1, 1, (int)l->out.c, 1, 1, 1};
        if (cuda_resnet_set_tensor(&m->bn_td[i], &t, CUDNN_DATA_FLOAT, err, err_len)) /* float for every dtype */
            return -1;
    }
    for (int k = 0; k < p->num_conv_classes; k++) {
        const nnb_plan_conv *c = &p->convs[k];
        conv_algos *a = &m->convs[k];
        NNB_CUDNN_TRY(cudnnCreateFilterDescriptor(&a->filter));
        NNB_CUDNN_TRY(cudnnSetFilter4dDescriptor(a->filter, m->dtype, CUDNN_TENSOR_NCHW, c->k, c->c, c->r, c->r));
        if (make_conv(m, &a->conv, c, err, err_len) || make_conv(m, &a->conv_bwd_data, c, err, err_len) ||
            make_conv(m, &a->conv_bwd_filter, c, err, err_len))
            return -1;
    }
    NNB_CUDNN_TRY(cudnnCreateActivationDescriptor(&m->relu));
    NNB_CUDNN_TRY(cudnnSetActivationDescriptor(m->relu, CUDNN_ACTIVATION_RELU, CUDNN_NOT_PROPAGATE_NAN, 0.0));
    NNB_CUDNN_TRY(cudnnCreatePoolingDescriptor(&m->maxpool));
    NNB_CUDNN_TRY(
        cudnnSetPooling2dDescriptor(m->maxpool, CUDNN_POOLING_MAX, CUDNN_NOT_PROPAGATE_NAN, 3, 3, 1, 1, 2, 2));
    return 0;
}

/* Device buffers, and the seeded inputs and parameters uploaded into them. */
static int setup_buffers(cuda_resnet_model *m, uint64_t seed, char *err, size_t err_len) {
    const nnb_resnet_arch *a = &m->arch;
    const nnb_resnet_plan *p = &m->plan;
    int logits = a->num_acts - 1;
    m->acts = calloc((size_t)a->num_acts, sizeof *m->acts);
    m->grad = calloc((size_t)a->num_acts, sizeof *m->grad);
    m->bn_save_off = calloc((size_t)a->num_layers, sizeof *m->bn_save_off);
    m->reserve = calloc((size_t)a->num_layers, sizeof *m->reserve);
    m->reserve_size = calloc((size_t)a->num_layers, sizeof *m->reserve_size);
    if (!m->acts || !m->grad || !m->bn_save_off || !m->reserve || !m->reserve_size)
        return nnb_fail(err, err_len, "out of host memory");
    if (dev_floats(m, &m->params, a->param_floats, err, err_len) ||
        dev_floats(m, &m->grads, a->param_floats, err, err_len))
        return -1;
    for (int i = 0; i < a->num_acts; i++) {
        if (!p->act_used[i])
            continue;
        if (dev_elems(m, &m->acts[i], act_count(m, i), act_dtype(m, i), err, err_len))
            return -1;
        if (p->grad_owner[i] == i && dev_elems(m, &m->grad[i], act_count(m, i), act_dtype(m, i), err, err_len))
            return -1;
    }
    size_t save = 0;
    for (int i = 0; i < a->num_layers; i++)
        if (a->layers[i].op == NNB_RESNET_BN) {
            m->bn_save_off[i] = save;
            save += 2 * (size_t)a->layers[i].out.c;
        }
    if (dev_floats(m, &m->bn_save, save, err, err_len) ||
        dev_floats(m, &m->scratch_stats, 2 * (size_t)(p->max_bn_channels > 0 ? p->max_bn_channels : 1), err, err_len))
        return -1;

    /* Host staging, filled from the seed now and from the device by params()/outputs(). */
    size_t nx = act_count(m, 0), nl = act_count(m, logits);
    if (nnb_resnet_alloc_host(a, seed, &m->h_params, &m->h_grads, &m->h_x, &m->h_grad_logits, &m->h_logits, &m->h_dx))
        return nnb_fail(err, err_len, "out of host memory");
    nnb_resnet_round_to_precision(a, m->precision, m->h_params, m->h_x); /* every precision, the same problem */
    if (nnb_cuda_upload_as(m->precision, m->acts[0], m->h_x, nx, err, err_len))
        return -1;
    NNB_CUDA_TRY(cudaMemcpy(m->grad[logits], m->h_grad_logits, nl * sizeof(float), cudaMemcpyHostToDevice));
    NNB_CUDA_TRY(cudaMemcpy(m->params, m->h_params, a->param_floats * sizeof(float), cudaMemcpyHostToDevice));
    if (m->st == NNB_RK_F32)
        return 0;
    /* 16-bit copies: every parameter (the conv and fc weights are what is read), the conv weight gradients'
     * buffer, and the upstream gradient as the fc's backward GEMMs read it (rounded there, fp32 elsewhere) */
    if (dev_elems(m, &m->params16, a->param_floats, m->dtype, err, err_len) ||
        dev_elems(m, &m->grads16, a->param_floats, m->dtype, err, err_len) ||
        dev_elems(m, &m->grad_logits16, nl, m->dtype, err, err_len) ||
        nnb_cuda_upload_as(m->precision, m->params16, m->h_params, a->param_floats, err, err_len) ||
        nnb_cuda_upload_as(m->precision, m->grad_logits16, m->h_grad_logits, nl, err, err_len))
        return -1;
    return 0;
}

/* Each direction: cudnnFind* on its own descriptor, then the fastest acceptable result whose math type, written
 * back to that descriptor (as the algorithm needs it), leaves a workspace size cuDNN can state. 1 found, 0 none,
 * or the cuDNN status of a failed search as a negative number. */
static int find_fwd(const cuda_resnet_model *m, conv_algos *c, cudnnTensorDescriptor_t xd, cudnnTensorDescriptor_t yd,
                    cudnnStatus_t *st) {
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int n = 0;
    *st = cudnnFindConvolutionForwardAlgorithm(m->cudnn, xd, c->filter, c->conv, yd, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                                               &n, perf);
    for (int i = 0; *st == CUDNN_STATUS_SUCCESS && i < n; i++) {
        cudnnMathType_t math = chosen_math(m, perf[i].mathType);
        if (cuda_resnet_acceptable(m, perf[i].status, perf[i].memory, perf[i].mathType) &&
            cudnnSetConvolutionMathType(c->conv, math) == CUDNN_STATUS_SUCCESS &&
            cudnnGetConvolutionForwardWorkspaceSize(m->cudnn, xd, c->filter, c->conv, yd, perf[i].algo, &c->ws_fwd) ==
                CUDNN_STATUS_SUCCESS) {
            c->fwd = perf[i].algo, c->math_fwd = math;
            return 1;
        }
    }
    return 0;
}

static int find_bwd_data(const cuda_resnet_model *m, conv_algos *c, cudnnTensorDescriptor_t xd,
                         cudnnTensorDescriptor_t yd, cudnnStatus_t *st) {
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    int n = 0;
    *st = cudnnFindConvolutionBackwardDataAlgorithm(m->cudnn, c->filter, yd, c->conv_bwd_data, xd,
                                                    CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n, perf);
    for (int i = 0; *st == CUDNN_STATUS_SUCCESS && i < n; i++) {
        cudnnMathType_t math = chosen_math(m, perf[i].mathType);
        if (cuda_resnet_acceptable(m, perf[i].status, perf[i].memory, perf[i].mathType) &&
            cudnnSetConvolutionMathType(c->conv_bwd_data, math) == CUDNN_STATUS_SUCCESS &&
            cudnnGetConvolutionBackwardDataWorkspaceSize(m->cudnn, c->filter, yd, c->conv_bwd_data, xd, perf[i].algo,
                                                         &c->ws_bwd_data) == CUDNN_STATUS_SUCCESS) {
            c->bwd_data = perf[i].algo, c->math_bwd_data = math;
            return 1;
        }
    }
    return 0;
}

static int find_bwd_filter(const cuda_resnet_model *m, conv_algos *c, cudnnTensorDescriptor_t xd,
                           cudnnTensorDescriptor_t yd, cudnnStatus_t *st) {
    cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    int n = 0;
    *st = cudnnFindConvolutionBackwardFilterAlgorithm(m->cudnn, xd, yd, c->conv_bwd_filter, c->filter,
                                                      CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n, perf);
    for (int i = 0; *st == CUDNN_STATUS_SUCCESS && i < n; i++) {
        cudnnMathType_t math = chosen_math(m, perf[i].mathType);
        if (cuda_resnet_acceptable(m, perf[i].status, perf[i].memory, perf[i].mathType) &&
            cudnnSetConvolutionMathType(c->conv_bwd_filter, math) == CUDNN_STATUS_SUCCESS &&
            cudnnGetConvolutionBackwardFilterWorkspaceSize(m->cudnn, xd, yd, c->conv_bwd_filter, c->filter,
                                                           perf[i].algo, &c->ws_bwd_filter) == CUDNN_STATUS_SUCCESS) {
            c->bwd_filter = perf[i].algo, c->math_bwd_filter = math;
            return 1;
        }
    }
    return 0;
}

/* Measures the algorithms of every convolution class (cudnnFind*, fastest acceptable), each direction's math type
 * written back to its descriptor. */
static int choose_conv_algos(cuda_resnet_model *m, char *err, size_t err_len) {
    const nnb_resnet_plan *p = &m->plan;
    for (int k = 0; k < p->num_conv_classes; k++) {
        conv_algos *c = &m->convs[k];
        cudnnTensorDescriptor_t xd = NULL, yd = NULL;
        if (cuda_resnet_set_tensor(&xd, &p->convs[k].x, m->dtype, err, err_len) ||
            cuda_resnet_set_tensor(&yd, &p->convs[k].y, m->dtype, err, err_len)) {
            if (xd)
                cudnnDestroyTensorDescriptor(xd);
            return -1;
        }
        cudnnStatus_t st = CUDNN_STATUS_SUCCESS;
        int found_f = find_fwd(m, c, xd, yd, &st), found_d = 0, found_w = 0, rc = 0;
        if (st == CUDNN_STATUS_SUCCESS)
            found_d = find_bwd_data(m, c, xd, yd, &st);
        if (st == CUDNN_STATUS_SUCCESS)
            found_w = find_bwd_filter(m, c, xd, yd, &st);
        cudnnDestroyTensorDescriptor(xd);
        cudnnDestroyTensorDescriptor(yd);
        const nnb_plan_conv *g = &p->convs[k];
        if (st != CUDNN_STATUS_SUCCESS)
            rc = nnb_fail(err, err_len, "cudnnFindConvolution*Algorithm failed for conv %dx%d k=%d c=%d: %s", g->r,
                          g->r, g->k, g->c, cudnnGetErrorString(st));
        else if (!found_f || !found_d || !found_w)
            rc = nnb_fail(err, err_len,
                          "%s: no usable cuDNN algorithm (%s%s%s) for conv %dx%d stride %d, %d -> %d channels "
                          "(workspace cap %zu bytes, %s, tf32 %s)",
                          m->name, found_f ? "" : "fwd ", found_d ? "" : "bwd_data ", found_w ? "" : "bwd_filter", g->r,
                          g->r, g->stride, g->c, g->k, WORKSPACE_CAP, nnb_precision_name(m->precision),
                          m->tf32 ? "on" : "off");
        if (rc)
            return rc;
    }
    return 0;
}

static cudnnBatchNormOps_t ex_ops(const nnb_plan_step *s) {
    return s->op == NNB_STEP_BN_ADD_RELU ? CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION : CUDNN_BATCHNORM_OPS_BN_ACTIVATION;
}

/* cuDNN's answer that means "this fused configuration is not available here": cuDNN 9 status codes are
 * hierarchical (e.g. CUDNN_STATUS_NOT_SUPPORTED_LAYOUT), so compare categories. */
static int ex_refused(cudnnStatus_t st) {
    int category = CUDNN_STATUS_CATEGORY((int)st);
    return category == CUDNN_STATUS_NOT_SUPPORTED || category == CUDNN_STATUS_BAD_PARAM;
}

static void ex_fallback(cuda_resnet_model *m, const char *call, int step, cudnnStatus_t st) {
    m->bn_ex = 0;
    snprintf(m->ex_status, sizeof m->ex_status, "%s refused step %d (%s): %s", call, step,
             m->arch.layers[m->plan.steps[step].layer].name, cudnnGetErrorString(st));
}

/* Workspace and reserve sizes of the fused BN calls; a refusal selects the fallback. */
static int size_fused_steps(cuda_resnet_model *m, char *err, size_t err_len) {
    const nnb_resnet_plan *p = &m->plan;
    m->bn_ex = p->fused_bn_relu + p->fused_bn_add_relu > 0;
    for (int i = 0; i < p->num_steps && m->bn_ex; i++) {
        const nnb_plan_step *s = &p->steps[i];
        if (s->op != NNB_STEP_BN_RELU && s->op != NNB_STEP_BN_ADD_RELU)
            continue;
        cudnnTensorDescriptor_t x = m->act_td[s->src], y = m->act_td[s->dst], bn = m->bn_td[s->layer];
        cudnnTensorDescriptor_t z = s->src2 >= 0 ? m->act_td[s->src2] : NULL;
        size_t fwd = 0, bwd = 0, reserve = 0;
        cudnnStatus_t st = cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize(
            m->cudnn, CUDNN_BATCHNORM_SPATIAL_PERSISTENT, ex_ops(s), x, z, y, bn, m->relu, &fwd);
        if (st == CUDNN_STATUS_SUCCESS)
            st = cudnnGetBatchNormalizationBackwardExWorkspaceSize(m->cudnn, CUDNN_BATCHNORM_SPATIAL_PERSISTENT,
                                                                   ex_ops(s), x, y, y, z, x, bn, m->relu, &bwd);
        if (st == CUDNN_STATUS_SUCCESS)
            st = cudnnGetBatchNormalizationTrainingExReserveSpaceSize(m->cudnn, CUDNN_BATCHNORM_SPATIAL_PERSISTENT,
                                                                      ex_ops(s), m->relu, x, &reserve);
        if (ex_refused(st)) {
            ex_fallback(m, "cudnnGetBatchNormalization*Ex sizes", i, st);
            break;
        }
        NNB_CUDNN_TRY(st);
        if (fwd > m->ex_workspace_bytes)
            m->ex_workspace_bytes = fwd;
        if (bwd > m->ex_workspace_bytes)
            m->ex_workspace_bytes = bwd;
        m->reserve_size[i] = reserve;
        if (dev_alloc(m, &m->reserve[i], reserve, err, err_len))
            return -1;
    }
    return 0;
}

static int allocate_workspace(cuda_resnet_model *m, char *err, size_t err_len) {
    int n = 3 * m->plan.num_conv_classes + 1;
    size_t *req = calloc((size_t)n, sizeof *req);
    if (!req)
        return nnb_fail(err, err_len, "out of host memory");
    for (int k = 0; k < m->plan.num_conv_classes; k++) {
        req[3 * k] = m->convs[k].ws_fwd;
        req[3 * k + 1] = m->convs[k].ws_bwd_data;
        req[3 * k + 2] = m->convs[k].ws_bwd_filter;
    }
    req[n - 1] = m->bn_ex ? m->ex_workspace_bytes : 0;
    m->workspace_bytes = nnb_plan_workspace_bytes(req, n);
    free(req);
    return dev_alloc(m, &m->workspace, m->workspace_bytes, err, err_len);
}

cudnnStatus_t cuda_resnet_fused_forward_ex(cuda_resnet_model *m, const nnb_plan_step *s, int step, float *run_mean,
                                           float *run_var) {
    const float one = 1.0f, zero = 0.0f;
    int l = s->layer;
    return cudnnBatchNormalizationForwardTrainingEx(
        m->cudnn, CUDNN_BATCHNORM_SPATIAL_PERSISTENT, ex_ops(s), &one, &zero, m->act_td[s->src], m->acts[s->src],
        s->src2 >= 0 ? m->act_td[s->src2] : NULL, s->src2 >= 0 ? m->acts[s->src2] : NULL, m->act_td[s->dst],
        m->acts[s->dst], m->bn_td[l], param_ptr(m, l, 0), param_ptr(m, l, 1), NNB_RESNET_BN_MOMENTUM, run_mean, run_var,
        NNB_RESNET_BN_EPS, save_mean(m, l), save_invstd(m, l), m->relu, m->workspace, m->workspace_bytes,
        m->reserve[step], m->reserve_size[step]);
}

cudnnStatus_t cuda_resnet_fused_backward_ex(cuda_resnet_model *m, const nnb_plan_step *s, int step) {
    const float one = 1.0f, zero = 0.0f;
    const float beta_dx = s->src_grad == NNB_GRAD_ACCUMULATE ? 1.0f : 0.0f;
    int l = s->layer;
    return cudnnBatchNormalizationBackwardEx(
        m->cudnn, CUDNN_BATCHNORM_SPATIAL_PERSISTENT, ex_ops(s), &one, &beta_dx, &one, &zero, m->act_td[s->src],
        m->acts[s->src], m->act_td[s->dst], m->acts[s->dst], m->act_td[s->dst], grad_of(m, s->dst),
        s->src2 >= 0 ? m->act_td[s->src2] : NULL, s->src2 >= 0 ? grad_of(m, s->src2) : NULL, m->act_td[s->src],
        grad_of(m, s->src), m->bn_td[l], param_ptr(m, l, 0), param_ptr(m, l, 1), grad_ptr(m, l, 0), grad_ptr(m, l, 1),
        NNB_RESNET_BN_EPS, save_mean(m, l), save_invstd(m, l), m->relu, m->workspace, m->workspace_bytes,
        m->reserve[step], m->reserve_size[step]);
}

/* Runs every fused call once on the (zeroed) buffers, with scratch running
 * statistics: a refusal selects the fallback before anything is timed. */
static int probe_fused_steps(cuda_resnet_model *m, char *err, size_t err_len) {
    const nnb_resnet_plan *p = &m->plan;
    float *rm = m->scratch_stats, *rv = m->scratch_stats + p->max_bn_channels;
    for (int i = 0; i < p->num_steps && m->bn_ex; i++) {
        if (p->steps[i].op != NNB_STEP_BN_RELU && p->steps[i].op != NNB_STEP_BN_ADD_RELU)
            continue;
        cudnnStatus_t st = cuda_resnet_fused_forward_ex(m, &p->steps[i], i, rm, rv);
        if (ex_refused(st))
            ex_fallback(m, "cudnnBatchNormalizationForwardTrainingEx", i, st);
        else
            NNB_CUDNN_TRY(st);
    }
    for (int i = p->num_steps - 1; i >= 0 && m->bn_ex; i--) {
        if (p->steps[i].op != NNB_STEP_BN_RELU && p->steps[i].op != NNB_STEP_BN_ADD_RELU)
            continue;
        cudnnStatus_t st = cuda_resnet_fused_backward_ex(m, &p->steps[i], i);
        if (ex_refused(st))
            ex_fallback(m, "cudnnBatchNormalizationBackwardEx", i, st);
        else
            NNB_CUDNN_TRY(st);
    }
    NNB_CUDA_TRY(cudaStreamSynchronize(m->stream));
    NNB_CUDA_TRY(cudaGetLastError());
    if (m->bn_ex)
        snprintf(m->ex_status, sizeof m->ex_status, "CUDNN_STATUS_SUCCESS");
    return 0;
}

static int setup_tensor_lists(cuda_resnet_model *m, char *err, size_t err_len) {
    if (nnb_resnet_tensor_lists(&m->arch, m->h_params, m->h_grads, m->h_x, m->h_grad_logits, m->h_logits, m->h_dx,
                                &m->param_list, &m->param_count, &m->output_list, &m->output_count))
        return nnb_fail(err, err_len, "out of host memory");
    return 0;
}

/* Inference buffers (slots, logits) on the device, the outputs() list after infer, the per-n plan table. */
static int setup_inference(cuda_resnet_model *m, char *err, size_t err_len) {
    const nnb_resnet_plan *p = &m->plan;
    size_t *floats = calloc((size_t)p->num_acts, sizeof *floats);
    m->infer_slot = calloc((size_t)p->num_acts, sizeof *m->infer_slot);
    m->infer_plans = calloc((size_t)m->arch.batch + 1, sizeof *m->infer_plans);
    if (!floats || !m->infer_slot || !m->infer_plans) {
        free(floats);
        return nnb_fail(err, err_len, "out of host memory");
    }
    m->infer_num_slots = nnb_resnet_plan_infer_slots(p, m->infer_slot, floats);
    if (m->infer_num_slots < 0) {
        free(floats);
        return nnb_fail(err, err_len, "out of host memory");
    }
    m->infer_buf = calloc((size_t)(m->infer_num_slots ? m->infer_num_slots : 1), sizeof *m->infer_buf);
    int rc = m->infer_buf ? 0 : nnb_fail(err, err_len, "out of host memory");
    for (int k = 0; k < m->infer_num_slots && !rc; k++) { /* slots hold activations (never the fp32 logits) */
        rc = dev_elems(m, &m->infer_buf[k], floats[k], m->dtype, err, err_len);
        m->infer_buf_bytes += floats[k] * m->es;
    }
    free(floats);
    size_t nl = act_count(m, m->arch.num_acts - 1);
    if (!rc)
        rc = dev_floats(m, &m->infer_logits, nl, err, err_len);
    if (!rc && !(m->h_infer_logits = nnb_alloc_floats(nl)))
        rc = nnb_fail(err, err_len, "out of host memory");
    if (!rc && nnb_resnet_infer_tensor_list(&m->arch, m->h_params, m->h_infer_logits, &m->infer_list, &m->infer_count))
        rc = nnb_fail(err, err_len, "out of host memory");
    return rc;
}

/* The uploads (pageable cudaMemcpy) and zeroing (cudaMemset) run on the legacy default stream, which the
 * model's non-blocking stream does not wait for: the whole device is waited for before the first work on that
 * stream touching those buffers (the fused-BN probe; cudnnFind* measures on buffers of its own) and at the end of
 * create. */
static int wait_for_device(char *err, size_t err_len) {
    NNB_CUDA_TRY(cudaDeviceSynchronize());
    return 0;
}

void *cuda_resnet_create(const nnb_config *cfg, int depth, int fused, char *err, size_t err_len) {
    cuda_resnet_model *m = calloc(1, sizeof *m);
    if (!m) {
        nnb_fail(err, err_len, "out of host memory");
        return NULL;
    }
    snprintf(m->name, sizeof m->name, "resnet%d%s", depth, fused ? "_jit" : "");
    m->fused = fused;
    int rc = check_config(m, cfg, err, err_len);
    if (!rc)
        rc = nnb_resnet_arch_build(&m->arch, depth, cfg->cnn_batch, cfg->image_size, err, err_len);
    if (!rc)
        rc = nnb_resnet_plan_build(&m->plan, &m->arch, fused, err, err_len);
    if (!rc)
        rc = setup_handles(m, cfg, err, err_len);
    if (!rc)
        rc = setup_descriptors(m, err, err_len);
    if (!rc)
        rc = setup_buffers(m, cfg->seed, err, err_len);
    if (!rc)
        rc = choose_conv_algos(m, err, err_len);
    if (!rc)
        rc = size_fused_steps(m, err, err_len);
    if (!rc)
        rc = allocate_workspace(m, err, err_len);
    if (!rc)
        rc = wait_for_device(err, err_len); /* uploads and zeroing done before the probe's work on the stream */
    if (!rc)
        rc = probe_fused_steps(m, err, err_len);
    if (!rc)
        rc = setup_tensor_lists(m, err, err_len);
    if (!rc)
        rc = setup_inference(m, err, err_len);
    if (!rc)
        rc = wait_for_device(err, err_len);
    if (rc) {
        cuda_resnet_destroy(m);
        return NULL;
    }
    return m;
}

void cuda_resnet_destroy(void *vm) {
    cuda_resnet_model *m = vm;
    if (!m)
        return;
    if (m->act_td)
        for (int a = 0; a < m->plan.num_acts; a++)
            if (m->act_td[a])
                cudnnDestroyTensorDescriptor(m->act_td[a]);
    if (m->bn_td)
        for (int i = 0; i < m->plan.num_steps; i++)
            if (m->bn_td[i])
                cudnnDestroyTensorDescriptor(m->bn_td[i]);
    if (m->convs)
        for (int k = 0; k < m->plan.num_conv_classes; k++) {
            if (m->convs[k].filter)
                cudnnDestroyFilterDescriptor(m->convs[k].filter);
            cudnnConvolutionDescriptor_t convs[] = {m->convs[k].conv, m->convs[k].conv_bwd_data,
                                                    m->convs[k].conv_bwd_filter};
            for (size_t d = 0; d < sizeof convs / sizeof *convs; d++)
                if (convs[d])
                    cudnnDestroyConvolutionDescriptor(convs[d]);
        }
    if (m->infer_plans) {
        for (int64_t n = 0; n <= m->arch.batch; n++) {
            infer_plan *ip = &m->infer_plans[n];
            for (int a = 0; ip->td && a < m->plan.num_acts; a++)
                if (ip->td[a])
                    cudnnDestroyTensorDescriptor(ip->td[a]);
            free(ip->td);
            free(ip->fwd);
        }
        free(m->infer_plans);
    }
    free(m->infer_slot);
    free(m->infer_buf);
    free(m->infer_list);
    nnb_free(m->h_infer_logits);
    if (m->relu)
        cudnnDestroyActivationDescriptor(m->relu);
    if (m->maxpool)
        cudnnDestroyPoolingDescriptor(m->maxpool);
    if (m->cudnn)
        cudnnDestroy(m->cudnn);
    if (m->cublas)
        cublasDestroy(m->cublas);
    nnb_cuda_buffers_free(&m->buffers);
    free(m->act_td);
    free(m->bn_td);
    free(m->convs);
    free(m->acts);
    free(m->grad);
    free(m->bn_save_off);
    free(m->reserve);
    free(m->reserve_size);
    nnb_free(m->h_x);
    nnb_free(m->h_dx);
    nnb_free(m->h_grad_logits);
    nnb_free(m->h_logits);
    nnb_free(m->h_params);
    nnb_free(m->h_grads);
    free(m->param_list);
    free(m->output_list);
    nnb_resnet_plan_free(&m->plan);
    nnb_resnet_arch_free(&m->arch);
    free(m);
}
