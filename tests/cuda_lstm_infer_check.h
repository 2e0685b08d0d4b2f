/*
 * The ABI 1.2 inference checks of a CUDA LSTM runner, shared by the CPU-shim engine test
 * (cuda_lstm_engine_should_match_reference_on_cpu.c: device memory is host memory there) and the GPU test
 * (cuda_infer_should_match_reference_on_gpu.c), which differ only in how bytes reach device memory
 * (lstm_copy2d_fn) and whether repeated calls must agree bit for bit.
 *
 * Against the reference's training forward (the same seeded inputs): an LSTM's batch columns are
 * independent, so infer(n) must give columns 0..n-1 of the reference's y, hy, cy.
 *   - infer(n), n = 1, 3, B: outputs() lists exactly y (T, n, H), hy, cy (L, n, H) (jit_simple: hy, cy),
 *     within tol of the reference's columns; infer(0) and infer(B + 1) are errors naming n;
 *   - a second infer(n) gives the same values (exact: bit for bit), and backward after infer is refused
 *     until a forward has run (infer reuses the forward's buffers), after which forward + backward work;
 *   - infer_io: rows, pitch and sample bytes as runner.h describes ((T, B, I): T rows of pitch B * I * 4);
 *     the whole device input zeroed through it, then the first n samples copied in (pitch-strided), infer(n)
 *     and the output copied out: equal to outputs() (bitwise) and to the reference (tol), so the pointers,
 *     the pitch and the in-place read of the first n columns are what infer uses;
 *   - load_param: w_hh_l0 (and b_ih_l{L-1}) perturbed: params() shows the new values, infer changes, and
 *     matches the reference with the same loads when it has load_param; loading the originals back gives the
 *     first infer's values again; a wrong shape, a wrong dtype, an unknown name and the input x are refused,
 *     each message naming the tensor (and for the shape both shapes).
 */
#ifndef NNB_CUDA_LSTM_INFER_CHECK_H
#define NNB_CUDA_LSTM_INFER_CHECK_H

#include "test_support.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Copies rows of width bytes between a pitched buffer and another (dir 1: host to device, 0: back). */
typedef int (*lstm_copy2d_fn)(void *ctx, void *dst, size_t dpitch, const void *src, size_t spitch, size_t width,
                              size_t rows, int to_device);

typedef struct lstm_infer_env {
    lstm_copy2d_fn copy;
    void *ctx;
    int exact; /* repeated infer(n) and reloaded weights must reproduce bits (the CPU shim) */
} lstm_infer_env;

static size_t lic_elems(const nnb_tensor *t) {
    size_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= (size_t)t->shape[i];
    return n;
}

static const nnb_tensor *lic_find(const nnb_tensor_list *l, const char *name) {
    for (int i = 0; i < l->count; i++)
        if (!strcmp(l->items[i].name, name))
            return &l->items[i];
    return NULL;
}

/* A copy of a tensor list's y/hy/cy (the model's views change with the next call). */
typedef struct lic_saved {
    int count;
    char names[3][8];
    nnb_tensor t[3];
    float *data[3];
} lic_saved;

static void lic_save(lic_saved *s, const nnb_tensor_list *l) {
    static const char *const names[] = {"y", "hy", "cy"};
    memset(s, 0, sizeof *s);
    for (int k = 0; k < 3; k++) {
        const nnb_tensor *t = lic_find(l, names[k]);
        if (!t)
            continue;
        int i = s->count++;
        snprintf(s->names[i], sizeof s->names[i], "%s", names[k]);
        s->t[i] = *t;
        s->t[i].name = s->names[i];
        s->data[i] = malloc(sizeof(float) * lic_elems(t));
        memcpy(s->data[i], t->data, sizeof(float) * lic_elems(t));
        s->t[i].data = s->data[i];
    }
}

static void lic_free(lic_saved *s) {
    for (int i = 0; i < s->count; i++)
        free(s->data[i]);
    memset(s, 0, sizeof *s);
}

