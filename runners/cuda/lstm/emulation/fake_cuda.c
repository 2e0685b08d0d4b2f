/*
 * A CPU stand-in for the parts of the CUDA runtime, cuBLAS and the kernel
 * library that the hand-written runners use, so their host logic (GEMM
 * operand order, time loops, row sorting, dropout, gradient plumbing, graph
 * capture and replay) runs and is checked on a machine without a GPU.
 * Test-only: linked instead of cudart/cuBLAS by
 * cuda_lstm_engine_should_match_reference_on_cpu. Device memory is host
 * memory; every call runs synchronously.
 *
 * Graphs: between cudaStreamBeginCapture and cudaStreamEndCapture, work on the
 * capturing stream is recorded instead of run; cudaGraphLaunch replays it.
 * cuBLAS follows the BLAS definition (column-major, op(A) op(B)), written out
 * here with double accumulation; cublasGemmEx / cublasGemmStridedBatchedEx take fp32, bf16 or fp16 A and B
 * (the same type, read exactly: widening is exact), an fp32 C and CUBLAS_COMPUTE_32F only (anything else is
 * CUBLAS_STATUS_NOT_SUPPORTED, so a wrong combination fails here as well). The fp32 -> 16-bit conversion is the
 * real kernel source (precision_convert.cuh). The cell, elementwise and decomposed-LayerNorm
 * kernels are the real kernel source (lstm_pointwise.cuh) through grid_shim.h;
 * only the warp-per-row LayerNorm kernels (lstm_kernels.cu) are replaced by a
 * plain double loop here.
 *
 * What a real GPU would punish but a CPU would not notice is counted for the tests (fake_cuda.h): cuBLAS work
 * captured on a handle that runs on cuBLAS's default workspace pool (cublasSetStream resets the workspace, as
 * the real library documents) or that never ran outside a capture, devices selected; and a cuBLAS call can be
 * made to fail inside a capture.
 */
#include "fake_cuda.h"
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "lstm_kernels.h"
#include "lstm_pointwise.cuh"
#include "precision_convert.cuh"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------ recorded operations */

typedef enum op_kind {
    OP_MEMSET,
    OP_MEMCPY,
    OP_SGEMM,
    OP_SGEMV,
    OP_CELL_FWD,
    OP_CELL_BWD,
    OP_POINTWISE,
    OP_LN_CELL,
    OP_LN_FWD,
    OP_LN_BWD,
    OP_LN_DECOMPOSED,
    OP_TO_16BIT
} op_kind;

typedef struct op {
    op_kind kind;
    int i[8];
    long long n[8];
    float f[2];
    const void *p[10];
    nnb_pw_geometry geo;
    cudaDataType ab; /* OP_SGEMM: the type of A and B (CUDA_R_32F for cublasSgemm) */
} op;

typedef struct fake_graph {
    op *ops;
    int count, cap;
} fake_graph;

static cudaStream_t capturing; /* the stream being captured, or NULL */
static fake_graph *recording;

static int record(const op *o) {
    if (!recording)
        return 0;
    if (recording->count == recording->cap) {
        int cap = recording->cap ? 2 * recording->cap : 256;
        op *grown = (op *)realloc(recording->ops, sizeof(op) * (size_t)cap);
        if (!grown)
            abort();
        recording->ops = grown;
        recording->cap = cap;
    }
    recording->ops[recording->count++] = *o;
    return 1;
}

static int is_captured(cudaStream_t s) { return capturing != NULL && s == capturing; }

/* Element i of a GEMM operand of type t (fp32, bf16 or fp16), widened exactly. */
static double element(const void *p, size_t i, cudaDataType t) {
    if (t == CUDA_R_16BF)
        return nnb_f32_from_bf16(((const uint16_t *)p)[i]);
    if (t == CUDA_R_16F)
        return nnb_f32_from_fp16(((const uint16_t *)p)[i]);
    return ((const float *)p)[i];
}

