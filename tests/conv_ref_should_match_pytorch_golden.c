/*
 * The convolution reference (kernels/conv_ref) and the conv_ref runner against PyTorch's golden cases (every
 * folder of tests/data/conv_golden, made by tools/pytorch_compare/conv_golden.py): groups (g = 2, depthwise,
 * depthwise with multiplier 2), strides 2 and 3, padding, dilation, odd and non-square sizes, 1x1, no bias, and
 * two 3-D cases; outputs y, dx, dw, db.
 *
 * The golden outputs are F.conv2d / F.conv3d and autograd in float64 on float32 inputs, stored unrounded. Ours
 * accumulate in double too (another order) and round to float32 once, so per element
 *   |got - golden| <= 2^-24 |golden|          (our final rounding: half an ulp)
 *                   + 2 n 2^-53 S               (both float64 sums of n terms, S = the sum of |terms|)
 * The test allows one float32 ulp (2^-23 |golden|) plus 1e-12 S, S from the same kernel on |x|, |w|, |b|,
 * |grad_y| (n <= 600 here: 2 n 2^-53 < 1.4e-13). A wrong tap, padding or group is off by a whole term (~1e-1),
 * a float32 accumulation by ~1e-7 S: both fail.
 *
 * The runner: created from the case's problem, its inputs replaced by the golden ones (w and b through
 * load_param; x and grad_y written into the buffers params() exposes, the test's shortcut, as load_param takes
 * parameters only), then forward and backward; the same bound.
 */
#include "conv_ref.h"
#include "conv_ref_runner.h"
#include "test_support.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#define MIN_CASES 12
#define ULP_FACTOR 0x1p-23
#define SUM_FACTOR 1e-12

enum { X, W, B, GY, Y, DX, DW, DB, NARRAYS };
static const char *const names[NARRAYS] = {"x", "w", "b", "grad_y", "y", "dx", "dw", "db"};

typedef struct golden_case {
    char dir[1024];
    nnb_conv_problem prob;
    char name[64];
    float *in[4];     /* x, w, b, grad_y (b NULL without bias) */
    double *out[4];   /* y, dx, dw, db */
    int64_t count[4]; /* x, w, b, y elements */
} golden_case;

static int64_t json_int(const cJSON *j, const char *key, int *ok) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    *ok &= cJSON_IsNumber(v);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

static int read_meta(golden_case *c) {
    char path[1200];
    snprintf(path, sizeof path, "%s/meta.json", c->dir);
    cJSON *j = nnb_test_read_json(path);
    CHECK_MSG(j != NULL, "cannot read %s", path);
    if (!j)
        return -1;
    nnb_conv_problem *p = &c->prob;
    int ok = 1;
    p->struct_size = sizeof *p;
    p->ndims = (int)json_int(j, "ndims", &ok);
    int64_t *fields[] = {&p->g,  &p->mb, &p->ic, &p->oc, &p->id, &p->ih, &p->iw, &p->od, &p->oh, &p->ow, &p->kd,
                         &p->kh, &p->kw, &p->sd, &p->sh, &p->sw, &p->pd, &p->ph, &p->pw, &p->dd, &p->dh, &p->dw};
    const char *keys[] = {"g",  "mb", "ic", "oc", "id", "ih", "iw", "od", "oh", "ow", "kd",
                          "kh", "kw", "sd", "sh", "sw", "pd", "ph", "pw", "dd", "dh", "dw"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        *fields[i] = json_int(j, keys[i], &ok);
    p->has_bias = (int)json_int(j, "bias", &ok);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "name");
    snprintf(c->name, sizeof c->name, "%s", cJSON_IsString(name) ? name->valuestring : "?");
    p->name = c->name;
    cJSON_Delete(j);
    CHECK_MSG(ok && (p->ndims == 4 || p->ndims == 5), "%s: bad meta.json", path);
    return ok ? 0 : -1;
}

/* <dir>/<name>.npy with the expected dtype and element count (shapes are checked by count: the layouts are
 * fixed); malloc'ed data, or NULL after recording a failure. */
static void *load(const golden_case *c, int which, nnb_dtype dtype, int64_t count) {
    char path[1200], err[256] = "";
    snprintf(path, sizeof path, "%s/%s.npy", c->dir, names[which]);
    nnb_npy_array a;
    if (nnb_npy_read(path, &a, err, sizeof err)) {
        CHECK_MSG(0, "%s", err);
        return NULL;
    }
    int ok = a.dtype == dtype && a.count == count;
    CHECK_MSG(ok, "%s: dtype %d, %lld elements; expected dtype %d, %lld", path, (int)a.dtype, (long long)a.count,
              (int)dtype, (long long)count);
    if (!ok)
        nnb_npy_free(&a);
    return ok ? a.data : NULL;
}

