/*
 * ABI 1.2 infer(n) and load_param of the CPU LSTM runners that serve (py, jit, jit_premul, cudnn, and the
 * other fixed-length fast runners and cudnn_dropout), threads 2, at small awkward sizes (H 13, I != H,
 * 1-3 layers, I == H for one oneDNN stack of 3 layers) and one bigger (T 20, B 16, I 64, H 96):
 *   - infer(n), n = 1, 3, B: outputs() lists exactly y (T, n, H), hy, cy (L, n, H), equal to columns
 *     0..n-1 of the same runner's training forward and of py's forward within the --check tolerance
 *     (bench/check.h's default; py's own infer must be bit-identical to its forward's columns);
 *     a second infer(n) gives identical bits; infer(0) and infer(B+1) are errors naming n and B;
 *   - infer between forward and backward changes no gradient (bitwise; py excepted: its infer reuses
 *     the forward's saved state, so a backward needs a new forward), and outputs() after backward lists
 *     the training tensors again (cudnn_dropout: infer has no dropout, so it is held to py alone);
 *   - load_param of perturbed weights (w += 0.01 sin(k + 1.7 i)) into the runner and into py: after each
 *     single tensor (small sizes) or all of them (big size) the runner's infer matches py's, and differs
 *     from before (the perturbation is visible); the caller's buffer is scribbled over right after each
 *     load (a runner must copy, not keep a pointer); params() shows the new values; then a training
 *     forward + backward of both match on every tensor (the backward's weight copies were refreshed too);
 *   - load_param refuses a wrong shape, a wrong dtype, an unknown name, and the inputs x, hx, grad_y,
 *     with a message naming the tensor (and both shapes), and leaves the model as it was.
 * The OpenBLAS and plain-loop GEMM paths of the fast runners (NNB_CPU_GEMM) get the small checks too.
 *
 * With --bench [RUNNER...] (not run by ctest): infer(n) against the training forward at T 100, B 64, I 512,
 * H 512 for n = 64 and 1 (medians, ms), and oneDNN's per-n plan creation cost.
 */
#define _POSIX_C_SOURCE 200809L /* setenv, clock_gettime */
#include "test_support.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct shape {
    int64_t T, B, I, H, L;
} shape;

static const shape small_shapes[] = {{7, 5, 11, 13, 1}, {7, 5, 11, 13, 2}, {5, 4, 16, 16, 3}, {3, 6, 9, 17, 3}};
static const shape big_shape = {20, 16, 64, 96, 2};

/* A tensor copied out of a model (its views change with the next call). */
typedef struct saved {
    char name[32];
    nnb_tensor t;
    float *data;
} saved;

static size_t elems(const nnb_tensor *t) {
    size_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= (size_t)t->shape[i];
    return n;
}

static void save(saved *s, const nnb_tensor *t) {
    snprintf(s->name, sizeof s->name, "%s", t->name);
    s->t = *t;
    s->t.name = s->name;
    s->data = malloc(sizeof(float) * elems(t));
    memcpy(s->data, t->data, sizeof(float) * elems(t));
    s->t.data = s->data;
}

static const nnb_tensor *find(const nnb_tensor_list *l, const char *name) {
    for (int i = 0; l && i < l->count; i++)
        if (!strcmp(l->items[i].name, name))
            return &l->items[i];
    return NULL;
}

/* y, hy, cy of a model's last run. */
typedef struct triple {
    saved s[3];
} triple;

static const char *const out_names[3] = {"y", "hy", "cy"};

static int save_outputs(const nnb_runner_desc *d, void *m, triple *out, const char *what) {
    nnb_tensor_list l;
    char err[512] = "";
    if (d->outputs(m, &l, err, sizeof err)) {
        CHECK_MSG(0, "%s: outputs: %s", what, err);
        return -1;
    }
    for (int i = 0; i < 3; i++) {
        const nnb_tensor *t = find(&l, out_names[i]);
        CHECK_MSG(t != NULL, "%s: outputs() has no %s", what, out_names[i]);
        if (!t)
            return -1;
        save(&out->s[i], t);
    }
    return 0;
}

static void free_triple(triple *t) {
    for (int i = 0; i < 3; i++)
        free(t->s[i].data), t->s[i].data = NULL;
}