static void sgemm_now(cudaDataType ab, int ta, int tb, int m, int n, int k, float alpha, const void *A, int lda,
                      const void *B, int ldb, float beta, float *C, int ldc) {
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            double acc = 0;
            for (int l = 0; l < k; l++) {
                double a = element(A, ta ? l + (size_t)i * lda : i + (size_t)l * lda, ab);
                double b = element(B, tb ? j + (size_t)l * ldb : l + (size_t)j * ldb, ab);
                acc += a * b;
            }
            float *c = &C[i + (size_t)j * ldc];
            *c = (float)(alpha * acc + (beta == 0.0f ? 0.0 : (double)beta * *c));
        }
}

static void sgemv_now(int trans, int m, int n, float alpha, const float *A, int lda, const float *x, float beta,
                      float *y) {
    int rows = trans ? n : m, cols = trans ? m : n;
    for (int i = 0; i < rows; i++) {
        double acc = 0;
        for (int j = 0; j < cols; j++)
            acc += (double)(trans ? A[j + (size_t)i * lda] : A[i + (size_t)j * lda]) * x[j];
        y[i] = (float)(alpha * acc + (beta == 0.0f ? 0.0 : (double)beta * y[i]));
    }
}

/* LayerNorm rows in double, as the definition reads (the GPU kernels are warp
 * reductions, covered by the gpu test). */
static void ln_fwd_now(float *out, float *xhat, float *rstd, const float *in, const float *gamma, const float *beta,
                       long long rows, long long cols, float eps) {
    for (long long r = 0; r < rows; r++) {
        const float *x = in + r * cols;
        double mean = 0, var = 0;
        for (long long j = 0; j < cols; j++)
            mean += x[j];
        mean /= (double)cols;
        for (long long j = 0; j < cols; j++)
            var += (x[j] - mean) * (x[j] - mean);
        double rs = 1.0 / sqrt(var / (double)cols + eps);
        if (rstd)
            rstd[r] = (float)rs;
        for (long long j = 0; j < cols; j++) {
            float n = (float)((x[j] - mean) * rs);
            if (xhat)
                xhat[r * cols + j] = n;
            out[r * cols + j] = n * (gamma ? gamma[j] : 1.0f) + (beta ? beta[j] : 0.0f);
        }
    }
}

static void ln_bwd_now(float *dx, const float *dy, const float *xhat, const float *rstd, const float *gamma,
                       long long rows, long long cols) {
    for (long long r = 0; r < rows; r++) {
        const float *g = dy + r * cols, *n = xhat + r * cols;
        double s1 = 0, s2 = 0;
        for (long long j = 0; j < cols; j++) {
            double d = (double)g[j] * (gamma ? gamma[j] : 1.0f);
            s1 += d;
            s2 += d * n[j];
        }
        s1 /= (double)cols, s2 /= (double)cols;
        for (long long j = 0; j < cols; j++) {
            double d = (double)g[j] * (gamma ? gamma[j] : 1.0f);
            dx[r * cols + j] = (float)(rstd[r] * (d - s1 - n[j] * s2));
        }
    }
}

