/* CUDA ResNet runners: results, describe, flops and the runner table of the plugin nnb_cuda_resnet (cuda_resnet.h). */
#include "cuda_resnet.h"

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

static void *create_resnet18(const nnb_config *cfg, char *err, size_t err_len) {
    return cuda_resnet_create(cfg, 18, 0, err, err_len);
}
static void *create_resnet50(const nnb_config *cfg, char *err, size_t err_len) {
    return cuda_resnet_create(cfg, 50, 0, err, err_len);
}
static void *create_resnet18_jit(const nnb_config *cfg, char *err, size_t err_len) {
    return cuda_resnet_create(cfg, 18, 1, err, err_len);
}
static void *create_resnet50_jit(const nnb_config *cfg, char *err, size_t err_len) {
    return cuda_resnet_create(cfg, 50, 1, err, err_len);
}

/* ------------------------------------------------------------ results */

static int cuda_resnet_params(void *vm, nnb_tensor_list *out, char *err, size_t err_len) {
    cuda_resnet_model *m = vm;
    const nnb_resnet_arch *a = &m->arch;
    if (cuda_resnet_download_act(m, m->h_x, m->acts[0], act_count(m, 0), err, err_len) ||
        cuda_resnet_download(m, m->h_grad_logits, m->grad[a->num_acts - 1], act_count(m, a->num_acts - 1), err,
                             err_len))
        return -1;
    /* Learnable parameters do not change (no optimizer step); running statistics are outputs. */
    for (int i = 0; i < a->num_params; i++)
        if (a->params[i].learnable &&
            cuda_resnet_download(m, m->h_params + a->params[i].offset, m->params + a->params[i].offset,
                                 a->params[i].count, err, err_len))
            return -1;
    out->count = m->param_count;
    out->items = m->param_list;
    return 0;
}

/* bf16/fp16: every convolution's weight gradient, widened from grads16 over its fp32 slot of h_grads. */
static int download_conv_grads16(cuda_resnet_model *m, char *err, size_t err_len) {
    const nnb_resnet_arch *a = &m->arch;
    for (int l = 0; l < a->num_layers; l++) {
        if (a->layers[l].op != NNB_RESNET_CONV)
            continue;
        const nnb_resnet_param *p = &a->params[a->layers[l].param];
        if (cuda_resnet_download_act(m, m->h_grads + p->offset, conv_grad_ptr(m, l), p->count, err, err_len))
            return -1;
    }
    return 0;
}

static int cuda_resnet_outputs(void *vm, nnb_tensor_list *out, char *err, size_t err_len) {
    cuda_resnet_model *m = vm;
    const nnb_resnet_arch *a = &m->arch;
    int logits = a->num_acts - 1;
    if (m->last_infer_n > 0) { /* logits (n, 1000) of the last infer, and the running statistics it used */
        if (cuda_resnet_download(m, m->h_infer_logits, m->infer_logits,
                                 (size_t)m->last_infer_n * (size_t)m->plan.fc_out, err, err_len) ||
            cuda_resnet_download(m, m->h_params, m->params, a->param_floats, err, err_len))
            return -1;
        m->infer_list[0].shape[0] = m->last_infer_n;
        out->count = m->infer_count;
        out->items = m->infer_list;
        return 0;
    }
    if (cuda_resnet_download(m, m->h_logits, m->acts[logits], act_count(m, logits), err, err_len) ||
        cuda_resnet_download_act(m, m->h_dx, grad_of(m, 0), act_count(m, 0), err, err_len) ||
        cuda_resnet_download(m, m->h_params, m->params, a->param_floats, err, err_len) ||
        cuda_resnet_download(m, m->h_grads, m->grads, a->param_floats, err, err_len))
        return -1;
    if (m->grads16 && download_conv_grads16(m, err, err_len))
        return -1;
    out->count = m->output_count;
    out->items = m->output_list;
    return 0;
}

