/*
 * The oneDNN ResNet runners' inference entry (ABI 1.2 infer, load_param) against the plain C double
 * reference's eval mode, N=3, S=64, seed 7, 2 threads, after load_param has set every BatchNorm's weight,
 * bias and running statistics to the non-trivial transform of resnet_infer_support.h in both:
 *   - infer(n) logits equal the reference's infer(n) for n = 3, 1, 2 (normwise, TOL);
 *   - batch independence: infer(n)'s logits are the first n rows of infer(N)'s (the reference's bitwise; oneDNN
 *     within BATCH_TOL, since a net for another n may pick other kernels);
 *   - repeatable: infer(N) after the other n gives bitwise the first infer(N)'s logits, and the running
 *     statistics in outputs() after infer are bitwise the loaded ones (infer updates nothing);
 *   - outputs() after infer: logits (n, 1000) and the running statistics only;
 *   - load_param of new convolution and fc weights reaches the inference nets already built (their weight
 *     copies are refreshed): infer(N) still equals the reference's with the new weights;
 *   - resnet18 / resnet18_jit: a training step after that (train-mode BatchNorm with the loaded weight and
 *     bias, the reloaded weights in the forward and backward-data layouts) equals the reference's: logits and
 *     running statistics within TRAIN_TOL (max norm, as resnet_runners_should_match_reference), gradients
 *     within GRAD_L2_TOL in the L2 norm (with loaded parameters fp32 rounding may flip a ReLU decision, which
 *     BatchNorm's backward spreads over a channel: seen at layer2.1 with a milder weight change, the ResNet-50
 *     effect of docs/resnet.md; a stale weight copy gives L2 errors above 1); infer(N) afterwards uses the
 *     running statistics that step updated, as the reference does;
 *   - another thread runs the nets built in this one (as a server's workers do after its first request):
 *     bitwise the same logits. oneDNN documents its default library scratchpad as tied to the creating thread,
 *     so the nets use the model's own (user mode); Debian's oneDNN 2.6.3 also passes this in library mode, so
 *     this checks the contract, not that choice;
 *   - infer(0) and infer(N+1) are errors naming the range; describe() reports the inference nets.
 *
 * Tolerances (normwise max|got - ref| / max|ref|): the eval-mode forward has no batch statistics to amplify
 * rounding, so fp32 oneDNN vs the double reference stays at fp32 accumulation error (measured on an AVX-512
 * machine: 8.5e-7 resnet18, 8.7e-7 resnet50; rows 4e-7; training step 2.5e-6 max norm, 6e-6 L2). TOL 1e-4
 * keeps a wide margin for other ISAs' kernels and catches any real mistake (batch statistics instead of
 * running ones, a skipped scale or shift, a stale weight copy: O(1)).
 */
#include "resnet_infer_support.h"

#include <pthread.h>
#include <stdio.h>

#define N 3
#define S 64
#define TOL 1e-4
#define BATCH_TOL 1e-5
#define TRAIN_TOL 2e-4
#define GRAD_L2_TOL 0.05

static nnb_config infer_config(void) {
    nnb_config cfg;
    nnb_config_defaults(&cfg);
    cfg.cnn_batch = N;
    cfg.image_size = S;
    cfg.threads = 2;
    cfg.seed = 7;
    return cfg;
}

typedef struct side {
    const nnb_runner_desc *d;
    void *m;
    float full[N * NNB_RESNET_CLASSES]; /* infer(N) logits (N, 1000) */
} side;

/* infer(n) of both, compared with each other and (rows) with their infer(N). */
static void check_n(side *a, side *r, int64_t n) {
    static float la[N * NNB_RESNET_CLASSES], lr[N * NNB_RESNET_CLASSES];
    if (ri_infer_logits(a->d, a->m, n, la) || ri_infer_logits(r->d, r->m, n, lr))
        return;
    size_t count = (size_t)n * NNB_RESNET_CLASSES;
    double e = ri_normwise(la, lr, count), rows = ri_normwise(la, a->full, count);
    printf("%s vs %s infer(%lld): %.3g; vs infer(%d)'s first rows: %.3g\n", a->d->name, r->d->name, (long long)n, e, N,
           rows);
    CHECK_MSG(e <= TOL, "%s vs %s infer(%lld): normwise error %.3g > %g", a->d->name, r->d->name, (long long)n, e, TOL);
    CHECK_MSG(rows <= BATCH_TOL, "%s: infer(%lld) differs from infer(%d)'s first rows by %.3g > %g", a->d->name,
              (long long)n, N, rows, BATCH_TOL);
    CHECK_MSG(memcmp(lr, r->full, count * sizeof *lr) == 0, "%s: infer(%lld) is not bitwise infer(%d)'s first rows",
              r->d->name, (long long)n, N);
}

