/* cuDNN convolution runner: the timed calls, inference, results, describe and the runner table (cuda_conv.h). */
#include "cuda_conv.h"

#include <string.h>

static const float one = 1.0f, zero = 0.0f; /* cuDNN's scaling factors are floats for every non-double type */

static int run_forward(cuda_conv_model *m, char *err, size_t err_len) {
    NNB_CUDNN_TRY(cudnnConvolutionForward(m->cudnn, &one, m->xd, m->x, m->wd, m->w, m->conv[CUDA_CONV_FWD],
                                          (cudnnConvolutionFwdAlgo_t)m->algo[CUDA_CONV_FWD], m->workspace,
                                          m->workspace_bytes, &zero, m->yd, m->y));
    if (m->host.has_bias)
        NNB_CUDNN_TRY(cudnnAddTensor(m->cudnn, &one, m->bd, m->b, &one, m->yd, m->y));
    return 0;
}

static int run_bwd_data(cuda_conv_model *m, char *err, size_t err_len) {
    NNB_CUDNN_TRY(cudnnConvolutionBackwardData(m->cudnn, &one, m->wd, m->w, m->yd, m->dy, m->conv[CUDA_CONV_BWD_DATA],
                                               (cudnnConvolutionBwdDataAlgo_t)m->algo[CUDA_CONV_BWD_DATA], m->workspace,
                                               m->workspace_bytes, &zero, m->xd, m->dx));
    return 0;
}

static int run_bwd_weights(cuda_conv_model *m, char *err, size_t err_len) {
    NNB_CUDNN_TRY(cudnnConvolutionBackwardFilter(m->cudnn, &one, m->xd, m->x, m->yd, m->dy,
                                                 m->conv[CUDA_CONV_BWD_WEIGHTS],
                                                 (cudnnConvolutionBwdFilterAlgo_t)m->algo[CUDA_CONV_BWD_WEIGHTS],
                                                 m->workspace, m->workspace_bytes, &zero, m->wd, m->dw));
    if (m->host.has_bias)
        NNB_CUDNN_TRY(cudnnConvolutionBackwardBias(m->cudnn, &one, m->yd, m->dy, &zero, m->bd, m->db));
    return 0;
}

static int conv_forward(void *vm, char *err, size_t err_len) {
    cuda_conv_model *m = vm;
    m->last_infer_n = 0;
    nnb_cuda_range_push("conv", "forward");
    int rc = run_forward(m, err, err_len);
    nnb_cuda_range_pop();
    return rc;
}

/* The backward parts --conv-dir asks for, in backward order: conv_data's list (the same as every conv runner's). */
static int conv_part_count(void *vm) { return ((cuda_conv_model *)vm)->host.part_count; }

static const char *conv_part_name(void *vm, int part) {
    const cuda_conv_model *m = vm;
    return part >= 0 && part < m->host.part_count ? nnb_conv_part_name(m->host.parts[part]) : NULL;
}

static int conv_part(void *vm, int part, char *err, size_t err_len) {
    cuda_conv_model *m = vm;
    if (part < 0 || part >= m->host.part_count)
        return nnb_fail(err, err_len, "conv (cuda): backward part %d does not exist (%d parts)", part,
                        m->host.part_count);
    int data = m->host.parts[part] == NNB_CONV_PART_BWD_DATA;
    nnb_cuda_range_push("conv", nnb_conv_part_name(m->host.parts[part]));
    int rc = data ? run_bwd_data(m, err, err_len) : run_bwd_weights(m, err, err_len);
    nnb_cuda_range_pop();
    return rc;
}

static int conv_backward(void *vm, char *err, size_t err_len) {
    for (int p = 0; p < conv_part_count(vm); p++)
        if (conv_part(vm, p, err, err_len))
            return -1;
    return 0;
}

/* ------------------------------------------------------------ inference */

static int infer_plan(cuda_conv_model *m, int64_t n, cuda_conv_infer_plan **out, char *err, size_t err_len) {
    cuda_conv_infer_plan *p = &m->infer_plans[n];
    *out = p;
    if (p->ready)
        return 0;
    int xd[CUDA_CONV_MAX_DIMS], yd[CUDA_CONV_MAX_DIMS];
    memcpy(xd, m->geo.x_dims, sizeof xd);
    memcpy(yd, m->geo.y_dims, sizeof yd);
    xd[0] = yd[0] = (int)n;
    if (cuda_conv_tensor(&p->xd, m->precision, m->geo.nbdims, xd, err, err_len) ||
        cuda_conv_tensor(&p->yd, m->precision, m->geo.nbdims, yd, err, err_len))
        return -1;
    int algo = m->algo[CUDA_CONV_FWD];
    if (n != m->host.geom.mb && cuda_conv_heuristic_fwd(m, p->xd, p->yd, &algo, err, err_len))
        return -1;
    p->algo = (cudnnConvolutionFwdAlgo_t)algo;
    p->ready = 1;
    return 0;
}

