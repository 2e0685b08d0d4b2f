/* Tensor comparison used by --check: normwise relative error, shapes, NaN, inputs. */
#include "test_support.h"

#include <stdlib.h>
#include <string.h>

static nnb_tensor t2(const char *name, const float *data, int64_t r, int64_t c) {
    nnb_tensor t;
    memset(&t, 0, sizeof t);
    t.name = name;
    t.dtype = NNB_F32;
    t.ndim = 2;
    t.shape[0] = r;
    t.shape[1] = c;
    t.data = data;
    return t;
}

int main(void) {
    float ref[4] = {1, -2, 4, 0.5f}, close[4] = {1, -2, 4.0004f, 0.5f}, far[4] = {1, -2, 4.1f, 0.5f};
    float nan_ref[4] = {1, 2, 3, 0};
    nan_ref[3] = NAN;
    nnb_tensor rt = t2("y", ref, 2, 2);
    nnb_tensor_list rl = {1, &rt};
    nnb_tensor_check *checks = NULL;
    int count = 0;
    char err[256] = "";

    nnb_tensor ct = t2("y", close, 2, 2);
    nnb_tensor_list cl = {1, &ct};
    CHECK(nnb_compare_tensors(&rl, &cl, 2e-4, &checks, &count, err, sizeof err) == 0);
    CHECK(count == 1 && checks[0].pass);
    CHECK_NEAR(checks[0].max_abs_err, 0.0004, 1e-6);
    CHECK_NEAR(checks[0].max_rel_err, 0.0001, 1e-6); /* 0.0004 / max|ref| = 4 */
    free(checks);

    nnb_tensor ft = t2("y", far, 2, 2);
    nnb_tensor_list fl = {1, &ft};
    CHECK(nnb_compare_tensors(&rl, &fl, 2e-4, &checks, &count, err, sizeof err) == 1);
    CHECK(!checks[0].pass);
    free(checks);

    nnb_tensor nt = t2("y", nan_ref, 2, 2);
    nnb_tensor_list nl = {1, &nt};
    CHECK(nnb_compare_tensors(&rl, &nl, 1.0, &checks, &count, err, sizeof err) == 1);
    CHECK_MSG(!checks[0].pass, "NaN must fail the check");
    free(checks);

    nnb_tensor wrong_shape = t2("y", close, 4, 1);
    nnb_tensor_list wl = {1, &wrong_shape};
    CHECK(nnb_compare_tensors(&rl, &wl, 1.0, &checks, &count, err, sizeof err) == -1);
    CHECK_STR_CONTAINS(err, "another shape");
    free(checks);

    nnb_tensor missing = t2("dz", close, 2, 2);
    nnb_tensor_list ml = {1, &missing};
    CHECK(nnb_compare_tensors(&rl, &ml, 1.0, &checks, &count, err, sizeof err) == -1);
    CHECK_STR_CONTAINS(err, "reference has no tensor 'dz'");
    free(checks);

    /* Inputs must be bit-identical. */
    CHECK(nnb_compare_params(&rl, &rl, err, sizeof err) == 0);
    CHECK(nnb_compare_params(&rl, &cl, err, sizeof err) == -1);
    CHECK_STR_CONTAINS(err, "input 'y' differs");

    nnb_config cfg;
    nnb_config_defaults(&cfg);
    double tol = nnb_default_tolerance(&cfg, NNB_GROUP_RNNS);
    CHECK(tol >= 1e-4 && tol < 1e-3);
    return nnb_test_finish();
}