/* Normwise relative error of part (R, n, W) against columns 0..n-1 of full (R, B, W). */
static double column_error(const saved *full, const saved *part) {
    const int64_t R = full->t.shape[0], B = full->t.shape[1], W = full->t.shape[2], n = part->t.shape[1];
    double diff = 0, ref = 0;
    for (int64_t r = 0; r < R; r++)
        for (int64_t b = 0; b < n; b++)
            for (int64_t w = 0; w < W; w++) {
                double f = full->data[(r * B + b) * W + w], p = part->data[(r * n + b) * W + w];
                diff = fabs(f - p) > diff ? fabs(f - p) : diff;
                ref = fabs(f) > ref ? fabs(f) : ref;
            }
    return diff / (ref > 1e-30 ? ref : 1e-30);
}

static int same_bits(const saved *a, const saved *b) {
    return elems(&a->t) == elems(&b->t) && !memcmp(a->data, b->data, sizeof(float) * elems(&a->t));
}

static int has_shape(const nnb_tensor *t, int64_t d0, int64_t d1, int64_t d2) {
    return t->dtype == NNB_F32 && t->ndim == 3 && t->shape[0] == d0 && t->shape[1] == d1 && t->shape[2] == d2;
}

/* One model under test and the reference py built from the same config. */
typedef struct pair {
    const nnb_runner_desc *rd, *pd;
    void *r, *p;
    nnb_config cfg;
    shape s;
    double tol;
    int same_math; /* its training forward is py's math (not cudnn_dropout's: dropout in training only) */
    char what[256];
} pair;

static int infer_into(const nnb_runner_desc *d, void *m, int64_t n, triple *out, const char *what) {
    char err[512] = "";
    int rc = d->infer(m, n, err, sizeof err);
    CHECK_MSG(rc == 0, "%s: infer(%lld): %s", what, (long long)n, err);
    return rc ? -1 : save_outputs(d, m, out, what);
}

/* infer(n) equals the training forward's columns (own and py's), has the right shapes, repeats bit for bit. */
static void check_infer_n(pair *q, int64_t n, const triple *own_fwd, const triple *py_fwd, double *worst_own,
                          double *worst_py) {
    const shape *s = &q->s;
    triple a, b;
    if (infer_into(q->rd, q->r, n, &a, q->what))
        return;
    nnb_tensor_list l;
    char err[256];
    q->rd->outputs(q->r, &l, err, sizeof err);
    CHECK_MSG(l.count == 3, "%s: outputs() after infer lists %d tensors, not y, hy, cy", q->what, l.count);
    CHECK_MSG(has_shape(&a.s[0].t, s->T, n, s->H) && has_shape(&a.s[1].t, s->L, n, s->H) &&
                  has_shape(&a.s[2].t, s->L, n, s->H),
              "%s: infer(%lld) shapes y (%lld, %lld, %lld) hy (%lld, %lld, %lld)", q->what, (long long)n,
              (long long)a.s[0].t.shape[0], (long long)a.s[0].t.shape[1], (long long)a.s[0].t.shape[2],
              (long long)a.s[1].t.shape[0], (long long)a.s[1].t.shape[1], (long long)a.s[1].t.shape[2]);
    const int is_py = !strcmp(q->rd->name, "py");
    for (int i = 0; i < 3; i++) {
        double eo = column_error(&own_fwd->s[i], &a.s[i]), ep = column_error(&py_fwd->s[i], &a.s[i]);
        *worst_own = eo > *worst_own ? eo : *worst_own;
        *worst_py = ep > *worst_py ? ep : *worst_py;
        CHECK_MSG(!q->same_math || (eo <= q->tol && (!is_py || eo == 0)),
                  "%s: infer(%lld) %s vs its forward's columns: %.3g > %.3g", q->what, (long long)n, out_names[i], eo,
                  is_py ? 0.0 : q->tol);
        CHECK_MSG(ep <= q->tol, "%s: infer(%lld) %s vs py's forward columns: %.3g > %.3g", q->what, (long long)n,
                  out_names[i], ep, q->tol);
    }
    if (infer_into(q->rd, q->r, n, &b, q->what) == 0) {
        for (int i = 0; i < 3; i++)
            CHECK_MSG(same_bits(&a.s[i], &b.s[i]), "%s: infer(%lld) twice: %s differs", q->what, (long long)n,
                      out_names[i]);
        free_triple(&b);
    }
    free_triple(&a);
}

/* Every output of a full training iteration (zero_grad, forward, backward), copied. */
typedef struct all_outputs {
    int count;
    saved s[64];
} all_outputs;

