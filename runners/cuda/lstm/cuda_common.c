#include "cuda_common.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CUBLAS_WORKSPACE_BYTES = 32 << 20 }; /* cuBLAS's recommendation for Hopper */

const char *const nnb_cuda_lstm_executors[] = {"eager", "graph", NULL};

int nnb_cuda_ctx_init(nnb_cuda_ctx *c, const nnb_config *cfg, const char *runner, int with_cublas, char *err,
                      size_t err_len) {
    memset(c, 0, sizeof *c);
    if (cfg->struct_size < offsetof(nnb_config, cuda_stream) + sizeof cfg->cuda_stream)
        return nnb_fail(err, err_len, "%s: config struct too old (struct_size %zu)", runner, cfg->struct_size);
    c->runner = runner;
    c->device = cfg->cuda_device;
    c->precision = nnb_cuda_config_precision(cfg);
    c->tf32 = cfg->allow_tf32 != 0 || c->precision == NNB_PRECISION_TF32;
    /* Eager or graph. Fusers: every name here (the cuDNN runners run no fusion of ours); the hand-written
     * families check the fusers they honour before calling this. */
    if (nnb_check_fuser_executor(runner, cfg, nnb_every_fuser, nnb_cuda_lstm_executors, err, err_len))
        return -1;
    c->graph = cfg->executor && !strcmp(cfg->executor, "graph");
    if (nnb_cuda_device_init(cfg, &c->device, &c->prop, err, err_len))
        return -1;
    c->user_stream = c->stream = (cudaStream_t)cfg->cuda_stream;
    if (with_cublas) {
        if (nnb_cuda_cublas_init(&c->cublas, c->stream, c->tf32, err, err_len))
            return -1;
        if (nnb_cuda_alloc_bytes(c, &c->cublas_ws, CUBLAS_WORKSPACE_BYTES, err, err_len))
            return -1;
        if (nnb_cuda_ctx_use_stream(c, c->stream, err, err_len))
            return -1;
    }
    return 0;
}

int nnb_cuda_ctx_use_stream(nnb_cuda_ctx *c, cudaStream_t stream, char *err, size_t err_len) {
    if (!c->cublas)
        return 0;
    return nnb_cuda_cublas_set_stream(c->cublas, stream, c->cublas_ws, CUBLAS_WORKSPACE_BYTES, err, err_len);
}

void nnb_cuda_ctx_free(nnb_cuda_ctx *c) {
    if (c->fwd_exec)
        cudaGraphExecDestroy(c->fwd_exec);
    if (c->bwd_exec)
        cudaGraphExecDestroy(c->bwd_exec);
    if (c->cublas)
        cublasDestroy(c->cublas);
    nnb_cuda_buffers_free(&c->buffers);
    memset(c, 0, sizeof *c);
}

int nnb_cuda_alloc_bytes(nnb_cuda_ctx *c, void **p, size_t bytes, char *err, size_t err_len) {
    return nnb_cuda_buffers_alloc(&c->buffers, p, bytes, err, err_len);
}

int nnb_cuda_alloc(nnb_cuda_ctx *c, float **p, size_t n, char *err, size_t err_len) {
    return nnb_cuda_buffers_floats(&c->buffers, p, n, err, err_len);
}

int nnb_cuda_download(nnb_cuda_ctx *c, float *dst, const float *src, size_t n, char *err, size_t err_len) {
    return nnb_cuda_download_on(c->user_stream, dst, src, n, err, err_len);
}

/* Records enqueue(model) on the private stream cap into *graph. 0, or -1 with err (enqueue's own message, or the
 * capture call that failed). */
static int record_graph(nnb_cuda_ctx *c, cudaStream_t cap, nnb_enqueue_fn enqueue, void *model, cudaGraph_t *graph,
                        char *err, size_t err_len) {
    NNB_CUDA_TRY(cudaStreamBeginCapture(cap, cudaStreamCaptureModeThreadLocal));
    c->stream = cap;
    int rc = enqueue(model, err, err_len);
    c->stream = c->user_stream;
    cudaError_t end = cudaStreamEndCapture(cap, graph); /* ends the capture even when enqueue failed */
    if (rc)
        return -1;
    NNB_CUDA_TRY(end);
    return 0;
}

static int instantiate(cudaGraphExec_t *exec, cudaGraph_t graph, char *err, size_t err_len) {
    NNB_CUDA_TRY(cudaGraphInstantiate(exec, graph, 0));
    return 0;
}

