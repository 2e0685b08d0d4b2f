/*
 * The CUDA ResNet runners' model, shared by their sources (internal to the plugin nnb_cuda_resnet):
 *   cuda_resnet_create.c   create (handles, descriptors, buffers, algorithm choice, fused-BN probe), destroy
 *   cuda_resnet_train.c    the training step: forward and backward, one plan step at a time
 *   cuda_resnet_infer.c    ABI 1.2 inference: infer(n), infer_io, load_param
 *   cuda_resnet_plugin.c   params, outputs, describe, flops and the runner table
 *
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
 * create (cudnnFind*Algorithm, fastest that fits the cap and the math mode),
 * each direction on a descriptor of its own that then carries the math type its
 * algorithm was measured with (cudnnSetConvolutionMathType, as PyTorch does);
 * one workspace serves every call. create ends with cudaDeviceSynchronize: its
 * uploads and zeroing ran on the legacy stream, the runner's stream is non-blocking.
 *
 * Precision (ABI 1.3): every precision sees the seeded x and weights rounded to it (nnb_resnet_round_to_precision,
 * no-op for fp32/tf32). tf32: fp32 data, TF32 math (as --tf32). bf16 / fp16: every activation and activation
 * gradient is stored as CUDNN_DATA_BFLOAT16 / CUDNN_DATA_HALF (tensor descriptors, filters; convolutions compute
 * in fp32, CUDNN_DATA_FLOAT, with CUDNN_TENSOR_OP_MATH; the small kernels load, compute in fp32 and store
 * rounded, resnet_kernels.cuh), except the logits and their upstream gradient, which stay fp32. Convolution and
 * fc weights are used from a 16-bit copy (params16); BatchNorm's scale, bias, running and saved statistics and
 * their gradients stay fp32 (cuDNN takes them as float for half / bf16 data). Convolution weight gradients
 * come out 16-bit (grads16, cuDNN's filter type) and are widened into the host gradients; the fc runs as
 * cublasGemmEx with CUBLAS_COMPUTE_32F: 16-bit weights and input, fp32 logits and weight gradient, a 16-bit
 * copy of the upstream gradient (grad_logits16) for the two backward GEMMs, and a 16-bit input gradient.
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
#ifndef NNB_CUDA_RESNET_H
#define NNB_CUDA_RESNET_H

#include "nnb_cuda_precision.h"
#include "nnb_cuda_util.h"
#include "resnet_arch.h"
#include "resnet_init.h"
#include "resnet_kernels.h"
#include "resnet_plan.h"

#include <nnbench/runner.h>

#define WORKSPACE_CAP ((size_t)1 << 30) /* largest convolution workspace we accept: 1 GiB */
#define DEFAULT_BLOCK_SIZE 256

/* One convolution geometry: a descriptor per direction, each carrying the math type of the algorithm chosen for
 * that direction (cuDNN picks tensor-op kernels by algorithm and math type together). */