static void save_all(const nnb_runner_desc *d, void *m, all_outputs *o) {
    nnb_tensor_list l;
    char err[256];
    o->count = 0;
    if (d->outputs(m, &l, err, sizeof err))
        return;
    for (int i = 0; i < l.count && i < 64; i++)
        save(&o->s[o->count++], &l.items[i]);
}

static void free_all(all_outputs *o) {
    for (int i = 0; i < o->count; i++)
        free(o->s[i].data);
    o->count = 0;
}

static int train_once(const nnb_runner_desc *d, void *m, int64_t infer_n, const char *what) {
    char err[512] = "";
    int rc = (d->zero_grad && d->zero_grad(m, err, sizeof err)) || d->forward(m, err, sizeof err) ||
             (infer_n > 0 && d->infer(m, infer_n, err, sizeof err)) ||
             (d->backward_setup && d->backward_setup(m, err, sizeof err)) || d->backward(m, err, sizeof err);
    CHECK_MSG(rc == 0, "%s: training iteration: %s", what, err);
    return rc;
}

/* infer() between forward and backward changes nothing the backward computes. */
static void check_interleaving(pair *q) {
    if (!strcmp(q->rd->name, "py") || !q->rd->backward)
        return;
    all_outputs a, b;
    if (train_once(q->rd, q->r, 0, q->what))
        return;
    save_all(q->rd, q->r, &a);
    if (train_once(q->rd, q->r, 3 <= q->s.B ? 3 : 1, q->what) == 0) {
        save_all(q->rd, q->r, &b);
        CHECK_MSG(a.count == b.count && a.count > 6, "%s: outputs() after backward: %d then %d tensors", q->what,
                  a.count, b.count);
        for (int i = 0; i < a.count && i < b.count; i++)
            CHECK_MSG(!strcmp(a.s[i].name, b.s[i].name) && same_bits(&a.s[i], &b.s[i]),
                      "%s: forward, infer, backward changed %s", q->what, a.s[i].name);
        free_all(&b);
    }
    free_all(&a);
}

static int is_weight(const char *name) { return name[0] == 'w' || name[0] == 'b'; }

static nnb_tensor_list params_of(const nnb_runner_desc *d, void *m) {
    nnb_tensor_list l = {0, NULL};
    char err[256];
    d->params(m, &l, err, sizeof err);
    return l;
}

/* Load value into both models; scribble over the caller's copy afterwards (a runner must have copied it). */
static int load_both(pair *q, nnb_tensor *value, float *buf) {
    char err[512] = "";
    int rc = q->rd->load_param(q->r, value, err, sizeof err);
    CHECK_MSG(rc == 0, "%s: load_param(%s): %s", q->what, value->name, err);
    int rc2 = q->pd->load_param(q->p, value, err, sizeof err);
    CHECK_MSG(rc2 == 0, "py: load_param(%s): %s", value->name, err);
    for (size_t e = 0; e < elems(value); e++)
        buf[e] = NAN;
    return rc || rc2 ? -1 : 0;
}

static double triple_error(const triple *ref, const triple *got) {
    double worst = 0;
    for (int i = 0; i < 3; i++) {
        double e = column_error(&ref->s[i], &got->s[i]);
        worst = e > worst ? e : worst;
    }
    return worst;
}

/* After a load: the runner's infer(n) against py's, and against the runner's before the load. */
static void compare_after_load(pair *q, int64_t n, const triple *before, const char *loaded) {
    triple r, p;
    if (infer_into(q->rd, q->r, n, &r, q->what))
        return;
    if (infer_into(q->pd, q->p, n, &p, "py") == 0) {
        double e = triple_error(&p, &r);
        CHECK_MSG(e <= q->tol, "%s: after load_param(%s): infer(%lld) vs py's: %.3g > %.3g", q->what, loaded,
                  (long long)n, e, q->tol);
        if (before) {
            double moved = triple_error(before, &r);
            CHECK_MSG(moved > 10 * q->tol, "%s: load_param(%s) moved infer(%lld) by only %.3g", q->what, loaded,
                      (long long)n, moved);
        }
        free_triple(&p);
    }
    free_triple(&r);
}

