/* cuDNN convolution runner: create and destroy (cuda_conv.h). */
#include "cuda_conv.h"

#include "nnb_precision.h"

#include <stdlib.h>
#include <string.h>

int cuda_conv_tensor(cudnnTensorDescriptor_t *td, int precision, int nbdims, const int *dims, char *err,
                     size_t err_len) {
    int strides[CUDA_CONV_MAX_DIMS];
    strides[nbdims - 1] = 1;
    for (int i = nbdims - 2; i >= 0; i--)
        strides[i] = strides[i + 1] * dims[i + 1];
    NNB_CUDNN_TRY(cudnnCreateTensorDescriptor(td));
    NNB_CUDNN_TRY(cudnnSetTensorNdDescriptor(*td, cuda_conv_data_type(precision), nbdims, dims, strides));
    return 0;
}

/* ------------------------------------------------------------ host <-> device in the storage type */

int cuda_conv_upload(cuda_conv_model *m, void *dst, const float *src, size_t n, char *err, size_t err_len) {
    const void *from = src;
    if (m->precision == NNB_PRECISION_BF16)
        nnb_f32_to_bf16_array(m->staging, src, n), from = m->staging;
    else if (m->precision == NNB_PRECISION_FP16)
        nnb_f32_to_fp16_array(m->staging, src, n), from = m->staging;
    NNB_CUDA_TRY(cudaMemcpy(dst, from, n * cuda_conv_element_bytes(m->precision), cudaMemcpyHostToDevice));
    return 0;
}

int cuda_conv_download(cuda_conv_model *m, float *dst, const void *src, size_t n, char *err, size_t err_len) {
    NNB_CUDA_TRY(cudaStreamSynchronize(m->stream));
    if (cuda_conv_element_bytes(m->precision) == 4) {
        NNB_CUDA_TRY(cudaMemcpy(dst, src, n * sizeof(float), cudaMemcpyDeviceToHost));
        return 0;
    }
    NNB_CUDA_TRY(cudaMemcpy(m->staging, src, n * 2, cudaMemcpyDeviceToHost));
    if (m->precision == NNB_PRECISION_BF16)
        nnb_bf16_to_f32_array(dst, m->staging, n);
    else
        nnb_fp16_to_f32_array(dst, m->staging, n);
    return 0;
}

/* ------------------------------------------------------------ descriptors */