/* After infer: outputs() is logits and the running statistics, bitwise as loaded (want: the transform). */
static void check_infer_outputs(const side *s, const nnb_resnet_arch *a, int expect_transform) {
    char err[512] = "";
    nnb_tensor_list out;
    if (s->d->outputs(s->m, &out, err, sizeof err)) {
        CHECK_MSG(0, "%s outputs: %s", s->d->name, err);
        return;
    }
    int stats = 0, changed = 0;
    int64_t k0 = 0;
    float *want = malloc(2048 * sizeof *want);
    for (int i = 0; want && i < a->num_params; i++) {
        const nnb_resnet_param *p = &a->params[i];
        if (!ri_is_bn(p->kind))
            continue;
        if (!p->learnable) {
            stats++;
            const nnb_tensor *t = ri_find(out, p->name);
            CHECK_MSG(t && ri_count(t) == p->count, "%s: no %s after infer", s->d->name, p->name);
            ri_bn_fill(p, k0, want);
            if (t && ri_count(t) == p->count && expect_transform)
                changed += memcmp(t->data, want, p->count * sizeof *want) != 0;
        }
        if (p->kind == NNB_RESNET_BN_RUNNING_VAR)
            k0 += (int64_t)p->count;
    }
    free(want);
    CHECK_MSG(out.count == 1 + stats, "%s: outputs() after infer lists %d tensors, want logits + %d running statistics",
              s->d->name, out.count, stats);
    CHECK_MSG(changed == 0, "%s: infer changed %d running statistics", s->d->name, changed);
}

/* New weights for every convolution and the fc, the same in both: each tensor's values in reverse order (the
 * same distribution, so activations keep their scale, but O(1) away from the old weights: a stale copy in any
 * layout gives O(1) errors). */
static void reload_weights(side *a, side *r, const nnb_resnet_arch *arch) {
    char err[512] = "";
    nnb_tensor_list in;
    if (r->d->params(r->m, &in, err, sizeof err))
        return;
    for (int i = 0; i < arch->num_params; i++) {
        const nnb_resnet_param *p = &arch->params[i];
        if (p->kind != NNB_RESNET_CONV_WEIGHT && p->kind != NNB_RESNET_FC_WEIGHT)
            continue;
        const nnb_tensor *t = ri_find(in, p->name);
        float *w = t ? malloc(p->count * sizeof *w) : NULL;
        if (!w)
            continue;
        for (size_t k = 0; k < p->count; k++)
            w[k] = ((const float *)t->data)[p->count - 1 - k];
        nnb_tensor v = *t;
        v.data = w;
        CHECK_MSG(a->d->load_param(a->m, &v, err, sizeof err) == 0, "%s load_param %s: %s", a->d->name, p->name, err);
        CHECK_MSG(r->d->load_param(r->m, &v, err, sizeof err) == 0, "%s load_param %s: %s", r->d->name, p->name, err);
        free(w);
        if (r->d->params(r->m, &in, err, sizeof err)) /* valid until the next call */
            return;
    }
}

/* ||got - ref|| / ||ref|| */
static double l2_error(const float *got, const float *ref, size_t n) {
    double d2 = 0, r2 = 0;
    for (size_t i = 0; i < n; i++) {
        double e = (double)got[i] - (double)ref[i];
        d2 += e * e, r2 += (double)ref[i] * ref[i];
    }
    return isnan(d2) ? INFINITY : sqrt(d2 / fmax(r2, 1e-300));
}

/* One training step of both after the loads: logits and running statistics within TRAIN_TOL (max norm),
 * gradients within GRAD_L2_TOL (L2 norm; see the header). */
