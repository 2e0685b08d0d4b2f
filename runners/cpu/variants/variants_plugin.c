/*
 * Plugin nnb_cpu_variants: fastrnns' LSTM variants on the CPU.
 *   jit_layernorm        LayerNorm LSTM, row-wise LayerNorm, cell fused (fuser te/old)
 *   jit_layernorm_decom  the same with LayerNorm decomposed into one pass per op
 *   jit_dropout          stacked LSTM with dropout p = 0.4 between layers
 *   py_layernorm, py_dropout  their plain references (hidden)
 *
 * LayerNorm parameters (per layer k, each from its own named stream, so their
 * gradients are exercised, unlike PyTorch's init of gain 1, bias 0):
 *   ln_{i,h}_weight_l{k} (4H), ln_c_weight_l{k} (H): uniform in [0.5, 1.5)
 *   ln_{i,h}_bias_l{k} (4H),   ln_c_bias_l{k} (H):   uniform in [-0.1, 0.1)
 * The LayerNorm LSTM has no gate biases: b_ih/b_hh of nnb_lstm_data are not used
 * and not listed. Dropout masks (nnb_dropout_mask, streams dropout_l{k}) are
 * listed as inputs dropout_mask_l{k} (k >= 1) so a check sees they agree.
 * Every backward overwrites the gradients (no accumulation, no zero_grad needed).
 */
#include "lstm_data.h"
#include "nnb_support.h"
#include "variants_double_mirror.h"
#include "variants_fast.h"
#include "variants_reference.h"

#include <cblas.h>
#undef I /* <complex.h>'s imaginary unit, which cblas.h pulls in, clashes with our I (input size) */
#include <nnbench/runner.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define DROPOUT_P 0.4f
#define LN_GAIN_LO 0.5f
#define LN_GAIN_HI 1.5f
#define LN_BIAS_LO -0.1f
#define LN_BIAS_HI 0.1f

/* OpenMP in our own passes (rows across threads) fights OpenBLAS's pthreads:
 * spinning OpenMP workers and spinning BLAS workers take turns every step, and
 * at 2 threads forward and backward ran 2.5x slower than with single-threaded
 * passes (README.md here; with OMP_WAIT_POLICY=passive they were on par). So by
 * default only the GEMMs use cfg->threads; the tests also build this plugin
 * with the OpenMP passes on, to keep them right. */
#ifndef NNB_VARIANTS_OMP_PASSES
#define NNB_VARIANTS_OMP_PASSES 0
#endif

typedef enum variant_kind {
    KIND_LAYERNORM,
    KIND_LAYERNORM_DECOM,
    KIND_DROPOUT,
    KIND_REF_LAYERNORM,
    KIND_REF_DROPOUT,
} variant_kind;

static const char *const ln_names[NNB_LN_COUNT] = {"ln_i", "ln_h", "ln_c"};

typedef struct variant_model {
    variant_kind kind;
    char fuser[8];
    int fused, threads, parallel;
    nnb_lstm_data d;
    float **ln_w[NNB_LN_COUNT], **ln_b[NNB_LN_COUNT];   /* [L] gains, biases: (4H), (4H), (H) */
    float **dln_w[NNB_LN_COUNT], **dln_b[NNB_LN_COUNT]; /* as ln_w, ln_b */
    float **mask;                                       /* [L] of (T, B, H); mask[0] NULL */
    nnb_varlstm_f prob;
    nnb_varfast *fast;
    nnb_varlstm_mirror *mirror;   /* references: the problem in double */
    nnb_tensor *params, *outputs; /* views */
    int param_count, output_count;
    char (*names)[40];
    int name_count;
} variant_model;

static int is_layernorm(variant_kind k) {
    return k == KIND_LAYERNORM || k == KIND_LAYERNORM_DECOM || k == KIND_REF_LAYERNORM;
}
static int is_reference(variant_kind k) { return k == KIND_REF_LAYERNORM || k == KIND_REF_DROPOUT; }

