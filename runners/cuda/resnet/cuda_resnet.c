/*
 * ResNet-18 / ResNet-50 training step on CUDA: cuDNN (convolution, batch norm,
 * ReLU, max pool), cuBLAS (fc) and a few small kernels (resnet_kernels.cuh),
 * following the execution plan of resnet_plan.h built from the shared
 * architecture table. Runners (group cnns, device cuda):
 *   resnet18, resnet50          one cuDNN call per layer
 *   resnet18_jit, resnet50_jit  bn+relu and bn+add+relu fused (cudnnBatchNormalization*Ex),
 *                               see "Fusion" below
 * torchvision semantics, train mode: batch statistics, running statistics
 * updated with momentum 0.1 (exponentialAverageFactor), eps 1e-5. cuDNN
 * normalises with the biased batch variance and updates runningVariance with
 * the unbiased one (m / (m - 1), m = N*H*W), as PyTorch's BatchNorm2d (which
 * calls the same cuDNN function on its own running_var).
 *
 * Memory: every activation the plan uses has its own buffer (NCHW, packed), and
 * so has every gradient the plan does not alias; parameters and their gradients
 * are packed in arch->params order (running statistics included, updated in
 * place). Convolution algorithms are measured once per distinct geometry at
 * create (cudnnFind*Algorithm, fastest that fits the cap and the math mode);
 * one workspace serves every call.
 *
 * Math mode: TF32 off unless cfg->allow_tf32: convolutions CUDNN_FMA_MATH
 * (CUDNN_DEFAULT_MATH with tf32, which lets cuDNN use TF32 tensor cores),
 * cuBLAS CUBLAS_DEFAULT_MATH (CUBLAS_TF32_TENSOR_OP_MATH with tf32).
 *
 * Fusion (*_jit): cuDNN 9 documents its fused BN kernels for NHWC half tensors
 * with CUDNN_BATCHNORM_SPATIAL_PERSISTENT; for other layouts the Ex calls may
 * answer CUDNN_STATUS_NOT_SUPPORTED. create() therefore runs every fused call
 * once (forward then backward, scratch running statistics) and, when cuDNN
 * refuses one, runs all fused steps as cudnnBatchNormalizationForwardTraining
 * followed by one fused add+relu kernel (backward: one relu-mask kernel that
 * also fans the gradient out to the shortcut, then cudnnBatchNormalizationBackward).
 * describe() says which path ran and cuDNN's answer.
 *
 * Inference (ABI 1.2 infer(n), infer_io, load_param): eval-mode forward of the first n samples of the input
 * buffer (acts[0], read in place), in buffers of its own, so the training step's activations, gradients and
 * saved statistics stay as they are: a few slots shared by the activations (nnb_resnet_plan_infer_slots,
 * sized at create for the full batch, so infer never allocates) and an (N, 1000) logits buffer, where
 * infer_io points. BatchNorm normalises with the running statistics and updates nothing:
 * cudnnBatchNormalizationForwardInference in resnet18/50 (one library call per layer, as in training), the
 * fused nnb_rk_bn_infer_kernel (BN [+ shortcut] + ReLU in one pass, resnet_bn_math.h) in the *_jit runners.
 * Per batch size n a plan (tensor descriptors at batch n and one forward algorithm per convolution class)
 * is built on the host at the first infer(n) and cached: n = N keeps create's measured cudnnFind choice;
 * n < N takes the first result of cudnnGetConvolutionForwardAlgorithm_v7 (heuristics: no device work, no
 * allocation) that succeeded, keeps the math mode and fits the one workspace (sized at create for the
 * training algorithms), since the algorithm measured at N need not be valid, or best, at n.
 */
#include "nnb_cuda_util.h"
#include "resnet_arch.h"
#include "resnet_init.h"
#include "resnet_kernels.h"
#include "resnet_plan.h"

#include <nnbench/runner.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORKSPACE_CAP ((size_t)1 << 30) /* largest convolution workspace we accept: 1 GiB */
#define DEFAULT_BLOCK_SIZE 256
#define DESCRIBE_MAX 8192

typedef struct conv_algos {
    cudnnFilterDescriptor_t filter;
    cudnnConvolutionDescriptor_t conv;
    cudnnConvolutionFwdAlgo_t fwd;
    cudnnConvolutionBwdDataAlgo_t bwd_data;
    cudnnConvolutionBwdFilterAlgo_t bwd_filter;
    size_t ws_fwd, ws_bwd_data, ws_bwd_filter;
} conv_algos;

/* What infer(n) needs at one batch size: built at the first infer(n), kept until destroy. */
typedef struct infer_plan {
    int ready;
    cudnnTensorDescriptor_t *td;    /* (num_acts) NCHW at batch n, NULL where infer touches no such act */
    cudnnConvolutionFwdAlgo_t *fwd; /* (num_conv_classes) */
} infer_plan;

typedef struct model {
    char name[32];
    int fused;
    nnb_resnet_arch arch;
    nnb_resnet_plan plan;

    int device;
    struct cudaDeviceProp prop;
    cudaStream_t stream;
    cudnnHandle_t cudnn;
    cublasHandle_t cublas;
    int tf32;
    nnb_rk_geometry geo;

    cudnnTensorDescriptor_t *act_td; /* (num_acts) NCHW packed, NULL where unused */
    cudnnTensorDescriptor_t *bn_td;  /* (num_layers) (1, C, 1, 1) for BN layers */
    conv_algos *convs;               /* (num_conv_classes) */
    cudnnActivationDescriptor_t relu;
    cudnnPoolingDescriptor_t maxpool;

    float *params;        /* (param_floats) packed like arch->params; running statistics updated in place */
    float *grads;         /* (param_floats) running-statistic slots unused */
    float **acts;         /* (num_acts) (n, c, h, w) each; acts[0] = x, acts[last] = logits (N, 1000) */
    float **grad;         /* (num_acts) gradient buffer owned by that activation (plan.grad_owner) */
    float *bn_save;       /* per BN layer: saved mean (C), saved inverse std (C) */
    size_t *bn_save_off;  /* (num_layers) */
    float *scratch_stats; /* (2 * max_bn_channels) running statistics of the create-time probe */
    void *workspace;
    size_t workspace_bytes;

    /* Fused steps (jit): reserve space per step, and which path runs. */
    int bn_ex; /* 1: cudnnBatchNormalization*Ex; 0: plain BN + fused kernels */
    char ex_status[160];
    void **reserve;       /* (num_steps) */
    size_t *reserve_size; /* (num_steps) */
    size_t ex_workspace_bytes;

    /* Inference (ABI 1.2): slots, logits, per-n plans, and what outputs() gives after infer. */
    int *infer_slot; /* (num_acts) slot of each activation, -1: acts[0], logits or untouched */
    int infer_num_slots;
    float **infer_buf;       /* (infer_num_slots) */
    size_t infer_buf_bytes;  /* all slots together */
    float *infer_logits;     /* (N, 1000) device, infer_io's output */
    infer_plan *infer_plans; /* (N + 1) indexed by n, built lazily */
    int infer_plans_built;
    int64_t last_infer_n;   /* > 0: the last pass was infer(n), outputs() gives its list */
    float *h_infer_logits;  /* (N, 1000) host */
    nnb_tensor *infer_list; /* logits (n, 1000), then the running statistics */
    int infer_count;

    /* Host staging handed out by params() / outputs(). */
    float *h_x, *h_grad_logits, *h_logits, *h_dx, *h_params, *h_grads;
    nnb_tensor *param_list, *output_list;
    int param_count, output_count;

    nnb_cuda_buffers buffers; /* every device buffer, freed at destroy */
} model;