static void check_training_step(side *a, side *r) {
    char err[512] = "";
    nnb_tensor_list oa, orf;
    CHECK_MSG(nnb_run_once(a->d, a->m, 1, err, sizeof err) == 0, "%s step: %s", a->d->name, err);
    CHECK_MSG(nnb_run_once(r->d, r->m, 1, err, sizeof err) == 0, "%s step: %s", r->d->name, err);
    if (a->d->outputs(a->m, &oa, err, sizeof err) || r->d->outputs(r->m, &orf, err, sizeof err))
        return;
    CHECK_MSG(oa.count == orf.count && oa.count > 100, "%s: %d training outputs, reference %d", a->d->name, oa.count,
              orf.count);
    double worst_fwd = 0, worst_grad = 0;
    for (int i = 0; i < oa.count; i++) {
        const nnb_tensor *t = &oa.items[i], *u = ri_find(orf, t->name);
        CHECK_MSG(u && ri_count(u) == ri_count(t), "%s: reference has no %s", r->d->name, t->name);
        if (!u || ri_count(u) != ri_count(t))
            continue;
        int gradient = t->name[0] == 'd';
        double e = gradient ? l2_error(t->data, u->data, ri_count(t)) : ri_normwise(t->data, u->data, ri_count(t));
        double tol = gradient ? GRAD_L2_TOL : TRAIN_TOL;
        if (gradient)
            worst_grad = fmax(worst_grad, e);
        else
            worst_fwd = fmax(worst_fwd, e);
        CHECK_MSG(e <= tol, "%s vs %s training step after load_param: %s %s error %.3g > %g", a->d->name, r->d->name,
                  t->name, gradient ? "L2" : "normwise", e, tol);
    }
    printf("%s vs %s training step after load_param: logits and running statistics %.3g (max norm), gradients "
           "%.3g (L2)\n",
           a->d->name, r->d->name, worst_fwd, worst_grad);
}

typedef struct worker_job {
    side *s;
    int64_t n;
    float logits[N * NNB_RESNET_CLASSES];
    int rc;
} worker_job;

static void *worker(void *p) {
    worker_job *j = p;
    j->rc = ri_infer_logits(j->s->d, j->s->m, j->n, j->logits);
    return NULL;
}

/* infer(N) and infer(1) in a thread of their own, with the nets this thread built. */
static void check_other_thread(side *a) {
    static worker_job j;
    for (int64_t n = N; n >= 1; n -= N - 1) {
        j.s = a, j.n = n, j.rc = -1;
        pthread_t th;
        int started = pthread_create(&th, NULL, worker, &j) == 0;
        CHECK_MSG(started, "cannot start a thread");
        if (!started)
            return;
        pthread_join(th, NULL);
        static float here[N * NNB_RESNET_CLASSES];
        if (j.rc || ri_infer_logits(a->d, a->m, n, here))
            continue;
        CHECK_MSG(memcmp(j.logits, here, (size_t)n * NNB_RESNET_CLASSES * sizeof *here) == 0,
                  "%s: infer(%lld) in another thread differs", a->d->name, (long long)n);
    }
}

static void check_range_errors(const side *s) {
    char err[512] = "";
    CHECK(s->d->infer(s->m, 0, err, sizeof err) != 0);
    CHECK_STR_CONTAINS(err, "infer: n = 0 outside 1..3");
    CHECK(s->d->infer(s->m, N + 1, err, sizeof err) != 0);
    CHECK_STR_CONTAINS(err, "infer: n = 4 outside 1..3");
    CHECK_MSG(!strncmp(err, s->d->name, strlen(s->d->name)), "%s: error does not name the runner: %s", s->d->name, err);
}

static void check_errors_and_describe(const side *a, const side *r) {
    check_range_errors(a);
    check_range_errors(r);
    static char info[8192];
    CHECK(a->d->describe(a->m, info, sizeof info) == 0);
    printf("%s: %s\n", a->d->name, info);
    CHECK_STR_CONTAINS(info, "\"infer\":{\"prop_kind\":\"forward_inference\"");
    CHECK_STR_CONTAINS(info, "use_global_stats");
    CHECK_STR_CONTAINS(info, "{\"n\":1,");
    CHECK_STR_CONTAINS(info, "{\"n\":3,");
}