/* Normwise relative error of got (rows, n, W) against columns 0..n-1 of ref (rows, B, W). */
static double lic_column_error(const float *got, const float *ref, int64_t rows, int64_t B, int64_t n, int64_t W) {
    double num = 0, den = 0;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t b = 0; b < n; b++)
            for (int64_t w = 0; w < W; w++) {
                double g = got[(r * n + b) * W + w], e = ref[(r * B + b) * W + w];
                double d = fabs(g - e);
                if (!(d <= num)) /* NaN counts */
                    num = isnan(d) ? INFINITY : d;
                if (fabs(e) > den)
                    den = fabs(e);
            }
    return num / (den > 1e-30 ? den : 1e-30);
}

/* outputs() of the last infer(n): exactly the tensors of want (the reference's forward, batch B) that the
 * runner lists among y, hy, cy, batch axis n, each within tol of the reference's columns. */
static void lic_check_infer_outputs(const char *what, const nnb_tensor_list *got, const lic_saved *want, int64_t n,
                                    int expect_y, double tol) {
    int expected = 2 + (expect_y ? 1 : 0);
    CHECK_MSG(got->count == expected, "%s infer(%lld): outputs() lists %d tensors, expected %d", what, (long long)n,
              got->count, expected);
    for (int i = 0; i < got->count; i++) {
        const nnb_tensor *t = &got->items[i];
        const nnb_tensor *r = NULL;
        for (int k = 0; k < want->count; k++)
            if (!strcmp(want->t[k].name, t->name))
                r = &want->t[k];
        CHECK_MSG(r != NULL, "%s infer(%lld): unexpected output %s", what, (long long)n, t->name);
        if (!r)
            continue;
        CHECK_MSG(strcmp(t->name, "y") || expect_y, "%s: y listed", what);
        int shape_ok = t->dtype == NNB_F32 && t->ndim == 3 && r->ndim == 3 && t->shape[0] == r->shape[0] &&
                       t->shape[1] == n && t->shape[2] == r->shape[2];
        CHECK_MSG(shape_ok, "%s infer(%lld): %s shape (%lld, %lld, %lld), expected (%lld, %lld, %lld)", what,
                  (long long)n, t->name, (long long)t->shape[0], (long long)t->shape[1], (long long)t->shape[2],
                  (long long)r->shape[0], (long long)n, (long long)r->shape[2]);
        if (!shape_ok)
            continue;
        double e =
            lic_column_error((const float *)t->data, (const float *)r->data, r->shape[0], r->shape[1], n, r->shape[2]);
        CHECK_MSG(e <= tol, "%s infer(%lld): %s rel err %.3g > tol %.3g", what, (long long)n, t->name, e, tol);
    }
}

/* got's outputs() equal the saved ones exactly (exact) or within tol. */
static void lic_check_same(const char *what, const nnb_tensor_list *got, const lic_saved *s, int exact, double tol) {
    for (int k = 0; k < s->count; k++) {
        const nnb_tensor *t = lic_find(got, s->t[k].name);
        CHECK_MSG(t && lic_elems(t) == lic_elems(&s->t[k]), "%s: %s missing or resized", what, s->t[k].name);
        if (!t || lic_elems(t) != lic_elems(&s->t[k]))
            continue;
        size_t n = lic_elems(t);
        if (exact) {
            CHECK_MSG(!memcmp(t->data, s->data[k], n * sizeof(float)), "%s: %s differs", what, s->t[k].name);
        } else {
            double e = lic_column_error((const float *)t->data, s->data[k], 1, 1, 1, (int64_t)n);
            CHECK_MSG(e <= tol, "%s: %s rel err %.3g > %.3g", what, s->t[k].name, e, tol);
        }
    }
}

