/* Shared CUDA runner support: see nnb_cuda_util.h. */
#include "nnb_cuda_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef NNB_HAVE_NVTX
#include <nvtx3/nvToolsExt.h>
#endif

int nnb_cuda_available(const nnb_config *cfg, char *reason, size_t reason_len) {
    int count = 0;
    cudaError_t st = cudaGetDeviceCount(&count);
    if (st != cudaSuccess) {
        snprintf(reason, reason_len, "cuda: no device (%s)", cudaGetErrorString(st));
        return 0;
    }
    if (count == 0) {
        snprintf(reason, reason_len, "cuda: no device (cudaGetDeviceCount reports 0 devices)");
        return 0;
    }
    if (cfg && (cfg->cuda_device < 0 || cfg->cuda_device >= count)) {
        snprintf(reason, reason_len, "cuda: device %d requested, %d present", cfg->cuda_device, count);
        return 0;
    }
    return 1;
}

int nnb_cuda_device_init(const nnb_config *cfg, int *device, struct cudaDeviceProp *prop, char *err, size_t err_len) {
    char why[256];
    if (!nnb_cuda_available(cfg, why, sizeof why))
        return nnb_fail(err, err_len, "%s", why);
    *device = cfg->cuda_device;
    NNB_CUDA_TRY(cudaSetDevice(*device));
    NNB_CUDA_TRY(cudaGetDeviceProperties(prop, *device));
    return 0;
}

int nnb_cuda_cublas_init(cublasHandle_t *handle, cudaStream_t stream, int tf32, char *err, size_t err_len) {
    NNB_CUBLAS_TRY(cublasCreate(handle));
    NNB_CUBLAS_TRY(cublasSetStream(*handle, stream));
    NNB_CUBLAS_TRY(cublasSetMathMode(*handle, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
    NNB_CUBLAS_TRY(cublasSetPointerMode(*handle, CUBLAS_POINTER_MODE_HOST));
    return 0;
}

int nnb_cuda_cublas_set_stream(cublasHandle_t handle, cudaStream_t stream, void *workspace, size_t workspace_bytes,
                               char *err, size_t err_len) {
    NNB_CUBLAS_TRY(cublasSetStream(handle, stream));
    if (workspace)
        NNB_CUBLAS_TRY(cublasSetWorkspace(handle, workspace, workspace_bytes));
    return 0;
}

int nnb_cuda_buffers_alloc(nnb_cuda_buffers *b, void **p, size_t bytes, char *err, size_t err_len) {
    *p = NULL;
    if (b->count == b->cap) {
        int cap = b->cap ? 2 * b->cap : 64;
        void **grown = (void **)realloc(b->items, sizeof(void *) * (size_t)cap);
        if (!grown)
            return nnb_fail(err, err_len, "out of host memory");
        b->items = grown;
        b->cap = cap;
    }
    if (bytes == 0)
        bytes = sizeof(float);
    NNB_CUDA_TRY(cudaMalloc(p, bytes));
    b->items[b->count++] = *p;
    NNB_CUDA_TRY(cudaMemset(*p, 0, bytes));
    return 0;
}

int nnb_cuda_buffers_floats(nnb_cuda_buffers *b, float **p, size_t n, char *err, size_t err_len) {
    size_t bytes;
    if (nnb_mul_size(&bytes, n, sizeof(float)))
        return nnb_fail(err, err_len, "device buffer size overflows size_t");
    return nnb_cuda_buffers_alloc(b, (void **)p, bytes, err, err_len);
}

void nnb_cuda_buffers_free(nnb_cuda_buffers *b) {
    for (int i = 0; i < b->count; i++)
        cudaFree(b->items[i]);
    free(b->items);
    memset(b, 0, sizeof *b);
}

int nnb_cuda_upload(float *dst, const float *src, size_t n, char *err, size_t err_len) {
    NNB_CUDA_TRY(cudaMemcpy(dst, src, n * sizeof(float), cudaMemcpyHostToDevice));
    return 0;
}

int nnb_cuda_download_on(cudaStream_t stream, float *dst, const float *src, size_t n, char *err, size_t err_len) {
    NNB_CUDA_TRY(cudaStreamSynchronize(stream));
    NNB_CUDA_TRY(cudaMemcpy(dst, src, n * sizeof(float), cudaMemcpyDeviceToHost));
    return 0;
}

int nnb_cuda_upload_on(cudaStream_t stream, void *dst, const void *src, size_t bytes, char *err, size_t err_len) {
    NNB_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream));
    NNB_CUDA_TRY(cudaStreamSynchronize(stream));
    return 0;
}

