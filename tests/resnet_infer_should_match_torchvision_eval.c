/*
 * The ResNet runners' eval-mode inference (ABI 1.2 infer) against torchvision's eval(), every case folder of
 * tests/data/resnet_infer (ResNet-18 and ResNet-50, N=2, S=64, seed 5): the runner is created from the case's
 * seed and sizes (so its weights and x are the ones the golden logits were computed from: checked through
 * sums recorded in meta.json), every BatchNorm gets the transform of resnet_infer_support.h through
 * load_param, and infer(N)'s logits, and infer(1)'s single row, are compared with the golden ones.
 *
 * The golden logits are torchvision's model.eval() in float64 on those float32 weights and inputs, rounded to
 * float32 (tools/pytorch_compare/resnet_infer_golden.py, whose header says how to rerun it). Tolerances
 * (normwise max|got - golden| / max|golden|):
 *   resnet18_ref, resnet50_ref (double loops)  REF_TOL 1e-5: only the golden data's float32 rounding and the
 *                                              reference's float32 outputs remain (measured ~1e-7);
 *   resnet18, resnet50 and _jit (oneDNN fp32)  ONEDNN_TOL 1e-4, with --onednn (tests/resnet_infer.cmake passes
 *                                              it when the plugin is built; measured: see the printed errors).
 */
#include "resnet_infer_support.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>

#define REF_TOL 1e-5
#define ONEDNN_TOL 1e-4
#define MAX_N 8

typedef struct golden_case {
    char dir[1024];
    int depth;
    int64_t n, s;
    uint64_t seed;
    cJSON *checksums;
    float logits[MAX_N * NNB_RESNET_CLASSES];
} golden_case;

static int read_case(golden_case *c) {
    char path[1100];
    snprintf(path, sizeof path, "%s/meta.json", c->dir);
    cJSON *j = nnb_test_read_json(path);
    CHECK_MSG(j != NULL, "cannot read %s", path);
    if (!j)
        return -1;
    const cJSON *depth = cJSON_GetObjectItemCaseSensitive(j, "depth"),
                *n = cJSON_GetObjectItemCaseSensitive(j, "batch");
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "image_size"),
                *seed = cJSON_GetObjectItemCaseSensitive(j, "seed");
    int ok = cJSON_IsNumber(depth) && cJSON_IsNumber(n) && cJSON_IsNumber(s) && cJSON_IsNumber(seed);
    if (ok) {
        c->depth = depth->valueint, c->n = (int64_t)n->valuedouble, c->s = (int64_t)s->valuedouble;
        c->seed = (uint64_t)seed->valuedouble;
        ok = c->n >= 1 && c->n <= MAX_N;
    }
    c->checksums = cJSON_DetachItemFromObjectCaseSensitive(j, "checksums");
    cJSON_Delete(j);
    CHECK_MSG(ok && c->checksums, "%s: bad meta.json", path);
    if (!ok || !c->checksums)
        return -1;
    char err[512] = "";
    nnb_npy_array a;
    snprintf(path, sizeof path, "%s/logits.npy", c->dir);
    if (nnb_npy_read(path, &a, err, sizeof err)) {
        CHECK_MSG(0, "%s", err);
        return -1;
    }
    ok = a.dtype == NNB_F32 && a.ndim == 2 && a.shape[0] == c->n && a.shape[1] == NNB_RESNET_CLASSES;
    CHECK_MSG(ok, "%s: not float32 (%lld, 1000)", path, (long long)c->n);
    if (ok)
        memcpy(c->logits, a.data, (size_t)c->n * NNB_RESNET_CLASSES * sizeof(float));
    nnb_npy_free(&a);
    return ok ? 0 : -1;
}