/* The perturbed value of parameter i: w + 0.01 sin(k + 1.7 i), in a buffer of the caller's. */
static float *perturbed(const nnb_tensor *t, int i) {
    float *v = malloc(sizeof(float) * elems(t));
    const float *w = t->data;
    for (size_t k = 0; k < elems(t); k++)
        v[k] = w[k] + 0.01f * (float)sin((double)k + 1.7 * i);
    return v;
}

static void check_loads(pair *q, int one_at_a_time) {
    nnb_tensor_list l = params_of(q->rd, q->r);
    int count = l.count;
    nnb_tensor *list = malloc(sizeof(nnb_tensor) * (size_t)count);
    memcpy(list, l.items, sizeof(nnb_tensor) * (size_t)count);
    float **expect = calloc((size_t)count, sizeof *expect); /* what params() must show afterwards */
    for (int i = 0; i < count; i++) {
        if (!is_weight(list[i].name))
            continue;
        triple before;
        int have_before = one_at_a_time && infer_into(q->rd, q->r, q->s.B, &before, q->what) == 0;
        float *v = perturbed(&list[i], i);
        expect[i] = malloc(sizeof(float) * elems(&list[i]));
        memcpy(expect[i], v, sizeof(float) * elems(&list[i]));
        nnb_tensor value = list[i];
        value.data = v;
        int rc = load_both(q, &value, v);
        free(v);
        if (!rc && one_at_a_time)
            compare_after_load(q, q->s.B, have_before ? &before : NULL, list[i].name);
        if (have_before)
            free_triple(&before);
    }
    const int64_t ns[] = {1, 3, q->s.B};
    for (int k = 0; k < 3; k++)
        if (ns[k] <= q->s.B)
            compare_after_load(q, ns[k], NULL, "every weight");
    l = params_of(q->rd, q->r);
    for (int i = 0; i < count && i < l.count; i++)
        if (expect[i])
            CHECK_MSG(!memcmp(l.items[i].data, expect[i], sizeof(float) * elems(&l.items[i])),
                      "%s: params() does not show the loaded %s", q->what, l.items[i].name);
    /* the training copies (forward and backward) got the new weights too */
    if (q->same_math && q->rd->backward && train_once(q->rd, q->r, 0, q->what) == 0 &&
        train_once(q->pd, q->p, 0, "py") == 0) {
        nnb_tensor_list got, ref;
        char err[512] = "";
        nnb_tensor_check *checks = NULL;
        int n_checks = 0;
        q->rd->outputs(q->r, &got, err, sizeof err);
        q->pd->outputs(q->p, &ref, err, sizeof err);
        int failing = nnb_compare_tensors(&ref, &got, q->tol, &checks, &n_checks, err, sizeof err);
        CHECK_MSG(failing == 0 && n_checks > 6, "%s: training after load_param vs py: %d of %d tensors fail %s",
                  q->what, failing, n_checks, err);
        for (int c = 0; c < n_checks; c++)
            CHECK_MSG(checks[c].pass, "%s: after load_param: %s max_rel %.3g > %.3g", q->what, checks[c].name,
                      checks[c].max_rel_err, checks[c].tolerance);
        free(checks);
    }
    for (int i = 0; i < count; i++)
        free(expect[i]);
    free(expect);
    free(list);
}

/* A refused load: non-zero, every needle in the message. */
static void expect_refusal(pair *q, const nnb_tensor *value, const char *needle1, const char *needle2,
                           const char *needle3) {
    char err[512] = "";
    int rc = q->rd->load_param(q->r, value, err, sizeof err);
    CHECK_MSG(rc != 0, "%s: load_param(%s) accepted a bad tensor", q->what, value->name);
    const char *needles[] = {needle1, needle2, needle3};
    for (int i = 0; i < 3; i++)
        if (needles[i])
            CHECK_MSG(strstr(err, needles[i]) != NULL, "%s: load_param(%s) message lacks \"%s\": %s", q->what,
                      value->name, needles[i], err);
}

