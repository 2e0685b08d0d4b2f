#define _GNU_SOURCE
/* --weights DIR (nnb_serve_load_weights) on what `nnbench --dump` writes: a dump of seed 11's parameters
 * (after a training step, so the ResNet's BatchNorm running statistics are not the initial 0 and 1) loaded
 * into runners created from seed 22 makes an optimised runner and its plain C reference give the same
 * inference outputs, different from seed 22's own; a missing array, and an array of another shape, are
 * errors naming the tensor, the file and both shapes. Then `nnbench serve --weights` through the binary. */
#include "serve.h"
#include "test_support.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static char dir[128], out[1 << 16], err[1 << 16];
#define sh(...) nnb_test_runf(out, sizeof out, err, sizeof err, __VA_ARGS__)

static const nnb_tensor *find(const nnb_tensor_list *l, const char *name) {
    for (int i = 0; i < l->count; i++)
        if (!strcmp(l->items[i].name, name))
            return &l->items[i];
    return NULL;
}

static int64_t elements(const nnb_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= t->shape[i];
    return n;
}

/* Normwise relative difference of two float tensors (same shape), or -1 when they cannot be compared. */
static double rel_diff(const nnb_tensor *a, const nnb_tensor *b) {
    if (!a || !b || a->dtype != NNB_F32 || b->dtype != NNB_F32 || elements(a) != elements(b))
        return -1;
    const float *x = a->data, *y = b->data;
    double num = 0, den = 0;
    for (int64_t i = 0; i < elements(a); i++)
        num += ((double)x[i] - y[i]) * ((double)x[i] - y[i]), den += (double)y[i] * y[i];
    return sqrt(num / (den > 0 ? den : 1));
}

/* A copy of the output `name` after infer(n) of runner `d` on cfg, with --weights from wdir (NULL: none). */
static float *infer_output(const nnb_runner_desc *d, const nnb_config *cfg, const char *wdir, int64_t n,
                           const char *name, nnb_tensor *shape_out) {
    char msg[1024];
    void *m = d->create(cfg, msg, sizeof msg);
    CHECK_MSG(m != NULL, "%s create: %s", d->name, msg);
    if (!m)
        return NULL;
    float *copy = NULL;
    int rc = wdir ? nnb_serve_load_weights(d, m, wdir, msg, sizeof msg) : 0;
    CHECK_MSG(rc == 0, "%s --weights %s: %s", d->name, wdir ? wdir : "(none)", msg);
    if (!rc && d->infer(m, n, msg, sizeof msg) == 0) {
        nnb_tensor_list outs;
        const nnb_tensor *t = d->outputs(m, &outs, msg, sizeof msg) == 0 ? find(&outs, name) : NULL;
        CHECK_MSG(t != NULL, "%s: output %s after infer", d->name, name);
        if (t && (copy = malloc(sizeof(float) * (size_t)elements(t)))) {
            memcpy(copy, t->data, sizeof(float) * (size_t)elements(t));
            *shape_out = *t;
            shape_out->data = copy;
        }
    } else if (!rc) {
        CHECK_MSG(0, "%s infer(%lld): %s", d->name, (long long)n, msg);
    }
    d->destroy(m);
    return copy;
}

static void same_outputs_from_the_same_weights(const nnb_registry *reg, const char *runner, const char *ref,
                                               const nnb_config *cfg, const char *wdir, int64_t n, const char *name,
                                               double tol) {
    const nnb_runner_desc *d = nnb_test_runner(reg, runner), *r = nnb_test_runner(reg, ref);
    if (!d || !r || !d->infer || !r->infer || !d->load_param || !r->load_param) {
        CHECK_MSG(0, "%s and %s need infer and load_param", runner, ref);
        return;
    }
    nnb_tensor a, b, c;
    float *ya = infer_output(d, cfg, wdir, n, name, &a), *yb = infer_output(r, cfg, wdir, n, name, &b),
          *yc = infer_output(d, cfg, NULL, n, name, &c);
    if (ya && yb && yc) {
        double same = rel_diff(&a, &b), other = rel_diff(&a, &c);
        CHECK_MSG(same >= 0 && same < tol, "%s vs %s with seed 11's weights: %s rel diff %.3g (tol %g)", runner, ref,
                  name, same, tol);
        CHECK_MSG(other > 100 * tol, "%s: the loaded weights change %s (rel diff %.3g from seed 22's own)", runner,
                  name, other);
    }
    free(ya), free(yb), free(yc);
}

