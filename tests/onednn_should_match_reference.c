/*
 * The oneDNN runners (cudnn, cudnn_dropout, cudnn_layernorm, vl_cudnn) must give the outputs and
 * every gradient of a plain LSTM (PyTorch nn.LSTM semantics) on the same seeded inputs.
 *
 * Independent source: a plain double-precision LSTM forward + BPTT (tests/onednn_plain_lstm.h) written
 * from the per-element math of kernels/lstm_cell_math.h (variable lengths with packed-sequence semantics,
 * dropout masks from nnb_dropout_mask), run on the runner's own params(). When the reference
 * plugin's runners (py, vl_py, py_dropout) are built too, the runners are also checked against them
 * with nnb_check_runner.
 *
 * Tolerance: nnb_default_tolerance (normwise relative error, max(1e-4, 8 eps sqrt((I+H) T L))):
 * oneDNN computes in f32 with reassociated GEMM sums; the reference accumulates in double.
 */
#include "onednn_plain_lstm.h"
#include "test_support.h"

#include <stdlib.h>
#include <string.h>

static void compare(const char *runner, const nnb_tensor_list *outs, const char *name, const double *ref, int64_t n,
                    double tol) {
    const nnb_tensor *t = find(outs, name);
    CHECK_MSG(t != NULL, "%s gives no %s", runner, name);
    if (!t)
        return;
    const float *got = (const float *)t->data;
    double max_ref = 0, max_err = 0;
    for (int64_t e = 0; e < n; e++) {
        double diff = fabs((double)got[e] - ref[e]);
        if (!(diff <= max_err))
            max_err = diff; /* NaN sticks */
        if (fabs(ref[e]) > max_ref)
            max_ref = fabs(ref[e]);
    }
    double rel = max_err / (max_ref > 1e-30 ? max_ref : 1e-30);
    CHECK_MSG(rel <= tol, "%s %s: rel err %.3g > tol %.3g", runner, name, rel, tol);
}

/* Run the runner once and compare every output with the plain LSTM on its own params(). */
static void check_plain(const nnb_registry *reg, const char *name, const nnb_config *cfg, float dropout_p,
                        int with_backward) {
    const nnb_runner_desc *d = nnb_test_runner(reg, name);
    if (!d)
        return;
    char err[512] = "";
    void *model = d->create(cfg, err, sizeof err);
    CHECK_MSG(model != NULL, "%s create: %s", name, err);
    if (!model)
        return;
    nnb_tensor_list params, outs;
    int rc = nnb_run_once(d, model, with_backward, err, sizeof err);
    if (!rc)
        rc = d->params(model, &params, err, sizeof err);
    if (!rc)
        rc = d->outputs(model, &outs, err, sizeof err);
    CHECK_MSG(rc == 0, "%s run: %s", name, err);
    if (rc) {
        d->destroy(model);
        return;
    }
    plain_in p;
    plain_from_params(&p, &params, cfg, dropout_p);
    char nm[32];
    plain_out o;
    memset(&o, 0, sizeof o);
    plain_lstm(&p, &o);
    const double tol = nnb_default_tolerance(cfg, d->group);
    const int64_t T = p.T, B = p.B, H = p.H, L = p.L, I = p.I;
    printf("%s T=%lld B=%lld I=%lld H=%lld L=%lld%s\n", name, (long long)T, (long long)B, (long long)I, (long long)H,
           (long long)L, p.lengths ? " (variable length)" : "");
    compare(name, &outs, "y", o.y, T * B * H, tol);
    compare(name, &outs, "hy", o.hy, L * B * H, tol);
    if (with_backward) { /* cy of cudnn_layernorm is layer-normed: checked against its own reference */
        compare(name, &outs, "cy", o.cy, L * B * H, tol);
        compare(name, &outs, "dx", o.dx, T * B * I, tol);
        compare(name, &outs, "dhx", o.dhx, L * B * H, tol);
        compare(name, &outs, "dcx", o.dcx, L * B * H, tol);
        for (int64_t k = 0; k < L; k++) {
            snprintf(nm, sizeof nm, "dw_ih_l%lld", (long long)k),
                compare(name, &outs, nm, o.dw_ih[k], 4 * H * (k ? H : I), tol);
            snprintf(nm, sizeof nm, "dw_hh_l%lld", (long long)k), compare(name, &outs, nm, o.dw_hh[k], 4 * H * H, tol);
            snprintf(nm, sizeof nm, "db_ih_l%lld", (long long)k), compare(name, &outs, nm, o.db[k], 4 * H, tol);
            snprintf(nm, sizeof nm, "db_hh_l%lld", (long long)k), compare(name, &outs, nm, o.db[k], 4 * H, tol);
        }
    }
    plain_free(&o, L);
    d->destroy(model);
}

