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
 * a runner's descriptor differs only in what it is, its create function, whether it has a backward and its
 * --check tolerance. */
#define RUNNER(runner, grp, ref, flags_, desc, create_fn, bwd, tolerance)                                              \
    {                                                                                                                  \
        sizeof(nnb_runner_desc), runner, grp, NNB_DEVICE_CUDA, desc, ref, flags_, nnb_cuda_available, create_fn,       \
            nnb_cuda_lstm_forward, NULL, bwd, NULL, nnb_cuda_lstm_params, nnb_cuda_lstm_outputs,                       \
            nnb_cuda_lstm_describe, nnb_cuda_lstm_forward_flops, nnb_cuda_lstm_backward_flops, nnb_cuda_lstm_destroy,  \
            tolerance                                                                                                  \
    }
#define CUDNN_RUNNER(runner, grp, ref, flags_, desc, bwd)                                                              \
    RUNNER(#runner, grp, ref, flags_, desc, nnb_cudnn_create_##runner, bwd, NULL)
#define CUSTOM_RUNNER(runner, grp, ref, flags_, desc)                                                                  \
    RUNNER(#runner, grp, ref, flags_, desc, nnb_cu_lstm_create_##runner, nnb_cuda_lstm_backward, NULL)
#define LAYERNORM_RUNNER(runner, create_fn, desc)                                                                      \
    RUNNER(runner, NNB_GROUP_RNNS, "py_layernorm", NNB_FLAG_HIDDEN, desc, create_fn, nnb_cuda_lstm_backward,           \
           nnb_layernorm_lstm_check_tolerance)

static const nnb_runner_desc runners[] = {
    CUDNN_RUNNER(cudnn, NNB_GROUP_RNNS, "py", 0u, "cuDNN 9 LSTM (v8 RNN API), fp32 unless --tf32",
                 nnb_cuda_lstm_backward),
    CUDNN_RUNNER(vl_cudnn, NNB_GROUP_VL_RNNS, "vl_py", 0u,
                 "cuDNN 9 LSTM, per-sequence lengths in the RNN data descriptors (packed-sequence semantics)",
                 nnb_cuda_lstm_backward),
    CUDNN_RUNNER(cudnn_dropout, NNB_GROUP_RNNS, NULL, NNB_FLAG_HIDDEN,
                 "cuDNN 9 LSTM with cuDNN's dropout p=0.4 between layers; cuDNN's RNG mask differs from "
                 "nnb_dropout_mask, so no reference check",
                 nnb_cuda_lstm_backward),
    CUDNN_RUNNER(cudnn_layernorm, NNB_GROUP_RNNS, "py_cudnn_layernorm", NNB_FLAG_HIDDEN,
                 "forward only: cuDNN 9 LSTM, then per step LN of a seeded (B,4H) input twice and cy = LN(cy)", NULL),
    CUSTOM_RUNNER(aten, NNB_GROUP_RNNS, "py", 0u, "per step cuBLAS sgemm x2, then one CUDA kernel per pointwise op"),
    CUSTOM_RUNNER(jit, NNB_GROUP_RNNS, "py", 0u, "per step cuBLAS sgemm x2 + one fused cell kernel (fwd and bwd)"),
    CUSTOM_RUNNER(jit_multilayer, NNB_GROUP_RNNS, "py", 0u,
                  "jit's schedule with all --numLayers layers inside one forward/backward"),
    CUSTOM_RUNNER(jit_premul, NNB_GROUP_RNNS, "py", 0u,
                  "x.W_ih^T for all steps as one sgemm; per step h.W_hh^T + fused cell; batched input-side backward"),
    CUSTOM_RUNNER(jit_premul_bias, NNB_GROUP_RNNS, "py", 0u,
                  "premul with b_ih folded into the big sgemm, b_hh in the cell; bias gradients reduced once"),
    CUSTOM_RUNNER(jit_simple, NNB_GROUP_RNNS, "py_simple", NNB_FLAG_SINGLE_LAYER,
                  "single-layer fused LSTM returning only the final (h, c); backward from the final h"),
    CUSTOM_RUNNER(jit_dropout, NNB_GROUP_RNNS, "py_dropout", NNB_FLAG_HIDDEN,
                  "jit_premul layers with inverted dropout p=0.4 between them (mask nnb_dropout_mask); "
                  "with numLayers 1 it is a plain LSTM"),
    LAYERNORM_RUNNER("jit_layernorm", nnb_ln_lstm_create,
                     "LayerNorm LSTM (LN of x.W_ih^T, h.W_hh^T and the new cell; learnable gain/bias; no gate "
                     "biases), warp-per-row LayerNorm kernels and fused cell halves"),
    LAYERNORM_RUNNER("jit_layernorm_decom", nnb_ln_lstm_create_decom,
                     "jit_layernorm with each forward LayerNorm decomposed into 7 passes (mean, sub, var, rsqrt, "
                     "normalise, scale, shift)"),
    CUSTOM_RUNNER(vl_jit, NNB_GROUP_VL_RNNS, "vl_py", 0u,
                  "variable length: rows sorted by length, per step GEMM + fused cell on the active rows"),
};

static const nnb_plugin plugin = {
    NNB_ABI_MAJOR, NNB_ABI_MINOR, sizeof(nnb_plugin), "cuda_lstm", (int)(sizeof runners / sizeof *runners), runners};

NNB_DEFINE_PLUGIN(plugin)