static void check_refusals(pair *q) {
    const shape *s = &q->s;
    triple before, after;
    if (infer_into(q->rd, q->r, 1, &before, q->what))
        return;
    nnb_tensor_list l = params_of(q->rd, q->r);
    const nnb_tensor *w_ih = find(&l, "w_ih_l0"), *w_hh = find(&l, "w_hh_l0"), *b_ih = find(&l, "b_ih_l0");
    float *junk = calloc((size_t)(4 * s->H * (s->I + s->H + 1) + s->T * s->B * (s->I + s->H)), sizeof(float));
    char shape_model[64], shape_given[64], shape_bias[64];
    nnb_tensor bad = *w_ih;
    bad.data = junk;
    bad.shape[1] = s->I + 1;
    snprintf(shape_model, sizeof shape_model, "(%lld, %lld)", (long long)(4 * s->H), (long long)s->I);
    snprintf(shape_given, sizeof shape_given, "(%lld, %lld)", (long long)(4 * s->H), (long long)(s->I + 1));
    expect_refusal(q, &bad, "w_ih_l0", shape_model, shape_given);
    bad = *b_ih;
    bad.data = junk;
    bad.ndim = 2, bad.shape[1] = 1;
    snprintf(shape_bias, sizeof shape_bias, "(%lld,)", (long long)(4 * s->H));
    expect_refusal(q, &bad, "b_ih_l0", shape_bias, "1)");
    bad = *w_hh;
    bad.data = junk;
    bad.dtype = NNB_F64;
    expect_refusal(q, &bad, "w_hh_l0", "float64", "float32");
    bad = *w_hh;
    bad.data = junk;
    bad.name = "w_hh_l9";
    expect_refusal(q, &bad, "w_hh_l9", "no parameter", NULL);
    bad.name = "bias";
    expect_refusal(q, &bad, "'bias'", NULL, NULL);
    const char *inputs[] = {"x", "hx", "grad_y"};
    for (int i = 0; i < 3; i++) {
        const nnb_tensor *t = find(&l, inputs[i]);
        CHECK_MSG(t != NULL, "%s: params() has no %s", q->what, inputs[i]);
        if (!t)
            continue;
        bad = *t;
        bad.data = junk;
        char quoted[16];
        snprintf(quoted, sizeof quoted, "'%s'", inputs[i]);
        expect_refusal(q, &bad, quoted, "input", NULL);
    }
    bad = *w_hh;
    bad.data = NULL;
    expect_refusal(q, &bad, "w_hh_l0", NULL, NULL);
    expect_refusal(q, &(nnb_tensor){0}, q->rd->name, NULL, NULL);
    /* handing back the model's own view changes nothing */
    char err[512] = "";
    int rc = q->rd->load_param(q->r, w_hh, err, sizeof err);
    CHECK_MSG(rc == 0, "%s: load_param of its own w_hh_l0 view: %s", q->what, err);
    int64_t bad_n[] = {0, s->B + 1, -1};
    for (int i = 0; i < 3; i++) {
        err[0] = 0;
        CHECK_MSG(q->rd->infer(q->r, bad_n[i], err, sizeof err) != 0, "%s: infer(%lld) accepted", q->what,
                  (long long)bad_n[i]);
        char want[64];
        snprintf(want, sizeof want, "n=%lld outside 1..B=%lld", (long long)bad_n[i], (long long)s->B);
        CHECK_MSG(strstr(err, want) && strstr(err, q->rd->name), "%s: infer(%lld) message: %s", q->what,
                  (long long)bad_n[i], err);
    }
    if (infer_into(q->rd, q->r, 1, &after, q->what) == 0) {
        for (int i = 0; i < 3; i++)
            CHECK_MSG(same_bits(&before.s[i], &after.s[i]), "%s: refused loads changed infer's %s", q->what,
                      out_names[i]);
        free_triple(&after);
    }
    free_triple(&before);
    free(junk);
}

static nnb_config config_for(const shape *s) {
    nnb_config cfg = nnb_test_lstm_config(s->T, s->B, s->I, s->H, s->L, 7);
    cfg.threads = 2;
    return cfg;
}

static int open_pair(const nnb_registry *reg, const char *name, const shape *s, pair *q) {
    memset(q, 0, sizeof *q);
    q->rd = nnb_test_runner(reg, name);
    q->pd = nnb_test_runner(reg, "py");
    if (!q->rd || !q->pd)
        return -1;
    CHECK_MSG(q->rd->infer && q->rd->load_param, "%s has no infer() or load_param()", name);
    if (!q->rd->infer || !q->rd->load_param)
        return -1;
    q->s = *s;
    q->cfg = config_for(s);
    q->tol = nnb_default_tolerance(&q->cfg, NNB_GROUP_RNNS);
    q->same_math = !q->rd->reference || !strcmp(q->rd->reference, "py");
    const char *gemm = getenv("NNB_CPU_GEMM");
    snprintf(q->what, sizeof q->what, "%s (T=%lld B=%lld I=%lld H=%lld L=%lld%s%s)", name, (long long)s->T,
             (long long)s->B, (long long)s->I, (long long)s->H, (long long)s->L, gemm ? " gemm=" : "",
             gemm ? gemm : "");
    char err[512] = "";
    q->r = q->rd->create(&q->cfg, err, sizeof err);
    CHECK_MSG(q->r != NULL, "%s: create: %s", q->what, err);
    q->p = q->pd->create(&q->cfg, err, sizeof err);
    CHECK_MSG(q->p != NULL, "py: create: %s", err);
    return q->r && q->p ? 0 : -1;
}