/* ------------------------------------------------------------ small helpers */

static int dev_alloc(model *m, void **p, size_t bytes, char *err, size_t err_len) {
    return nnb_cuda_buffers_alloc(&m->buffers, p, bytes, err, err_len);
}

static int dev_floats(model *m, float **p, size_t n, char *err, size_t err_len) {
    return nnb_cuda_buffers_floats(&m->buffers, p, n, err, err_len);
}

static int download(model *m, float *dst, const float *src, size_t n, char *err, size_t err_len) {
    return nnb_cuda_download_on(m->stream, dst, src, n, err, err_len);
}

static size_t act_count(const model *m, int a) { return nnb_resnet_shape_count(m->arch.acts[a]); }
static float *param_ptr(const model *m, int layer, int k) {
    return m->params + m->arch.params[m->arch.layers[layer].param + k].offset;
}
static float *grad_ptr(const model *m, int layer, int k) {
    return m->grads + m->arch.params[m->arch.layers[layer].param + k].offset;
}
static float *grad_of(const model *m, int act) { return m->grad[m->plan.grad_owner[act]]; }
static float *save_mean(const model *m, int layer) { return m->bn_save + m->bn_save_off[layer]; }
static float *save_invstd(const model *m, int layer) {
    return m->bn_save + m->bn_save_off[layer] + m->arch.layers[layer].out.c;
}

static const char *fwd_algo_name(cudnnConvolutionFwdAlgo_t a) {
    static const char *names[] = {"IMPLICIT_GEMM", "IMPLICIT_PRECOMP_GEMM", "GEMM", "DIRECT", "FFT", "FFT_TILING",
                                  "WINOGRAD",      "WINOGRAD_NONFUSED"};
    return (int)a >= 0 && (int)a < 8 ? names[a] : "?";
}
static const char *bwd_data_algo_name(cudnnConvolutionBwdDataAlgo_t a) {
    static const char *names[] = {"ALGO_0", "ALGO_1", "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"};
    return (int)a >= 0 && (int)a < 6 ? names[a] : "?";
}
static const char *bwd_filter_algo_name(cudnnConvolutionBwdFilterAlgo_t a) {
    static const char *names[] = {"ALGO_0", "ALGO_1", "FFT", "ALGO_3", "WINOGRAD", "WINOGRAD_NONFUSED", "FFT_TILING"};
    return (int)a >= 0 && (int)a < 7 ? names[a] : "?";
}

/* An algorithm result we may use: it ran, it fits, and it keeps the math mode (no TF32 unless allowed). */
static int acceptable(const model *m, cudnnStatus_t status, size_t memory, cudnnMathType_t math) {
    if (status != CUDNN_STATUS_SUCCESS || memory > WORKSPACE_CAP)
        return 0;
    if (math == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION)
        return 0; /* would down-convert to half */
    if (!m->tf32 && math == CUDNN_TENSOR_OP_MATH)
        return 0;
    return 1;
}

/* ------------------------------------------------------------ availability */

/* ------------------------------------------------------------ create */

static int check_config(model *m, const nnb_config *cfg, char *err, size_t err_len) {
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
    m->tf32 = cfg->allow_tf32 != 0;
    return 0;
}

static int setup_handles(model *m, const nnb_config *cfg, char *err, size_t err_len) {
    if (nnb_cuda_device_init(cfg, &m->device, &m->prop, err, err_len))
        return -1;
    m->stream = (cudaStream_t)cfg->cuda_stream;
    NNB_CUDNN_TRY(cudnnCreate(&m->cudnn));
    NNB_CUDNN_TRY(cudnnSetStream(m->cudnn, m->stream));
    return nnb_cuda_cublas_init(&m->cublas, m->stream, m->tf32, err, err_len);
}

static int set_tensor(cudnnTensorDescriptor_t *td, const nnb_plan_tensor *t, char *err, size_t err_len) {
    NNB_CUDNN_TRY(cudnnCreateTensorDescriptor(td));
    NNB_CUDNN_TRY(cudnnSetTensor4dDescriptorEx(*td, CUDNN_DATA_FLOAT, t->n, t->c, t->h, t->w, t->stride_n, t->stride_c,
                                               t->stride_h, t->stride_w));
    return 0;
}