typedef struct conv_algos {
    cudnnFilterDescriptor_t filter;
    cudnnConvolutionDescriptor_t conv, conv_bwd_data, conv_bwd_filter; /* forward, backward data, backward filter */
    cudnnMathType_t math_fwd, math_bwd_data, math_bwd_filter;
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

typedef struct cuda_resnet_model {
    char name[32];
    int fused;
    nnb_resnet_arch arch;
    nnb_resnet_plan plan;

    int device;
    struct cudaDeviceProp prop;
    cudaStream_t stream;
    cudnnHandle_t cudnn;
    cublasHandle_t cublas;
    int tf32;              /* --tf32 or --dtype tf32 */
    int precision;         /* nnb_precision of the run */
    int st;                /* activation storage: NNB_RK_F32, NNB_RK_BF16 or NNB_RK_F16 */
    size_t es;             /* bytes per activation element */
    cudnnDataType_t dtype; /* activations and filters: FLOAT, BFLOAT16 or HALF */
    cudaDataType ab;       /* the fc GEMM's A and B: CUDA_R_32F, CUDA_R_16BF or CUDA_R_16F */
    nnb_rk_geometry geo;

    cudnnTensorDescriptor_t *act_td; /* (num_acts) NCHW packed, NULL where unused */
    cudnnTensorDescriptor_t *bn_td;  /* (num_layers) (1, C, 1, 1) for BN layers */
    conv_algos *convs;               /* (num_conv_classes) */
    cudnnActivationDescriptor_t relu;
    cudnnPoolingDescriptor_t maxpool;

    float *params;        /* (param_floats) packed like arch->params; running statistics updated in place */
    float *grads;         /* (param_floats) running-statistic slots unused */
    void *params16;       /* bf16/fp16: (param_floats) 16-bit copy of params; conv and fc weights used from it */
    void *grads16;        /* bf16/fp16: (param_floats) 16-bit conv weight gradients (other slots unused) */
    void *grad_logits16;  /* bf16/fp16: (N, 1000) 16-bit copy of the upstream gradient, for the fc GEMMs */
    void **acts;          /* (num_acts) (n, c, h, w) each, elements of dtype; acts[0] = x, acts[last] = logits
                           * (N, 1000), always fp32 */
    void **grad;          /* (num_acts) gradient buffer owned by that activation (plan.grad_owner), as acts */
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
    void **infer_buf;        /* (infer_num_slots), elements of dtype */
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
} cuda_resnet_model;

/* ------------------------------------------------------------ small helpers */

static inline size_t act_count(const cuda_resnet_model *m, int a) { return nnb_resnet_shape_count(m->arch.acts[a]); }
static inline float *param_ptr(const cuda_resnet_model *m, int layer, int k) {
    return m->params + m->arch.params[m->arch.layers[layer].param + k].offset;
}
static inline float *grad_ptr(const cuda_resnet_model *m, int layer, int k) {
    return m->grads + m->arch.params[m->arch.layers[layer].param + k].offset;
}
static inline void *grad_of(const cuda_resnet_model *m, int act) { return m->grad[m->plan.grad_owner[act]]; }
/* Parameter k of layer l as the convolution or fc GEMM reads it: its 16-bit copy in bf16/fp16, else fp32. */
static inline const void *weight_ptr(const cuda_resnet_model *m, int layer, int k) {
    size_t off = m->arch.params[m->arch.layers[layer].param + k].offset;
    return m->params16 ? (const void *)((const char *)m->params16 + off * m->es) : (const void *)(m->params + off);
}
/* Where cuDNN writes a convolution's weight gradient: 16-bit (the filter's type) in bf16/fp16, else fp32. */
static inline void *conv_grad_ptr(const cuda_resnet_model *m, int layer) {
    size_t off = m->arch.params[m->arch.layers[layer].param].offset;
    return m->grads16 ? (void *)((char *)m->grads16 + off * m->es) : (void *)(m->grads + off);
}
/* The fc's upstream gradient as its backward GEMMs read it (A/B of type ab). */
static inline const void *fc_grad_operand(const cuda_resnet_model *m) {
    return m->grad_logits16 ? m->grad_logits16 : grad_of(m, m->arch.num_acts - 1);
}
/* The storage of activation a: the logits are fp32 in every precision. */
static inline cudnnDataType_t act_dtype(const cuda_resnet_model *m, int a) {
    return a == m->arch.num_acts - 1 ? CUDNN_DATA_FLOAT : m->dtype;
}
static inline float *save_mean(const cuda_resnet_model *m, int layer) { return m->bn_save + m->bn_save_off[layer]; }
static inline float *save_invstd(const cuda_resnet_model *m, int layer) {
    return m->bn_save + m->bn_save_off[layer] + m->arch.layers[layer].out.c;
}
/* The math type written back to a convolution descriptor for an algorithm result of math type perf: the result's
 * own with TF32 allowed or 16-bit data; strict fp32 keeps CUDNN_FMA_MATH (cuda_resnet_acceptable let no tensor-op
 * result through, and CUDNN_DEFAULT_MATH would let cuDNN use TF32). */
static inline cudnnMathType_t chosen_math(const cuda_resnet_model *m, cudnnMathType_t perf) {
    return m->tf32 || m->st != NNB_RK_F32 ? perf : CUDNN_FMA_MATH;
}

static inline float beta_of(nnb_grad_mode mode) { return mode == NNB_GRAD_ACCUMULATE ? 1.0f : 0.0f; }

/* ------------------------------------------------------------ across the sources */

/* cuda_resnet_create.c */
void *cuda_resnet_create(const nnb_config *cfg, int depth, int fused, char *err, size_t err_len);
void cuda_resnet_destroy(void *vm);
/* A cuDNN tensor descriptor for t with elements of dtype (created here, the caller destroys it). */
int cuda_resnet_set_tensor(cudnnTensorDescriptor_t *td, const nnb_plan_tensor *t, cudnnDataType_t dtype, char *err,
                           size_t err_len);
/* An algorithm result we may use: it ran, it fits, and it keeps the math mode (no TF32 unless allowed). */
int cuda_resnet_acceptable(const cuda_resnet_model *m, cudnnStatus_t status, size_t memory, cudnnMathType_t math);
/* The fused cudnnBatchNormalization*Ex calls of plan step `step` (create's probe, the training step). */
cudnnStatus_t cuda_resnet_fused_forward_ex(cuda_resnet_model *m, const nnb_plan_step *s, int step, float *run_mean,
                                           float *run_var);
cudnnStatus_t cuda_resnet_fused_backward_ex(cuda_resnet_model *m, const nnb_plan_step *s, int step);
/* Waits for the model's stream, then copies n floats device -> host. */
int cuda_resnet_download(cuda_resnet_model *m, float *dst, const float *src, size_t n, char *err, size_t err_len);
/* The same for n elements of activation storage (widened to fp32). */
int cuda_resnet_download_act(cuda_resnet_model *m, float *dst, const void *src, size_t n, char *err, size_t err_len);

/* cuda_resnet_train.c */
int cuda_resnet_forward(void *vm, char *err, size_t err_len);
/* One fc GEMM g of the plan: cublasSgemm (fp32, tf32) or cublasGemmEx (16-bit A and B, C of c_type, COMPUTE_32F). */
int cuda_resnet_fc_gemm(cuda_resnet_model *m, const nnb_plan_gemm *g, const void *A, const void *B, float beta, void *C,
                        cudaDataType c_type, char *err, size_t err_len);
int cuda_resnet_backward(void *vm, char *err, size_t err_len);

/* cuda_resnet_infer.c */
int cuda_resnet_infer(void *vm, int64_t n, char *err, size_t err_len);
int cuda_resnet_infer_io(void *vm, nnb_infer_io *io, char *err, size_t err_len);
int cuda_resnet_load_param(void *vm, const nnb_tensor *value, char *err, size_t err_len);

#endif