static void run_op(const op *o) {
    switch (o->kind) {
    case OP_MEMSET: memset((void *)o->p[0], o->i[0], (size_t)o->n[0]); break;
    case OP_MEMCPY: memmove((void *)o->p[0], o->p[1], (size_t)o->n[0]); break;
    case OP_SGEMM:
        sgemm_now(o->ab, o->i[0], o->i[1], o->i[2], o->i[3], o->i[4], o->f[0], o->p[0], o->i[5], o->p[1], o->i[6],
                  o->f[1], (float *)o->p[2], o->i[7]);
        break;
    case OP_SGEMV:
        sgemv_now(o->i[0], o->i[1], o->i[2], o->f[0], (const float *)o->p[0], o->i[3], (const float *)o->p[1], o->f[1],
                  (float *)o->p[2]);
        break;
    case OP_CELL_FWD:
        if (o->i[0] == NNB_CELL_NONE)
            nnb_lstm_fwd_unfused(&o->geo, NULL, (float *)o->p[0], (const float *)o->p[1], (const float *)o->p[2],
                                 (const float *)o->p[3], (float *)o->p[4], (float *)o->p[5], (float *)o->p[6], o->n[0],
                                 o->n[1]);
        else
            nnb_launch_lstm_fwd(o->i[0] == NNB_CELL_OLD, &o->geo, NULL, (float *)o->p[0], (const float *)o->p[1],
                                (const float *)o->p[2], (const float *)o->p[3], (float *)o->p[4], (float *)o->p[5],
                                o->n[0], o->n[1]);
        break;
    case OP_CELL_BWD:
        if (o->i[0] == NNB_CELL_NONE)
            nnb_lstm_bwd_unfused(&o->geo, NULL, (const float *)o->p[0], (const float *)o->p[1], (const float *)o->p[2],
                                 (const float *)o->p[3], (const float *)o->p[4], (float *)o->p[5], (float *)o->p[6],
                                 (float *)o->p[7], o->n[0], o->n[1]);
        else
            nnb_launch_lstm_bwd(o->i[0] == NNB_CELL_OLD, &o->geo, NULL, (const float *)o->p[0], (const float *)o->p[1],
                                (const float *)o->p[2], (const float *)o->p[3], (const float *)o->p[4],
                                (float *)o->p[5], (float *)o->p[6], o->n[0], o->n[1]);
        break;
    case OP_LN_CELL:
        nnb_launch_ln_cell(o->i[0], &o->geo, NULL, (const float *)o->p[0], (const float *)o->p[1],
                           (const float *)o->p[2], (const float *)o->p[3], (const float *)o->p[4], (float *)o->p[5],
                           (float *)o->p[6], o->n[0], o->n[1]);
        break;
    case OP_LN_FWD:
        ln_fwd_now((float *)o->p[0], (float *)o->p[1], (float *)o->p[2], (const float *)o->p[3], (const float *)o->p[4],
                   (const float *)o->p[5], o->n[0], o->n[1], o->f[0]);
        break;
    case OP_LN_BWD:
        ln_bwd_now((float *)o->p[0], (const float *)o->p[1], (const float *)o->p[2], (const float *)o->p[3],
                   (const float *)o->p[4], o->n[0], o->n[1]);
        break;
    case OP_LN_DECOMPOSED:
        nnb_layernorm_decomposed(&o->geo, NULL, (float *)o->p[0], (float *)o->p[1], (float *)o->p[2], (float *)o->p[3],
                                 (const float *)o->p[4], (const float *)o->p[5], (const float *)o->p[6], o->n[0],
                                 o->n[1], o->f[0]);
        break;
    case OP_TO_16BIT:
        nnb_launch_f32_to_16bit(NULL, (uint16_t *)o->p[0], (const float *)o->p[1], o->n[0], o->i[0]);
        break;
    case OP_POINTWISE:
        nnb_launch_pointwise(&o->geo, NULL, o->i[0], (float *)o->p[0], o->n[0], (const float *)o->p[1], o->n[1],
                             (const float *)o->p[2], o->n[2], o->n[3], o->n[4]);
        break;
    }
}

static nnb_fake_cuda_counts counts;
static unsigned kernels_run_eagerly; /* bit per op kind: launched outside any capture (its module is loaded) */

static void submit(cudaStream_t s, const op *o) {
    unsigned bit = 1u << o->kind;
    int kernel = o->kind != OP_MEMSET && o->kind != OP_MEMCPY && o->kind != OP_SGEMM && o->kind != OP_SGEMV;
    if (is_captured(s) && kernel && !(kernels_run_eagerly & bit))
        counts.captured_cold_kernels++;
    if (!is_captured(s))
        kernels_run_eagerly |= bit;
    if (!(is_captured(s) && record(o)))
        run_op(o);
}

/* ----------------------------------------------------------- CUDA runtime */

static int fail_cublas_in_capture;

void nnb_fake_cuda_reset(void) {
    memset(&counts, 0, sizeof counts);
    kernels_run_eagerly = 0;
    fail_cublas_in_capture = 0;
}
nnb_fake_cuda_counts nnb_fake_cuda_get_counts(void) { return counts; }
void nnb_fake_cuda_fail_cublas_in_capture(int on) { fail_cublas_in_capture = on; }

/* NNB_FAKE_CUDA_NO_DEVICE set: none; NNB_FAKE_CUDA_DEVICES=N: N devices; else 1. NNB_FAKE_CUDA_CC=Mm: their
 * compute capability (else 9.0). */