static void close_pair(pair *q) {
    if (q->r)
        q->rd->destroy(q->r);
    if (q->p)
        q->pd->destroy(q->p);
}

static void check_runner(const nnb_registry *reg, const char *name, const shape *s, int one_at_a_time) {
    pair q;
    if (open_pair(reg, name, s, &q) == 0) {
        triple own, ref;
        char err[512] = "";
        CHECK_MSG(q.rd->forward(q.r, err, sizeof err) == 0, "%s: forward: %s", q.what, err);
        CHECK_MSG(q.pd->forward(q.p, err, sizeof err) == 0, "py: forward: %s", err);
        if (save_outputs(q.rd, q.r, &own, q.what) == 0 && save_outputs(q.pd, q.p, &ref, "py") == 0) {
            double worst_own = 0, worst_py = 0;
            const int64_t ns[] = {1, 3, s->B};
            for (int k = 0; k < 3; k++)
                if (ns[k] <= s->B && (k < 2 || ns[k] != 3))
                    check_infer_n(&q, ns[k], &own, &ref, &worst_own, &worst_py);
            printf("%-60s infer vs own forward %.2g, vs py %.2g (tol %.2g)\n", q.what, worst_own, worst_py, q.tol);
            free_triple(&own);
            free_triple(&ref);
        }
        check_interleaving(&q);
        check_refusals(&q);
        check_loads(&q, one_at_a_time);
    }
    close_pair(&q);
}

/* ------------------------------------------------------------------ --bench */

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return 1e3 * (double)ts.tv_sec + 1e-6 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One call, ms: forward when n == 0, else infer(n); -1 on error. */
static double time_call(const nnb_runner_desc *d, void *m, int64_t n) {
    char err[512] = "";
    double t0 = now_ms();
    int rc = n ? d->infer(m, n, err, sizeof err) : d->forward(m, err, sizeof err);
    if (rc)
        fprintf(stderr, "%s: %s\n", d->name, err);
    return rc ? -1 : now_ms() - t0;
}

/* Rounds of forward, infer(64), infer(1) back to back (so machine load hits all three alike), after one warm-up
 * round; per column the median and the minimum, ms. */
static void time_rounds(const nnb_runner_desc *d, void *m, int reps, double med[3], double min[3]) {
    const int64_t ns[3] = {0, 64, 1};
    double t[3][64];
    for (int i = -1; i < reps; i++)
        for (int k = 0; k < 3; k++) {
            double ms = time_call(d, m, ns[k]);
            if (i >= 0)
                t[k][i] = ms;
        }
    for (int k = 0; k < 3; k++) {
        qsort(t[k], (size_t)reps, sizeof **t, cmp_double);
        med[k] = t[k][reps / 2];
        min[k] = t[k][0];
    }
}

/* cudnn's describe(): total ms spent building inference plans so far, or -1. */
static double plan_ms(const nnb_runner_desc *d, void *m) {
    static char info[16384];
    const char *key = "\"plan_create_ms\":";
    const char *at = d->describe && d->describe(m, info, sizeof info) == 0 ? strstr(info, key) : NULL;
    return at ? strtod(at + strlen(key), NULL) : -1;
}