static void check_pair(const nnb_registry *reg, const char *runner, const char *reference, int training) {
    side *a = calloc(1, sizeof *a), *r = calloc(1, sizeof *r);
    nnb_config cfg = infer_config();
    char err[512] = "";
    nnb_resnet_arch arch;
    memset(&arch, 0, sizeof arch);
    if (!a || !r || !(a->d = nnb_test_runner(reg, runner)) || !(r->d = nnb_test_runner(reg, reference)))
        goto done;
    CHECK_MSG(a->d->infer && a->d->load_param && r->d->infer && r->d->load_param, "%s / %s: no ABI 1.2 entries", runner,
              reference);
    a->m = a->d->create(&cfg, err, sizeof err);
    CHECK_MSG(a->m != NULL, "%s: %s", runner, err);
    r->m = r->d->create(&cfg, err, sizeof err);
    CHECK_MSG(r->m != NULL, "%s: %s", reference, err);
    if (!a->m || !r->m || nnb_resnet_arch_build(&arch, nnb_resnet_depth_from_name(runner), N, S, err, sizeof err))
        goto done;
    nnb_tensor_list pa, pr;
    CHECK(a->d->params(a->m, &pa, err, sizeof err) == 0 && r->d->params(r->m, &pr, err, sizeof err) == 0 &&
          nnb_compare_params(&pr, &pa, err, sizeof err) == 0);
    CHECK_MSG(ri_load_bn_transform(a->d, a->m, &arch, err, sizeof err) == 0, "%s: %s", runner, err);
    CHECK_MSG(ri_load_bn_transform(r->d, r->m, &arch, err, sizeof err) == 0, "%s: %s", reference, err);

    if (ri_infer_logits(a->d, a->m, N, a->full) || ri_infer_logits(r->d, r->m, N, r->full))
        goto done;
    check_n(a, r, N);
    for (int64_t n = 1; n < N; n++)
        check_n(a, r, n);
    static float again[N * NNB_RESNET_CLASSES];
    if (ri_infer_logits(a->d, a->m, N, again) == 0)
        CHECK_MSG(memcmp(again, a->full, sizeof again) == 0, "%s: infer(%d) twice differs", runner, N);
    if (ri_infer_logits(r->d, r->m, N, again) == 0)
        CHECK_MSG(memcmp(again, r->full, sizeof again) == 0, "%s: infer(%d) twice differs", reference, N);
    check_infer_outputs(a, &arch, 1);
    check_infer_outputs(r, &arch, 1);

    reload_weights(a, r, &arch);
    static float before[N * NNB_RESNET_CLASSES];
    memcpy(before, a->full, sizeof before);
    if (ri_infer_logits(a->d, a->m, N, a->full) || ri_infer_logits(r->d, r->m, N, r->full))
        goto done;
    double moved = ri_normwise(a->full, before, N * NNB_RESNET_CLASSES);
    CHECK_MSG(moved > 1e-3, "%s: new weights changed the logits by only %.3g", runner, moved);
    check_n(a, r, N);
    if (training) {
        check_training_step(a, r);
        if (ri_infer_logits(a->d, a->m, N, a->full) || ri_infer_logits(r->d, r->m, N, r->full))
            goto done;
        check_n(a, r, N); /* with the running statistics that step updated */
        check_infer_outputs(a, &arch, 0);
    }
    check_other_thread(a);
    check_errors_and_describe(a, r);
done:
    nnb_resnet_arch_free(&arch);
    if (a && a->m)
        a->d->destroy(a->m);
    if (r && r->m)
        r->d->destroy(r->m);
    free(a), free(r);
}

int main(void) {
    nnb_registry reg;
    nnb_test_load_runners(&reg);
    check_pair(&reg, "resnet18", "resnet18_ref", 1);
    check_pair(&reg, "resnet18_jit", "resnet18_ref", 1);
    check_pair(&reg, "resnet50", "resnet50_ref", 0);
    check_pair(&reg, "resnet50_jit", "resnet50_ref", 0);
    nnb_registry_free(&reg);
    return nnb_test_finish();
}