static int device_count(void) {
    const char *no = getenv("NNB_FAKE_CUDA_NO_DEVICE"), *n = getenv("NNB_FAKE_CUDA_DEVICES");
    if (no && *no)
        return 0;
    return n && atoi(n) > 0 ? atoi(n) : 1;
}

cudaError_t cudaGetDeviceCount(int *count) {
    *count = device_count();
    return cudaSuccess;
}
const char *cudaGetErrorString(cudaError_t e) { return e == cudaSuccess ? "no error" : "fake cuda error"; }
cudaError_t cudaGetLastError(void) { return cudaSuccess; }
cudaError_t cudaSetDevice(int device) {
    if (device < 0 || device >= device_count())
        return cudaErrorInvalidDevice;
    counts.current_device = device;
    counts.set_device_calls++;
    return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp *prop, int device) {
    if (device < 0 || device >= device_count())
        return cudaErrorInvalidDevice;
    memset(prop, 0, sizeof *prop);
    prop->pciBusID = device + 1;
    strcpy(prop->name, "CPU emulation of a CUDA device");
    const char *cc = getenv("NNB_FAKE_CUDA_CC"); /* e.g. 75: a device of compute capability 7.5; default 9.0 */
    int v = cc && atoi(cc) > 0 ? atoi(cc) : 90;
    prop->major = v / 10;
    prop->minor = v % 10;
    return cudaSuccess;
}
cudaError_t cudaRuntimeGetVersion(int *v) { return *v = 0, cudaSuccess; }
cudaError_t cudaDriverGetVersion(int *v) { return *v = 0, cudaSuccess; }
cudaError_t cudaMalloc(void **p, size_t bytes) {
    /* NaN-poisoned like uninitialised device memory could be (the runners zero what they allocate). */
    float *f = (float *)malloc(bytes);
    for (size_t i = 0; f && i < bytes / sizeof(float); i++)
        f[i] = NAN;
    *p = f;
    return f ? cudaSuccess : cudaErrorMemoryAllocation;
}
cudaError_t cudaFree(void *p) { return free(p), cudaSuccess; }
cudaError_t cudaMemset(void *p, int v, size_t n) { return memset(p, v, n), cudaSuccess; }
cudaError_t cudaMemcpy(void *dst, const void *src, size_t n, enum cudaMemcpyKind k) {
    (void)k;
    return memmove(dst, src, n), cudaSuccess;
}
cudaError_t cudaMemsetAsync(void *p, int v, size_t n, cudaStream_t s) {
    op o = {OP_MEMSET, {v}, {(long long)n}, {0}, {p}, {0, 0, 0}, CUDA_R_32F};
    submit(s, &o);
    return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t n, enum cudaMemcpyKind k, cudaStream_t s) {
    (void)k;
    op o = {OP_MEMCPY, {0}, {(long long)n}, {0}, {dst, src}, {0, 0, 0}, CUDA_R_32F};
    submit(s, &o);
    return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t s) { return (void)s, cudaSuccess; }
cudaError_t cudaDeviceSynchronize(void) { return cudaSuccess; }
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned flags) {
    (void)flags;
    *s = (cudaStream_t)malloc(16);
    return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t s) { return free(s), cudaSuccess; }
cudaError_t cudaStreamBeginCapture(cudaStream_t s, enum cudaStreamCaptureMode mode) {
    (void)mode;
    counts.captures++;
    capturing = s;
    recording = (fake_graph *)calloc(1, sizeof *recording);
    return cudaSuccess;
}
cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t *graph) {
    (void)s;
    *graph = (cudaGraph_t)recording;
    capturing = NULL;
    recording = NULL;
    return cudaSuccess;
}
cudaError_t cudaGraphInstantiate(cudaGraphExec_t *exec, cudaGraph_t graph, unsigned long long flags) {
    (void)flags;
    fake_graph *src = (fake_graph *)graph, *copy = (fake_graph *)calloc(1, sizeof *copy);
    copy->ops = (op *)malloc(sizeof(op) * (size_t)(src->count ? src->count : 1));
    memcpy(copy->ops, src->ops, sizeof(op) * (size_t)src->count);
    copy->count = copy->cap = src->count;
    *exec = (cudaGraphExec_t)copy;
    return cudaSuccess;
}
static void free_graph(fake_graph *g) {
    if (g)
        free(g->ops), free(g);
}
cudaError_t cudaGraphDestroy(cudaGraph_t g) { return free_graph((fake_graph *)g), cudaSuccess; }
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t g) { return free_graph((fake_graph *)g), cudaSuccess; }
cudaError_t cudaGraphLaunch(cudaGraphExec_t g, cudaStream_t s) {
    (void)s;
    const fake_graph *fg = (const fake_graph *)g;
    for (int i = 0; i < fg->count; i++)
        run_op(&fg->ops[i]);
    return cudaSuccess;
}

