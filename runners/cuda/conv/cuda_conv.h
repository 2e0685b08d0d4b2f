/*
 * The cuDNN convolution runner `conv` (group convs, device cuda), internal to the plugin nnb_cuda_conv:
 *   cuda_conv_plan.c     plain C, no device: cuDNN's geometry arrays from an nnb_conv_problem, the data type and
 *                        math type of each precision, algorithm names and --conv-algo parsing (tested on the CPU)
 *   cuda_conv_create.c   create/destroy: handles, descriptors, device buffers, the algorithm choice per direction
 *   cuda_conv_plugin.c   forward, backward and its parts, infer, params/outputs, describe, the runner table
 *
 * One convolution (nnb_conv_problem, NCHW / OIHW, NCDHW / OIDHW in 3-D) with bias, cross-correlation as PyTorch:
 *   forward    cudnnConvolutionForward, then cudnnAddTensor (bias)
 *   bwd_data   cudnnConvolutionBackwardData
 *   bwd_weights cudnnConvolutionBackwardFilter, then cudnnConvolutionBackwardBias (db)
 * Each direction has a convolution descriptor of its own carrying the math type its algorithm was chosen with
 * (cudnnSetConvolutionMathType, written back as PyTorch does). One workspace (the largest of the three) serves
 * every call; create ends with cudaDeviceSynchronize (its uploads ran on the legacy stream).
 *
 * Precisions (ABI 1.3): fp32 (float data, CUDNN_FMA_MATH: no tensor cores), tf32 (float data, tensor-op math
 * allowed: CUDNN_DEFAULT_MATH), fp16 and bf16 (half / bfloat16 data, float compute type, CUDNN_TENSOR_OP_MATH);
 * bias, x, w and grad_y are stored in the precision (the shared seeded problem is already rounded to it, so the
 * conversion is exact) and results are widened to fp32 by outputs(). Scaling factors are floats (cuDNN's rule for
 * every non-double data type).
 *
 * Algorithms (--conv-algo): "auto" = cuDNN's heuristics (cudnnGetConvolution*Algorithm_v7, first result that
 * succeeded, fits the workspace cap and keeps the precision's math: fp32 never takes tensor-op math), "find" =
 * cudnnFind*AlgorithmEx measured on the model's own buffers (fastest acceptable), NAME = a named algorithm for
 * every timed direction that has one of that name (the others auto; e.g. WINOGRAD, or ALGO_1 for bwd_d/bwd_w),
 * or "fwd:NAME,bwd_d:NAME,bwd_w:NAME" (any subset; the rest auto).
 *
 * cuDNN pads symmetrically: a problem whose output size implies a different back padding (benchdnn allows it) is
 * refused with the sizes. Inference: infer(n) runs the forward on the first n samples (descriptors and a
 * heuristic algorithm per n, built on the host at the first infer(n) and cached; n = mb reuses the training
 * choice).
 */
#ifndef NNB_CUDA_CONV_H
#define NNB_CUDA_CONV_H

#include "conv_data.h"
#include "nnb_cuda_util.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CUDA_CONV_WORKSPACE_CAP ((size_t)1 << 30) /* per-direction workspace cap (1 GiB) */
#define CUDA_CONV_MAX_DIMS 5

/* ---- cuda_conv_plan.c (no device) ---- */

/* cuDNN's view of a problem: tensor dims and packed strides, filter dims, padding/stride/dilation arrays. */
typedef struct cuda_conv_geometry {
    int nbdims; /* 4 or 5 */
    int x_dims[CUDA_CONV_MAX_DIMS], x_strides[CUDA_CONV_MAX_DIMS];
    int y_dims[CUDA_CONV_MAX_DIMS], y_strides[CUDA_CONV_MAX_DIMS];
    int w_dims[CUDA_CONV_MAX_DIMS];                                /* (oc, ic/g, [kd,] kh, kw) */
    int b_dims[CUDA_CONV_MAX_DIMS], b_strides[CUDA_CONV_MAX_DIMS]; /* (1, oc, 1, 1[, 1]) */
    int pad[3], stride[3], dilation[3]; /* nbdims - 2 entries; dilation is cuDNN's (benchdnn's + 1) */
    int groups;
} cuda_conv_geometry;

/* Fills g from p; 0, or -1 with a message when a size exceeds cuDNN's int range or the problem's output size needs
 * asymmetric padding ("conv (cuda): oh = 55 needs back padding 0 but cuDNN pads both sides by ph = 1"). */
int cuda_conv_geometry_make(const nnb_conv_problem *p, cuda_conv_geometry *g, char *err, size_t err_len);