static const char *kind_name(variant_kind k) {
    static const char *const names[] = {"jit_layernorm", "jit_layernorm_decom", "jit_dropout", "py_layernorm",
                                        "py_dropout"};
    return names[k];
}

/* ---------------------------------------------------------------- lifetime */

static void free_layer_arrays(float **a, int64_t L) {
    if (!a)
        return;
    for (int64_t k = 0; k < L; k++)
        nnb_free(a[k]);
    nnb_free(a);
}

static void variant_destroy(void *model) {
    variant_model *m = (variant_model *)model;
    if (!m)
        return;
    nnb_varfast_destroy(m->fast);
    nnb_varlstm_mirror_destroy(m->mirror);
    for (int n = 0; n < NNB_LN_COUNT; n++) {
        free_layer_arrays(m->ln_w[n], m->d.L);
        free_layer_arrays(m->ln_b[n], m->d.L);
        free_layer_arrays(m->dln_w[n], m->d.L);
        free_layer_arrays(m->dln_b[n], m->d.L);
    }
    free_layer_arrays(m->mask, m->d.L);
    nnb_free(m->params);
    nnb_free(m->outputs);
    nnb_free(m->names);
    nnb_lstm_data_free(&m->d);
    nnb_free(m);
}

/* [L] arrays of n_k floats (n_k = n, or 0 for skipped layers). */
static float **alloc_layer_arrays(int64_t L, int64_t n, int64_t first_layer) {
    float **a = (float **)nnb_alloc_bytes(sizeof(float *) * (size_t)L);
    if (!a)
        return NULL;
    for (int64_t k = first_layer; k < L; k++)
        if (!(a[k] = nnb_alloc_floats((size_t)n))) {
            free_layer_arrays(a, L);
            return NULL;
        }
    return a;
}

static const char *add_name(variant_model *m, const char *fmt, const char *part, int64_t k) {
    char *dst = m->names[m->name_count++];
    if (part)
        snprintf(dst, sizeof m->names[0], fmt, part, (long long)k);
    else
        snprintf(dst, sizeof m->names[0], fmt, (long long)k);
    return dst;
}

static void set_view(nnb_tensor *t, const char *name, const float *data, int ndim, int64_t d0, int64_t d1, int64_t d2) {
    memset(t, 0, sizeof *t);
    t->name = name;
    t->dtype = NNB_F32;
    t->ndim = ndim;
    t->shape[0] = d0, t->shape[1] = d1, t->shape[2] = d2;
    t->data = data;
}

static int is_bias_tensor(const char *name) { return !strncmp(name, "b_", 2) || !strncmp(name, "db_", 3); }