static int make_descriptors(cuda_conv_model *m, char *err, size_t err_len) {
    const cuda_conv_geometry *g = &m->geo;
    if (cuda_conv_tensor(&m->xd, m->precision, g->nbdims, g->x_dims, err, err_len) ||
        cuda_conv_tensor(&m->yd, m->precision, g->nbdims, g->y_dims, err, err_len) ||
        cuda_conv_tensor(&m->bd, m->precision, g->nbdims, g->b_dims, err, err_len))
        return -1;
    NNB_CUDNN_TRY(cudnnCreateFilterDescriptor(&m->wd));
    NNB_CUDNN_TRY(
        cudnnSetFilterNdDescriptor(m->wd, cuda_conv_data_type(m->precision), CUDNN_TENSOR_NCHW, g->nbdims, g->w_dims));
    for (int d = 0; d < CUDA_CONV_DIRECTIONS; d++) {
        NNB_CUDNN_TRY(cudnnCreateConvolutionDescriptor(&m->conv[d]));
        NNB_CUDNN_TRY(cudnnSetConvolutionNdDescriptor(m->conv[d], g->nbdims - 2, g->pad, g->stride, g->dilation,
                                                      CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
        NNB_CUDNN_TRY(cudnnSetConvolutionGroupCount(m->conv[d], g->groups));
        m->math[d] = cuda_conv_math_type(m->precision);
        NNB_CUDNN_TRY(cudnnSetConvolutionMathType(m->conv[d], m->math[d]));
    }
    int out[CUDA_CONV_MAX_DIMS];
    NNB_CUDNN_TRY(cudnnGetConvolutionNdForwardOutputDim(m->conv[0], m->xd, m->wd, g->nbdims, out));
    for (int i = 0; i < g->nbdims; i++)
        if (out[i] != g->y_dims[i])
            return nnb_fail(err, err_len, "conv (cuda): cuDNN computes output axis %d as %d, the problem says %d", i,
                            out[i], g->y_dims[i]);
    return 0;
}

static int make_buffers(cuda_conv_model *m, char *err, size_t err_len) {
    const nnb_conv_data *h = &m->host;
    size_t e = cuda_conv_element_bytes(m->precision), oc = (size_t)h->geom.oc;
    size_t nx = (size_t)h->x_count, nw = (size_t)h->w_count, ny = (size_t)h->y_count;
    nnb_cuda_buffers *b = &m->buffers;
    if (nnb_cuda_buffers_alloc(b, &m->x, nx * e, err, err_len) ||
        nnb_cuda_buffers_alloc(b, &m->dx, nx * e, err, err_len) ||
        nnb_cuda_buffers_alloc(b, &m->w, nw * e, err, err_len) ||
        nnb_cuda_buffers_alloc(b, &m->dw, nw * e, err, err_len) ||
        nnb_cuda_buffers_alloc(b, &m->y, ny * e, err, err_len) ||
        nnb_cuda_buffers_alloc(b, &m->dy, ny * e, err, err_len) ||
        nnb_cuda_buffers_alloc(b, &m->b, oc * e, err, err_len) ||
        nnb_cuda_buffers_alloc(b, &m->db, oc * e, err, err_len))
        return -1;
    size_t largest = nx > nw ? nx : nw;
    largest = largest > ny ? largest : ny;
    m->staging = malloc(largest * sizeof(float));
    if (!m->staging)
        return nnb_fail(err, err_len, "conv (cuda): out of host memory for a staging buffer of %zu floats", largest);
    if (cuda_conv_upload(m, m->x, h->x, nx, err, err_len) || cuda_conv_upload(m, m->w, h->w, nw, err, err_len) ||
        cuda_conv_upload(m, m->dy, h->grad_y, ny, err, err_len))
        return -1;
    return h->b ? cuda_conv_upload(m, m->b, h->b, oc, err, err_len) : 0;
}

/* ------------------------------------------------------------ algorithm choice */

/* Keeps perf entry (algo, math) when it succeeded, fits the cap and keeps the precision's math; writes the math
 * back to the direction's descriptor and takes cuDNN's workspace size under it. 1 kept, 0 not. */
static int keep(cuda_conv_model *m, int dir, int algo, cudnnStatus_t st, size_t memory, cudnnMathType_t math) {
    if (st != CUDNN_STATUS_SUCCESS || memory > CUDA_CONV_WORKSPACE_CAP ||
        !cuda_conv_math_acceptable(m->precision, math))
        return 0;
    if (cudnnSetConvolutionMathType(m->conv[dir], math) != CUDNN_STATUS_SUCCESS)
        return 0;
    size_t ws = 0;
    cudnnStatus_t s = CUDNN_STATUS_SUCCESS;
    if (dir == CUDA_CONV_FWD)
        s = cudnnGetConvolutionForwardWorkspaceSize(m->cudnn, m->xd, m->wd, m->conv[dir], m->yd,
                                                    (cudnnConvolutionFwdAlgo_t)algo, &ws);
    else if (dir == CUDA_CONV_BWD_DATA)
        s = cudnnGetConvolutionBackwardDataWorkspaceSize(m->cudnn, m->wd, m->yd, m->conv[dir], m->xd,
                                                         (cudnnConvolutionBwdDataAlgo_t)algo, &ws);
    else
        s = cudnnGetConvolutionBackwardFilterWorkspaceSize(m->cudnn, m->xd, m->yd, m->conv[dir], m->wd,
                                                           (cudnnConvolutionBwdFilterAlgo_t)algo, &ws);
    if (s != CUDNN_STATUS_SUCCESS || ws > CUDA_CONV_WORKSPACE_CAP)
        return 0;
    m->algo[dir] = algo, m->math[dir] = math, m->ws_bytes[dir] = ws;
    return 1;
}

/* Heuristics (_v7) or measurement (FindEx, on the model's buffers and a scratch workspace) for one direction. */
#define PICK_FROM(PERF_T, COUNT, CALL)                                                                                 \
    do {                                                                                                               \
        PERF_T perf[COUNT];                                                                                            \
        int n = 0;                                                                                                     \
        NNB_CUDNN_TRY(CALL);                                                                                           \
        for (int i = 0; i < n; i++)                                                                                    \
            if (keep(m, dir, (int)perf[i].algo, perf[i].status, perf[i].memory, perf[i].mathType))                     \
                return 1;                                                                                              \
        return 0;                                                                                                      \
    } while (0)

static int search(cuda_conv_model *m, int dir, int find, void *ws, size_t ws_bytes, char *err, size_t err_len) {
    if (dir == CUDA_CONV_FWD) {
        if (find)
            PICK_FROM(cudnnConvolutionFwdAlgoPerf_t, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                      cudnnFindConvolutionForwardAlgorithmEx(m->cudnn, m->xd, m->x, m->wd, m->w, m->conv[dir], m->yd,
                                                             m->y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, perf, ws,
                                                             ws_bytes));
        PICK_FROM(cudnnConvolutionFwdAlgoPerf_t, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                  cudnnGetConvolutionForwardAlgorithm_v7(m->cudnn, m->xd, m->wd, m->conv[dir], m->yd,
                                                         CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, perf));
    }
    if (dir == CUDA_CONV_BWD_DATA) {
        if (find)
            PICK_FROM(cudnnConvolutionBwdDataAlgoPerf_t, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT,
                      cudnnFindConvolutionBackwardDataAlgorithmEx(m->cudnn, m->wd, m->w, m->yd, m->dy, m->conv[dir],
                                                                  m->xd, m->dx, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT,
                                                                  &n, perf, ws, ws_bytes));
        PICK_FROM(cudnnConvolutionBwdDataAlgoPerf_t, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT,
                  cudnnGetConvolutionBackwardDataAlgorithm_v7(m->cudnn, m->wd, m->yd, m->conv[dir], m->xd,
                                                              CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n, perf));
    }
    if (find)
        PICK_FROM(cudnnConvolutionBwdFilterAlgoPerf_t, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT,
                  cudnnFindConvolutionBackwardFilterAlgorithmEx(m->cudnn, m->xd, m->x, m->yd, m->dy, m->conv[dir],
                                                                m->wd, m->dw, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT,
                                                                &n, perf, ws, ws_bytes));
    PICK_FROM(cudnnConvolutionBwdFilterAlgoPerf_t, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT,
              cudnnGetConvolutionBackwardFilterAlgorithm_v7(m->cudnn, m->xd, m->yd, m->conv[dir], m->wd,
                                                            CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n, perf));
}

/* A scratch workspace for cudnnFind*Ex: the cap, or half the free device memory when that is less. */
static int find_workspace(void **ws, size_t *bytes, char *err, size_t err_len) {
    size_t free_b = 0, total = 0;
    NNB_CUDA_TRY(cudaMemGetInfo(&free_b, &total));
    *bytes = free_b / 2 < CUDA_CONV_WORKSPACE_CAP ? free_b / 2 : CUDA_CONV_WORKSPACE_CAP;
    NNB_CUDA_TRY(cudaMalloc(ws, *bytes ? *bytes : 4));
    return 0;
}

static int choose_one(cuda_conv_model *m, int dir, void *ws, size_t ws_bytes, char *err, size_t err_len) {
    if (m->choice.pick[dir] == CUDA_CONV_PICK_NAMED) {
        int algo = m->choice.algo[dir];
        if (keep(m, dir, algo, CUDNN_STATUS_SUCCESS, 0, cuda_conv_math_type(m->precision)))
            return 0;
        return nnb_fail(err, err_len,
                        "conv (cuda): --conv-algo: cuDNN cannot run %s algorithm %s on this problem in %s (or it needs "
                        "more than %zu bytes of workspace); use auto or find",
                        cuda_conv_direction_name(dir), cuda_conv_algo_name(dir, algo), nnb_precision_name(m->precision),
                        (size_t)CUDA_CONV_WORKSPACE_CAP);
    }
    int find = m->choice.pick[dir] == CUDA_CONV_PICK_FIND;
    int found = search(m, dir, find, ws, ws_bytes, err, err_len);
    if (found < 0)
        return -1;
    if (!found)
        return nnb_fail(
            err, err_len, "conv (cuda): no usable cuDNN %s algorithm for this problem in %s (workspace cap %zu)",
            cuda_conv_direction_name(dir), nnb_precision_name(m->precision), (size_t)CUDA_CONV_WORKSPACE_CAP);
    m->chosen_by_find[dir] = find;
    return 0;
}

static int choose_algorithms(cuda_conv_model *m, char *err, size_t err_len) {
    static const uint32_t bits[CUDA_CONV_DIRECTIONS] = {NNB_CONV_DIR_FWD, NNB_CONV_DIR_BWD_D, NNB_CONV_DIR_BWD_W};
    int any_find = 0;
    for (int d = 0; d < CUDA_CONV_DIRECTIONS; d++)
        any_find |= m->choice.pick[d] == CUDA_CONV_PICK_FIND;
    void *ws = NULL;
    size_t ws_bytes = 0;
    if (any_find && find_workspace(&ws, &ws_bytes, err, err_len))
        return -1;
    int rc = 0;
    for (int d = 0; d < CUDA_CONV_DIRECTIONS && !rc; d++)
        if (d == CUDA_CONV_FWD || (m->host.dirs & bits[d])) /* forward always runs: it is the timed forward */
            rc = choose_one(m, d, ws, ws_bytes, err, err_len);
    if (ws)
        cudaFree(ws);
    return rc;
}

static int make_workspace(cuda_conv_model *m, char *err, size_t err_len) {
    for (int d = 0; d < CUDA_CONV_DIRECTIONS; d++)
        if (m->ws_bytes[d] > m->workspace_bytes)
            m->workspace_bytes = m->ws_bytes[d];
    return nnb_cuda_buffers_alloc(&m->buffers, &m->workspace, m->workspace_bytes, err, err_len);
}

/* ------------------------------------------------------------ create / destroy */

static int build(cuda_conv_model *m, const nnb_config *cfg, char *err, size_t err_len) {
    if (nnb_conv_data_init(&m->host, cfg, err, err_len))
        return -1;
    m->problem = *cfg->conv;
    m->precision = cfg->precision;
    if (cuda_conv_parse_algo(cfg->conv_algo, m->host.dirs, &m->choice, err, err_len) ||
        cuda_conv_geometry_make(&m->problem, &m->geo, err, err_len))
        return -1;
    if (nnb_cuda_device_init(cfg, &m->device, &m->prop, err, err_len))
        return -1;
    m->stream = (cudaStream_t)cfg->cuda_stream;
    NNB_CUDNN_TRY(cudnnCreate(&m->cudnn));
    NNB_CUDNN_TRY(cudnnSetStream(m->cudnn, m->stream));
    if (make_descriptors(m, err, err_len) || make_buffers(m, err, err_len) || choose_algorithms(m, err, err_len) ||
        make_workspace(m, err, err_len))
        return -1;
    m->infer_plans = calloc((size_t)m->host.geom.mb + 1, sizeof *m->infer_plans);
    if (!m->infer_plans)
        return nnb_fail(err, err_len, "conv (cuda): out of host memory");
    NNB_CUDA_TRY(cudaDeviceSynchronize());
    return 0;
}

void *cuda_conv_create(const nnb_config *cfg, char *err, size_t err_len) {
    cuda_conv_model *m = calloc(1, sizeof *m);
    if (!m) {
        nnb_fail(err, err_len, "conv (cuda): out of host memory");
        return NULL;
    }
    if (build(m, cfg, err, err_len)) {
        cuda_conv_destroy(m);
        return NULL;
    }
    return m;
}

void cuda_conv_destroy(void *model) {
    cuda_conv_model *m = model;
    if (!m)
        return;
    if (m->infer_plans) {
        for (int64_t n = 0; n <= m->host.geom.mb; n++) {
            if (m->infer_plans[n].xd)
                cudnnDestroyTensorDescriptor(m->infer_plans[n].xd);
            if (m->infer_plans[n].yd)
                cudnnDestroyTensorDescriptor(m->infer_plans[n].yd);
        }
        free(m->infer_plans);
    }
    for (int d = 0; d < CUDA_CONV_DIRECTIONS; d++)
        if (m->conv[d])
            cudnnDestroyConvolutionDescriptor(m->conv[d]);
    if (m->wd)
        cudnnDestroyFilterDescriptor(m->wd);
    cudnnTensorDescriptor_t tds[] = {m->xd, m->yd, m->bd};
    for (size_t i = 0; i < sizeof tds / sizeof *tds; i++)
        if (tds[i])
            cudnnDestroyTensorDescriptor(tds[i]);
    nnb_cuda_buffers_free(&m->buffers);
    if (m->cudnn)
        cudnnDestroy(m->cudnn);
    free(m->staging);
    nnb_conv_data_free(&m->host);
    free(m);
}

int cuda_conv_heuristic_fwd(cuda_conv_model *m, cudnnTensorDescriptor_t xd, cudnnTensorDescriptor_t yd, int *algo,
                            char *err, size_t err_len) {
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int n = 0;
    NNB_CUDNN_TRY(cudnnGetConvolutionForwardAlgorithm_v7(m->cudnn, xd, m->wd, m->conv[CUDA_CONV_FWD], yd,
                                                         CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, perf));
    for (int i = 0; i < n; i++) {
        size_t ws = 0;
        if (perf[i].status != CUDNN_STATUS_SUCCESS || perf[i].mathType != m->math[CUDA_CONV_FWD] ||
            cudnnGetConvolutionForwardWorkspaceSize(m->cudnn, xd, m->wd, m->conv[CUDA_CONV_FWD], yd, perf[i].algo,
                                                    &ws) != CUDNN_STATUS_SUCCESS ||
            ws > m->workspace_bytes)
            continue;
        *algo = (int)perf[i].algo;
        return 0;
    }
    return nnb_fail(err, err_len, "conv (cuda): infer: no forward algorithm for this batch size fits the workspace");
}