static int bench(const nnb_registry *reg, int argc, char **argv) {
    const shape s = {100, 64, 512, 512, 1};
    nnb_config cfg = config_for(&s);
    const char *all[] = {"jit", "jit_premul", "cudnn", "py"};
    const char *const *names = argc > 0 ? (const char *const *)argv : all;
    const size_t count = argc > 0 ? (size_t)argc : sizeof all / sizeof *all;
    printf("T=%lld B=%lld I=%lld H=%lld L=%lld threads %d; ms, median (min) of interleaved rounds\n", (long long)s.T,
           (long long)s.B, (long long)s.I, (long long)s.H, (long long)s.L, cfg.threads);
    printf("%-12s %18s %18s %18s\n", "runner", "forward", "infer(64)", "infer(1)");
    for (size_t i = 0; i < count; i++) {
        const nnb_loaded_runner *lr = nnb_registry_find(reg, names[i]);
        if (!lr)
            continue;
        const nnb_runner_desc *d = lr->desc;
        char err[512] = "";
        double t0 = now_ms();
        void *m = d->create(&cfg, err, sizeof err);
        double create_ms = now_ms() - t0;
        if (!m) {
            fprintf(stderr, "%s: %s\n", names[i], err);
            continue;
        }
        const int reps = strcmp(names[i], "py") ? 15 : 5;
        double p0 = plan_ms(d, m), first64 = time_call(d, m, 64), p1 = plan_ms(d, m); /* cudnn: plan built here */
        double first[2] = {first64, time_call(d, m, 1)};
        if (p0 >= 0)
            printf("    cudnn plan for n=64 built in %.1f ms, n=1 in %.1f ms\n", p1 - p0, plan_ms(d, m) - p1);
        double med[3], min[3];
        time_rounds(d, m, reps, med, min);
        printf(
            "%-12s %9.2f (%6.2f) %9.2f (%6.2f) %9.2f (%6.2f)   create %.0f ms; first infer(64) %.1f, infer(1) %.1f\n",
            names[i], med[0], min[0], med[1], min[1], med[2], min[2], create_ms, first[0], first[1]);
        if (!strcmp(names[i], "cudnn")) {
            const int64_t more[] = {2, 8, 32, 63};
            for (int k = 0; k < 4; k++) {
                double before = plan_ms(d, m), first_call = time_call(d, m, more[k]), then[5];
                double built = plan_ms(d, m) - before;
                for (int j = 0; j < 5; j++)
                    then[j] = time_call(d, m, more[k]);
                qsort(then, 5, sizeof *then, cmp_double);
                printf("    cudnn first infer(%lld) %.1f ms (plan %.1f ms), then %.2f (min %.2f)\n", (long long)more[k],
                       first_call, built, then[2], then[0]);
            }
            char info[8192];
            if (d->describe && d->describe(m, info, sizeof info) == 0 && strstr(info, "\"infer\""))
                printf("    describe: %s\n", strstr(info, "\"infer\""));
        }
        d->destroy(m);
    }
    return 0;
}

int main(int argc, char **argv) {
    nnb_registry reg;
    nnb_test_load_runners(&reg);
    if (argc > 1 && !strcmp(argv[1], "--bench")) {
        bench(&reg, argc - 2, argv + 2);
        nnb_registry_free(&reg);
        return 0;
    }
    const char *fast[] = {"jit", "jit_premul", "aten", "jit_premul_bias", "jit_multilayer"};
    const char *onednn[] = {"cudnn", "cudnn_dropout"};
    const int have_onednn = nnb_registry_find(&reg, "cudnn") != NULL;
    if (!have_onednn)
        printf("note: oneDNN runners not built: cudnn not checked\n");
    for (size_t k = 0; k < sizeof small_shapes / sizeof *small_shapes; k++) {
        check_runner(&reg, "py", &small_shapes[k], 1);
        for (size_t i = 0; i < sizeof fast / sizeof *fast; i++)
            check_runner(&reg, fast[i], &small_shapes[k], 1);
        for (size_t i = 0; have_onednn && i < sizeof onednn / sizeof *onednn; i++)
            check_runner(&reg, onednn[i], &small_shapes[k], 1);
    }
    const char *big[] = {"py", "jit", "jit_premul", "cudnn"};
    for (size_t i = 0; i < sizeof big / sizeof *big; i++)
        if (have_onednn || strcmp(big[i], "cudnn"))
            check_runner(&reg, big[i], &big_shape, 0);
    /* The portable GEMM paths: packed operands there point at the model's arrays instead of copying them. */
    const char *impls[] = {"cblas", "plain"};
    for (size_t g = 0; g < 2; g++) {
        setenv("NNB_CPU_GEMM", impls[g], 1);
        check_runner(&reg, "jit", &small_shapes[1], 1);
        check_runner(&reg, "jit_premul", &small_shapes[3], 1);
    }
    unsetenv("NNB_CPU_GEMM");
    nnb_registry_free(&reg);
    return nnb_test_finish();
}