static nnb_config sizes(int64_t T, int64_t B, int64_t I, int64_t H, int64_t L) {
    return nnb_test_lstm_config(T, B, I, H, L, 7);
}

/* Also against the reference plugin's runner when it is built (same registry). */
static void check_reference_if_built(const nnb_registry *reg, const char *name, const char *ref, const nnb_config *c) {
    if (nnb_registry_find(reg, ref))
        nnb_test_check_against(reg, name, ref, c, 0);
    else
        printf("note: reference runner %s not built; %s checked against the plain LSTM only\n", ref, name);
}

/* Do the seeded lengths of this config repeat (several sequences ending at the same step)? */
static int has_repeated_length(const nnb_config *c) {
    nnb_lstm_data d;
    char err[256];
    int repeated = 0;
    if (nnb_lstm_data_init(&d, c, 1, 0, err, sizeof err) == 0)
        for (int64_t a = 0; a < d.B; a++)
            for (int64_t b = a + 1; b < d.B; b++)
                repeated |= d.lengths[a] == d.lengths[b];
    nnb_lstm_data_free(&d);
    return repeated;
}

int main(void) {
    nnb_registry reg;
    nnb_test_load_runners(&reg);

    /* fixed length: one and several layers, I != H with several layers, awkward sizes, B = 1, T = 1 */
    const int64_t fixed[][5] = {{5, 3, 4, 4, 1},  {4, 3, 6, 6, 3},  {4, 2, 5, 7, 3},  {3, 5, 6, 13, 1},
                                {1, 1, 3, 17, 2}, {6, 1, 19, 9, 2}, {2, 4, 24, 24, 1}};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) {
        nnb_config c = sizes(fixed[i][0], fixed[i][1], fixed[i][2], fixed[i][3], fixed[i][4]);
        check_plain(&reg, "cudnn", &c, 0, 1);
        check_reference_if_built(&reg, "cudnn", "py", &c);
        /* dropout between layers (none with one layer, where it must equal cudnn) */
        check_plain(&reg, "cudnn_dropout", &c, 0.4f, 1);
        if (c.num_layers == 1)
            check_reference_if_built(&reg, "cudnn_dropout", "py", &c);
        else
            check_reference_if_built(&reg, "cudnn_dropout", "py_dropout", &c);
        /* layer norm variant: LSTM part against the plain LSTM, the whole against its reference */
        check_plain(&reg, "cudnn_layernorm", &c, 0, 0);
        nnb_test_check_against(&reg, "cudnn_layernorm", "py_cudnn_layernorm", &c, 0);
    }

    /* variable length (lengths 30..99 from the seed): several segments, I != H, B = 1 */
    /* B = 24 draws repeated lengths (asserted below): several sequences end in one segment */
    const int64_t vl[][4] = {{4, 3, 5, 1}, {5, 4, 6, 2}, {1, 5, 5, 1}, {6, 3, 3, 3}, {24, 3, 4, 2}};
    for (size_t i = 0; i < sizeof vl / sizeof *vl; i++) {
        nnb_config c = sizes(0, vl[i][0], vl[i][1], vl[i][2], vl[i][3]);
        if (c.mini_batch == 24)
            CHECK_MSG(has_repeated_length(&c), "B=24 should draw a repeated length");
        check_plain(&reg, "vl_cudnn", &c, 0, 1);
        check_reference_if_built(&reg, "vl_cudnn", "vl_py", &c);
    }
    nnb_registry_free(&reg);
    return nnb_test_finish();
}
