#include "conv_dnnl_support.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

const nnb_runner_desc *conv_dnnl_runner(void) {
    static const nnb_runner_desc *found;
    if (!found)
        found = conv_plugin_runner("nnb_cpu_conv.so");
    return found;
}

const nnb_runner_desc *conv_plugin_runner(const char *plugin_file) {
    const nnb_runner_desc *found = NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", nnb_test_env("NNBENCH_RUNNER_DIR"), plugin_file);
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    CHECK_MSG(lib != NULL, "dlopen %s: %s", path, dlerror());
    if (!lib)
        return NULL;
    nnb_plugin_entry_fn entry;
    void *sym = dlsym(lib, NNB_PLUGIN_ENTRY_SYMBOL);
    memcpy(&entry, &sym, sizeof entry);
    CHECK(entry != NULL);
    if (!entry)
        return NULL;
    const nnb_plugin *pl = entry();
    CHECK(pl->abi_major == NNB_ABI_MAJOR && pl->runner_count == 1 && !strcmp(pl->runners[0].name, "conv"));
    found = &pl->runners[0];
    return found;
}

nnb_conv_problem conv_problem_2d(int64_t g, int64_t mb, int64_t ic, int64_t ih, int64_t iw, int64_t oc, int64_t kh,
                                 int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw,
                                 const char *name) {
    nnb_conv_problem p;
    memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    p.ndims = 4;
    p.g = g, p.mb = mb, p.ic = ic, p.oc = oc;
    p.id = p.od = p.kd = p.sd = 1;
    p.ih = ih, p.iw = iw, p.kh = kh, p.kw = kw, p.sh = sh, p.sw = sw, p.ph = ph, p.pw = pw, p.dh = dh, p.dw = dw;
    p.oh = (ih + 2 * ph - ((kh - 1) * (dh + 1) + 1)) / sh + 1;
    p.ow = (iw + 2 * pw - ((kw - 1) * (dw + 1) + 1)) / sw + 1;
    p.has_bias = 1;
    p.name = name;
    return p;
}

nnb_conv_problem conv_problem_3d(nnb_conv_problem p, int64_t id, int64_t kd, int64_t sd, int64_t pd, int64_t dd) {
    p.ndims = 5;
    p.id = id, p.kd = kd, p.sd = sd, p.pd = pd, p.dd = dd;
    p.od = (id + 2 * pd - ((kd - 1) * (dd + 1) + 1)) / sd + 1;
    return p;
}

nnb_config conv_config(const nnb_conv_problem *p, int precision) {
    nnb_config cfg;
    nnb_config_defaults(&cfg);
    cfg.threads = 2;
    cfg.seed = 7;
    cfg.conv = p;
    cfg.precision = precision;
    return cfg;
}

static const nnb_tensor *find(const nnb_tensor_list *l, const char *name) {
    for (int i = 0; i < l->count; i++)
        if (!strcmp(l->items[i].name, name))
            return &l->items[i];
    return NULL;
}

static int64_t count_of(const nnb_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= t->shape[i];
    return n;
}

static double normwise_error(const float *got, const float *ref, int64_t n) {
    double diff = 0, scale = 1e-30;
    for (int64_t i = 0; i < n; i++) {
        diff = fmax(diff, fabs((double)got[i] - (double)ref[i]));
        scale = fmax(scale, fabs((double)ref[i]));
    }
    return diff / scale;
}

conv_errors conv_reduction_lengths(const nnb_conv_problem *p) {
    double k = (double)(p->kd * p->kh * p->kw);
    conv_errors e = {(double)(p->ic / p->g) * k, (double)(p->oc / p->g) * k, (double)(p->mb * p->od * p->oh * p->ow),
                     (double)(p->mb * p->od * p->oh * p->ow)};
    return e;
}

/* The reference results for the runner's own inputs, compared with its outputs. */
static void compare(const nnb_conv_problem *p, const nnb_tensor_list *in, const nnb_tensor_list *out, conv_errors *e) {
    nnb_conv_geom g = {p->g,  p->mb, p->ic, p->oc, p->id, p->ih, p->iw, p->od, p->oh, p->ow, p->kd,
                       p->kh, p->kw, p->sd, p->sh, p->sw, p->pd, p->ph, p->pw, p->dd, p->dh, p->dw};
    const nnb_tensor *x = find(in, "x"), *w = find(in, "w"), *b = find(in, "b"), *gy = find(in, "grad_y");
    const nnb_tensor *y = find(out, "y"), *dx = find(out, "dx"), *dw = find(out, "dw"), *db = find(out, "db");
    CHECK(x && w && gy && y && dx && dw && (!p->has_bias || (b && db)));
    if (!x || !w || !gy || !y || !dx || !dw || (p->has_bias && (!b || !db)))
        return;
    float *ry = malloc((size_t)count_of(y) * 4), *rdx = malloc((size_t)count_of(dx) * 4);
    float *rdw = malloc((size_t)count_of(dw) * 4), *rdb = malloc((size_t)p->oc * 4);
    nnb_conv_ref_forward(&g, x->data, w->data, b ? b->data : NULL, ry);
    nnb_conv_ref_backward_data(&g, gy->data, w->data, rdx);
    nnb_conv_ref_backward_weights(&g, x->data, gy->data, rdw, p->has_bias ? rdb : NULL);
    e->y = normwise_error(y->data, ry, count_of(y));
    e->dx = normwise_error(dx->data, rdx, count_of(dx));
    e->dw = normwise_error(dw->data, rdw, count_of(dw));
    e->db = p->has_bias ? normwise_error(db->data, rdb, p->oc) : 0;
    free(ry), free(rdx), free(rdw), free(rdb);
}

int conv_model_errors(const nnb_runner_desc *d, void *m, const nnb_conv_problem *p, conv_errors *e) {
    char err[512] = "";
    nnb_tensor_list in, out;
    memset(e, 0, sizeof *e);
    int rc = d->params(m, &in, err, sizeof err) || d->outputs(m, &out, err, sizeof err);
    CHECK_MSG(rc == 0, "%s: %s", p->name, err);
    if (!rc)
        compare(p, &in, &out, e);
    return rc ? -1 : 0;
}

int conv_run_against_reference(const nnb_runner_desc *d, const nnb_config *cfg, int by_parts, conv_errors *e) {
    char err[512] = "";
    memset(e, 0, sizeof *e);
    void *m = d->create(cfg, err, sizeof err);
    CHECK_MSG(m != NULL, "create %s: %s", cfg->conv->name, err);
    if (!m)
        return -1;
    int rc = d->forward(m, err, sizeof err);
    if (!rc && by_parts)
        for (int i = 0; !rc && i < d->backward_part_count(m); i++)
            rc = d->backward_part(m, i, err, sizeof err);
    else if (!rc)
        rc = d->backward(m, err, sizeof err);
    CHECK_MSG(rc == 0, "%s: %s", cfg->conv->name, err);
    if (!rc)
        rc = conv_model_errors(d, m, cfg->conv, e);
    d->destroy(m);
    return rc ? -1 : 0;
}
