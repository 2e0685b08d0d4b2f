/* cuDNN convolution runner: the plain-C plan (cuda_conv.h), no device calls. */
#include "cuda_conv.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int fits_int(int64_t v) { return v > 0 && v <= INT_MAX; }

static void packed_strides(int n, const int *dims, int *strides) {
    strides[n - 1] = 1;
    for (int i = n - 2; i >= 0; i--)
        strides[i] = strides[i + 1] * dims[i + 1];
}

/* Output size of one spatial axis with symmetric padding, as cuDNN computes it. */
static int64_t symmetric_out(int64_t in, int64_t k, int64_t s, int64_t pad, int64_t dil) {
    int64_t span = (k - 1) * (dil + 1) + 1;
    return (in + 2 * pad - span) / s + 1;
}

static int axis_check(const char *axis, int64_t in, int64_t out, int64_t k, int64_t s, int64_t pad, int64_t dil,
                      char *err, size_t err_len) {
    int64_t want = symmetric_out(in, k, s, pad, dil);
    if (want != out)
        return nnb_fail(err, err_len,
                        "conv (cuda): o%s = %lld needs asymmetric padding, but cuDNN pads both sides by p%s = %lld "
                        "(which gives o%s = %lld); give o%s = %lld or drop it from --conv",
                        axis, (long long)out, axis, (long long)pad, axis, (long long)want, axis, (long long)want);
    return 0;
}

int cuda_conv_geometry_make(const nnb_conv_problem *p, cuda_conv_geometry *g, char *err, size_t err_len) {
    memset(g, 0, sizeof *g);
    int three = p->ndims == 5;
    g->nbdims = three ? 5 : 4;
    int64_t xs[5] = {p->mb, p->ic, p->id, p->ih, p->iw}, ys[5] = {p->mb, p->oc, p->od, p->oh, p->ow};
    int64_t ws[5] = {p->oc, p->g > 0 ? p->ic / p->g : 0, p->kd, p->kh, p->kw};
    int64_t sp_k[3] = {p->kd, p->kh, p->kw}, sp_s[3] = {p->sd, p->sh, p->sw};
    int64_t sp_p[3] = {p->pd, p->ph, p->pw}, sp_d[3] = {p->dd, p->dh, p->dw};
    int64_t sp_i[3] = {p->id, p->ih, p->iw}, sp_o[3] = {p->od, p->oh, p->ow};
    static const char *axes[3] = {"d", "h", "w"};
    int k = 0;
    for (int i = 0; i < 5; i++) {
        if (!three && i == 2)
            continue; /* 2-D: no depth axis */
        if (!fits_int(xs[i]) || !fits_int(ys[i]) || !fits_int(ws[i]))
            return nnb_fail(err, err_len, "conv (cuda): a size of the problem is not in cuDNN's range [1, %d]",
                            INT_MAX);
        g->x_dims[k] = (int)xs[i], g->y_dims[k] = (int)ys[i], g->w_dims[k] = (int)ws[i];
        g->b_dims[k] = i == 1 ? (int)p->oc : 1;
        k++;
    }
    packed_strides(g->nbdims, g->x_dims, g->x_strides);
    packed_strides(g->nbdims, g->y_dims, g->y_strides);
    packed_strides(g->nbdims, g->b_dims, g->b_strides);
    int s = 0;
    for (int a = three ? 0 : 1; a < 3; a++, s++) {
        if (sp_p[a] < 0 || sp_p[a] > INT_MAX || !fits_int(sp_s[a]) || sp_d[a] < 0 || sp_d[a] >= INT_MAX)
            return nnb_fail(err, err_len, "conv (cuda): padding, stride or dilation of axis %s out of range", axes[a]);
        if (axis_check(axes[a], sp_i[a], sp_o[a], sp_k[a], sp_s[a], sp_p[a], sp_d[a], err, err_len))
            return -1;
        g->pad[s] = (int)sp_p[a], g->stride[s] = (int)sp_s[a], g->dilation[s] = (int)sp_d[a] + 1;
    }
    if (!fits_int(p->g))
        return nnb_fail(err, err_len, "conv (cuda): g = %lld out of range", (long long)p->g);
    g->groups = (int)p->g;
    return 0;
}

cudnnDataType_t cuda_conv_data_type(int precision) {
    return precision == NNB_PRECISION_FP16   ? CUDNN_DATA_HALF
           : precision == NNB_PRECISION_BF16 ? CUDNN_DATA_BFLOAT16
                                             : CUDNN_DATA_FLOAT;
}

cudnnMathType_t cuda_conv_math_type(int precision) {
    return precision == NNB_PRECISION_FP32   ? CUDNN_FMA_MATH
           : precision == NNB_PRECISION_TF32 ? CUDNN_DEFAULT_MATH
                                             : CUDNN_TENSOR_OP_MATH;
}

size_t cuda_conv_element_bytes(int precision) {
    return precision == NNB_PRECISION_FP16 || precision == NNB_PRECISION_BF16 ? 2 : 4;
}

int cuda_conv_math_acceptable(int precision, cudnnMathType_t math) {
    if (math == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION)
        return 0;
    if (precision == NNB_PRECISION_FP32)
        return math == CUDNN_FMA_MATH || math == CUDNN_DEFAULT_MATH;
    return 1;
}

static const char *const fwd_names[] = {"IMPLICIT_GEMM", "IMPLICIT_PRECOMP_GEMM", "GEMM", "DIRECT", "FFT", "FFT_TILING",
                                        "WINOGRAD",      "WINOGRAD_NONFUSED"};
