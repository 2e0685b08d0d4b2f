/*
 * ResNet-18 / ResNet-50 architecture table, shared by every ResNet runner
 * (CPU oneDNN, CUDA cuDNN, plain C reference). Pure C, no backend, and nothing
 * above kernels/: the seeded initialisation lives in runners/common/resnet_init.h.
 *
 * torchvision's architectures exactly:
 *   resnet18: BasicBlock,  layers [2, 2, 2, 2], expansion 1
 *   resnet50: Bottleneck,  layers [3, 4, 6, 3], expansion 4, stride on the 3x3 conv (torchvision >= 0.4)
 *   1000 classes; convolutions without bias; BatchNorm2d(eps 1e-5, momentum 0.1).
 *
 * The table is a straight-line list of layers in execution order. Layers read
 * and write numbered activations (acts[i], NCHW shapes), so the dataflow,
 * including each block's shortcut, is explicit:
 *
 *   act 0 = x (N, 3, S, S) ... act num_acts-1 = logits (N, 1000, 1, 1)
 *
 * Every layer writes a fresh activation (no aliasing); a runner may alias
 * (e.g. in-place ReLU) as long as its backward still has what it needs.
 *
 * Block layout (layer order inside one block, as torchvision registers its
 * modules, so parameters come out in state_dict order):
 *   BasicBlock: conv1 bn1 relu1 conv2 bn2 [downsample.0 downsample.1] add relu2
 *   Bottleneck: conv1 bn1 relu1 conv2 bn2 relu2 conv3 bn3 [downsample.0 downsample.1] add relu3
 * where downsample.0/1 (conv1x1 stride s + bn) read the block input, and add
 * sums the last bn output (src) with the shortcut (src2: block input or the
 * downsample bn output). Stem: conv1 bn1 relu maxpool; head: avgpool fc.
 *
 * FLOPs (what forward_flops/backward_flops report):
 *   forward  = sum over convolutions and fc of 2 * multiply-adds
 *              (fc bias adds, BN, ReLU, pooling and residual adds not counted)
 *   backward = 2 * forward: data gradient + weight gradient of every
 *              convolution and of fc, the first convolution included (the
 *              runners return dx, so its data gradient is computed).
 *
 * Minimum image size: the one torchvision accepts in train mode. Every conv
 * and pool output is at least 1x1 for any S >= 1 (padding keeps it so), but
 * BatchNorm in training needs more than one value per channel (N*H*W >= 2, the
 * unbiased running variance divides by N*H*W - 1). So for N >= 2 any S >= 1
 * works and for N = 1 the layer4 maps must be at least 2x2 (S >= 33).
 * nnb_resnet_arch_build names the minimum when S is smaller.
 *
 * Seeded initialisation (implemented above the kernels, in runners/common/resnet_init.h, with
 * runners/common's named streams; stream = the tensor name):
 *   conv weights   Kaiming normal, fan-out, ReLU gain: normal * sqrt(2 / (out_c * k * k))   stream "<name>"
 *   bn weight 1, bias 0, running_mean 0, running_var 1
 *   fc.weight, fc.bias  uniform(-1/sqrt(fan_in), +1/sqrt(fan_in)) (nn.Linear default)   streams "fc.weight", "fc.bias"
 *   x            (N, 3, S, S) standard normal   stream "x"
 *   grad_logits  (N, 1000)    standard normal   stream "grad_logits"
 */
#ifndef NNB_RESNET_ARCH_H
#define NNB_RESNET_ARCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NNB_RESNET_CLASSES 1000
#define NNB_RESNET_BN_EPS 1e-5
#define NNB_RESNET_BN_MOMENTUM 0.1
#define NNB_RESNET_NAME_MAX 48

typedef enum nnb_resnet_op {
    NNB_RESNET_CONV = 0, /* no bias; weight (out_c, in_c, k, k) */
    NNB_RESNET_BN,       /* train mode: batch statistics, running statistics updated */
    NNB_RESNET_RELU,
    NNB_RESNET_MAXPOOL, /* 3x3, stride 2, padding 1 (padding never wins the max) */
    NNB_RESNET_ADD,     /* dst = src + src2 (residual) */
    NNB_RESNET_AVGPOOL, /* global average: (N, C, H, W) -> (N, C, 1, 1) */
    NNB_RESNET_FC,      /* (N, C, 1, 1) -> (N, 1000, 1, 1); weight (1000, C), bias (1000) */
} nnb_resnet_op;

typedef enum nnb_resnet_param_kind {
    NNB_RESNET_CONV_WEIGHT = 0, /* (out_c, in_c, k, k) OIHW */
    NNB_RESNET_BN_WEIGHT,       /* (C) gamma */
    NNB_RESNET_BN_BIAS,         /* (C) beta */
    NNB_RESNET_BN_RUNNING_MEAN, /* (C) buffer, not learnable */
    NNB_RESNET_BN_RUNNING_VAR,  /* (C) buffer, not learnable */
    NNB_RESNET_FC_WEIGHT,       /* (1000, C) */
    NNB_RESNET_FC_BIAS,         /* (1000) */
} nnb_resnet_param_kind;