/* ----------------------------------------------------------------- cuBLAS */

struct cublasContext {
    cudaStream_t stream;
    void *workspace; /* NULL: cuBLAS's default pool */
    int warm;        /* has run a call outside any capture */
};
cublasStatus_t cublasCreate(cublasHandle_t *h) {
    *h = (cublasHandle_t)calloc(1, sizeof(struct cublasContext));
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasDestroy(cublasHandle_t h) { return free(h), CUBLAS_STATUS_SUCCESS; }
/* As the real one: a stream change resets the workspace to the default pool. */
cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s) {
    h->stream = s;
    h->workspace = NULL;
    counts.stream_changes++;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t m) { return (void)h, (void)m, CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasSetPointerMode(cublasHandle_t h, cublasPointerMode_t m) {
    return (void)h, (void)m, CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetWorkspace(cublasHandle_t h, void *p, size_t n) {
    h->workspace = n ? p : NULL;
    counts.workspace_sets++;
    return CUBLAS_STATUS_SUCCESS;
}
/* Bookkeeping of one cuBLAS call; CUBLAS_STATUS_EXECUTION_FAILED when told to fail inside a capture. */
static cublasStatus_t cublas_call(cublasHandle_t h) {
    if (!h->workspace)
        counts.calls_on_default_pool++;
    if (!is_captured(h->stream)) {
        h->warm = 1;
        return CUBLAS_STATUS_SUCCESS;
    }
    counts.captured_cublas_calls++;
    if (!h->workspace)
        counts.captured_on_default_pool++;
    if (!h->warm)
        counts.captured_cold++;
    return fail_cublas_in_capture ? CUBLAS_STATUS_EXECUTION_FAILED : CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasGetVersion(cublasHandle_t h, int *v) { return (void)h, *v = 0, CUBLAS_STATUS_SUCCESS; }
const char *cublasGetStatusString(cublasStatus_t s) { return s == CUBLAS_STATUS_SUCCESS ? "success" : "fake error"; }
/* One GEMM of A and B of type ab (fp32 C), checked as cuBLAS checks its arguments, then run or recorded. */
static cublasStatus_t gemm(cublasHandle_t h, cudaDataType ab, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                           int k, float alpha, const void *A, int lda, const void *B, int ldb, float beta, float *C,
                           int ldc) {
    if (m < 0 || n < 0 || k < 0 || lda < (ta == CUBLAS_OP_N ? m : k) || ldb < (tb == CUBLAS_OP_N ? k : n) || ldc < m ||
        lda < 1 || ldb < 1 || ldc < 1)
        return CUBLAS_STATUS_INVALID_VALUE;
    cublasStatus_t st = cublas_call(h);
    if (st != CUBLAS_STATUS_SUCCESS)
        return st;
    op o = {OP_SGEMM,  {ta != CUBLAS_OP_N, tb != CUBLAS_OP_N, m, n, k, lda, ldb, ldc},
            {0},       {alpha, beta},
            {A, B, C}, {0, 0, 0},
            ab};
    submit(h->stream, &o);
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                           const float *alpha, const float *A, int lda, const float *B, int ldb, const float *beta,
                           float *C, int ldc) {
    return gemm(h, CUDA_R_32F, ta, tb, m, n, k, *alpha, A, lda, B, ldb, *beta, C, ldc);
}
/* What the runners may ask of the Ex forms: A and B of one type (fp32, bf16, fp16), fp32 C, fp32 compute (fp32
 * alpha and beta). */
static int ex_supported(cudaDataType a, cudaDataType b, cudaDataType c, cublasComputeType_t compute) {
    return a == b && (a == CUDA_R_32F || a == CUDA_R_16BF || a == CUDA_R_16F) && c == CUDA_R_32F &&
           compute == CUBLAS_COMPUTE_32F;
}
cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                            const void *alpha, const void *A, cudaDataType Atype, int lda, const void *B,
                            cudaDataType Btype, int ldb, const void *beta, void *C, cudaDataType Ctype, int ldc,
                            cublasComputeType_t computeType, cublasGemmAlgo_t algo) {
    (void)algo;
    if (!ex_supported(Atype, Btype, Ctype, computeType))
        return CUBLAS_STATUS_NOT_SUPPORTED;
    return gemm(h, Atype, ta, tb, m, n, k, *(const float *)alpha, A, lda, B, ldb, *(const float *)beta, (float *)C,
                ldc);
}
/* Element size of an Ex operand type the stand-in supports. */
static size_t ex_bytes(cudaDataType t) { return t == CUDA_R_32F ? 4 : 2; }
cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                                          int k, const void *alpha, const void *A, cudaDataType Atype, int lda,
                                          long long int strideA, const void *B, cudaDataType Btype, int ldb,
                                          long long int strideB, const void *beta, void *C, cudaDataType Ctype, int ldc,
                                          long long int strideC, int batchCount, cublasComputeType_t computeType,
                                          cublasGemmAlgo_t algo) {
    (void)algo;
    if (!ex_supported(Atype, Btype, Ctype, computeType))
        return CUBLAS_STATUS_NOT_SUPPORTED;
    if (batchCount < 0 || strideA < 0 || strideB < 0 || strideC < 0 || (batchCount > 1 && strideC < (long long)ldc * n))
        return CUBLAS_STATUS_INVALID_VALUE;
    size_t e = ex_bytes(Atype);
    for (int b = 0; b < batchCount; b++) {
        cublasStatus_t st =
            gemm(h, Atype, ta, tb, m, n, k, *(const float *)alpha, (const char *)A + b * strideA * e, lda,
                 (const char *)B + b * strideB * e, ldb, *(const float *)beta, (float *)C + b * strideC, ldc);
        if (st != CUBLAS_STATUS_SUCCESS)
            return st;
    }
    return CUBLAS_STATUS_SUCCESS;
}
/* One recorded GEMM per batch entry: the same arithmetic as batch separate cublasSgemm calls. */
cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                                         int k, const float *alpha, const float *A, int lda, long long int strideA,
                                         const float *B, int ldb, long long int strideB, const float *beta, float *C,
                                         int ldc, long long int strideC, int batchCount) {
    if (batchCount < 0 || strideA < 0 || strideB < 0 || strideC < 0)
        return CUBLAS_STATUS_INVALID_VALUE;
    /* C blocks must not overlap (cuBLAS leaves that undefined) */
    if (batchCount > 1 && strideC < (long long)ldc * n)
        return CUBLAS_STATUS_INVALID_VALUE;
    for (int b = 0; b < batchCount; b++) {
        cublasStatus_t st = cublasSgemm(h, ta, tb, m, n, k, alpha, A + b * strideA, lda, B + b * strideB, ldb, beta,
                                        C + b * strideC, ldc);
        if (st != CUBLAS_STATUS_SUCCESS)
            return st;
    }
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSgemv(cublasHandle_t h, cublasOperation_t t, int m, int n, const float *alpha, const float *A,
                           int lda, const float *x, int incx, const float *beta, float *y, int incy) {
    if (incx != 1 || incy != 1 || lda < m || m < 0 || n < 0)
        return CUBLAS_STATUS_INVALID_VALUE;
    cublasStatus_t st = cublas_call(h);
    if (st != CUBLAS_STATUS_SUCCESS)
        return st;
    op o = {OP_SGEMV, {t != CUBLAS_OP_N, m, n, lda}, {0}, {*alpha, *beta}, {A, x, y}, {0, 0, 0}, CUDA_R_32F};
    submit(h->stream, &o);
    return CUBLAS_STATUS_SUCCESS;
}

size_t cudnnGetVersion(void) { return 0; }

/* ------------------------------------------------------- kernel library */

const char *nnb_cell_variant_kernels(nnb_cell_variant v) { return v == NNB_CELL_NONE ? "unfused" : "fused"; }

int nnb_cuda_lstm_cell_fwd(nnb_cell_variant v, const nnb_pw_geometry *geo, void *stream, float *gates,
                           const float *bias_a, const float *bias_b, const float *c_prev, float *c, float *h,
                           float *scratch, long long B, long long H) {
    op o = {OP_CELL_FWD, {(int)v}, {B, H}, {0}, {gates, bias_a, bias_b, c_prev, c, h, scratch}, *geo, CUDA_R_32F};
    submit((cudaStream_t)stream, &o);
    return 0;
}

int nnb_cuda_lstm_cell_bwd(nnb_cell_variant v, const nnb_pw_geometry *geo, void *stream, const float *gates,
                           const float *c_prev, const float *c, const float *dy, const float *dh_rec, float *dc,
                           float *dgates, float *scratch, long long B, long long H) {
    op o = {OP_CELL_BWD, {(int)v}, {B, H}, {0}, {gates, c_prev, c, dy, dh_rec, dc, dgates, scratch}, *geo, CUDA_R_32F};
    submit((cudaStream_t)stream, &o);
    return 0;
}

int nnb_cuda_pointwise(const nnb_pw_geometry *geo, void *stream, int opcode, float *out, long long ldo, const float *a,
                       long long lda, const float *b, long long ldb, long long rows, long long cols) {
    op o = {OP_POINTWISE, {opcode}, {ldo, lda, ldb, rows, cols}, {0}, {out, a, b}, *geo, CUDA_R_32F};
    submit((cudaStream_t)stream, &o);
    return 0;
}

int nnb_cuda_f32_to_16bit(void *stream, void *dst, const float *src, long long n, int fp16) {
    op o = {OP_TO_16BIT, {fp16}, {n}, {0}, {dst, src}, {0, 0, 0}, CUDA_R_32F};
    submit((cudaStream_t)stream, &o);
    return 0;
}

int nnb_cuda_ln_cell(int which, const nnb_pw_geometry *geo, void *stream, const float *p0, const float *p1,
                     const float *p2, const float *p3, const float *p4, float *o0, float *o1, long long B,
                     long long H) {
    op o = {OP_LN_CELL, {which}, {B, H}, {0}, {p0, p1, p2, p3, p4, o0, o1}, *geo, CUDA_R_32F};
    submit((cudaStream_t)stream, &o);
    return 0;
}

int nnb_cuda_layernorm_fwd(void *stream, float *out, float *xhat, float *rstd, const float *in, const float *gamma,
                           const float *beta, long long rows, long long cols, float eps) {
    op o = {OP_LN_FWD, {0}, {rows, cols}, {eps}, {out, xhat, rstd, in, gamma, beta}, {0, 0, 0}, CUDA_R_32F};
    submit((cudaStream_t)stream, &o);
    return 0;
}

int nnb_cuda_layernorm_bwd(void *stream, float *dx, const float *dy, const float *xhat, const float *rstd,
                           const float *gamma, long long rows, long long cols) {
    op o = {OP_LN_BWD, {0}, {rows, cols}, {0}, {dx, dy, xhat, rstd, gamma}, {0, 0, 0}, CUDA_R_32F};
    submit((cudaStream_t)stream, &o);
    return 0;
}

int nnb_cuda_layernorm_decomposed(const nnb_pw_geometry *geo, void *stream, float *out, float *xhat, float *rstd,
                                  float *stat, const float *in, const float *gamma, const float *beta, long long rows,
                                  long long cols, float eps) {
    op o = {OP_LN_DECOMPOSED, {0}, {rows, cols}, {eps}, {out, xhat, rstd, stat, in, gamma, beta}, *geo, CUDA_R_32F};
    submit((cudaStream_t)stream, &o);
    return 0;
}