/* "name":{"ALGO":count,...} over every convolution (not class). which: 0 fwd, 1 bwd data, 2 bwd filter. */
static void describe_algos(const cuda_resnet_model *m, int which, const char *key, char *buf, size_t len,
                           size_t *used) {
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

static const char *conv_math_name(const cuda_resnet_model *m) {
    if (m->st != NNB_RK_F32)
        return m->dtype == CUDNN_DATA_HALF ? "CUDNN_TENSOR_OP_MATH (CUDNN_DATA_HALF tensors, fp32 compute)"
                                           : "CUDNN_TENSOR_OP_MATH (CUDNN_DATA_BFLOAT16 tensors, fp32 compute)";
    return m->tf32 ? "CUDNN_DEFAULT_MATH" : "CUDNN_FMA_MATH";
}

static const char *cublas_math_name(const cuda_resnet_model *m) {
    if (m->st != NNB_RK_F32)
        return "cublasGemmEx, CUBLAS_COMPUTE_32F";
    return m->tf32 ? "CUBLAS_TF32_TENSOR_OP_MATH" : "CUBLAS_DEFAULT_MATH";
}

static int cuda_resnet_describe(void *vm, char *buf, size_t len) {
    const cuda_resnet_model *m = vm;
    size_t used = 0;
    int convs = 0;
    for (int k = 0; k < m->plan.num_conv_classes; k++)
        convs += m->plan.convs[k].uses;
    nnb_appendf(buf, len, &used, "{\"runner\":\"%s\",\"library\":\"cuDNN + cuBLAS\",", m->name);
    nnb_cuda_describe_device(&m->prop, m->device, m->cublas, buf, len, &used);
    nnb_appendf(buf, len, &used,
                "\"precision\":\"%s\",\"tf32\":%s,\"conv_math\":\"%s\",\"cublas_math\":\"%s\",\"algo_selection\":"
                "\"cudnnFind*Algorithm\","
                "\"convolutions\":%d,\"conv_geometries\":%d,",
                nnb_precision_name(m->precision), m->tf32 ? "true" : "false", conv_math_name(m), cublas_math_name(m),
                convs, m->plan.num_conv_classes);
    if (m->st != NNB_RK_F32)
        nnb_appendf(buf, len, &used,
                    "\"storage\":\"%s activations, activation gradients, conv/fc weights and conv weight gradients; "
                    "fp32 logits, BatchNorm parameters and statistics, fc weight and bias gradients\",",
                    nnb_precision_name(m->precision));
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

static double cuda_resnet_forward_flops(void *vm) { return ((cuda_resnet_model *)vm)->arch.forward_flops; }
static double cuda_resnet_backward_flops(void *vm) { return ((cuda_resnet_model *)vm)->arch.backward_flops; }

/* ------------------------------------------------------------ descriptor */

/* ABI 1.3: fp32, tf32 (TF32 math), bf16 and fp16 (16-bit activations and weights, fp32 compute; cuda_resnet.h). */
#define RESNET_PRECISIONS                                                                                              \
    (NNB_PRECISION_BIT(NNB_PRECISION_FP32) | NNB_PRECISION_BIT(NNB_PRECISION_TF32) |                                   \
     NNB_PRECISION_BIT(NNB_PRECISION_BF16) | NNB_PRECISION_BIT(NNB_PRECISION_FP16))

#define RESNET_RUNNER(runner_name, create_fn, ref, text, flags_, tol_)                                                 \
    {                                                                                                                  \
        .struct_size = sizeof(nnb_runner_desc), .name = runner_name, .group = NNB_GROUP_CNNS,                          \
        .device = NNB_DEVICE_CUDA, .description = text, .reference = ref, .flags = flags_,                             \
        .available = nnb_cuda_precision_available, .create = create_fn, .forward = cuda_resnet_forward,                \
        .backward_setup = NULL, .precisions = RESNET_PRECISIONS, .backward = cuda_resnet_backward, .zero_grad = NULL,  \
        .params = cuda_resnet_params, .outputs = cuda_resnet_outputs, .describe = cuda_resnet_describe,                \
        .forward_flops = cuda_resnet_forward_flops, .backward_flops = cuda_resnet_backward_flops,                      \
        .destroy = cuda_resnet_destroy, .check_tolerance = tol_, .infer = cuda_resnet_infer,                           \
        .infer_io = cuda_resnet_infer_io, .load_param = cuda_resnet_load_param,                                        \
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