int nnb_cuda_capture(nnb_cuda_ctx *c, nnb_enqueue_fn enqueue, void *model, cudaGraphExec_t *exec, char *err,
                     size_t err_len) {
    cudaStream_t cap;
    NNB_CUDA_TRY(cudaStreamCreateWithFlags(&cap, cudaStreamNonBlocking));
    cudaGraph_t graph = NULL;
    int rc = record_graph(c, cap, enqueue, model, &graph, err, err_len);
    /* never leave a handle on the dead capture stream (nor on cuBLAS's default workspace pool) */
    char restore_err[256] = "";
    int restored = nnb_cuda_ctx_use_stream(c, c->user_stream, restore_err, sizeof restore_err);
    if (!rc)
        rc = instantiate(exec, graph, err, err_len);
    if (graph)
        cudaGraphDestroy(graph);
    cudaStreamDestroy(cap);
    if (!rc && restored)
        rc = nnb_fail(err, err_len, "%s", restore_err);
    if (rc) { /* err is both the cause and the destination: copy it first */
        char cause[400];
        snprintf(cause, sizeof cause, "%s", err);
        return nnb_fail(err, err_len, "%s: capturing a CUDA graph failed: %s", c->runner, cause);
    }
    return 0;
}

int nnb_cuda_run_phase(nnb_cuda_ctx *c, const char *phase, nnb_enqueue_fn enqueue, void *model, cudaGraphExec_t exec,
                       char *err, size_t err_len) {
    nnb_cuda_range_push(c->runner, phase);
    int rc = 0;
    if (c->graph) {
        cudaError_t st = cudaGraphLaunch(exec, c->stream);
        if (st != cudaSuccess)
            rc = nnb_fail(err, err_len, "cudaGraphLaunch(%s %s) failed: %s", c->runner, phase, cudaGetErrorString(st));
    } else {
        rc = enqueue(model, err, err_len);
    }
    nnb_cuda_range_pop();
    return rc;
}

void nnb_cuda_describe_common(const nnb_cuda_ctx *c, char *buf, size_t len, size_t *used) {
    nnb_cuda_describe_device(&c->prop, c->device, c->cublas, buf, len, used);
    const char *precision = nnb_precision_name(c->precision);
    nnb_appendf(buf, len, used, "\"executor\":\"%s\",\"tf32\":%s,\"precision\":\"%s\",", c->graph ? "graph" : "eager",
                c->tf32 ? "true" : "false", precision ? precision : "?");
}

/* ------------------------------------------------- the shared interface */

void *nnb_cuda_lstm_create(size_t size, const nnb_cuda_lstm_ops *ops, const char *name, const void *kind,
                           const nnb_config *cfg, char *err, size_t err_len) {
    nnb_cuda_lstm *m = (nnb_cuda_lstm *)nnb_alloc_bytes(size);
    if (!m) {
        nnb_fail(err, err_len, "out of memory");
        return NULL;
    }
    m->ops = ops;
    m->name = name;
    m->kind = kind;
    if (ops->setup(m, cfg, err, err_len)) {
        nnb_cuda_lstm_destroy(m);
        return NULL;
    }
    return m;
}

int nnb_cuda_lstm_capture(nnb_cuda_lstm *m, int with_backward, char *err, size_t err_len) {
    nnb_cuda_ctx *c = &m->cu;
    NNB_CUDA_TRY(cudaDeviceSynchronize());
    if (!c->graph)
        return 0;
    /* One eager pass first, as CUDA-graph guides ask: the libraries' and kernels' first calls (lazy module
     * loading, cuBLAS/cuDNN initialisation and plans) must not happen inside the capture. */
    if (m->ops->forward(m, err, err_len) || (with_backward && m->ops->backward(m, err, err_len)))
        return -1;
    NNB_CUDA_TRY(cudaStreamSynchronize(c->user_stream));
    if (nnb_cuda_capture(c, m->ops->forward, m, &c->fwd_exec, err, err_len))
        return -1;
    if (with_backward && nnb_cuda_capture(c, m->ops->backward, m, &c->bwd_exec, err, err_len))
        return -1;
    return 0;
}

void nnb_cuda_lstm_destroy(void *model) {
    nnb_cuda_lstm *m = (nnb_cuda_lstm *)model;
    if (!m)
        return;
    if (m->ops->destroy)
        m->ops->destroy(m);
    nnb_cuda_ctx_free(&m->cu);
    nnb_lstm_data_free(&m->d);
    nnb_free(m);
}

int nnb_cuda_lstm_forward(void *model, char *err, size_t err_len) {
    nnb_cuda_lstm *m = (nnb_cuda_lstm *)model;
    m->infer_n = 0;
    m->stale_forward = 0;
    return nnb_cuda_run_phase(&m->cu, "forward", m->ops->forward, m, m->cu.fwd_exec, err, err_len);
}

int nnb_cuda_lstm_backward(void *model, char *err, size_t err_len) {
    nnb_cuda_lstm *m = (nnb_cuda_lstm *)model;
    if (m->stale_forward) /* infer() overwrote the activations (and cuDNN's y) the backward reads */
        return nnb_fail(err, err_len, "%s: backward needs a forward after infer() (infer reuses its buffers)", m->name);
    return nnb_cuda_run_phase(&m->cu, "backward", m->ops->backward, m, m->cu.bwd_exec, err, err_len);
}