static int conv_infer(void *vm, int64_t n, char *err, size_t err_len) {
    cuda_conv_model *m = vm;
    cuda_conv_infer_plan *p = NULL;
    if (nnb_cuda_check_infer_n("conv", n, m->host.geom.mb, err, err_len) || infer_plan(m, n, &p, err, err_len))
        return -1;
    NNB_CUDNN_TRY(cudnnConvolutionForward(m->cudnn, &one, p->xd, m->x, m->wd, m->w, m->conv[CUDA_CONV_FWD], p->algo,
                                          m->workspace, m->workspace_bytes, &zero, p->yd, m->y));
    if (m->host.has_bias)
        NNB_CUDNN_TRY(cudnnAddTensor(m->cudnn, &one, m->bd, m->b, &one, p->yd, m->y));
    m->last_infer_n = n;
    return 0;
}

static int conv_infer_io(void *vm, nnb_infer_io *io, char *err, size_t err_len) {
    cuda_conv_model *m = vm;
    const nnb_conv_geom *g = &m->host.geom;
    size_t e = cuda_conv_element_bytes(m->precision);
    size_t in = (size_t)(g->ic * g->id * g->ih * g->iw) * e, out = (size_t)(g->oc * g->od * g->oh * g->ow) * e;
    return nnb_cuda_fill_infer_io("conv", io, m->x, 1, 0, in, m->y, 1, 0, out, err, err_len);
}

/* w and b by value (conv_data's checks, rounded to the run's precision as the seeded ones were), then uploaded. */
static int conv_load_param(void *vm, const nnb_tensor *value, char *err, size_t err_len) {
    cuda_conv_model *m = vm;
    nnb_conv_data *h = &m->host;
    if (nnb_conv_data_load_param(h, "conv", value, err, err_len))
        return -1;
    int is_w = !strcmp(value->name, "w");
    NNB_CUDA_TRY(cudaStreamSynchronize(m->stream));
    return cuda_conv_upload(m, is_w ? m->w : m->b, is_w ? h->w : h->b, (size_t)(is_w ? h->w_count : h->geom.oc), err,
                            err_len);
}

/* ------------------------------------------------------------ results */

static int conv_params(void *vm, nnb_tensor_list *out, char *err, size_t err_len) {
    (void)err, (void)err_len;
    *out = nnb_conv_data_params(&((cuda_conv_model *)vm)->host); /* the host copies the device holds, exactly */
    return 0;
}

static int conv_outputs(void *vm, nnb_tensor_list *out, char *err, size_t err_len) {
    cuda_conv_model *m = vm;
    nnb_conv_data *h = &m->host;
    if (m->last_infer_n > 0) {
        size_t per = (size_t)(h->y_count / h->geom.mb);
        if (cuda_conv_download(m, h->y, m->y, per * (size_t)m->last_infer_n, err, err_len))
            return -1;
        static nnb_tensor y_view;
        y_view = h->outputs[0];
        y_view.shape[0] = m->last_infer_n;
        out->count = 1;
        out->items = &y_view;
        return 0;
    }
    if (cuda_conv_download(m, h->y, m->y, (size_t)h->y_count, err, err_len) ||
        ((m->host.dirs & NNB_CONV_DIR_BWD_D) &&
         cuda_conv_download(m, h->dx, m->dx, (size_t)h->x_count, err, err_len)) ||
        ((m->host.dirs & NNB_CONV_DIR_BWD_W) &&
         cuda_conv_download(m, h->dw, m->dw, (size_t)h->w_count, err, err_len)) ||
        ((m->host.dirs & NNB_CONV_DIR_BWD_W) && h->db &&
         cuda_conv_download(m, h->db, m->db, (size_t)h->geom.oc, err, err_len)))
        return -1;
    *out = nnb_conv_data_outputs(h);
    return 0;
}

static const char *math_name(cudnnMathType_t t) {
    switch (t) {
    case CUDNN_DEFAULT_MATH: return "DEFAULT_MATH";
    case CUDNN_TENSOR_OP_MATH: return "TENSOR_OP_MATH";
    case CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION: return "TENSOR_OP_MATH_ALLOW_CONVERSION";
    case CUDNN_FMA_MATH: return "FMA_MATH";
    }
    return "?";
}