/* The running statistics come too: they are outputs (forward updates them), not parameters. */
static void running_statistics_are_loaded(const nnb_registry *reg, const nnb_config *cfg, const char *wdir) {
    const nnb_runner_desc *d = nnb_test_runner(reg, "resnet18");
    char msg[1024], path[512];
    void *m = d ? d->create(cfg, msg, sizeof msg) : NULL;
    if (!m)
        return;
    CHECK_MSG(nnb_serve_load_weights(d, m, wdir, msg, sizeof msg) == 0, "%s", msg);
    nnb_tensor_list outs;
    const nnb_tensor *t = d->outputs(m, &outs, msg, sizeof msg) == 0 ? find(&outs, "layer2.1.bn2.running_var") : NULL;
    snprintf(path, sizeof path, "%s/layer2.1.bn2.running_var.npy", wdir);
    nnb_npy_array a;
    if (t && nnb_npy_read(path, &a, msg, sizeof msg) == 0) {
        nnb_tensor want = *t;
        want.data = a.data;
        double diff = rel_diff(t, &want), from_one = 0;
        for (int64_t i = 0; i < a.count; i++)
            from_one = fmax(from_one, fabs(((float *)a.data)[i] - 1.0));
        CHECK_MSG(from_one > 1e-3, "the dumped running_var is not the initial 1 (max |v - 1| %g)", from_one);
        CHECK_MSG(diff == 0, "loaded running_var equals the dump (rel diff %g)", diff);
        nnb_npy_free(&a);
    } else {
        CHECK_MSG(0, "layer2.1.bn2.running_var: output and dump file");
    }
    d->destroy(m);
}

static void bad_weight_files_are_named(const nnb_registry *reg, const nnb_config *cfg) {
    const nnb_runner_desc *d = nnb_test_runner(reg, "jit");
    if (!d)
        return;
    char msg[1024];
    void *m = d->create(cfg, msg, sizeof msg);
    if (!m)
        return;
    char wdir[256];
    snprintf(wdir, sizeof wdir, "%s/missing", dir);
    sh("mkdir -p %s && cp %s/lstm/jit/*.npy %s/ && rm %s/w_hh_l0.npy", wdir, dir, wdir, wdir);
    CHECK(nnb_serve_load_weights(d, m, wdir, msg, sizeof msg) == -1);
    CHECK_STR_CONTAINS(msg, "parameter w_hh_l0");
    CHECK_STR_CONTAINS(msg, "w_hh_l0.npy");
    snprintf(wdir, sizeof wdir, "%s/wide/jit", dir); /* a dump with another hidden size */
    CHECK(nnb_serve_load_weights(d, m, wdir, msg, sizeof msg) == -1);
    CHECK_STR_CONTAINS(msg, "w_ih_l0.npy has shape (44, 7), runner jit's w_ih_l0 is (36, 7)");
    d->destroy(m);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/nnb_weights_test_XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    const char *bin = nnb_test_env("NNBENCH_BIN");
    const char *lstm = "--device cpu --group rnns --seqLength 5 --miniBatch 3 --inputSize 7 --numLayers 2 "
                       "--warmup 0 --nloops 1 --threads 1";
    int rc = sh("%s %s --hiddenSize 9 --rnns jit --seed 11 --dump %s/lstm && "
                "%s %s --hiddenSize 11 --rnns jit --seed 11 --dump %s/wide",
                bin, lstm, dir, bin, lstm, dir);
    CHECK_MSG(rc == 0, "LSTM dumps: %s", err);
    rc = sh("%s --device cpu --group cnns --cnns resnet18 --cnn-batch 2 --image-size 40 --seed 11 --warmup 0 "
            "--nloops 1 --threads 1 --dump %s/cnn",
            bin, dir);
    CHECK_MSG(rc == 0, "ResNet dump: %s", err);

    nnb_registry reg;
    nnb_test_load_runners(&reg);
    nnb_config cfg = nnb_test_lstm_config(5, 3, 7, 9, 2, 22);
    cfg.threads = 1;
    char wdir[256];
    snprintf(wdir, sizeof wdir, "%s/lstm/jit", dir);
    same_outputs_from_the_same_weights(&reg, "jit", "py", &cfg, wdir, 2, "y", 1e-4);
    same_outputs_from_the_same_weights(&reg, "jit_premul", "py", &cfg, wdir, 3, "hy", 1e-4);
    bad_weight_files_are_named(&reg, &cfg);

    nnb_config cnn;
    nnb_config_defaults(&cnn);
    cnn.cnn_batch = 2, cnn.image_size = 40, cnn.seed = 22, cnn.threads = 1;
    snprintf(wdir, sizeof wdir, "%s/cnn/resnet18", dir);
    same_outputs_from_the_same_weights(&reg, "resnet18", "resnet18_ref", &cnn, wdir, 2, "logits", 2e-4);
    running_statistics_are_loaded(&reg, &cnn, wdir);
    nnb_registry_free(&reg);

    /* Through the binary: serve with the exported weights, and a dump that does not fit is refused. */
    rc = sh("%s serve --device cpu --runner resnet18 --image-size 40 --max-batch 2 --requests 4 --warmup-requests 1 "
            "--threads 1 --weights %s/cnn",
            bin, dir);
    CHECK_MSG(rc == 0, "nnbench serve --weights: exit %d: %s", rc, err);
    rc = sh("%s serve --device cpu --runner jit --seqLength 5 --inputSize 7 --hiddenSize 9 --numLayers 2 --requests 4 "
            "--threads 1 --weights %s/wide",
            bin, dir);
    CHECK(rc == 1);
    CHECK_STR_CONTAINS(err, "has shape (44, 7), runner jit's w_ih_l0 is (36, 7)");
    if (!nnb_test_failed)
        sh("rm -rf %s", dir);
    return nnb_test_finish();
}