/* The data type, convolution compute type and math type of a precision (nnb_precision). */
cudnnDataType_t cuda_conv_data_type(int precision);
cudnnMathType_t cuda_conv_math_type(int precision);
size_t cuda_conv_element_bytes(int precision);
/* Whether a math type an algorithm search returned keeps the precision's promise: fp32 takes only FMA math, never
 * tensor cores; every precision refuses ALLOW_CONVERSION (it would down-convert fp32 data to half). */
int cuda_conv_math_acceptable(int precision, cudnnMathType_t math);

/* Directions: 0 fwd, 1 bwd_data, 2 bwd_weights. */
enum { CUDA_CONV_FWD = 0, CUDA_CONV_BWD_DATA = 1, CUDA_CONV_BWD_WEIGHTS = 2, CUDA_CONV_DIRECTIONS = 3 };
const char *cuda_conv_direction_name(int dir); /* "fwd", "bwd_d", "bwd_w" */
/* Algorithm names of a direction (cuDNN's enum without its prefix), count of them; NULL/0 for a bad direction. */
const char *cuda_conv_algo_name(int dir, int algo);
int cuda_conv_algo_count(int dir);
/* The algorithm of that name in a direction (case-insensitive), or -1. */
int cuda_conv_algo_by_name(int dir, const char *name);

/* --conv-algo, parsed: a mode per direction and, for CUDA_CONV_PICK_NAMED, the algorithm. */
typedef enum { CUDA_CONV_PICK_AUTO = 0, CUDA_CONV_PICK_FIND = 1, CUDA_CONV_PICK_NAMED = 2 } cuda_conv_pick;
typedef struct cuda_conv_algo_choice {
    cuda_conv_pick pick[CUDA_CONV_DIRECTIONS];
    int algo[CUDA_CONV_DIRECTIONS];
} cuda_conv_algo_choice;
/* Parses spec ("auto", "find", NAME, or "fwd:NAME,bwd_d:NAME,bwd_w:NAME") for the directions in dirs
 * (NNB_CONV_DIR_* bits; a bare NAME must name an algorithm of every such direction). 0, or -1 with a message that
 * lists the valid names. */
int cuda_conv_parse_algo(const char *spec, uint32_t dirs, cuda_conv_algo_choice *out, char *err, size_t err_len);

/* ---- the model (cuda_conv_create.c, cuda_conv_plugin.c) ---- */

typedef struct cuda_conv_infer_plan {
    int ready;
    cudnnTensorDescriptor_t xd, yd;
    cudnnConvolutionFwdAlgo_t algo;
} cuda_conv_infer_plan;

typedef struct cuda_conv_model {
    nnb_conv_data host; /* seeded problem (rounded) and fp32 results */
    nnb_conv_problem problem;
    cuda_conv_geometry geo;
    int precision;
    cuda_conv_algo_choice choice; /* the timed directions are host.dirs */

    int device;
    struct cudaDeviceProp prop;
    cudaStream_t stream;
    cudnnHandle_t cudnn;

    cudnnTensorDescriptor_t xd, yd, bd;
    cudnnFilterDescriptor_t wd;
    cudnnConvolutionDescriptor_t conv[CUDA_CONV_DIRECTIONS]; /* one per direction: its own math type */
    int algo[CUDA_CONV_DIRECTIONS];                          /* cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t */
    cudnnMathType_t math[CUDA_CONV_DIRECTIONS];
    size_t ws_bytes[CUDA_CONV_DIRECTIONS];
    int chosen_by_find[CUDA_CONV_DIRECTIONS];

    nnb_cuda_buffers buffers;
    void *x, *w, *b, *y, *dy, *dx, *dw, *db; /* device, in the precision's storage type */
    void *workspace;
    size_t workspace_bytes;
    void *staging; /* host scratch for narrowing/widening (largest tensor, 4 bytes an element) */

    cuda_conv_infer_plan *infer_plans; /* [mb + 1], index n */
    int64_t last_infer_n;
} cuda_conv_model;

void *cuda_conv_create(const nnb_config *cfg, char *err, size_t err_len);
void cuda_conv_destroy(void *model);
/* Heuristic forward algorithm for the given descriptors (the infer path), within the model's workspace. */
int cuda_conv_heuristic_fwd(cuda_conv_model *m, cudnnTensorDescriptor_t xd, cudnnTensorDescriptor_t yd, int *algo,
                            char *err, size_t err_len);
/* A tensor descriptor of the model's data type with the given dims (packed strides). */
int cuda_conv_tensor(cudnnTensorDescriptor_t *td, int precision, int nbdims, const int *dims, char *err,
                     size_t err_len);
/* Device <-> host in fp32 through the staging buffer (narrowing to / widening from the storage type). */
int cuda_conv_upload(cuda_conv_model *m, void *dst, const float *src, size_t n, char *err, size_t err_len);
int cuda_conv_download(cuda_conv_model *m, float *dst, const void *src, size_t n, char *err, size_t err_len);

#ifdef __cplusplus
}
#endif
#endif
