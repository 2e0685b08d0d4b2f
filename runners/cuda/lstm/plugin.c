/*
 * Plugin nnb_cuda_lstm: the CUDA LSTM runners (device cuda). available() says
 * "cuda: no device (...)" where no device is usable; nothing here falls back
 * to the CPU.
 */
#include "cuda_common.h"
#include "cudnn_lstm.h"
#include "custom_lstm.h"
#include "layernorm_lstm.h"

/* Every CUDA LSTM model starts with an nnb_cuda_lstm, so one set of interface functions serves every kind;
 * a runner's descriptor differs only in what it is, its create function, whether it has a backward, its
 * --check tolerance and whether it serves (ABI 1.2 infer, infer_io and load_param: the fixed-length runners
 * of the hand-written engine and `cudnn`; not the variable-length, LayerNorm or cuDNN dropout ones). */
#define RUNNER(runner, grp, ref, flags_, desc, create_fn, bwd, tolerance, serves, precisions_)                         \
    {                                                                                                                  \
        .struct_size = sizeof(nnb_runner_desc), .name = runner, .group = grp, .device = NNB_DEVICE_CUDA,               \
        .description = desc, .reference = ref, .flags = flags_, .available = nnb_cuda_precision_available,             \
        .create = create_fn, .precisions = precisions_, .forward = nnb_cuda_lstm_forward, .backward_setup = NULL,      \
        .backward = bwd, .zero_grad = NULL, .params = nnb_cuda_lstm_params, .outputs = nnb_cuda_lstm_outputs,          \
        .describe = nnb_cuda_lstm_describe, .forward_flops = nnb_cuda_lstm_forward_flops,                              \
        .backward_flops = nnb_cuda_lstm_backward_flops, .destroy = nnb_cuda_lstm_destroy,                              \
        .check_tolerance = tolerance, .infer = (serves) ? nnb_cuda_lstm_infer : NULL,                                  \
        .infer_io = (serves) ? nnb_cuda_lstm_infer_io : NULL,                                                          \
        .load_param = (serves) ? nnb_cuda_lstm_load_param : NULL,                                                      \
    }
/* ABI 1.3 precisions: every runner computes fp32 and tf32 (cuBLAS / cuDNN TF32 tensor-op math); the cuDNN LSTMs,
 * the hand-written engine and its LayerNorm runners also bf16 and fp16 (16-bit data or GEMM operands, fp32
 * accumulation); cudnn_layernorm (fp32 LayerNorm kernels on cuDNN's output) does not. available() refuses a
 * precision the device is too old for. */
