/*
 * The cuDNN conv runner's plan (runners/cuda/conv/cuda_conv_plan.c), on the CPU: cuDNN's descriptor calls need
 * no device, so the geometry the plan builds from benchdnn-style problems is handed to cuDNN itself, and the
 * output size cuDNN computes (cudnnGetConvolutionNdForwardOutputDim) must equal the problem's, which
 * kernels/conv_ref's definition gives (groups, stride, padding, benchdnn dilation + 1, odd and 3-D sizes).
 * Also: problems that need asymmetric padding are refused with the sizes, --conv-algo parsing (names per
 * direction, per-direction lists, errors that list the valid names), and each precision's data and math types.
 */
#include "conv_dnnl_support.h"
#include "cuda_conv.h"

#include <string.h>

/* A 2-D problem whose output size follows from the definition, independent of the plan (the conv runners'
 * test support, conv_dnnl_support.h). */
static nnb_conv_problem problem2d(int64_t g, int64_t mb, int64_t ic, int64_t ih, int64_t iw, int64_t oc, int64_t kh,
                                  int64_t kw, int64_t s, int64_t p, int64_t d) {
    return conv_problem_2d(g, mb, ic, ih, iw, oc, kh, kw, s, s, p, p, d, d, "test");
}

/* The plan's geometry through cuDNN's own descriptors: the output dims cuDNN computes. */
static void check_against_cudnn(const nnb_conv_problem *q, int precision) {
    char err[512] = "";
    cuda_conv_geometry g;
    CHECK_MSG(cuda_conv_geometry_make(q, &g, err, sizeof err) == 0, "geometry: %s", err);
    cudnnTensorDescriptor_t xd = NULL;
    cudnnFilterDescriptor_t wd = NULL;
    cudnnConvolutionDescriptor_t cd = NULL;
    int out[5] = {0};
    CHECK(cuda_conv_tensor(&xd, precision, g.nbdims, g.x_dims, err, sizeof err) == 0);
    CHECK(cudnnCreateFilterDescriptor(&wd) == CUDNN_STATUS_SUCCESS);
    CHECK(cudnnSetFilterNdDescriptor(wd, cuda_conv_data_type(precision), CUDNN_TENSOR_NCHW, g.nbdims, g.w_dims) ==
          CUDNN_STATUS_SUCCESS);
    CHECK(cudnnCreateConvolutionDescriptor(&cd) == CUDNN_STATUS_SUCCESS);
    CHECK(cudnnSetConvolutionNdDescriptor(cd, g.nbdims - 2, g.pad, g.stride, g.dilation, CUDNN_CROSS_CORRELATION,
                                          CUDNN_DATA_FLOAT) == CUDNN_STATUS_SUCCESS);
    CHECK(cudnnSetConvolutionGroupCount(cd, g.groups) == CUDNN_STATUS_SUCCESS);
    CHECK(cudnnGetConvolutionNdForwardOutputDim(cd, xd, wd, g.nbdims, out) == CUDNN_STATUS_SUCCESS);
    for (int i = 0; i < g.nbdims; i++)
        CHECK_MSG(out[i] == g.y_dims[i], "axis %d: cuDNN %d, problem %d (g%lld ic%lld ih%lld kh%lld)", i, out[i],
                  g.y_dims[i], (long long)q->g, (long long)q->ic, (long long)q->ih, (long long)q->kh);
    CHECK(g.x_strides[g.nbdims - 1] == 1 && g.x_strides[0] == g.x_dims[1] * g.x_strides[1]);
    CHECK(g.b_dims[1] == (int)q->oc && g.b_dims[0] == 1);
    cudnnDestroyConvolutionDescriptor(cd);
    cudnnDestroyFilterDescriptor(wd);
    cudnnDestroyTensorDescriptor(xd);
}