int nnb_cuda_lstm_infer(void *model, int64_t n, char *err, size_t err_len) {
    nnb_cuda_lstm *m = (nnb_cuda_lstm *)model;
    if (!m->ops->infer)
        return nnb_fail(err, err_len, "%s: infer is not supported by this runner", m->name);
    if (nnb_cuda_check_infer_n(m->name, n, m->d.B, err, err_len))
        return -1;
    m->stale_forward = 1;
    m->infer_n = 0;
    nnb_cuda_range_push(m->name, "infer");
    int rc = m->ops->infer(m, n, err, err_len);
    nnb_cuda_range_pop();
    if (!rc)
        m->infer_n = n;
    return rc;
}

int nnb_cuda_lstm_infer_io(void *model, nnb_infer_io *io, char *err, size_t err_len) {
    nnb_cuda_lstm *m = (nnb_cuda_lstm *)model;
    if (!m->ops->infer_io)
        return nnb_fail(err, err_len, "%s: infer_io is not supported by this runner", m->name);
    return m->ops->infer_io(m, io, err, err_len);
}

/* Inputs (and upstream gradients) that params() lists but load_param does not take. */
static int is_input(const char *name) {
    static const char *const inputs[] = {"x", "hx", "cx", "grad_y", "grad_hy", "lengths"};
    for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++)
        if (!strcmp(name, inputs[i]))
            return 1;
    return 0;
}

int nnb_cuda_lstm_load_param(void *model, const nnb_tensor *value, char *err, size_t err_len) {
    nnb_cuda_lstm *m = (nnb_cuda_lstm *)model;
    if (!m->ops->reload_weights)
        return nnb_fail(err, err_len, "%s: load_param is not supported by this runner", m->name);
    if (!value || !value->name)
        return nnb_fail(err, err_len, "%s: load_param: no tensor (or no name) given", m->name);
    if (is_input(value->name))
        return nnb_fail(err, err_len, "%s: load_param '%s': an input, not a parameter (only weights and biases load)",
                        m->name, value->name);
    const nnb_tensor *want = NULL;
    for (int i = 0; i < m->params.count && !want; i++)
        if (!strcmp(m->params.items[i].name, value->name))
            want = &m->params.items[i];
    if (!want)
        return nnb_fail(err, err_len, "%s: load_param '%s': no such parameter", m->name, value->name);
    if (nnb_cuda_match_param(m->name, want, value, err, err_len))
        return -1;
    size_t count = 1;
    for (int i = 0; i < want->ndim; i++)
        count *= (size_t)want->shape[i];
    memcpy((void *)want->data, value->data, count * sizeof(float)); /* the model's own host copy (base.d) */
    return m->ops->reload_weights(m, err, err_len);
}

/* y, hy, cy of base.outputs (those the runner has), batch axis n: what outputs() gives after infer(n). */
static nnb_tensor_list infer_outputs(nnb_cuda_lstm *m, int64_t n) {
    m->infer_count = 0;
    static const char *const names[] = {"y", "hy", "cy"};
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < m->outputs.count; i++)
            if (!strcmp(m->outputs.items[i].name, names[k])) {
                nnb_tensor *t = &m->infer_views[m->infer_count++];
                *t = m->outputs.items[i];
                t->shape[1] = n; /* (T, n, H) and (L, n, H) */
                break;
            }
    nnb_tensor_list l = {m->infer_count, m->infer_views};
    return l;
}

int nnb_cuda_lstm_params(void *model, nnb_tensor_list *out, char *err, size_t err_len) {
    (void)err, (void)err_len;
    *out = ((const nnb_cuda_lstm *)model)->params;
    return 0;
}

int nnb_cuda_lstm_outputs(void *model, nnb_tensor_list *out, char *err, size_t err_len) {
    nnb_cuda_lstm *m = (nnb_cuda_lstm *)model;
    if (m->infer_n > 0) {
        if (m->ops->download_infer(m, m->infer_n, err, err_len))
            return -1;
        *out = infer_outputs(m, m->infer_n);
        return 0;
    }
    if (m->ops->download(m, err, err_len))
        return -1;
    *out = m->outputs;
    return 0;
}

int nnb_cuda_lstm_describe(void *model, char *buf, size_t buf_len) {
    const nnb_cuda_lstm *m = (const nnb_cuda_lstm *)model;
    size_t used = 0;
    nnb_appendf(buf, buf_len, &used, "{\"runner\":\"%s\",", m->name);
    nnb_cuda_describe_common(&m->cu, buf, buf_len, &used);
    m->ops->describe(m, buf, buf_len, &used);
    nnb_appendf(buf, buf_len, &used, "\"layers\":%lld}", (long long)m->d.L);
    return used + 1 < buf_len ? 0 : -1;
}

double nnb_cuda_lstm_forward_flops(void *model) { return nnb_lstm_forward_flops(&((nnb_cuda_lstm *)model)->d); }
double nnb_cuda_lstm_backward_flops(void *model) { return nnb_lstm_backward_flops(&((nnb_cuda_lstm *)model)->d); }