static nnb_conv_geom geom_of(const nnb_conv_problem *p) {
    return (nnb_conv_geom){p->g,  p->mb, p->ic, p->oc, p->id, p->ih, p->iw, p->od, p->oh, p->ow, p->kd,
                           p->kh, p->kw, p->sd, p->sh, p->sw, p->pd, p->ph, p->pw, p->dd, p->dh, p->dw};
}

static int load_case(golden_case *c) {
    if (read_meta(c))
        return -1;
    const nnb_conv_problem *p = &c->prob;
    nnb_conv_geom g = geom_of(p);
    c->count[0] = nnb_conv_geom_x_count(&g);
    c->count[1] = nnb_conv_geom_w_count(&g);
    c->count[2] = p->oc;
    c->count[3] = nnb_conv_geom_y_count(&g);
    const int in_count[4] = {0, 1, 2, 3}, out_count[4] = {3, 0, 1, 2}; /* y as grad_y, dx as x, dw as w, db as b */
    for (int k = 0; k < 4; k++) {
        if (!(k == 2 && !p->has_bias) && !(c->in[k] = load(c, X + k, NNB_F32, c->count[in_count[k]])))
            return -1;
        if (!(k == 3 && !p->has_bias) && !(c->out[k] = load(c, Y + k, NNB_F64, c->count[out_count[k]])))
            return -1;
    }
    return 0;
}

static void free_case(golden_case *c) {
    for (int k = 0; k < 4; k++)
        free(c->in[k]), free(c->out[k]);
}

static float *abs_copy(const float *v, int64_t n) {
    float *a = malloc((size_t)(n ? n : 1) * sizeof *a);
    for (int64_t i = 0; i < n; i++)
        a[i] = fabsf(v[i]);
    return a;
}

/* S per output element: the same passes on absolute values ([0] y, [1] dx, [2] dw, [3] db). */
static void term_sums(const golden_case *c, float *s[4]) {
    nnb_conv_geom g = geom_of(&c->prob);
    float *ax = abs_copy(c->in[0], c->count[0]), *aw = abs_copy(c->in[1], c->count[1]);
    float *ab = c->in[2] ? abs_copy(c->in[2], c->count[2]) : NULL, *agy = abs_copy(c->in[3], c->count[3]);
    s[0] = malloc((size_t)c->count[3] * sizeof(float));
    s[1] = malloc((size_t)c->count[0] * sizeof(float));
    s[2] = malloc((size_t)c->count[1] * sizeof(float));
    s[3] = malloc((size_t)c->count[2] * sizeof(float));
    CHECK(nnb_conv_ref_forward(&g, ax, aw, ab, s[0]) == 0);
    CHECK(nnb_conv_ref_backward_data(&g, agy, aw, s[1]) == 0);
    CHECK(nnb_conv_ref_backward_weights(&g, ax, agy, s[2], s[3]) == 0);
    free(ax), free(aw), free(ab), free(agy);
}

/* One tensor against its golden values within the bound above; prints the worst error in float32 ulps. */
static void compare(const char *who, const golden_case *c, int k, const float *got, const float *sum) {
    const int count_of[4] = {3, 0, 1, 2};
    int64_t n = c->count[count_of[k]], bad = 0;
    double worst_ulps = 0;
    for (int64_t i = 0; i < n; i++) {
        double gold = c->out[k][i], err = fabs((double)got[i] - gold);
        double tol = ULP_FACTOR * fabs(gold) + SUM_FACTOR * (double)sum[i];
        bad += !(err <= tol);
        double ulp = fmax(ULP_FACTOR * fabs(gold), 0x1p-149);
        worst_ulps = fmax(worst_ulps, err / ulp);
    }
    CHECK_MSG(bad == 0 && n > 0, "%s %s %s: %lld of %lld elements outside the bound", who, c->name, names[Y + k],
              (long long)bad, (long long)n);
    printf("%-8s %-20s %-3s %5lld elements, worst %.2f ulp\n", who, c->name, names[Y + k], (long long)n, worst_ulps);
}