static int lic_infer_outputs(const nnb_runner_desc *d, void *m, int64_t n, nnb_tensor_list *out, const char *what) {
    char err[512] = "";
    int rc = d->infer(m, n, err, sizeof err);
    CHECK_MSG(rc == 0, "%s infer(%lld): %s", what, (long long)n, err);
    if (rc)
        return -1;
    rc = d->outputs(m, out, err, sizeof err);
    CHECK_MSG(rc == 0, "%s outputs() after infer(%lld): %s", what, (long long)n, err);
    return rc;
}

static void lic_expect_load_error(const nnb_runner_desc *d, void *m, const nnb_tensor *v, const char *what,
                                  const char *n1, const char *n2, const char *n3) {
    char err[512] = "";
    int rc = d->load_param(m, v, err, sizeof err);
    CHECK_MSG(rc != 0, "%s: load_param(%s) should fail", what, v->name);
    const char *needles[] = {n1, n2, n3};
    for (int i = 0; i < 3; i++)
        if (needles[i])
            CHECK_MSG(strstr(err, needles[i]) != NULL, "%s: load_param(%s) error \"%s\" lacks \"%s\"", what, v->name,
                      err, needles[i]);
}

/* The infer_io round trip of infer(n): input zeroed, the first n samples of x copied in, output copied out. */
static void lic_check_io(const nnb_runner_desc *d, void *m, const nnb_config *cfg, const lstm_infer_env *env,
                         const float *x_host, const lic_saved *want, int64_t n, int out_is_hy, const char *what) {
    int64_t T = cfg->seq_length, B = cfg->mini_batch, I = cfg->input_size, H = cfg->hidden_size;
    nnb_infer_io io;
    memset(&io, 0, sizeof io);
    io.struct_size = sizeof io;
    char err[512] = "";
    int rc = d->infer_io(m, &io, err, sizeof err);
    CHECK_MSG(rc == 0, "%s infer_io: %s", what, err);
    if (rc)
        return;
    size_t f = sizeof(float);
    CHECK_MSG(io.input && io.input_rows == (size_t)T && io.input_row_pitch == (size_t)(B * I) * f &&
                  io.input_sample_bytes == (size_t)I * f,
              "%s infer_io input: rows %zu pitch %zu sample %zu", what, io.input_rows, io.input_row_pitch,
              io.input_sample_bytes);
    size_t out_rows = out_is_hy ? 1 : (size_t)T;
    CHECK_MSG(io.output && io.output_rows == out_rows && io.output_sample_bytes == (size_t)H * f &&
                  (out_rows == 1 || io.output_row_pitch == (size_t)(B * H) * f),
              "%s infer_io output: rows %zu pitch %zu sample %zu", what, io.output_rows, io.output_row_pitch,
              io.output_sample_bytes);
    if (!io.input || !io.output || io.input_rows != (size_t)T || io.output_rows != out_rows)
        return;
    /* zero every sample, then the request: the first n samples of x, packed (T, n, I) on the host */
    size_t in_w = (size_t)n * io.input_sample_bytes, out_w = (size_t)n * io.output_sample_bytes;
    float *zeros = calloc((size_t)(T * B * I), f), *req = malloc((size_t)(T * n * I) * f);
    float *resp = malloc((size_t)(T * n * H) * f);
    for (int64_t t = 0; t < T; t++)
        memcpy(req + t * n * I, x_host + t * B * I, in_w);
    rc = env->copy(env->ctx, io.input, io.input_row_pitch, zeros, (size_t)(B * I) * f, (size_t)(B * I) * f,
                   io.input_rows, 1) ||
         env->copy(env->ctx, io.input, io.input_row_pitch, req, in_w, in_w, io.input_rows, 1);
    CHECK_MSG(rc == 0, "%s: copying the request in failed", what);
    nnb_tensor_list out;
    if (!rc && lic_infer_outputs(d, m, n, &out, what) == 0) {
        rc = env->copy(env->ctx, resp, out_w, io.output, io.output_row_pitch, out_w, io.output_rows, 0);
        CHECK_MSG(rc == 0, "%s: copying the response out failed", what);
        const nnb_tensor *o = lic_find(&out, out_is_hy ? "hy" : "y");
        CHECK_MSG(o != NULL, "%s: outputs() after infer lacks %s", what, out_is_hy ? "hy" : "y");
        if (!rc && o) {
            /* jit_simple's hy: its one layer is row 0 of (1, n, H) */
            CHECK_MSG(!memcmp(resp, o->data, out_w * io.output_rows), "%s infer_io(n=%lld): response != outputs()",
                      what, (long long)n);
            for (int k = 0; k < want->count; k++)
                if (!strcmp(want->t[k].name, out_is_hy ? "hy" : "y")) {
                    double e = lic_column_error(resp, want->data[k], (int64_t)io.output_rows, B, n, H);
                    double tol = nnb_default_tolerance(cfg, NNB_GROUP_RNNS);
                    CHECK_MSG(e <= tol, "%s infer_io(n=%lld): response rel err %.3g > %.3g", what, (long long)n, e,
                              tol);
                }
        }
    }
    /* the model's own input back, for whatever runs next */
    rc = env->copy(env->ctx, io.input, io.input_row_pitch, x_host, (size_t)(B * I) * f, (size_t)(B * I) * f,
                   io.input_rows, 1);
    CHECK_MSG(rc == 0, "%s: restoring x failed", what);
    free(zeros), free(req), free(resp);
}

