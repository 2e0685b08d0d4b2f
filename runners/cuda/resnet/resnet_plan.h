/*
 * The execution plan of the CUDA ResNet runners: how the architecture table
 * (kernels/resnet/resnet_arch.h) maps onto cuDNN / cuBLAS / kernel calls.
 * Pure C, no CUDA: unit-tested on the CPU (tests/cuda_resnet_plan_should_match_arch_table.c).
 *
 * A plan is a list of steps, one per arch layer, in execution order. Each step
 * says what runs at that position (a cuDNN convolution, BN, ReLU, pooling, the
 * residual add kernel, the global average kernel, the cuBLAS fc), which
 * activations it reads and writes, and how its backward writes the gradients
 * of its inputs (overwrite, accumulate, or nothing because the gradient buffer
 * is shared with the output's).
 *
 * Fused plans (the *_jit runners) fold
 *   bn -> relu                       into one NNB_STEP_BN_RELU at the bn's position,
 *   bn -> add(shortcut) -> relu      into one NNB_STEP_BN_ADD_RELU at the add's position
 *                                    (the shortcut may be computed after the bn, by the
 *                                    downsample branch, so the fused op waits for it),
 * and the folded layers become NNB_STEP_SKIP. The folded layers' own outputs
 * (the bn's and the add's) are then never materialised.
 *
 * Gradient buffers: grad_owner[a] is the activation whose gradient buffer holds
 * the gradient of activation a. In the unfused plan the residual add passes its
 * output gradient unchanged to an input read by nobody else (the bn output, the
 * downsample bn output), so those share the add output's buffer (no copy).
 * An activation read by two steps (a block input: conv1 and the shortcut) gets
 * its own buffer: the first backward step to reach it (in reverse order)
 * overwrites it (beta 0), the next accumulates (beta 1).
 */
#ifndef NNB_RESNET_PLAN_H
#define NNB_RESNET_PLAN_H

#include "resnet_arch.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nnb_step_op {
    NNB_STEP_SKIP = 0,    /* folded into a fused step */
    NNB_STEP_CONV,        /* cudnnConvolutionForward / BackwardData / BackwardFilter */
    NNB_STEP_BN,          /* cudnnBatchNormalizationForwardTraining / Backward */
    NNB_STEP_RELU,        /* cudnnActivationForward / Backward */
    NNB_STEP_MAXPOOL,     /* cudnnPoolingForward / Backward */
    NNB_STEP_ADD,         /* residual add kernel; backward: gradient fan-out kernel */
    NNB_STEP_AVGPOOL,     /* global average kernel */
    NNB_STEP_FC,          /* cublasSgemm + bias kernel; backward: two Sgemm + column-sum kernel */
    NNB_STEP_BN_RELU,     /* fused (jit): bn params of `layer`, y = relu(bn(x)) */
    NNB_STEP_BN_ADD_RELU, /* fused (jit): y = relu(bn(x) + z) */
} nnb_step_op;

/* How a backward step writes the gradient of one of its inputs. */
typedef enum nnb_grad_mode {
    NNB_GRAD_NONE = -1,      /* no input there, or the gradient buffer is the output's (aliased) */
    NNB_GRAD_OVERWRITE = 0,  /* first writer in backward order: beta 0 */
    NNB_GRAD_ACCUMULATE = 1, /* a later writer: beta 1 */
} nnb_grad_mode;

typedef struct nnb_plan_step {
    nnb_step_op op;
    int layer;          /* arch layer executed here; for fused steps the bn layer (its parameters) */
    int src, src2, dst; /* activations: input, second input (add / fused add: the shortcut z) or -1, output */
    nnb_grad_mode src_grad, src2_grad;
    int conv_class; /* CONV: index of the distinct convolution geometry (algorithms chosen once per class), else -1 */
} nnb_plan_step;

/* 4-D NCHW float descriptor, as cudnnSetTensor4dDescriptorEx takes it. */
typedef struct nnb_plan_tensor {
    int n, c, h, w;
    int stride_n, stride_c, stride_h, stride_w;
} nnb_plan_tensor;

/* One distinct convolution geometry: same descriptors, same algorithms. */
typedef struct nnb_plan_conv {
    nnb_plan_tensor x, y; /* input, output */
    int k, c, r;          /* filter (k, c, r, r), OIHW */
    int stride, pad;
    int uses; /* steps with this geometry */
} nnb_plan_conv;

/* The fc layer as column-major cuBLAS GEMMs (row-major (N, C) x is column-major (C, N)):
 *   forward   logits^T (1000, N) = op_t(W (C, 1000) ld C) * x^T (C, N) ld C
 *   dx        dx^T (C, N)        = W (C, 1000) ld C * g^T (1000, N) ld 1000
 *   dW        dW^T (C, 1000)     = x^T (C, N) ld C * op_t(g^T (1000, N) ld 1000)
 * Each as cublasSgemm(transa, transb, m, n, k, A lda, B ldb, C ldc). */
typedef struct nnb_plan_gemm {
    int transa, transb; /* 1: CUBLAS_OP_T, 0: CUBLAS_OP_N */
    int m, n, k;
    int lda, ldb, ldc;
} nnb_plan_gemm;

typedef struct nnb_resnet_plan {
    int fused;     /* 1 for the *_jit plans */
    int num_steps; /* = arch->num_layers */
    nnb_plan_step *steps;
    int num_acts;
    nnb_plan_tensor *act_desc; /* (num_acts) NCHW packed */
    unsigned char *act_used;   /* (num_acts) 1 if some step reads or writes it (needs a buffer) */
    int *grad_owner;           /* (num_acts) activation whose gradient buffer holds this one's gradient, -1 if none */
    int *readers;              /* (num_acts) steps reading it */
    int num_conv_classes;
    nnb_plan_conv *convs;                 /* (num_conv_classes) */
    int fused_bn_relu, fused_bn_add_relu; /* counts of fused steps */
    nnb_plan_gemm fc_fwd, fc_dx, fc_dw;
    int fc_in, fc_out, batch; /* C, 1000, N */
    int max_bn_channels;
} nnb_resnet_plan;

/* Builds the plan for arch; fused selects the *_jit folding. Returns 0, or -1
 * with a one-line message (a dimension or stride beyond cuDNN's int, out of
 * memory, an internal inconsistency). Free with nnb_resnet_plan_free (safe on
 * a zeroed or failed plan). */
int nnb_resnet_plan_build(nnb_resnet_plan *plan, const nnb_resnet_arch *arch, int fused, char *err, size_t err_len);
void nnb_resnet_plan_free(nnb_resnet_plan *plan);

/* Buffers of the inference pass (ABI 1.2 infer), which keeps nothing for a backward: walking the plan's
 * steps in execution order (fused steps where they run, e.g. bn3 at the add's position, after the downsample
 * branch), each step's output gets a free slot none of its inputs is in, and a slot is freed after the last
 * step that reads the activation in it. acts[0] (the model's input, read in place) and the logits (a buffer
 * of their own, where infer_io points) get slot -1, as do activations no step touches (the folded ones).
 * Fills slot[num_acts] and slot_floats[] (per slot: its largest activation at the plan's batch, so any
 * n <= N fits) and returns the number of slots, or -1 when out of memory. */
int nnb_resnet_plan_infer_slots(const nnb_resnet_plan *plan, int *slot, size_t *slot_floats);

/* Bytes of the one workspace shared by every call: the largest request. */
size_t nnb_plan_workspace_bytes(const size_t *requests, int count);

const char *nnb_step_op_name(nnb_step_op op);

#ifdef __cplusplus
}
#endif
#endif