/* Views: nnb_lstm_data's (less the gate biases for LayerNorm) plus the LayerNorm parameters / dropout masks. */
static int build_views(variant_model *m) {
    const nnb_lstm_data *d = &m->d;
    const int64_t L = d->L, H = d->H, T = d->T, B = d->B;
    const int ln = is_layernorm(m->kind);
    size_t cap = (size_t)(d->param_count + d->output_count) + 16 * (size_t)L;
    m->params = (nnb_tensor *)nnb_alloc_bytes(sizeof(nnb_tensor) * cap);
    m->outputs = (nnb_tensor *)nnb_alloc_bytes(sizeof(nnb_tensor) * cap);
    m->names = (char(*)[40])nnb_alloc_bytes(sizeof m->names[0] * 16 * (size_t)L);
    if (!m->params || !m->outputs || !m->names)
        return -1;
    for (int i = 0; i < d->param_count; i++) {
        const nnb_tensor *t = &d->param_views[i];
        if (ln && is_bias_tensor(t->name))
            continue;
        m->params[m->param_count++] = *t;
    }
    for (int i = 0; i < d->output_count; i++) {
        const nnb_tensor *t = &d->output_views[i];
        if (ln && is_bias_tensor(t->name))
            continue;
        m->outputs[m->output_count++] = *t;
    }
    for (int64_t k = 0; k < L; k++) {
        if (!ln) {
            if (k > 0)
                set_view(&m->params[m->param_count++], add_name(m, "dropout_mask_l%lld", NULL, k), m->mask[k], 3, T, B,
                         H);
            continue;
        }
        for (int n = 0; n < NNB_LN_COUNT; n++) {
            const int64_t width = n == NNB_LN_C ? H : 4 * H;
            set_view(&m->params[m->param_count++], add_name(m, "%s_weight_l%lld", ln_names[n], k), m->ln_w[n][k], 1,
                     width, 0, 0);
            set_view(&m->params[m->param_count++], add_name(m, "%s_bias_l%lld", ln_names[n], k), m->ln_b[n][k], 1,
                     width, 0, 0);
            set_view(&m->outputs[m->output_count++], add_name(m, "d%s_weight_l%lld", ln_names[n], k), m->dln_w[n][k], 1,
                     width, 0, 0);
            set_view(&m->outputs[m->output_count++], add_name(m, "d%s_bias_l%lld", ln_names[n], k), m->dln_b[n][k], 1,
                     width, 0, 0);
        }
    }
    return 0;
}

static int alloc_variant_params(variant_model *m, uint64_t seed) {
    const int64_t L = m->d.L, H = m->d.H, G = 4 * H;
    char name[40];
    if (!is_layernorm(m->kind)) {
        if (!(m->mask = alloc_layer_arrays(L, m->d.T * m->d.B * H, 1)))
            return -1;
        for (int64_t k = 1; k < L; k++)
            nnb_dropout_mask(m->mask[k], (size_t)(m->d.T * m->d.B * H), seed, (int)k, DROPOUT_P);
        return 0;
    }
    for (int n = 0; n < NNB_LN_COUNT; n++) {
        const int64_t width = n == NNB_LN_C ? H : G;
        if (!(m->ln_w[n] = alloc_layer_arrays(L, width, 0)) || !(m->ln_b[n] = alloc_layer_arrays(L, width, 0)) ||
            !(m->dln_w[n] = alloc_layer_arrays(L, width, 0)) || !(m->dln_b[n] = alloc_layer_arrays(L, width, 0)))
            return -1;
        for (int64_t k = 0; k < L; k++) {
            snprintf(name, sizeof name, "%s_weight_l%lld", ln_names[n], (long long)k);
            nnb_fill_uniform(m->ln_w[n][k], (size_t)width, seed, name, LN_GAIN_LO, LN_GAIN_HI);
            snprintf(name, sizeof name, "%s_bias_l%lld", ln_names[n], (long long)k);
            nnb_fill_uniform(m->ln_b[n][k], (size_t)width, seed, name, LN_BIAS_LO, LN_BIAS_HI);
        }
    }
    return 0;
}

static void bind_problem(variant_model *m) {
    nnb_varlstm_f *p = &m->prob;
    const nnb_lstm_data *d = &m->d;
    p->T = d->T, p->B = d->B, p->I = d->I, p->H = d->H, p->L = d->L;
    p->layernorm = is_layernorm(m->kind);
    p->x = d->x, p->hx = d->hx, p->cx = d->cx, p->grad_y = d->grad_y;
    p->w_ih = (const float *const *)d->w_ih, p->w_hh = (const float *const *)d->w_hh;
    p->b_ih = (const float *const *)d->b_ih, p->b_hh = (const float *const *)d->b_hh;
    for (int n = 0; n < NNB_LN_COUNT; n++) {
        p->ln_w[n] = (const float *const *)m->ln_w[n], p->ln_b[n] = (const float *const *)m->ln_b[n];
        p->dln_w[n] = m->dln_w[n], p->dln_b[n] = m->dln_b[n];
    }
    p->mask = m->mask && d->L > 1 ? (const float *const *)m->mask : NULL;
    p->y = d->y, p->hy = d->hy, p->cy = d->cy, p->dx = d->dx, p->dhx = d->dhx, p->dcx = d->dcx;
    p->dw_ih = d->dw_ih, p->dw_hh = d->dw_hh, p->db_ih = d->db_ih, p->db_hh = d->db_hh;
}