int nnb_cuda_check_infer_n(const char *runner, int64_t n, int64_t batch, char *err, size_t err_len) {
    if (n < 1 || n > batch)
        return nnb_fail(err, err_len, "%s: infer: n = %lld outside [1, %lld] (the batch it was created for)", runner,
                        (long long)n, (long long)batch);
    return 0;
}

int nnb_cuda_fill_infer_io(const char *runner, nnb_infer_io *io, void *input, size_t input_rows, size_t input_row_pitch,
                           size_t input_sample_bytes, void *output, size_t output_rows, size_t output_row_pitch,
                           size_t output_sample_bytes, char *err, size_t err_len) {
    if (!io || io->struct_size < sizeof(nnb_infer_io))
        return nnb_fail(err, err_len, "%s: infer_io: nnb_infer_io struct_size %zu, expected at least %zu (ABI 1.2)",
                        runner, io ? io->struct_size : (size_t)0, sizeof(nnb_infer_io));
    io->input = input;
    io->input_rows = input_rows;
    io->input_row_pitch = input_row_pitch;
    io->input_sample_bytes = input_sample_bytes;
    io->output = output;
    io->output_rows = output_rows;
    io->output_row_pitch = output_row_pitch;
    io->output_sample_bytes = output_sample_bytes;
    return 0;
}

int nnb_cuda_match_param(const char *runner, const nnb_tensor *want, const nnb_tensor *value, char *err,
                         size_t err_len) {
    if (!value->data)
        return nnb_fail(err, err_len, "%s: load_param '%s': no data", runner, want->name);
    if (value->dtype != want->dtype)
        return nnb_fail(err, err_len, "%s: load_param '%s': dtype %s does not match the parameter's %s", runner,
                        want->name, nnb_dtype_name(value->dtype), nnb_dtype_name(want->dtype));
    int same = value->ndim == want->ndim && value->ndim >= 0 && value->ndim <= NNB_MAX_DIMS;
    for (int i = 0; same && i < want->ndim; i++)
        same = value->shape[i] == want->shape[i];
    if (!same) {
        char got[160], exp[160];
        nnb_shape_text(got, sizeof got, value->ndim, value->shape);
        nnb_shape_text(exp, sizeof exp, want->ndim, want->shape);
        return nnb_fail(err, err_len, "%s: load_param '%s': shape %s does not match the parameter's %s", runner,
                        want->name, got, exp);
    }
    return 0;
}

void nnb_cuda_range_push(const char *runner, const char *phase) {
#ifdef NNB_HAVE_NVTX
    char range[96];
    snprintf(range, sizeof range, "%s.%s", runner, phase);
    nvtxRangePushA(range);
#else
    (void)runner, (void)phase;
#endif
}

void nnb_cuda_range_pop(void) {
#ifdef NNB_HAVE_NVTX
    nvtxRangePop();
#endif
}

void nnb_cuda_describe_device(const struct cudaDeviceProp *prop, int device, cublasHandle_t cublas, char *buf,
                              size_t len, size_t *used) {
    int rt = 0, drv = 0, cublas_version = 0;
    cudaRuntimeGetVersion(&rt);
    cudaDriverGetVersion(&drv);
    if (cublas)
        cublasGetVersion(cublas, &cublas_version);
    char name[sizeof prop->name + 1];
    size_t n = 0;
    for (size_t i = 0; i < sizeof prop->name && prop->name[i]; i++)
        if (prop->name[i] != '"' && prop->name[i] != '\\')
            name[n++] = prop->name[i];
    name[n] = 0;
    nnb_appendf(buf, len, used, "\"device\":\"%s\",\"device_index\":%d,\"sm\":\"%d.%d\",", name, device, prop->major,
                prop->minor);
    nnb_appendf(buf, len, used, "\"cuda_runtime\":%d,\"cuda_driver\":%d,\"cudnn\":%zu,", rt, drv, cudnnGetVersion());
    if (cublas)
        nnb_appendf(buf, len, used, "\"cublas\":%d,", cublas_version);
}