static const char *const bwd_data_names[] = {"ALGO_0", "ALGO_1", "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"};
static const char *const bwd_filter_names[] = {"ALGO_0",    "ALGO_1", "FFT", "ALGO_3", "WINOGRAD", "WINOGRAD_NONFUSED",
                                               "FFT_TILING"};

const char *cuda_conv_direction_name(int dir) {
    static const char *names[] = {"fwd", "bwd_d", "bwd_w"};
    return dir >= 0 && dir < CUDA_CONV_DIRECTIONS ? names[dir] : "?";
}

int cuda_conv_algo_count(int dir) {
    switch (dir) {
    case CUDA_CONV_FWD: return (int)(sizeof fwd_names / sizeof *fwd_names);
    case CUDA_CONV_BWD_DATA: return (int)(sizeof bwd_data_names / sizeof *bwd_data_names);
    case CUDA_CONV_BWD_WEIGHTS: return (int)(sizeof bwd_filter_names / sizeof *bwd_filter_names);
    }
    return 0;
}

const char *cuda_conv_algo_name(int dir, int algo) {
    if (algo < 0 || algo >= cuda_conv_algo_count(dir))
        return NULL;
    return dir == CUDA_CONV_FWD        ? fwd_names[algo]
           : dir == CUDA_CONV_BWD_DATA ? bwd_data_names[algo]
                                       : bwd_filter_names[algo];
}

int cuda_conv_algo_by_name(int dir, const char *name) {
    for (int a = 0; a < cuda_conv_algo_count(dir); a++)
        if (!strcasecmp(cuda_conv_algo_name(dir, a), name))
            return a;
    return -1;
}

static void list_names(int dir, char *buf, size_t len) {
    size_t used = 0;
    buf[0] = '\0';
    for (int a = 0; a < cuda_conv_algo_count(dir) && used < len; a++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", a ? ", " : "", cuda_conv_algo_name(dir, a));
}

static const uint32_t dir_bits[CUDA_CONV_DIRECTIONS] = {NNB_CONV_DIR_FWD, NNB_CONV_DIR_BWD_D, NNB_CONV_DIR_BWD_W};

static int named_in(int dir, const char *name, cuda_conv_algo_choice *out, char *err, size_t err_len) {
    int a = cuda_conv_algo_by_name(dir, name);
    if (a < 0) {
        char names[256];
        list_names(dir, names, sizeof names);
        return nnb_fail(err, err_len, "conv (cuda): --conv-algo: %s has no algorithm '%s' (valid: auto, find, %s)",
                        cuda_conv_direction_name(dir), name, names);
    }
    out->pick[dir] = CUDA_CONV_PICK_NAMED;
    out->algo[dir] = a;
    return 0;
}

/* One "dir:NAME" item of a per-direction list. */
static int parse_item(const char *item, size_t len, cuda_conv_algo_choice *out, char *err, size_t err_len) {
    char buf[64];
    if (len >= sizeof buf)
        return nnb_fail(err, err_len, "conv (cuda): --conv-algo: item '%.*s' too long", (int)len, item);
    memcpy(buf, item, len);
    buf[len] = '\0';
    char *colon = strchr(buf, ':');
    if (!colon)
        return nnb_fail(err, err_len,
                        "conv (cuda): --conv-algo: '%s' in a list needs a direction (fwd:, bwd_d:, bwd_w:)", buf);
    *colon = '\0';
    const char *name = colon + 1;
    for (int d = 0; d < CUDA_CONV_DIRECTIONS; d++) {
        if (strcmp(buf, cuda_conv_direction_name(d)))
            continue;
        if (!strcasecmp(name, "auto") || !strcasecmp(name, "find")) {
            out->pick[d] = !strcasecmp(name, "find") ? CUDA_CONV_PICK_FIND : CUDA_CONV_PICK_AUTO;
            return 0;
        }
        return named_in(d, name, out, err, err_len);
    }
    return nnb_fail(err, err_len, "conv (cuda): --conv-algo: unknown direction '%s' (valid: fwd, bwd_d, bwd_w)", buf);
}

int cuda_conv_parse_algo(const char *spec, uint32_t dirs, cuda_conv_algo_choice *out, char *err, size_t err_len) {
    memset(out, 0, sizeof *out);
    if (!spec || !*spec || !strcasecmp(spec, "auto"))
        return 0;
    if (!strcasecmp(spec, "find")) {
        for (int d = 0; d < CUDA_CONV_DIRECTIONS; d++)
            out->pick[d] = CUDA_CONV_PICK_FIND;
        return 0;
    }
    if (strchr(spec, ':')) {
        for (const char *p = spec; *p;) {
            size_t n = strcspn(p, ",");
            if (parse_item(p, n, out, err, err_len))
                return -1;
            p += n + (p[n] == ',');
        }
        return 0;
    }
    int named = 0;
    for (int d = 0; d < CUDA_CONV_DIRECTIONS; d++)
        if ((dirs & dir_bits[d]) && cuda_conv_algo_by_name(d, spec) >= 0) {
            out->pick[d] = CUDA_CONV_PICK_NAMED;
            out->algo[d] = cuda_conv_algo_by_name(d, spec);
            named++;
        }
    if (named)
        return 0;
    char f[256], bd[256], bw[256];
    list_names(CUDA_CONV_FWD, f, sizeof f);
    list_names(CUDA_CONV_BWD_DATA, bd, sizeof bd);
    list_names(CUDA_CONV_BWD_WEIGHTS, bw, sizeof bw);
    return nnb_fail(err, err_len,
                    "conv (cuda): --conv-algo %s: no timed direction has an algorithm of that name (valid: auto, find; "
                    "fwd: %s; bwd_d: %s; bwd_w: %s; or fwd:NAME,bwd_d:NAME,bwd_w:NAME)",
                    spec, f, bd, bw);
}