static void check_kernel(const golden_case *c, float *const sums[4]) {
    nnb_conv_geom g = geom_of(&c->prob);
    float *y = malloc((size_t)c->count[3] * sizeof *y), *dx = malloc((size_t)c->count[0] * sizeof *dx);
    float *dw = malloc((size_t)c->count[1] * sizeof *dw), *db = malloc((size_t)c->count[2] * sizeof *db);
    CHECK(nnb_conv_ref_forward(&g, c->in[0], c->in[1], c->in[2], y) == 0);
    CHECK(nnb_conv_ref_backward_data(&g, c->in[3], c->in[1], dx) == 0);
    CHECK(nnb_conv_ref_backward_weights(&g, c->in[0], c->in[3], dw, c->in[2] ? db : NULL) == 0);
    float *got[4] = {y, dx, dw, db};
    for (int k = 0; k < 4; k++)
        if (c->out[k])
            compare("kernel", c, k, got[k], sums[k]);
    free(y), free(dx), free(dw), free(db);
}

static const nnb_tensor *find(nnb_tensor_list l, const char *name) {
    for (int i = 0; i < l.count; i++)
        if (!strcmp(l.items[i].name, name))
            return &l.items[i];
    return NULL;
}

static void check_runner(const golden_case *c, float *const sums[4]) {
    const nnb_runner_desc *d = &nnb_conv_ref_runner_desc;
    nnb_config cfg;
    nnb_config_defaults(&cfg);
    cfg.conv = &c->prob;
    char err[512] = "";
    void *m = d->create(&cfg, err, sizeof err);
    CHECK_MSG(m != NULL, "conv_ref create %s: %s", c->name, err);
    if (!m)
        return;
    nnb_tensor_list params;
    CHECK(d->params(m, &params, err, sizeof err) == 0);
    const int in_count[4] = {0, 1, 2, 3};
    for (int k = 0; k < 4; k++) {
        const nnb_tensor *t = find(params, names[X + k]);
        CHECK_MSG((t != NULL) == (c->in[k] != NULL), "%s: params() %s %s", c->name, names[X + k],
                  t ? "listed without a bias" : "missing");
        if (!t || !c->in[k])
            continue;
        if (k == 1 || k == 2) { /* w, b: parameters */
            nnb_tensor v = *t;
            v.data = c->in[k];
            CHECK_MSG(d->load_param(m, &v, err, sizeof err) == 0, "load_param %s: %s", t->name, err);
        } else { /* x, grad_y: inputs, written where params() shows them */
            memcpy((void *)t->data, c->in[k], (size_t)c->count[in_count[k]] * sizeof(float));
        }
    }
    CHECK(d->forward(m, err, sizeof err) == 0);
    CHECK(d->backward(m, err, sizeof err) == 0);
    nnb_tensor_list outs;
    CHECK(d->outputs(m, &outs, err, sizeof err) == 0);
    CHECK_MSG(outs.count == (c->prob.has_bias ? 4 : 3), "%s: %d outputs", c->name, outs.count);
    for (int k = 0; k < 4; k++) {
        const nnb_tensor *t = find(outs, names[Y + k]);
        if (c->out[k] && t)
            compare("runner", c, k, t->data, sums[k]);
        else
            CHECK_MSG(!c->out[k] && !t, "%s: output %s missing or unexpected", c->name, names[Y + k]);
    }
    d->destroy(m);
}

static int by_name(const void *a, const void *b) { return strcmp(a, b); }

int main(void) {
    char root[512];
    snprintf(root, sizeof root, "%s/conv_golden", nnb_test_env("NNBENCH_TEST_DATA"));
    DIR *dir = opendir(root);
    CHECK_MSG(dir != NULL, "cannot open %s", root);
    static char cases[64][256];
    int n = 0;
    for (struct dirent *e; dir && (e = readdir(dir)) && n < 64;)
        if (e->d_name[0] != '.')
            snprintf(cases[n++], sizeof cases[0], "%s", e->d_name);
    if (dir)
        closedir(dir);
    qsort(cases, (size_t)n, sizeof *cases, by_name);
    CHECK_MSG(n >= MIN_CASES, "%d golden cases in %s, expected at least %d", n, root, MIN_CASES);
    for (int i = 0; i < n; i++) {
        golden_case c = {0};
        snprintf(c.dir, sizeof c.dir, "%s/%.255s", root, cases[i]);
        if (load_case(&c) == 0) {
            float *sums[4];
            term_sums(&c, sums);
            check_kernel(&c, sums);
            check_runner(&c, sums);
            for (int k = 0; k < 4; k++)
                free(sums[k]);
        }
        free_case(&c);
    }
    return nnb_test_finish();
}