static void geometry_should_agree_with_cudnn(void) {
    nnb_conv_problem cases[] = {
        problem2d(1, 32, 64, 56, 56, 64, 3, 3, 1, 1, 0),   /* resnet_50 res2a_branch2b */
        problem2d(1, 2, 3, 9, 7, 5, 3, 5, 2, 1, 1),        /* odd sizes, stride 2, dilation 1 (PyTorch 2) */
        problem2d(2, 2, 4, 8, 8, 6, 3, 3, 1, 0, 0),        /* groups */
        problem2d(8, 1, 8, 10, 10, 8, 3, 3, 1, 1, 0),      /* depthwise */
        problem2d(1, 4, 256, 14, 14, 1024, 1, 1, 1, 0, 0), /* 1x1 */
        problem2d(1, 1, 3, 224, 224, 64, 7, 7, 2, 3, 0),   /* resnet conv1 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        for (int p = 0; p < NNB_PRECISION_COUNT; p++)
            check_against_cudnn(&cases[i], p);
    nnb_conv_problem q3 = problem2d(1, 2, 3, 6, 7, 4, 3, 3, 1, 1, 0);
    q3.ndims = 5, q3.id = 5, q3.kd = 3, q3.sd = 2, q3.pd = 1, q3.dd = 0, q3.od = (5 + 2 - 3) / 2 + 1;
    check_against_cudnn(&q3, NNB_PRECISION_FP32);
    char err[512] = "";
    cuda_conv_geometry g;
    CHECK(cuda_conv_geometry_make(&cases[1], &g, err, sizeof err) == 0);
    CHECK(g.dilation[0] == 2 && g.stride[1] == 2 && g.pad[0] == 1 && g.nbdims == 4);
}

static void asymmetric_padding_should_be_refused(void) {
    nnb_conv_problem q = problem2d(1, 1, 4, 56, 56, 4, 3, 3, 2, 1, 0); /* oh 28 */
    q.oh = 27;                                                         /* back padding 0: benchdnn allows it */
    char err[512] = "";
    cuda_conv_geometry g;
    CHECK(cuda_conv_geometry_make(&q, &g, err, sizeof err) != 0);
    CHECK_STR_CONTAINS(err, "oh = 27 needs asymmetric padding");
    CHECK_STR_CONTAINS(err, "give oh = 28");
}

static void algo_specs_should_parse(void) {
    char err[1024] = "";
    cuda_conv_algo_choice c;
    CHECK(cuda_conv_parse_algo("auto", NNB_CONV_DIR_ALL, &c, err, sizeof err) == 0);
    CHECK(c.pick[0] == CUDA_CONV_PICK_AUTO && c.pick[2] == CUDA_CONV_PICK_AUTO);
    CHECK(cuda_conv_parse_algo("find", NNB_CONV_DIR_ALL, &c, err, sizeof err) == 0);
    CHECK(c.pick[0] == CUDA_CONV_PICK_FIND && c.pick[1] == CUDA_CONV_PICK_FIND && c.pick[2] == CUDA_CONV_PICK_FIND);
    CHECK(cuda_conv_parse_algo("winograd", NNB_CONV_DIR_ALL, &c, err, sizeof err) == 0);
    CHECK(c.pick[0] == CUDA_CONV_PICK_NAMED && c.algo[0] == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD);
    CHECK(c.algo[1] == CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD &&
          c.algo[2] == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD);
    CHECK(cuda_conv_parse_algo("ALGO_1", NNB_CONV_DIR_ALL, &c, err, sizeof err) == 0);
    CHECK(c.pick[0] == CUDA_CONV_PICK_AUTO && c.algo[1] == CUDNN_CONVOLUTION_BWD_DATA_ALGO_1 &&
          c.algo[2] == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1);
    CHECK(cuda_conv_parse_algo("fwd:IMPLICIT_PRECOMP_GEMM,bwd_w:ALGO_3", NNB_CONV_DIR_ALL, &c, err, sizeof err) == 0);
    CHECK(c.algo[0] == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM && c.pick[1] == CUDA_CONV_PICK_AUTO &&
          c.algo[2] == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3);
    CHECK(cuda_conv_parse_algo("fwd:find,bwd_d:auto", NNB_CONV_DIR_ALL, &c, err, sizeof err) == 0);
    CHECK(c.pick[0] == CUDA_CONV_PICK_FIND && c.pick[1] == CUDA_CONV_PICK_AUTO);
    CHECK(cuda_conv_parse_algo("nonsense", NNB_CONV_DIR_ALL, &c, err, sizeof err) != 0);
    CHECK_STR_CONTAINS(err, "no timed direction has an algorithm of that name");
    CHECK_STR_CONTAINS(err, "fwd: IMPLICIT_GEMM, IMPLICIT_PRECOMP_GEMM");
    CHECK(cuda_conv_parse_algo("fwd:ALGO_0", NNB_CONV_DIR_ALL, &c, err, sizeof err) != 0);
    CHECK_STR_CONTAINS(err, "fwd has no algorithm 'ALGO_0'");
    CHECK(cuda_conv_parse_algo("bwd_x:ALGO_0", NNB_CONV_DIR_ALL, &c, err, sizeof err) != 0);
    CHECK_STR_CONTAINS(err, "unknown direction 'bwd_x'");
    CHECK(cuda_conv_parse_algo("fwd:GEMM,ALGO_0", NNB_CONV_DIR_ALL, &c, err, sizeof err) != 0);
    CHECK_STR_CONTAINS(err, "needs a direction");
    CHECK(cuda_conv_parse_algo("ALGO_0", NNB_CONV_DIR_FWD, &c, err, sizeof err) != 0); /* only fwd timed */
}

static void precisions_should_map_to_cudnn_types(void) {
    CHECK(cuda_conv_data_type(NNB_PRECISION_FP32) == CUDNN_DATA_FLOAT);
    CHECK(cuda_conv_data_type(NNB_PRECISION_TF32) == CUDNN_DATA_FLOAT);
    CHECK(cuda_conv_data_type(NNB_PRECISION_FP16) == CUDNN_DATA_HALF);
    CHECK(cuda_conv_data_type(NNB_PRECISION_BF16) == CUDNN_DATA_BFLOAT16);
    CHECK(cuda_conv_math_type(NNB_PRECISION_FP32) == CUDNN_FMA_MATH);
    CHECK(cuda_conv_math_type(NNB_PRECISION_TF32) == CUDNN_DEFAULT_MATH);
    CHECK(cuda_conv_math_type(NNB_PRECISION_BF16) == CUDNN_TENSOR_OP_MATH);
    CHECK(!cuda_conv_math_acceptable(NNB_PRECISION_FP32, CUDNN_TENSOR_OP_MATH));
    CHECK(!cuda_conv_math_acceptable(NNB_PRECISION_TF32, CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION));
    CHECK(cuda_conv_math_acceptable(NNB_PRECISION_TF32, CUDNN_TENSOR_OP_MATH));
    CHECK(cuda_conv_element_bytes(NNB_PRECISION_BF16) == 2 && cuda_conv_element_bytes(NNB_PRECISION_TF32) == 4);
}

int main(void) {
    geometry_should_agree_with_cudnn();
    asymmetric_padding_should_be_refused();
    algo_specs_should_parse();
    precisions_should_map_to_cudnn_types();
    return nnb_test_finish();
}