/* te and old both mean our fused passes; none means one pass per op. */
static int parse_fuser(const nnb_config *cfg, variant_model *m, char *err, size_t err_len) {
    (void)err, (void)err_len;
    const char *fuser = cfg->fuser ? cfg->fuser : "te"; /* checked by nnb_check_fuser_executor in create */
    snprintf(m->fuser, sizeof m->fuser, "%s", fuser);
    m->fused = strcmp(fuser, "none") != 0;
    return 0;
}

static void *variant_create(variant_kind kind, const nnb_config *cfg, char *err, size_t err_len) {
    if (!cfg || cfg->struct_size < offsetof(nnb_config, cuda_pointwise_loop_level))
        return nnb_fail(err, err_len, "%s: config struct too old (struct_size %zu)", kind_name(kind),
                        cfg ? cfg->struct_size : 0),
               NULL;
    if (nnb_check_fuser_executor(kind_name(kind), cfg, nnb_every_fuser, nnb_eager_only, err, err_len))
        return NULL;
    variant_model *m = (variant_model *)nnb_alloc_bytes(sizeof *m);
    if (!m)
        return nnb_fail(err, err_len, "out of memory"), NULL;
    m->kind = kind;
    m->threads = cfg->threads > 0 ? cfg->threads : 1;
    m->parallel = NNB_VARIANTS_OMP_PASSES && m->threads > 1;
    if (parse_fuser(cfg, m, err, err_len) || nnb_lstm_data_init(&m->d, cfg, 0, cfg->num_layers, err, err_len)) {
        variant_destroy(m);
        return NULL;
    }
    if (alloc_variant_params(m, cfg->seed) || build_views(m)) {
        variant_destroy(m);
        return nnb_fail(err, err_len, "%s: out of memory", kind_name(kind)), NULL;
    }
    bind_problem(m);
    nnb_set_threads(m->threads);
    if (!is_reference(kind)) {
        nnb_varfast_mode mode = {kind == KIND_LAYERNORM_DECOM, m->fused, m->parallel};
        if (!(m->fast = nnb_varfast_create(&m->prob, mode, err, err_len))) {
            variant_destroy(m);
            return NULL;
        }
    } else if (!(m->mirror = nnb_varlstm_mirror_create(&m->prob, err, err_len))) {
        variant_destroy(m);
        return NULL;
    }
    return m;
}

/* ---------------------------------------------------------------- runner functions */

/* The thread counts are process-wide: another model may have changed them since create. */
static void apply_threads(const variant_model *m) {
    if (openblas_get_num_threads() != m->threads)
        openblas_set_num_threads(m->threads);
#ifdef _OPENMP
    if (omp_get_max_threads() != m->threads)
        omp_set_num_threads(m->threads);
#endif
}

static int variant_forward(void *model, char *err, size_t err_len) {
    variant_model *m = (variant_model *)model;
    apply_threads(m);
    if (m->fast) {
        nnb_varfast_forward(m->fast);
        return 0;
    }
    return nnb_varlstm_mirror_run(m->mirror, 0, err, err_len);
}

/* The reference keeps no state between calls: its backward redoes the forward. */
static int variant_backward(void *model, char *err, size_t err_len) {
    variant_model *m = (variant_model *)model;
    apply_threads(m);
    if (m->fast) {
        nnb_varfast_backward(m->fast);
        return 0;
    }
    return nnb_varlstm_mirror_run(m->mirror, 1, err, err_len);
}

static int variant_params(void *model, nnb_tensor_list *out, char *err, size_t err_len) {
    (void)err, (void)err_len;
    const variant_model *m = (const variant_model *)model;
    out->count = m->param_count;
    out->items = m->params;
    return 0;
}