/* w (count floats) += 0.05 * sin(1.3 k + seed) */
static void lic_perturb(float *w, size_t count, double seed) {
    for (size_t k = 0; k < count; k++)
        w[k] += (float)(0.05 * sin(1.3 * (double)k + seed));
}

/* load_param round trip on got (and ref when it has load_param) for tensor name. */
static void lic_check_load(const nnb_runner_desc *got, void *gm, const nnb_runner_desc *ref, void *rm,
                           const nnb_config *cfg, const lstm_infer_env *env, const lic_saved *first_b, const char *name,
                           int expect_y, const char *what) {
    int64_t B = cfg->mini_batch;
    double tol = nnb_default_tolerance(cfg, NNB_GROUP_RNNS);
    char err[512] = "";
    nnb_tensor_list params;
    CHECK(got->params(gm, &params, err, sizeof err) == 0);
    const nnb_tensor *p = lic_find(&params, name);
    CHECK_MSG(p != NULL, "%s: params() lacks %s", what, name);
    if (!p)
        return;
    nnb_tensor orig = *p, value = *p;
    size_t count = lic_elems(p);
    float *o = malloc(count * sizeof(float)), *v = malloc(count * sizeof(float));
    memcpy(o, p->data, count * sizeof(float));
    memcpy(v, o, count * sizeof(float));
    lic_perturb(v, count, 0.7);
    orig.data = o;
    value.data = v;

    int rc = got->load_param(gm, &value, err, sizeof err);
    CHECK_MSG(rc == 0, "%s load_param(%s): %s", what, name, err);
    memset(v, 0x7f, count * sizeof(float)); /* the runner must have copied, not kept the pointer */
    lic_perturb(memcpy(v, o, count * sizeof(float)), count, 0.7);
    CHECK(got->params(gm, &params, err, sizeof err) == 0);
    p = lic_find(&params, name);
    CHECK_MSG(p && !memcmp(p->data, v, count * sizeof(float)), "%s: params() does not show the loaded %s", what, name);

    nnb_tensor_list out;
    if (lic_infer_outputs(got, gm, B, &out, what) == 0) {
        const nnb_tensor *h = lic_find(&out, "hy");
        const nnb_tensor *h0 = lic_find(&(nnb_tensor_list){first_b->count, first_b->t}, "hy");
        CHECK_MSG(h && h0 && memcmp(h->data, h0->data, lic_elems(h) * sizeof(float)),
                  "%s: infer after load_param(%s) did not change hy", what, name);
        if (ref && ref->struct_size > offsetof(nnb_runner_desc, load_param) && ref->load_param) {
            /* the reference with the same weights: its forward's columns */
            rc = ref->load_param(rm, &value, err, sizeof err);
            CHECK_MSG(rc == 0, "reference %s load_param(%s): %s", ref->name, name, err);
            nnb_tensor_list rout;
            if (!rc && nnb_run_once(ref, rm, 0, err, sizeof err) == 0 &&
                ref->outputs(rm, &rout, err, sizeof err) == 0) {
                lic_saved want;
                lic_save(&want, &rout);
                lic_saved now;
                lic_save(&now, &out);
                nnb_tensor_list again = {now.count, now.t};
                lic_check_infer_outputs(what, &again, &want, B, expect_y, tol);
                lic_free(&now);
                lic_free(&want);
            }
            rc = ref->load_param(rm, &orig, err, sizeof err);
            CHECK_MSG(rc == 0, "reference %s load_param(%s) back: %s", ref->name, name, err);
        }
    }
    rc = got->load_param(gm, &orig, err, sizeof err);
    CHECK_MSG(rc == 0, "%s load_param(%s) back: %s", what, name, err);
    if (lic_infer_outputs(got, gm, B, &out, what) == 0)
        lic_check_same(what, &out, first_b, env->exact, tol);

    /* refusals, each naming the tensor */
    nnb_tensor bad = orig;
    bad.shape[bad.ndim - 1] += 1;
    char want_shape[64], bad_shape[64];
    snprintf(want_shape, sizeof want_shape, "%lld)", (long long)orig.shape[orig.ndim - 1]);
    snprintf(bad_shape, sizeof bad_shape, "%lld)", (long long)bad.shape[bad.ndim - 1]);
    lic_expect_load_error(got, gm, &bad, what, name, want_shape, bad_shape);
    bad = orig;
    bad.dtype = NNB_F64;
    lic_expect_load_error(got, gm, &bad, what, name, NULL, NULL);
    bad = orig;
    bad.name = "w_zz_l0";
    lic_expect_load_error(got, gm, &bad, what, "w_zz_l0", NULL, NULL);
    nnb_tensor_list ps;
    CHECK(got->params(gm, &ps, err, sizeof err) == 0);
    const nnb_tensor *x = lic_find(&ps, "x");
    if (x)
        lic_expect_load_error(got, gm, x, what, "'x'", NULL, NULL);
    free(o), free(v);
}