static int conv_describe(void *vm, char *buf, size_t len) {
    cuda_conv_model *m = vm;
    size_t used = 0;
    nnb_appendf(buf, len, &used, "{\"impl\":\"cuDNN legacy convolution API\",\"precision\":\"%s\",",
                nnb_precision_name(m->precision));
    nnb_cuda_describe_device(&m->prop, m->device, NULL, buf, len, &used);
    nnb_appendf(buf, len, &used, "\"workspace_bytes\":%zu,\"algorithms\":{", m->workspace_bytes);
    int first = 1;
    for (int d = 0; d < CUDA_CONV_DIRECTIONS; d++) {
        if (d != CUDA_CONV_FWD && !(m->host.dirs & (d == CUDA_CONV_BWD_DATA ? NNB_CONV_DIR_BWD_D : NNB_CONV_DIR_BWD_W)))
            continue;
        const char *by = m->choice.pick[d] == CUDA_CONV_PICK_NAMED ? "name"
                         : m->chosen_by_find[d]                    ? "find"
                                                                   : "heuristics";
        nnb_appendf(buf, len, &used,
                    "%s\"%s\":{\"algo\":\"%s\",\"math\":\"%s\",\"chosen_by\":\"%s\",\"workspace\":%zu}",
                    first ? "" : ",", cuda_conv_direction_name(d), cuda_conv_algo_name(d, m->algo[d]),
                    math_name(m->math[d]), by, m->ws_bytes[d]);
        first = 0;
    }
    nnb_appendf(buf, len, &used, "}}");
    return used < len ? 0 : -1;
}

static double conv_forward_flops(void *vm) { return nnb_conv_forward_flops(&((cuda_conv_model *)vm)->host); }
static double conv_backward_flops(void *vm) {
    cuda_conv_model *m = vm;
    return nnb_conv_backward_flops(&m->host, m->host.dirs);
}

/* ------------------------------------------------------------ availability and the runner table */

static int conv_available(const nnb_config *cfg, char *reason, size_t reason_len) {
    if (!nnb_cuda_available(cfg, reason, reason_len))
        return 0;
    int p = cfg->struct_size >= offsetof(nnb_config, precision) + sizeof cfg->precision ? cfg->precision : 0;
    if (p == NNB_PRECISION_FP32)
        return 1;
    struct cudaDeviceProp prop;
    if (cudaGetDeviceProperties(&prop, cfg->cuda_device) != cudaSuccess) {
        nnb_fail(reason, reason_len, "cuda: cannot read device %d's properties", cfg->cuda_device);
        return 0;
    }
    int need_major = p == NNB_PRECISION_FP16 ? 7 : 8; /* tensor cores: half from Volta, bf16/tf32 from Ampere */
    if (prop.major >= need_major)
        return 1;
    nnb_fail(reason, reason_len, "%s needs a GPU of compute capability %d.0 or newer; device %d is %d.%d",
             nnb_precision_name(p), need_major, cfg->cuda_device, prop.major, prop.minor);
    return 0;
}

static const nnb_runner_desc runners[] = {{
    .struct_size = sizeof(nnb_runner_desc),
    .name = "conv",
    .group = NNB_GROUP_CONVS,
    .device = NNB_DEVICE_CUDA,
    .description = "one convolution (--conv) with cuDNN: forward, backward-data, backward-weights",
    .reference = "conv_ref",
    .available = conv_available,
    .create = cuda_conv_create,
    .forward = conv_forward,
    .backward = conv_backward,
    .params = conv_params,
    .outputs = conv_outputs,
    .describe = conv_describe,
    .forward_flops = conv_forward_flops,
    .backward_flops = conv_backward_flops,
    .destroy = cuda_conv_destroy,
    .infer = conv_infer,
    .infer_io = conv_infer_io,
    .load_param = conv_load_param,
    .precisions = NNB_PRECISION_BIT(NNB_PRECISION_FP32) | NNB_PRECISION_BIT(NNB_PRECISION_TF32) |
                  NNB_PRECISION_BIT(NNB_PRECISION_BF16) | NNB_PRECISION_BIT(NNB_PRECISION_FP16),
    .backward_part_count = conv_part_count,
    .backward_part_name = conv_part_name,
    .backward_part = conv_part,
}};

static const nnb_plugin plugin = {
    .abi_major = NNB_ABI_MAJOR,
    .abi_minor = NNB_ABI_MINOR,
    .struct_size = sizeof(nnb_plugin),
    .name = "cuda_conv",
    .runner_count = 1,
    .runners = runners,
};

NNB_DEFINE_PLUGIN(plugin)