static int variant_outputs(void *model, nnb_tensor_list *out, char *err, size_t err_len) {
    (void)err, (void)err_len;
    const variant_model *m = (const variant_model *)model;
    out->count = m->output_count;
    out->items = m->outputs;
    return 0;
}

/* JSON string body: drop characters that would need escaping (config strings are plain ASCII). */
static void json_safe(char *dst, size_t cap, const char *src) {
    size_t n = 0;
    for (; src && *src && n + 1 < cap; src++)
        if (*src != '"' && *src != '\\' && (unsigned char)*src >= 0x20)
            dst[n++] = *src;
    dst[n] = 0;
}

static int variant_describe(void *model, char *buf, size_t buf_len) {
    const variant_model *m = (const variant_model *)model;
    char config[256], core[64];
    json_safe(config, sizeof config, openblas_get_config());
    json_safe(core, sizeof core, openblas_get_corename());
    const char *ln = "none", *cell;
    if (is_layernorm(m->kind))
        ln = m->kind == KIND_LAYERNORM_DECOM ? "decomposed (mean, subtract, variance, normalise, scale, shift passes)"
             : is_reference(m->kind)         ? "reference (per row, plain loops, double)"
                                             : "row-wise (mean, variance, normalise and affine in one pass per row)";
    if (is_reference(m->kind))
        cell = "reference (per element, lstm_cell_math.h, double)";
    else if (m->fused)
        cell = m->kind == KIND_LAYERNORM ? "fused: LN_i, LN_h, activations, LN_c and h in one pass per batch row"
               : m->kind == KIND_LAYERNORM_DECOM
                   ? "fused: gate sum, activations and raw state in one pass per batch row; h in one after LN_c"
                   : "fused: activations and state update in one pass per batch row";
    else
        cell = "one pass per op (add, sigmoid, tanh, mul over the whole (B, H) array)";
    char dropout[160] = "none";
    if (!is_layernorm(m->kind))
        snprintf(dropout, sizeof dropout,
                 m->d.L > 1 ? "p=%.1f inverted, between layers (not after the last)"
                            : "p=%.1f, but numLayers 1: no dropout applies (a plain LSTM)",
                 (double)DROPOUT_P);
    int n =
        snprintf(buf, buf_len,
                 "{\"runner\":\"%s\",\"layernorm\":\"%s\",\"cell\":\"%s\",\"dropout\":\"%s\",\"fuser\":\"%s\","
                 "\"fuser_meaning\":\"%s\",\"gemm\":\"%s\",\"blas_config\":\"%s\",\"blas_core\":\"%s\","
                 "\"vector_math\":\"%s\",\"threads\":%d,\"openmp_passes\":%s,\"num_layers\":%lld,\"gate_biases\":%s}",
                 kind_name(m->kind), ln, cell, dropout, m->fuser,
                 is_reference(m->kind) ? "ignored by the reference"
                 : m->fused            ? "te and old both select the fused passes"
                                       : "none: one pass per op",
                 is_reference(m->kind) ? "naive loops in double (reference)" : "cblas_sgemm (OpenBLAS)", config, core,
                 is_reference(m->kind) ? "scalar libm" : nnb_varfast_vector_math(), m->threads,
                 m->parallel ? "true" : "false", (long long)m->d.L, is_layernorm(m->kind) ? "false" : "true");
    return n < 0 || (size_t)n >= buf_len ? -1 : 0;
}

static double variant_forward_flops(void *model) { return nnb_lstm_forward_flops(&((variant_model *)model)->d); }
static double variant_backward_flops(void *model) { return nnb_lstm_backward_flops(&((variant_model *)model)->d); }

/* ---------------------------------------------------------------- descriptors */

