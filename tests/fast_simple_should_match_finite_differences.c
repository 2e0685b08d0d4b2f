/*
 * py_simple, the reference of jit_simple, checked independently:
 *   - its final (h, c) equal the full reference LSTM's (py) hy, cy (same seed,
 *     one layer): normwise relative error <= 1e-5;
 *   - its gradients match central finite differences of
 *     loss = sum(hy * grad_hy) in double-checked float: step 1e-2, on a tiny
 *     problem, for entries of x, hx, cx, w_ih_l0, w_hh_l0, b_ih_l0, b_hh_l0;
 *     |analytic - numeric| <= 2e-3 * max(1, |numeric|) (float rounding of the
 *     loss / step plus O(step^2) truncation).
 */
#include "test_support.h"

#include <string.h>

static const nnb_tensor *find(const nnb_tensor_list *l, const char *name) {
    for (int i = 0; i < l->count; i++)
        if (!strcmp(l->items[i].name, name))
            return &l->items[i];
    return NULL;
}

static double loss(const nnb_runner_desc *d, void *m) {
    char err[256];
    nnb_tensor_list p, o;
    d->forward(m, err, sizeof err);
    d->params(m, &p, err, sizeof err);
    d->outputs(m, &o, err, sizeof err);
    const float *hy = find(&o, "hy")->data, *g = find(&p, "grad_hy")->data;
    int64_t n = find(&o, "hy")->shape[1] * find(&o, "hy")->shape[2];
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += (double)hy[i] * g[i];
    return s;
}

static void check_hy_cy_against_py(const nnb_registry *reg, const nnb_config *cfg) {
    const nnb_runner_desc *ps = nnb_test_runner(reg, "py_simple"), *py = nnb_test_runner(reg, "py");
    if (!ps || !py)
        return;
    char err[256];
    void *a = ps->create(cfg, err, sizeof err), *b = py->create(cfg, err, sizeof err);
    CHECK(a && b);
    if (!a || !b)
        return;
    ps->forward(a, err, sizeof err);
    py->forward(b, err, sizeof err);
    nnb_tensor_list oa, ob;
    ps->outputs(a, &oa, err, sizeof err);
    py->outputs(b, &ob, err, sizeof err);
    const char *names[] = {"hy", "cy"};
    for (int k = 0; k < 2; k++) {
        const nnb_tensor *ta = find(&oa, names[k]), *tb = find(&ob, names[k]);
        CHECK(ta && tb);
        if (!ta || !tb)
            continue;
        int64_t n = ta->shape[1] * ta->shape[2];
        double m = 0, r = 0;
        for (int64_t i = 0; i < n; i++) {
            m = fmax(m, fabs(((const float *)ta->data)[i] - ((const float *)tb->data)[i]));
            r = fmax(r, fabs(((const float *)tb->data)[i]));
        }
        CHECK_MSG(m <= 1e-5 * r, "py_simple %s vs py: %.3g", names[k], m / r);
    }
    ps->destroy(a);
    py->destroy(b);
}

int main(void) {
    nnb_registry reg;
    nnb_registry_init(&reg);
    nnb_test_load_runners(&reg);
    nnb_config cfg;
    nnb_config_defaults(&cfg);
    cfg.seq_length = 4, cfg.mini_batch = 2, cfg.input_size = 3, cfg.hidden_size = 5, cfg.threads = 1;
    check_hy_cy_against_py(&reg, &cfg);
    const nnb_runner_desc *d = nnb_test_runner(&reg, "py_simple");
    if (d) {
        char err[256];
        void *m = d->create(&cfg, err, sizeof err);
        CHECK_MSG(m != NULL, "create: %s", err);
        nnb_tensor_list p, o;
        d->forward(m, err, sizeof err);
        d->backward(m, err, sizeof err);
        d->params(m, &p, err, sizeof err);
        d->outputs(m, &o, err, sizeof err);
        const char *names[] = {"x", "hx", "cx", "w_ih_l0", "w_hh_l0", "b_ih_l0", "b_hh_l0"};
        const char *grads[] = {"dx", "dhx", "dcx", "dw_ih_l0", "dw_hh_l0", "db_ih_l0", "db_hh_l0"};
        const float h = 1e-2f;
        for (int k = 0; k < 7; k++) {
            const nnb_tensor *t = find(&p, names[k]), *g = find(&o, grads[k]);
            int64_t n = 1;
            for (int i = 0; i < t->ndim; i++)
                n *= t->shape[i];
            float *v = (float *)t->data; /* model-owned input, perturbed in place for the test */
            /* analytic gradients copied first: forward() does not touch them, but be explicit */
            for (int64_t e = 0; e < n; e += (n > 6 ? n / 6 : 1)) {
                double analytic = ((const float *)g->data)[e];
                float keep = v[e];
                v[e] = keep + h;
                double lp = loss(d, m);
                v[e] = keep - h;
                double lm = loss(d, m);
                v[e] = keep;
                double numeric = (lp - lm) / (2.0 * h);
                CHECK_MSG(fabs(analytic - numeric) <= 2e-3 * fmax(1.0, fabs(numeric)),
                          "%s[%lld]: analytic %.6g numeric %.6g", grads[k], (long long)e, analytic, numeric);
            }
        }
        d->destroy(m);
    }
    nnb_registry_free(&reg);
    return nnb_test_finish();
}