#define FP32_TF32 (NNB_PRECISION_BIT(NNB_PRECISION_FP32) | NNB_PRECISION_BIT(NNB_PRECISION_TF32))
#define ALL_PRECISIONS (FP32_TF32 | NNB_PRECISION_BIT(NNB_PRECISION_BF16) | NNB_PRECISION_BIT(NNB_PRECISION_FP16))
#define CUDNN_RUNNER(runner, grp, ref, flags_, desc, bwd, serves, precisions_)                                         \
    RUNNER(#runner, grp, ref, flags_, desc, nnb_cudnn_create_##runner, bwd, NULL, serves, precisions_)
#define CUSTOM_RUNNER(runner, grp, ref, flags_, desc, serves)                                                          \
    RUNNER(#runner, grp, ref, flags_, desc, nnb_cu_lstm_create_##runner, nnb_cuda_lstm_backward, NULL, serves,         \
           ALL_PRECISIONS)
#define LAYERNORM_RUNNER(runner, create_fn, desc)                                                                      \
    RUNNER(runner, NNB_GROUP_RNNS, "py_layernorm", NNB_FLAG_HIDDEN, desc, create_fn, nnb_cuda_lstm_backward,           \
           nnb_layernorm_lstm_check_tolerance, 0, ALL_PRECISIONS)

static const nnb_runner_desc runners[] = {
    CUDNN_RUNNER(cudnn, NNB_GROUP_RNNS, "py", 0u,
                 "cuDNN 9 LSTM (v8 RNN API): fp32, tf32 tensor ops, or bf16/fp16 data with tensor ops (--dtype)",
                 nnb_cuda_lstm_backward, 1, ALL_PRECISIONS),
    CUDNN_RUNNER(vl_cudnn, NNB_GROUP_VL_RNNS, "vl_py", 0u,
                 "cuDNN 9 LSTM, per-sequence lengths in the RNN data descriptors (packed-sequence semantics)",
                 nnb_cuda_lstm_backward, 0, ALL_PRECISIONS),
    CUDNN_RUNNER(cudnn_dropout, NNB_GROUP_RNNS, NULL, NNB_FLAG_HIDDEN,
                 "cuDNN 9 LSTM with cuDNN's dropout p=0.4 between layers; cuDNN's RNG mask differs from "
                 "nnb_dropout_mask, so no reference check",
                 nnb_cuda_lstm_backward, 0, ALL_PRECISIONS),
    CUDNN_RUNNER(cudnn_layernorm, NNB_GROUP_RNNS, "py_cudnn_layernorm", NNB_FLAG_HIDDEN,
                 "forward only: cuDNN 9 LSTM, then per step LN of a seeded (B,4H) input twice and cy = LN(cy)", NULL, 0,
                 FP32_TF32),
    CUSTOM_RUNNER(aten, NNB_GROUP_RNNS, "py", 0u, "per step cuBLAS sgemm x2, then one CUDA kernel per pointwise op", 1),
    CUSTOM_RUNNER(jit, NNB_GROUP_RNNS, "py", 0u, "per step cuBLAS sgemm x2 + one fused cell kernel (fwd and bwd)", 1),
    CUSTOM_RUNNER(jit_multilayer, NNB_GROUP_RNNS, "py", 0u,
                  "jit's schedule with all --numLayers layers inside one forward/backward", 1),
    CUSTOM_RUNNER(jit_premul, NNB_GROUP_RNNS, "py", 0u,
                  "x.W_ih^T for all steps as one sgemm; per step h.W_hh^T + fused cell; batched input-side backward",
                  1),
    CUSTOM_RUNNER(jit_premul_bias, NNB_GROUP_RNNS, "py", 0u,
                  "premul with b_ih folded into the big sgemm, b_hh in the cell; bias gradients reduced once", 1),
    CUSTOM_RUNNER(jit_simple, NNB_GROUP_RNNS, "py_simple", NNB_FLAG_SINGLE_LAYER,
                  "single-layer fused LSTM returning only the final (h, c); backward from the final h", 1),
    CUSTOM_RUNNER(jit_dropout, NNB_GROUP_RNNS, "py_dropout", NNB_FLAG_HIDDEN,
                  "jit_premul layers with inverted dropout p=0.4 between them (mask nnb_dropout_mask); "
                  "with numLayers 1 it is a plain LSTM (and in inference, dropout off)",
                  1),
    LAYERNORM_RUNNER("jit_layernorm", nnb_ln_lstm_create,
                     "LayerNorm LSTM (LN of x.W_ih^T, h.W_hh^T and the new cell; learnable gain/bias; no gate "
                     "biases), warp-per-row LayerNorm kernels and fused cell halves"),
    LAYERNORM_RUNNER("jit_layernorm_decom", nnb_ln_lstm_create_decom,
                     "jit_layernorm with each forward LayerNorm decomposed into 7 passes (mean, sub, var, rsqrt, "
                     "normalise, scale, shift)"),
    CUSTOM_RUNNER(vl_jit, NNB_GROUP_VL_RNNS, "vl_py", 0u,
                  "variable length: rows sorted by length, per step GEMM + fused cell on the active rows", 0),
};

static const nnb_plugin plugin = {
    NNB_ABI_MAJOR, NNB_ABI_MINOR, sizeof(nnb_plugin), "cuda_lstm", (int)(sizeof runners / sizeof *runners), runners};

NNB_DEFINE_PLUGIN(plugin)