#define DEFINE_CREATE(fn, kind)                                                                                        \
    static void *fn(const nnb_config *cfg, char *err, size_t err_len) {                                                \
        return variant_create(kind, cfg, err, err_len);                                                                \
    }
DEFINE_CREATE(create_layernorm, KIND_LAYERNORM)
DEFINE_CREATE(create_layernorm_decom, KIND_LAYERNORM_DECOM)
DEFINE_CREATE(create_dropout, KIND_DROPOUT)
DEFINE_CREATE(create_ref_layernorm, KIND_REF_LAYERNORM)
DEFINE_CREATE(create_ref_dropout, KIND_REF_DROPOUT)

/* A reference computes plainly in fp32/fp64 on the data rounded to the run's precision, so it serves --check in
 * every precision (docs/precision.md); the other runners here compute in fp32. */
#define EVERY_PRECISION                                                                                                \
    (NNB_PRECISION_BIT(NNB_PRECISION_FP32) | NNB_PRECISION_BIT(NNB_PRECISION_TF32) |                                   \
     NNB_PRECISION_BIT(NNB_PRECISION_BF16) | NNB_PRECISION_BIT(NNB_PRECISION_FP16))

#define VARIANT_RUNNER(name_, desc_, ref_, flags_, create_, tol_)                                                      \
    {                                                                                                                  \
        .struct_size = sizeof(nnb_runner_desc), .name = name_, .group = NNB_GROUP_RNNS, .device = NNB_DEVICE_CPU,      \
        .description = desc_, .reference = ref_, .flags = flags_, .create = create_, .forward = variant_forward,       \
        .backward = variant_backward, .params = variant_params, .outputs = variant_outputs,                            \
        .describe = variant_describe, .forward_flops = variant_forward_flops,                                          \
        .backward_flops = variant_backward_flops, .destroy = variant_destroy, .check_tolerance = tol_,                 \
        .precisions = ((flags_)&NNB_FLAG_REFERENCE) ? EVERY_PRECISION : 0u,                                            \
    }

static const nnb_runner_desc runners[] = {
    VARIANT_RUNNER("jit_layernorm",
                   "LayerNorm LSTM (LN on both projections and the cell state, no gate biases), fused row-wise "
                   "LayerNorm and cell, OpenBLAS GEMMs",
                   "py_layernorm", NNB_FLAG_HIDDEN, create_layernorm, nnb_layernorm_lstm_check_tolerance),
    VARIANT_RUNNER("jit_layernorm_decom",
                   "LayerNorm LSTM with LayerNorm decomposed into one pass per op (mean, subtract, variance, "
                   "normalise, scale, shift), OpenBLAS GEMMs",
                   "py_layernorm", NNB_FLAG_HIDDEN, create_layernorm_decom, nnb_layernorm_lstm_check_tolerance),
    VARIANT_RUNNER("jit_dropout",
                   "stacked LSTM with inverted dropout p=0.4 between layers (with numLayers 1 a plain LSTM), "
                   "fused cell, OpenBLAS GEMMs",
                   "py_dropout", NNB_FLAG_HIDDEN, create_dropout, NULL),
    VARIANT_RUNNER("py_layernorm", "plain C reference of the LayerNorm LSTM (naive loops, double math)", NULL,
                   NNB_FLAG_REFERENCE | NNB_FLAG_HIDDEN, create_ref_layernorm, NULL),
    VARIANT_RUNNER("py_dropout", "plain C reference of the dropout LSTM (naive loops, double math)", NULL,
                   NNB_FLAG_REFERENCE | NNB_FLAG_HIDDEN, create_ref_dropout, NULL),
};

static const nnb_plugin plugin = {
    .abi_major = NNB_ABI_MAJOR,
    .abi_minor = NNB_ABI_MINOR,
    .struct_size = sizeof(nnb_plugin),
    .name = "cpu_variants",
    .runner_count = (int)(sizeof runners / sizeof runners[0]),
    .runners = runners,
};

NNB_DEFINE_PLUGIN(plugin)