/* Every check of the header comment, for runner got against ref (a CPU reference, forward-only use). */
static void lstm_infer_check(const nnb_runner_desc *got, const nnb_runner_desc *ref, const nnb_config *cfg,
                             const lstm_infer_env *env) {
    char what[256], err[512] = "";
    snprintf(what, sizeof what, "%s vs %s (T=%lld B=%lld I=%lld H=%lld L=%lld fuser=%s exec=%s)", got->name, ref->name,
             (long long)cfg->seq_length, (long long)cfg->mini_batch, (long long)cfg->input_size,
             (long long)cfg->hidden_size, (long long)cfg->num_layers, cfg->fuser ? cfg->fuser : "default",
             cfg->executor ? cfg->executor : "eager");
    int has =
        got->struct_size > offsetof(nnb_runner_desc, load_param) && got->infer && got->infer_io && got->load_param;
    CHECK_MSG(has, "%s: no infer/infer_io/load_param", what);
    if (!has)
        return;
    int64_t B = cfg->mini_batch;
    double tol = nnb_default_tolerance(cfg, NNB_GROUP_RNNS);
    /* the reference with the same sizes and seed, default settings (it need not take executors, fusers, geometry) */
    nnb_config rcfg;
    nnb_config_defaults(&rcfg);
    rcfg.seq_length = cfg->seq_length, rcfg.mini_batch = B, rcfg.input_size = cfg->input_size;
    rcfg.hidden_size = cfg->hidden_size, rcfg.num_layers = cfg->num_layers, rcfg.seed = cfg->seed;
    rcfg.threads = cfg->threads;
    void *rm = ref->create(&rcfg, err, sizeof err);
    CHECK_MSG(rm != NULL, "%s: reference create: %s", what, err);
    void *gm = rm ? got->create(cfg, err, sizeof err) : NULL;
    CHECK_MSG(!rm || gm != NULL, "%s: create: %s", what, err);
    nnb_tensor_list rout, out;
    if (!gm || nnb_run_once(ref, rm, 0, err, sizeof err) || ref->outputs(rm, &rout, err, sizeof err)) {
        CHECK_MSG(gm == NULL, "%s: reference forward: %s", what, err);
        if (gm)
            got->destroy(gm);
        if (rm)
            ref->destroy(rm);
        return;
    }
    lic_saved want;
    lic_save(&want, &rout);
    nnb_tensor_list gparams;
    CHECK(got->params(gm, &gparams, err, sizeof err) == 0);
    int expect_y = strcmp(got->name, "jit_simple") != 0; /* jit_simple's outputs are the final (h, c) only */
    const nnb_tensor *xt = lic_find(&gparams, "x");
    float *x_host = NULL;
    if (xt) {
        x_host = malloc(lic_elems(xt) * sizeof(float));
        memcpy(x_host, xt->data, lic_elems(xt) * sizeof(float));
    }

    const int64_t ns[] = {1, 3, B};
    lic_saved first_b;
    memset(&first_b, 0, sizeof first_b);
    for (int i = 0; i < 3; i++) {
        int64_t n = ns[i] <= B ? ns[i] : B;
        if (lic_infer_outputs(got, gm, n, &out, what))
            continue;
        lic_check_infer_outputs(what, &out, &want, n, expect_y, tol);
        lic_saved s;
        lic_save(&s, &out);
        if (lic_infer_outputs(got, gm, n, &out, what) == 0)
            lic_check_same(what, &out, &s, env->exact, tol);
        if (n == B && !first_b.count) {
            first_b = s; /* its views' names point into s.names: point them at first_b's */
            for (int k = 0; k < first_b.count; k++)
                first_b.t[k].name = first_b.names[k];
        } else
            lic_free(&s);
    }
    int64_t bad_n[] = {0, B + 1};
    for (int i = 0; i < 2; i++) {
        char needle[32];
        snprintf(needle, sizeof needle, "n = %lld", (long long)bad_n[i]);
        CHECK_MSG(got->infer(gm, bad_n[i], err, sizeof err) != 0 && strstr(err, needle),
                  "%s: infer(%lld) should fail naming n: %s", what, (long long)bad_n[i], err);
    }

    /* backward after infer refused; a forward makes it work again */
    if (got->backward) {
        CHECK_MSG(got->infer(gm, 1, err, sizeof err) == 0, "%s infer(1): %s", what, err);
        CHECK_MSG(got->backward(gm, err, sizeof err) != 0 && strstr(err, "infer"),
                  "%s: backward after infer should be refused: %s", what, err);
        CHECK_MSG(nnb_run_once(got, gm, 1, err, sizeof err) == 0, "%s: forward + backward after infer: %s", what, err);
        CHECK_MSG(got->outputs(gm, &out, err, sizeof err) == 0 && lic_find(&out, "dhx") != NULL,
                  "%s: outputs() after backward should list the training tensors again", what);
    }

    if (x_host)
        for (int i = 0; i < 3; i++) {
            int64_t n = ns[i] <= B ? ns[i] : B;
            lic_check_io(got, gm, cfg, env, x_host, &want, n, !expect_y, what);
        }

    if (first_b.count) {
        char name[32];
        lic_check_load(got, gm, ref, rm, cfg, env, &first_b, "w_hh_l0", expect_y, what);
        snprintf(name, sizeof name, "b_ih_l%lld", (long long)(cfg->num_layers - 1));
        lic_check_load(got, gm, ref, rm, cfg, env, &first_b, name, expect_y, what);
    }
    lic_free(&first_b);
    lic_free(&want);
    free(x_host);
    got->destroy(gm);
    ref->destroy(rm);
}

#endif