static int setup_descriptors(model *m, char *err, size_t err_len) {
    const nnb_resnet_plan *p = &m->plan;
    m->act_td = calloc((size_t)p->num_acts, sizeof *m->act_td);
    m->bn_td = calloc((size_t)p->num_steps, sizeof *m->bn_td);
    m->convs = calloc((size_t)(p->num_conv_classes ? p->num_conv_classes : 1), sizeof *m->convs);
    if (!m->act_td || !m->bn_td || !m->convs)
        return nnb_fail(err, err_len, "out of host memory");
    for (int a = 0; a < p->num_acts; a++)
        if (p->act_used[a] && set_tensor(&m->act_td[a], &p->act_desc[a], err, err_len))
            return -1;
    for (int i = 0; i < m->arch.num_layers; i++) {
        const nnb_resnet_layer *l = &m->arch.layers[i];
        if (l->op != NNB_RESNET_BN)
            continue;
        nnb_plan_tensor t = {1, (int)l->out.c, 1, 1, (int)l->out.c, 1, 1, 1};
        if (set_tensor(&m->bn_td[i], &t, err, err_len))
            return -1;
    }
    for (int k = 0; k < p->num_conv_classes; k++) {
        const nnb_plan_conv *c = &p->convs[k];
        conv_algos *a = &m->convs[k];
        NNB_CUDNN_TRY(cudnnCreateFilterDescriptor(&a->filter));
        NNB_CUDNN_TRY(
            cudnnSetFilter4dDescriptor(a->filter, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, c->k, c->c, c->r, c->r));
        NNB_CUDNN_TRY(cudnnCreateConvolutionDescriptor(&a->conv));
        NNB_CUDNN_TRY(cudnnSetConvolution2dDescriptor(a->conv, c->pad, c->pad, c->stride, c->stride, 1, 1,
                                                      CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
        NNB_CUDNN_TRY(cudnnSetConvolutionMathType(a->conv, m->tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH));
    }
    NNB_CUDNN_TRY(cudnnCreateActivationDescriptor(&m->relu));
    NNB_CUDNN_TRY(cudnnSetActivationDescriptor(m->relu, CUDNN_ACTIVATION_RELU, CUDNN_NOT_PROPAGATE_NAN, 0.0));
    NNB_CUDNN_TRY(cudnnCreatePoolingDescriptor(&m->maxpool));
    NNB_CUDNN_TRY(
        cudnnSetPooling2dDescriptor(m->maxpool, CUDNN_POOLING_MAX, CUDNN_NOT_PROPAGATE_NAN, 3, 3, 1, 1, 2, 2));
    return 0;
}

/* Device buffers, and the seeded inputs and parameters uploaded into them. */
static int setup_buffers(model *m, uint64_t seed, char *err, size_t err_len) {
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
        if (dev_floats(m, &m->acts[i], act_count(m, i), err, err_len))
            return -1;
        if (p->grad_owner[i] == i && dev_floats(m, &m->grad[i], act_count(m, i), err, err_len))
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
    NNB_CUDA_TRY(cudaMemcpy(m->acts[0], m->h_x, nx * sizeof(float), cudaMemcpyHostToDevice));
    NNB_CUDA_TRY(cudaMemcpy(m->grad[logits], m->h_grad_logits, nl * sizeof(float), cudaMemcpyHostToDevice));
    NNB_CUDA_TRY(cudaMemcpy(m->params, m->h_params, a->param_floats * sizeof(float), cudaMemcpyHostToDevice));
    return 0;
}

/* Measures the algorithms of every convolution class (cudnnFind*, fastest acceptable). */
static int choose_conv_algos(model *m, char *err, size_t err_len) {
    const nnb_resnet_plan *p = &m->plan;
    for (int k = 0; k < p->num_conv_classes; k++) {
        conv_algos *c = &m->convs[k];
        cudnnTensorDescriptor_t xd = NULL, yd = NULL;
        if (set_tensor(&xd, &p->convs[k].x, err, err_len) || set_tensor(&yd, &p->convs[k].y, err, err_len)) {
            if (xd)
                cudnnDestroyTensorDescriptor(xd);
            return -1;
        }
        int n = 0, found_f = 0, found_d = 0, found_w = 0, rc = 0;
        cudnnConvolutionFwdAlgoPerf_t fperf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
        cudnnConvolutionBwdDataAlgoPerf_t dperf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
        cudnnConvolutionBwdFilterAlgoPerf_t wperf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
        cudnnStatus_t st = cudnnFindConvolutionForwardAlgorithm(m->cudnn, xd, c->filter, c->conv, yd,
                                                                CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, fperf);
        for (int i = 0; st == CUDNN_STATUS_SUCCESS && i < n && !found_f; i++)
            if (acceptable(m, fperf[i].status, fperf[i].memory, fperf[i].mathType) &&
                cudnnGetConvolutionForwardWorkspaceSize(m->cudnn, xd, c->filter, c->conv, yd, fperf[i].algo,
                                                        &c->ws_fwd) == CUDNN_STATUS_SUCCESS)
                c->fwd = fperf[i].algo, found_f = 1;
        if (st == CUDNN_STATUS_SUCCESS)
            st = cudnnFindConvolutionBackwardDataAlgorithm(m->cudnn, c->filter, yd, c->conv, xd,
                                                           CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n, dperf);
        for (int i = 0; st == CUDNN_STATUS_SUCCESS && i < n && !found_d; i++)
            if (acceptable(m, dperf[i].status, dperf[i].memory, dperf[i].mathType) &&
                cudnnGetConvolutionBackwardDataWorkspaceSize(m->cudnn, c->filter, yd, c->conv, xd, dperf[i].algo,
                                                             &c->ws_bwd_data) == CUDNN_STATUS_SUCCESS)
                c->bwd_data = dperf[i].algo, found_d = 1;
        if (st == CUDNN_STATUS_SUCCESS)
            st = cudnnFindConvolutionBackwardFilterAlgorithm(m->cudnn, xd, yd, c->conv, c->filter,
                                                             CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n, wperf);
        for (int i = 0; st == CUDNN_STATUS_SUCCESS && i < n && !found_w; i++)
            if (acceptable(m, wperf[i].status, wperf[i].memory, wperf[i].mathType) &&
                cudnnGetConvolutionBackwardFilterWorkspaceSize(m->cudnn, xd, yd, c->conv, c->filter, wperf[i].algo,
                                                               &c->ws_bwd_filter) == CUDNN_STATUS_SUCCESS)
                c->bwd_filter = wperf[i].algo, found_w = 1;
        cudnnDestroyTensorDescriptor(xd);
        cudnnDestroyTensorDescriptor(yd);
        const nnb_plan_conv *g = &p->convs[k];
        if (st != CUDNN_STATUS_SUCCESS)
            rc = nnb_fail(err, err_len, "cudnnFindConvolution*Algorithm failed for conv %dx%d k=%d c=%d: %s", g->r,
                          g->r, g->k, g->c, cudnnGetErrorString(st));
        else if (!found_f || !found_d || !found_w)
            rc = nnb_fail(err, err_len,
                          "%s: no usable cuDNN algorithm (%s%s%s) for conv %dx%d stride %d, %d -> %d channels "
                          "(workspace cap %zu bytes, tf32 %s)",
                          m->name, found_f ? "" : "fwd ", found_d ? "" : "bwd_data ", found_w ? "" : "bwd_filter", g->r,
                          g->r, g->stride, g->c, g->k, WORKSPACE_CAP, m->tf32 ? "on" : "off");
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

static void ex_fallback(model *m, const char *call, int step, cudnnStatus_t st) {
    m->bn_ex = 0;
    snprintf(m->ex_status, sizeof m->ex_status, "%s refused step %d (%s): %s", call, step,
             m->arch.layers[m->plan.steps[step].layer].name, cudnnGetErrorString(st));
}

/* Workspace and reserve sizes of the fused BN calls; a refusal selects the fallback. */
static int size_fused_steps(model *m, char *err, size_t err_len) {
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

static int allocate_workspace(model *m, char *err, size_t err_len) {
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

static cudnnStatus_t fused_forward_ex(model *m, const nnb_plan_step *s, int step, float *run_mean, float *run_var) {
    const float one = 1.0f, zero = 0.0f;
    int l = s->layer;
    return cudnnBatchNormalizationForwardTrainingEx(
        m->cudnn, CUDNN_BATCHNORM_SPATIAL_PERSISTENT, ex_ops(s), &one, &zero, m->act_td[s->src], m->acts[s->src],
        s->src2 >= 0 ? m->act_td[s->src2] : NULL, s->src2 >= 0 ? m->acts[s->src2] : NULL, m->act_td[s->dst],
        m->acts[s->dst], m->bn_td[l], param_ptr(m, l, 0), param_ptr(m, l, 1), NNB_RESNET_BN_MOMENTUM, run_mean, run_var,
        NNB_RESNET_BN_EPS, save_mean(m, l), save_invstd(m, l), m->relu, m->workspace, m->workspace_bytes,
        m->reserve[step], m->reserve_size[step]);
}

static cudnnStatus_t fused_backward_ex(model *m, const nnb_plan_step *s, int step) {
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
static int probe_fused_steps(model *m, char *err, size_t err_len) {
    const nnb_resnet_plan *p = &m->plan;
    float *rm = m->scratch_stats, *rv = m->scratch_stats + p->max_bn_channels;
    for (int i = 0; i < p->num_steps && m->bn_ex; i++) {
        if (p->steps[i].op != NNB_STEP_BN_RELU && p->steps[i].op != NNB_STEP_BN_ADD_RELU)
            continue;
        cudnnStatus_t st = fused_forward_ex(m, &p->steps[i], i, rm, rv);
        if (ex_refused(st))
            ex_fallback(m, "cudnnBatchNormalizationForwardTrainingEx", i, st);
        else
            NNB_CUDNN_TRY(st);
    }
    for (int i = p->num_steps - 1; i >= 0 && m->bn_ex; i--) {
        if (p->steps[i].op != NNB_STEP_BN_RELU && p->steps[i].op != NNB_STEP_BN_ADD_RELU)
            continue;
        cudnnStatus_t st = fused_backward_ex(m, &p->steps[i], i);
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

static int setup_tensor_lists(model *m, char *err, size_t err_len) {
    if (nnb_resnet_tensor_lists(&m->arch, m->h_params, m->h_grads, m->h_x, m->h_grad_logits, m->h_logits, m->h_dx,
                                &m->param_list, &m->param_count, &m->output_list, &m->output_count))
        return nnb_fail(err, err_len, "out of host memory");
    return 0;
}

/* Inference buffers (slots, logits) on the device, the outputs() list after infer, the per-n plan table. */
static int setup_inference(model *m, char *err, size_t err_len) {
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
    for (int k = 0; k < m->infer_num_slots && !rc; k++) {
        rc = dev_floats(m, &m->infer_buf[k], floats[k], err, err_len);
        m->infer_buf_bytes += floats[k] * sizeof(float);
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

static void cuda_resnet_destroy(void *vm);

static void *create_model(const nnb_config *cfg, int depth, int fused, char *err, size_t err_len) {
    model *m = calloc(1, sizeof *m);
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
        rc = probe_fused_steps(m, err, err_len);
    if (!rc)
        rc = setup_tensor_lists(m, err, err_len);
    if (!rc)
        rc = setup_inference(m, err, err_len);
    if (rc) {
        cuda_resnet_destroy(m);
        return NULL;
    }
    return m;
}

static void *create_resnet18(const nnb_config *cfg, char *err, size_t err_len) {
    return create_model(cfg, 18, 0, err, err_len);
}
static void *create_resnet50(const nnb_config *cfg, char *err, size_t err_len) {
    return create_model(cfg, 50, 0, err, err_len);
}
static void *create_resnet18_jit(const nnb_config *cfg, char *err, size_t err_len) {
    return create_model(cfg, 18, 1, err, err_len);
}
static void *create_resnet50_jit(const nnb_config *cfg, char *err, size_t err_len) {
    return create_model(cfg, 50, 1, err, err_len);
}

/* ------------------------------------------------------------ forward */

static int conv_forward(model *m, const nnb_plan_step *s, char *err, size_t err_len) {
    const float one = 1.0f, zero = 0.0f;
    const conv_algos *c = &m->convs[s->conv_class];
    NNB_CUDNN_TRY(cudnnConvolutionForward(m->cudnn, &one, m->act_td[s->src], m->acts[s->src], c->filter,
                                          param_ptr(m, s->layer, 0), c->conv, c->fwd, m->workspace, m->workspace_bytes,
                                          &zero, m->act_td[s->dst], m->acts[s->dst]));
    return 0;
}

/* Plain BN training forward of layer l from act src into act dst (also the fallback of fused steps). */
static int bn_forward(model *m, int l, int src, int dst, char *err, size_t err_len) {
    const float one = 1.0f, zero = 0.0f;
    NNB_CUDNN_TRY(cudnnBatchNormalizationForwardTraining(
        m->cudnn, CUDNN_BATCHNORM_SPATIAL, &one, &zero, m->act_td[src], m->acts[src], m->act_td[dst], m->acts[dst],
        m->bn_td[l], param_ptr(m, l, 0), param_ptr(m, l, 1), NNB_RESNET_BN_MOMENTUM, param_ptr(m, l, 2),
        param_ptr(m, l, 3), NNB_RESNET_BN_EPS, save_mean(m, l), save_invstd(m, l)));
    return 0;
}

static int fc_forward(model *m, const nnb_plan_step *s, char *err, size_t err_len) {
    const float one = 1.0f, zero = 0.0f;
    const nnb_plan_gemm *g = &m->plan.fc_fwd;
    NNB_CUBLAS_TRY(cublasSgemm(m->cublas, g->transa ? CUBLAS_OP_T : CUBLAS_OP_N, g->transb ? CUBLAS_OP_T : CUBLAS_OP_N,
                               g->m, g->n, g->k, &one, param_ptr(m, s->layer, 0), g->lda, m->acts[s->src], g->ldb,
                               &zero, m->acts[s->dst], g->ldc));
    NNB_KERNEL_TRY(
        nnb_rk_bias_add(&m->geo, m->stream, m->acts[s->dst], param_ptr(m, s->layer, 1), m->plan.batch, m->plan.fc_out));
    return 0;
}

static int fused_forward(model *m, const nnb_plan_step *s, int step, char *err, size_t err_len) {
    int l = s->layer;
    if (m->bn_ex) {
        NNB_CUDNN_TRY(fused_forward_ex(m, s, step, param_ptr(m, l, 2), param_ptr(m, l, 3)));
        return 0;
    }
    if (bn_forward(m, l, s->src, s->dst, err, err_len))
        return -1;
    NNB_KERNEL_TRY(nnb_rk_add_relu(&m->geo, m->stream, m->acts[s->dst], s->src2 >= 0 ? m->acts[s->src2] : NULL,
                                   (long long)act_count(m, s->dst)));
    return 0;
}

static int forward_step(model *m, int i, char *err, size_t err_len) {
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
        NNB_KERNEL_TRY(nnb_rk_add(&m->geo, m->stream, m->acts[s->dst], m->acts[s->src], m->acts[s->src2],
                                  (long long)act_count(m, s->dst)));
        return 0;
    case NNB_STEP_AVGPOOL:
        NNB_KERNEL_TRY(nnb_rk_avgpool_fwd(&m->geo, m->stream, m->acts[s->dst], m->acts[s->src], l->in.n * l->in.c,
                                          l->in.h * l->in.w));
        return 0;
    case NNB_STEP_FC: return fc_forward(m, s, err, err_len);
    case NNB_STEP_BN_RELU:
    case NNB_STEP_BN_ADD_RELU: return fused_forward(m, s, i, err, err_len);
    }
    return nnb_fail(err, err_len, "%s: unknown plan step %d", m->name, (int)s->op);
}

static int cuda_resnet_forward(void *vm, char *err, size_t err_len) {
    model *m = vm;
    m->last_infer_n = 0;
    nnb_cuda_range_push(m->name, "forward");
    int rc = 0;
    for (int i = 0; i < m->plan.num_steps && !rc; i++)
        rc = forward_step(m, i, err, err_len);
    nnb_cuda_range_pop();
    return rc;
}

/* ------------------------------------------------------------ inference */

/* Where infer keeps activation a: the input buffer, the logits buffer, or its slot. */
static float *infer_act(const model *m, int a) {
    if (a == 0)
        return m->acts[0];
    if (a == m->arch.num_acts - 1)
        return m->infer_logits;
    return m->infer_slot[a] >= 0 ? m->infer_buf[m->infer_slot[a]] : NULL;
}

/* Activation a's elements at batch n. */
static size_t infer_count(const model *m, int a, int64_t n) {
    return act_count(m, a) / (size_t)m->arch.batch * (size_t)n;
}

/* Forward algorithm of convolution class k at batch n (n < N): cuDNN's heuristics, first acceptable result whose
 * workspace fits the model's one workspace; the create-time (measured) choice when none does and it fits. */
static int choose_infer_algo(model *m, int k, cudnnTensorDescriptor_t xd, cudnnTensorDescriptor_t yd,
                             cudnnConvolutionFwdAlgo_t *algo, int64_t n, char *err, size_t err_len) {
    const conv_algos *c = &m->convs[k];
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int returned = 0;
    size_t ws = 0;
    NNB_CUDNN_TRY(cudnnGetConvolutionForwardAlgorithm_v7(m->cudnn, xd, c->filter, c->conv, yd,
                                                         CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &returned, perf));
    for (int i = 0; i < returned; i++)
        if (acceptable(m, perf[i].status, perf[i].memory, perf[i].mathType) && perf[i].memory <= m->workspace_bytes &&
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
static int infer_plan_for(model *m, int64_t n, infer_plan **out, char *err, size_t err_len) {
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
        if (set_tensor(&ip->td[a], &t, err, err_len))
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
        int rc = set_tensor(&xd, &x, err, err_len) || set_tensor(&yd, &y, err, err_len) ||
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

static int infer_step(model *m, const infer_plan *ip, int i, int64_t n, char *err, size_t err_len) {
    const float one = 1.0f, zero = 0.0f;
    const nnb_plan_step *s = &m->plan.steps[i];
    const nnb_resnet_layer *l = &m->arch.layers[s->layer];
    float *x = infer_act(m, s->src), *y = infer_act(m, s->dst);
    cudnnTensorDescriptor_t xd = ip->td[s->src], yd = ip->td[s->dst];
    switch (s->op) {
    case NNB_STEP_SKIP: return 0;
    case NNB_STEP_CONV: {
        const conv_algos *c = &m->convs[s->conv_class];
        NNB_CUDNN_TRY(cudnnConvolutionForward(m->cudnn, &one, xd, x, c->filter, param_ptr(m, s->layer, 0), c->conv,
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
        NNB_KERNEL_TRY(
            nnb_rk_add(&m->geo, m->stream, y, x, infer_act(m, s->src2), (long long)infer_count(m, s->dst, n)));
        return 0;
    case NNB_STEP_AVGPOOL:
        NNB_KERNEL_TRY(nnb_rk_avgpool_fwd(&m->geo, m->stream, y, x, n * l->in.c, l->in.h * l->in.w));
        return 0;
    case NNB_STEP_FC: {
        nnb_plan_gemm g = m->plan.fc_fwd; /* logits^T (1000, n) = op_T(W) x^T (C, n) */
        g.n = (int)n;
        NNB_CUBLAS_TRY(cublasSgemm(m->cublas, g.transa ? CUBLAS_OP_T : CUBLAS_OP_N,
                                   g.transb ? CUBLAS_OP_T : CUBLAS_OP_N, g.m, g.n, g.k, &one, param_ptr(m, s->layer, 0),
                                   g.lda, x, g.ldb, &zero, y, g.ldc));
        NNB_KERNEL_TRY(nnb_rk_bias_add(&m->geo, m->stream, y, param_ptr(m, s->layer, 1), n, m->plan.fc_out));
        return 0;
    }
    case NNB_STEP_BN_RELU:
    case NNB_STEP_BN_ADD_RELU: {
        const nnb_resnet_layer *bn = &m->arch.layers[s->layer];
        NNB_KERNEL_TRY(nnb_rk_bn_infer(&m->geo, m->stream, y, x, s->src2 >= 0 ? infer_act(m, s->src2) : NULL,
                                       param_ptr(m, s->layer, 0), param_ptr(m, s->layer, 1), param_ptr(m, s->layer, 2),
                                       param_ptr(m, s->layer, 3), (float)NNB_RESNET_BN_EPS, n, bn->out.c,
                                       bn->out.h * bn->out.w, 1));
        return 0;
    }
    }
    return nnb_fail(err, err_len, "%s: unknown plan step %d", m->name, (int)s->op);
}

static int cuda_resnet_infer(void *vm, int64_t n, char *err, size_t err_len) {
    model *m = vm;
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
static int cuda_resnet_infer_io(void *vm, nnb_infer_io *io, char *err, size_t err_len) {
    model *m = vm;
    const nnb_resnet_shape x = m->arch.acts[0];
    size_t sample_in = (size_t)(x.c * x.h * x.w) * sizeof(float), sample_out = (size_t)m->plan.fc_out * sizeof(float);
    return nnb_cuda_fill_infer_io(m->name, io, m->acts[0], 1, 0, sample_in, m->infer_logits, 1, 0, sample_out, err,
                                  err_len);
}

/* A weight, bias or running statistic by its state_dict key, uploaded in stream order (after any infer in
 * flight), waited for. */
static int cuda_resnet_load_param(void *vm, const nnb_tensor *value, char *err, size_t err_len) {
    model *m = vm;
    int k = nnb_resnet_load_param_index(&m->arch, m->name, value, err, err_len);
    if (k < 0)
        return -1;
    const nnb_resnet_param *p = &m->arch.params[k];
    memcpy(m->h_params + p->offset, value->data, p->count * sizeof(float));
    return nnb_cuda_upload_on(m->stream, m->params + p->offset, value->data, p->count * sizeof(float), err, err_len);
}

/* ------------------------------------------------------------ backward */

static float beta_of(nnb_grad_mode mode) { return mode == NNB_GRAD_ACCUMULATE ? 1.0f : 0.0f; }

static int conv_backward(model *m, const nnb_plan_step *s, char *err, size_t err_len) {
    const float one = 1.0f, zero = 0.0f, beta = beta_of(s->src_grad);
    const conv_algos *c = &m->convs[s->conv_class];
    NNB_CUDNN_TRY(cudnnConvolutionBackwardData(m->cudnn, &one, c->filter, param_ptr(m, s->layer, 0), m->act_td[s->dst],
                                               grad_of(m, s->dst), c->conv, c->bwd_data, m->workspace,
                                               m->workspace_bytes, &beta, m->act_td[s->src], grad_of(m, s->src)));
    NNB_CUDNN_TRY(cudnnConvolutionBackwardFilter(m->cudnn, &one, m->act_td[s->src], m->acts[s->src], m->act_td[s->dst],
                                                 grad_of(m, s->dst), c->conv, c->bwd_filter, m->workspace,
                                                 m->workspace_bytes, &zero, c->filter, grad_ptr(m, s->layer, 0)));
    return 0;
}

/* Plain BN backward of layer l: dy is the gradient of act dy_act, x = acts[src]. */
static int bn_backward(model *m, int l, int src, int dy_act, nnb_grad_mode mode, char *err, size_t err_len) {
    const float one = 1.0f, zero = 0.0f, beta = beta_of(mode);
    NNB_CUDNN_TRY(cudnnBatchNormalizationBackward(
        m->cudnn, CUDNN_BATCHNORM_SPATIAL, &one, &beta, &one, &zero, m->act_td[src], m->acts[src], m->act_td[dy_act],
        grad_of(m, dy_act), m->act_td[src], grad_of(m, src), m->bn_td[l], param_ptr(m, l, 0), grad_ptr(m, l, 0),
        grad_ptr(m, l, 1), NNB_RESNET_BN_EPS, save_mean(m, l), save_invstd(m, l)));
    return 0;
}

static int fc_backward(model *m, const nnb_plan_step *s, char *err, size_t err_len) {
    const float one = 1.0f, zero = 0.0f, beta = beta_of(s->src_grad);
    const nnb_plan_gemm *d = &m->plan.fc_dx, *w = &m->plan.fc_dw;
    float *g = grad_of(m, s->dst); /* (N, 1000) */
    NNB_CUBLAS_TRY(cublasSgemm(m->cublas, d->transa ? CUBLAS_OP_T : CUBLAS_OP_N, d->transb ? CUBLAS_OP_T : CUBLAS_OP_N,
                               d->m, d->n, d->k, &one, param_ptr(m, s->layer, 0), d->lda, g, d->ldb, &beta,
                               grad_of(m, s->src), d->ldc));
    NNB_CUBLAS_TRY(cublasSgemm(m->cublas, w->transa ? CUBLAS_OP_T : CUBLAS_OP_N, w->transb ? CUBLAS_OP_T : CUBLAS_OP_N,
                               w->m, w->n, w->k, &one, m->acts[s->src], w->lda, g, w->ldb, &zero,
                               grad_ptr(m, s->layer, 0), w->ldc));
    NNB_KERNEL_TRY(nnb_rk_bias_grad(&m->geo, m->stream, grad_ptr(m, s->layer, 1), g, m->plan.batch, m->plan.fc_out));
    return 0;
}

static int fused_backward(model *m, const nnb_plan_step *s, int step, char *err, size_t err_len) {
    if (m->bn_ex) {
        NNB_CUDNN_TRY(fused_backward_ex(m, s, step));
        return 0;
    }
    /* relu mask in place on the output gradient (nobody reads it after this step), fanned out to the shortcut */
    float *dz = s->src2 >= 0 ? grad_of(m, s->src2) : NULL;
    NNB_KERNEL_TRY(nnb_rk_relu_grad(&m->geo, m->stream, grad_of(m, s->dst), m->acts[s->dst], dz,
                                    (long long)act_count(m, s->dst), s->src2_grad == NNB_GRAD_ACCUMULATE));
    return bn_backward(m, s->layer, s->src, s->dst, s->src_grad, err, err_len);
}

static int add_backward(model *m, const nnb_plan_step *s, char *err, size_t err_len) {
    long long n = (long long)act_count(m, s->dst);
    if (s->src_grad != NNB_GRAD_NONE)
        NNB_KERNEL_TRY(nnb_rk_fanout(&m->geo, m->stream, grad_of(m, s->src), grad_of(m, s->dst), n,
                                     s->src_grad == NNB_GRAD_ACCUMULATE));
    if (s->src2_grad != NNB_GRAD_NONE)
        NNB_KERNEL_TRY(nnb_rk_fanout(&m->geo, m->stream, grad_of(m, s->src2), grad_of(m, s->dst), n,
                                     s->src2_grad == NNB_GRAD_ACCUMULATE));
    return 0;
}

static int backward_step(model *m, int i, char *err, size_t err_len) {
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
        NNB_KERNEL_TRY(nnb_rk_avgpool_bwd(&m->geo, m->stream, grad_of(m, s->src), grad_of(m, s->dst), l->in.n * l->in.c,
                                          l->in.h * l->in.w, s->src_grad == NNB_GRAD_ACCUMULATE));
        return 0;
    case NNB_STEP_FC: return fc_backward(m, s, err, err_len);
    case NNB_STEP_BN_RELU:
    case NNB_STEP_BN_ADD_RELU: return fused_backward(m, s, i, err, err_len);
    }
    return nnb_fail(err, err_len, "%s: unknown plan step %d", m->name, (int)s->op);
}

static int cuda_resnet_backward(void *vm, char *err, size_t err_len) {
    model *m = vm;
    m->last_infer_n = 0; /* outputs() gives the training step's tensors again (infer left them as they were) */
    nnb_cuda_range_push(m->name, "backward");
    int rc = 0;
    for (int i = m->plan.num_steps - 1; i >= 0 && !rc; i--)
        rc = backward_step(m, i, err, err_len);
    nnb_cuda_range_pop();
    return rc;
}

/* ------------------------------------------------------------ results */

static int cuda_resnet_params(void *vm, nnb_tensor_list *out, char *err, size_t err_len) {
    model *m = vm;
    const nnb_resnet_arch *a = &m->arch;
    if (download(m, m->h_x, m->acts[0], act_count(m, 0), err, err_len) ||
        download(m, m->h_grad_logits, m->grad[a->num_acts - 1], act_count(m, a->num_acts - 1), err, err_len))
        return -1;
    /* Learnable parameters do not change (no optimizer step); running statistics are outputs. */
    for (int i = 0; i < a->num_params; i++)
        if (a->params[i].learnable && download(m, m->h_params + a->params[i].offset, m->params + a->params[i].offset,
                                               a->params[i].count, err, err_len))
            return -1;
    out->count = m->param_count;
    out->items = m->param_list;
    return 0;
}

static int cuda_resnet_outputs(void *vm, nnb_tensor_list *out, char *err, size_t err_len) {
    model *m = vm;
    const nnb_resnet_arch *a = &m->arch;
    int logits = a->num_acts - 1;
    if (m->last_infer_n > 0) { /* logits (n, 1000) of the last infer, and the running statistics it used */
        if (download(m, m->h_infer_logits, m->infer_logits, (size_t)m->last_infer_n * (size_t)m->plan.fc_out, err,
                     err_len) ||
            download(m, m->h_params, m->params, a->param_floats, err, err_len))
            return -1;
        m->infer_list[0].shape[0] = m->last_infer_n;
        out->count = m->infer_count;
        out->items = m->infer_list;
        return 0;
    }
    if (download(m, m->h_logits, m->acts[logits], act_count(m, logits), err, err_len) ||
        download(m, m->h_dx, grad_of(m, 0), act_count(m, 0), err, err_len) ||
        download(m, m->h_params, m->params, a->param_floats, err, err_len) ||
        download(m, m->h_grads, m->grads, a->param_floats, err, err_len))
        return -1;
    out->count = m->output_count;
    out->items = m->output_list;
    return 0;
}

/* "name":{"ALGO":count,...} over every convolution (not class). which: 0 fwd, 1 bwd data, 2 bwd filter. */
static void describe_algos(const model *m, int which, const char *key, char *buf, size_t len, size_t *used) {
    nnb_appendf(buf, len, used, "\"%s\":{", key);
    int first = 1;
    for (int algo = 0; algo < 8; algo++) {
        int count = 0;
        for (int k = 0; k < m->plan.num_conv_classes; k++) {
            const conv_algos *c = &m->convs[k];
            int chosen = which == 0 ? (int)c->fwd : which == 1 ? (int)c->bwd_data : (int)c->bwd_filter;
            if (chosen == algo)
                count += m->plan.convs[k].uses;
        }
        if (!count)
            continue;
        const char *name = which == 0   ? fwd_algo_name((cudnnConvolutionFwdAlgo_t)algo)
                           : which == 1 ? bwd_data_algo_name((cudnnConvolutionBwdDataAlgo_t)algo)
                                        : bwd_filter_algo_name((cudnnConvolutionBwdFilterAlgo_t)algo);
        nnb_appendf(buf, len, used, "%s\"%s\":%d", first ? "" : ",", name, count);
        first = 0;
    }
    nnb_appendf(buf, len, used, "},");
}

static int cuda_resnet_describe(void *vm, char *buf, size_t len) {
    const model *m = vm;
    size_t used = 0;
    int convs = 0;
    for (int k = 0; k < m->plan.num_conv_classes; k++)
        convs += m->plan.convs[k].uses;
    nnb_appendf(buf, len, &used, "{\"runner\":\"%s\",\"library\":\"cuDNN + cuBLAS\",", m->name);
    nnb_cuda_describe_device(&m->prop, m->device, m->cublas, buf, len, &used);
    nnb_appendf(buf, len, &used,
                "\"tf32\":%s,\"conv_math\":\"%s\",\"cublas_math\":\"%s\",\"algo_selection\":\"cudnnFind*Algorithm\","
                "\"convolutions\":%d,\"conv_geometries\":%d,",
                m->tf32 ? "true" : "false", m->tf32 ? "CUDNN_DEFAULT_MATH" : "CUDNN_FMA_MATH",
                m->tf32 ? "CUBLAS_TF32_TENSOR_OP_MATH" : "CUBLAS_DEFAULT_MATH", convs, m->plan.num_conv_classes);
    describe_algos(m, 0, "conv_fwd_algos", buf, len, &used);
    describe_algos(m, 1, "conv_bwd_data_algos", buf, len, &used);
    describe_algos(m, 2, "conv_bwd_filter_algos", buf, len, &used);
    nnb_appendf(buf, len, &used, "\"workspace_bytes\":%zu,\"bn_mode\":\"CUDNN_BATCHNORM_SPATIAL\",",
                m->workspace_bytes);
    if (m->fused)
        nnb_appendf(buf, len, &used,
                    "\"fusion\":{\"bn_relu\":%d,\"bn_add_relu\":%d,\"path\":\"%s\",\"cudnn_ex_status\":\"%s\"},",
                    m->plan.fused_bn_relu, m->plan.fused_bn_add_relu,
                    m->bn_ex ? "cudnnBatchNormalization*Ex (CUDNN_BATCHNORM_SPATIAL_PERSISTENT)"
                             : "cudnnBatchNormalizationForwardTraining + nnb_rk_add_relu_kernel",
                    m->ex_status);
    else
        nnb_appendf(buf, len, &used, "\"fusion\":\"none\",");
    nnb_appendf(buf, len, &used,
                "\"infer\":{\"bn\":\"%s\",\"conv_algos\":\"n = N: cudnnFind* (create); n < N: "
                "cudnnGetConvolutionForwardAlgorithm_v7 per n, built at the first infer(n), within the workspace\","
                "\"buffers\":%d,\"buffer_bytes\":%zu,\"plans_built\":%d},",
                m->fused ? "nnb_rk_bn_infer_kernel (BN + ReLU, BN + add + ReLU fused)"
                         : "cudnnBatchNormalizationForwardInference",
                m->infer_num_slots, m->infer_buf_bytes, m->infer_plans_built);
    nnb_appendf(buf, len, &used,
                "\"kernels\":{\"block_size\":%d,\"max_blocks\":%d},\"fc\":\"cublasSgemm + nnb_rk_bias_add_kernel\"}",
                m->geo.block_size, m->geo.max_blocks);
    return used + 1 < len ? 0 : -1;
}

static double cuda_resnet_forward_flops(void *vm) { return ((model *)vm)->arch.forward_flops; }
static double cuda_resnet_backward_flops(void *vm) { return ((model *)vm)->arch.backward_flops; }

static void cuda_resnet_destroy(void *vm) {
    model *m = vm;
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
            if (m->convs[k].conv)
                cudnnDestroyConvolutionDescriptor(m->convs[k].conv);
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

/* ------------------------------------------------------------ descriptor */

#define RESNET_RUNNER(runner_name, create_fn, ref, text, flags_, tol_)                                                 \
    {                                                                                                                  \
        .struct_size = sizeof(nnb_runner_desc), .name = runner_name, .group = NNB_GROUP_CNNS,                          \
        .device = NNB_DEVICE_CUDA, .description = text, .reference = ref, .flags = flags_,                             \
        .available = nnb_cuda_available, .create = create_fn, .forward = cuda_resnet_forward, .backward_setup = NULL,  \
        .backward = cuda_resnet_backward, .zero_grad = NULL, .params = cuda_resnet_params,                             \
        .outputs = cuda_resnet_outputs, .describe = cuda_resnet_describe, .forward_flops = cuda_resnet_forward_flops,  \
        .backward_flops = cuda_resnet_backward_flops, .destroy = cuda_resnet_destroy, .check_tolerance = tol_,         \
        .infer = cuda_resnet_infer, .infer_io = cuda_resnet_infer_io, .load_param = cuda_resnet_load_param,            \
    }

/* See nnb_resnet_check_tolerance: ResNet-50 gradients are judged in the L2 norm. */
static double resnet50_check_tolerance(const nnb_config *cfg) {
    (void)cfg;
    return nnb_resnet_check_tolerance(50);
}

/* References run on the CPU (the driver's --check looks them up there): the plain C reference. */
static const nnb_runner_desc runners[] = {
    RESNET_RUNNER("resnet18", create_resnet18, "resnet18_ref",
                  "ResNet-18 train step: cuDNN + cuBLAS, one call per layer", 0, NULL),
    RESNET_RUNNER("resnet50", create_resnet50, "resnet50_ref",
                  "ResNet-50 train step: cuDNN + cuBLAS, one call per layer", NNB_FLAG_CHECK_GRADIENTS_L2,
                  resnet50_check_tolerance),
    RESNET_RUNNER("resnet18_jit", create_resnet18_jit, "resnet18_ref",
                  "ResNet-18 train step: cuDNN + cuBLAS, BN+ReLU and BN+add+ReLU fused", 0, NULL),
    RESNET_RUNNER("resnet50_jit", create_resnet50_jit, "resnet50_ref",
                  "ResNet-50 train step: cuDNN + cuBLAS, BN+ReLU and BN+add+ReLU fused", NNB_FLAG_CHECK_GRADIENTS_L2,
                  resnet50_check_tolerance),
};

static const nnb_plugin plugin = {
    .abi_major = NNB_ABI_MAJOR,
    .abi_minor = NNB_ABI_MINOR,
    .struct_size = sizeof(nnb_plugin),
    .name = "cuda_resnet",
    .runner_count = (int)(sizeof runners / sizeof runners[0]),
    .runners = runners,
};

NNB_DEFINE_PLUGIN(plugin)