/* The runner's seeded tensors are the ones the golden logits were made from (sums recorded by the script). */
static int check_seeded_tensors(const golden_case *c, const nnb_runner_desc *d, void *m) {
    char err[512] = "";
    nnb_tensor_list in;
    if (d->params(m, &in, err, sizeof err))
        return -1;
    int bad = 0;
    const cJSON *entry;
    cJSON_ArrayForEach(entry, c->checksums) {
        const nnb_tensor *t = ri_find(in, entry->string);
        const cJSON *sum = cJSON_GetObjectItemCaseSensitive(entry, "sum"),
                    *sq = cJSON_GetObjectItemCaseSensitive(entry, "sum_squares");
        double s1 = 0, s2 = 0;
        for (size_t i = 0; t && i < ri_count(t); i++) {
            double v = ((const float *)t->data)[i];
            s1 += v, s2 += v * v;
        }
        int ok = t && cJSON_IsNumber(sum) && cJSON_IsNumber(sq) &&
                 fabs(s1 - sum->valuedouble) <= 1e-9 * fmax(1.0, s2) && fabs(s2 - sq->valuedouble) <= 1e-9 * s2;
        CHECK_MSG(ok,
                  "%s: %s: %s is not the tensor the golden logits were made from (sum %.17g, recorded %.17g): "
                  "the seeded initialisation changed; rerun tools/pytorch_compare/resnet_infer_golden.py",
                  c->dir, d->name, entry->string, s1, cJSON_IsNumber(sum) ? sum->valuedouble : 0.0);
        bad += !ok;
    }
    return bad ? -1 : 0;
}

static void check_runner(const golden_case *c, const nnb_registry *reg, const char *name, double tol) {
    const nnb_runner_desc *d = nnb_test_runner(reg, name);
    if (!d)
        return;
    CHECK_MSG(d->infer && d->load_param, "%s: no infer / load_param", name);
    if (!d->infer || !d->load_param)
        return;
    nnb_config cfg;
    nnb_config_defaults(&cfg);
    cfg.cnn_batch = c->n, cfg.image_size = c->s, cfg.seed = c->seed, cfg.threads = 2;
    char err[512] = "";
    void *m = d->create(&cfg, err, sizeof err);
    CHECK_MSG(m != NULL, "%s: %s", name, err);
    nnb_resnet_arch arch;
    memset(&arch, 0, sizeof arch);
    static float got[MAX_N * NNB_RESNET_CLASSES];
    if (!m || check_seeded_tensors(c, d, m) || nnb_resnet_arch_build(&arch, c->depth, c->n, c->s, err, sizeof err))
        goto done;
    CHECK_MSG(ri_load_bn_transform(d, m, &arch, err, sizeof err) == 0, "%s: %s", name, err);
    if (ri_infer_logits(d, m, c->n, got) == 0) {
        double e = ri_normwise(got, c->logits, (size_t)c->n * NNB_RESNET_CLASSES);
        printf("%s: %s infer(%lld) vs torchvision eval(): %.3g\n", c->dir, name, (long long)c->n, e);
        CHECK_MSG(e <= tol, "%s: %s infer(%lld) vs torchvision eval(): normwise error %.3g > %g", c->dir, name,
                  (long long)c->n, e, tol);
    }
    if (ri_infer_logits(d, m, 1, got) == 0) {
        double e = ri_normwise(got, c->logits, NNB_RESNET_CLASSES);
        CHECK_MSG(e <= tol, "%s: %s infer(1) vs torchvision's first row: normwise error %.3g > %g", c->dir, name, e,
                  tol);
    }
done:
    nnb_resnet_arch_free(&arch);
    d->destroy(m);
}

/* --onednn: the oneDNN plugin is built; hold its runners to the golden logits too. */
int main(int argc, char **argv) {
    int with_onednn = argc > 1 && !strcmp(argv[1], "--onednn");
    nnb_registry reg;
    nnb_test_load_runners(&reg);
    char root[512];
    snprintf(root, sizeof root, "%s/resnet_infer", nnb_test_env("NNBENCH_TEST_DATA"));
    DIR *dir = opendir(root);
    CHECK_MSG(dir != NULL, "cannot open %s", root);
    int cases = 0;
    for (struct dirent *e; dir && (e = readdir(dir));) {
        if (e->d_name[0] == '.')
            continue;
        static golden_case c;
        memset(&c, 0, sizeof c);
        snprintf(c.dir, sizeof c.dir, "%s/%s", root, e->d_name);
        if (read_case(&c) == 0) {
            char name[32];
            snprintf(name, sizeof name, "resnet%d_ref", c.depth);
            check_runner(&c, &reg, name, REF_TOL);
            for (int jit = 0; with_onednn && jit < 2; jit++) {
                snprintf(name, sizeof name, "resnet%d%s", c.depth, jit ? "_jit" : "");
                check_runner(&c, &reg, name, ONEDNN_TOL);
            }
            cases++;
        }
        cJSON_Delete(c.checksums);
    }
    if (dir)
        closedir(dir);
    CHECK_MSG(cases >= 2, "only %d golden cases in %s", cases, root);
    nnb_registry_free(&reg);
    return nnb_test_finish();
}