/* NCHW; fc/avgpool outputs are (N, C, 1, 1). */
typedef struct nnb_resnet_shape {
    int64_t n, c, h, w;
} nnb_resnet_shape;

typedef struct nnb_resnet_layer {
    nnb_resnet_op op;
    char name[NNB_RESNET_NAME_MAX]; /* module path: "conv1", "layer1.0.bn2", "layer2.0.downsample.0", "layer1.0.relu1",
                                       "fc" */
    int block;                      /* index of the residual block (0-based over all stages), -1 for stem/head */
    int src, src2, dst;             /* activation indices; src2 only for ADD (the shortcut), else -1 */
    nnb_resnet_shape in, out;       /* shapes of acts[src] and acts[dst] */
    int kernel, stride, pad;        /* CONV and MAXPOOL; 0 otherwise */
    int param;                      /* first parameter (CONV: weight; BN: weight, bias, running_mean,
                                       running_var; FC: weight, bias), -1 for none */
    int param_count;                /* 1, 4, 2 or 0 */
    double fwd_flops;               /* 2 * multiply-adds (CONV, FC), else 0 */
} nnb_resnet_layer;

typedef struct nnb_resnet_param {
    char name[NNB_RESNET_NAME_MAX];      /* torchvision state_dict key, e.g. "layer1.0.downsample.1.weight" */
    char grad_name[NNB_RESNET_NAME_MAX]; /* "d" + name for learnable parameters, "" for running statistics */
    nnb_resnet_param_kind kind;
    int learnable; /* 0 for running_mean / running_var */
    int layer;     /* owning layer */
    int ndim;
    int64_t shape[4];
    size_t count;  /* elements */
    size_t offset; /* elements before this one when all params are packed in this order */
} nnb_resnet_param;

typedef struct nnb_resnet_arch {
    int depth;          /* 18 or 50 */
    int64_t batch;      /* N */
    int64_t image_size; /* S */
    int num_layers;
    nnb_resnet_layer *layers; /* (num_layers) execution order */
    int num_acts;
    nnb_resnet_shape *acts; /* (num_acts); acts[0] = x, acts[num_acts-1] = logits */
    int num_params;
    nnb_resnet_param *params; /* (num_params) state_dict order (num_batches_tracked omitted) */
    size_t param_floats;      /* total elements of params[], running statistics included */
    int64_t num_weights;      /* learnable elements only: 11,689,512 (resnet18), 25,557,032 (resnet50) */
    double forward_flops;     /* see header comment */
    double backward_flops;
} nnb_resnet_arch;

/* "resnet18" -> 18, "resnet50" -> 50 (prefix match, so "resnet50_jit" -> 50); 0 otherwise. */
int nnb_resnet_depth_from_name(const char *name);

/* Smallest S the network accepts for batch N in train mode (see header). -1 for a bad depth. */
int64_t nnb_resnet_min_image_size(int depth, int64_t batch);

/* Builds the table for depth 18 or 50 and input (N, 3, S, S). Returns 0, or -1
 * with a one-line message in err (bad depth, N < 1, S below the minimum, size
 * overflow). Free with nnb_resnet_arch_free (also safe on a zeroed or failed arch). */
int nnb_resnet_arch_build(nnb_resnet_arch *arch, int depth, int64_t batch, int64_t image_size, char *err,
                          size_t err_len);
void nnb_resnet_arch_free(nnb_resnet_arch *arch);

/* Elements of an activation (n*c*h*w); 0 when it overflows size_t. */
size_t nnb_resnet_shape_count(nnb_resnet_shape s);

/* Buffers of an inference pass, which keeps nothing for a backward: activations share a few buffers
 * ("slots"), one reused as soon as every reader of the activation in it has run. Fills slot[a] (num_acts
 * entries: the slot activation a lives in; acts[0], the input, gets one too) and returns the number of
 * slots, or -1 when out of memory. in_place: ReLU and the residual add write over their first input when no
 * later layer reads it (as the runners' in-place layers); else every layer writes a slot none of its inputs
 * is in (what plain loops that read x while writing y need). ResNet-18 and -50 need 3 slots either way. */
int nnb_resnet_plan_inference_slots(const nnb_resnet_arch *arch, int in_place, int *slot);

/* Index of the parameter with this state_dict name, or -1. */
int nnb_resnet_find_param(const nnb_resnet_arch *arch, const char *name);

const char *nnb_resnet_op_name(nnb_resnet_op op);

/* --check tolerance of an fp32 runner against the double reference (0: the
 * driver's default). ResNet-50: fp32 rounding flips a few ReLU decisions and
 * BatchNorm's backward spreads each flip over whole channels, so max-norm
 * gradient errors reach 3-35% while logits agree to ~7e-5 (N=2, S=64;
 * docs/resnet.md). Its runners judge gradients in the L2 norm
 * (NNB_FLAG_CHECK_GRADIENTS_L2) against 10x this: measured up to 2.6e-2 at
 * N=2, S=64, while a real bug gives errors of order 1. */
double nnb_resnet_check_tolerance(int depth); /* "conv", "bn", "relu", "maxpool", "add", "avgpool", "fc" */

#ifdef __cplusplus
}
#endif
#endif
