#define _GNU_SOURCE
/* .npy writer and reader agree with each other and with NumPy-written golden files. */
#include "test_support.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void) {
    char err[512];
    float data[6] = {0.5f, -1, 2, 3.25f, 1e-7f, -0.0f};
    nnb_tensor t;
    memset(&t, 0, sizeof t);
    t.name = "a";
    t.dtype = NNB_F32;
    t.ndim = 2;
    t.shape[0] = 2;
    t.shape[1] = 3;
    t.data = data;
    char path[] = "/tmp/nnb-npy-test-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    CHECK(nnb_npy_write(path, &t, err, sizeof err) == 0);
    nnb_npy_array a;
    CHECK(nnb_npy_read(path, &a, err, sizeof err) == 0);
    CHECK(a.dtype == NNB_F32 && a.ndim == 2 && a.shape[0] == 2 && a.shape[1] == 3 && a.count == 6);
    CHECK(a.data && memcmp(a.data, data, sizeof data) == 0);
    nnb_npy_free(&a);

    int64_t lengths[3] = {5, 3, 1};
    t.dtype = NNB_I64;
    t.ndim = 1;
    t.shape[0] = 3;
    t.data = lengths;
    CHECK(nnb_npy_write(path, &t, err, sizeof err) == 0);
    CHECK(nnb_npy_read(path, &a, err, sizeof err) == 0);
    CHECK(a.dtype == NNB_I64 && a.ndim == 1 && a.shape[0] == 3 && ((int64_t *)a.data)[2] == 1);
    nnb_npy_free(&a);
    unlink(path);

    /* A file NumPy wrote (golden data): (4H, I) = (20, 4) float32. */
    char golden[1024];
    snprintf(golden, sizeof golden, "%s/golden/lstm_t3_b2_i4_h5_l1/w_ih_l0.npy", nnb_test_env("NNBENCH_TEST_DATA"));
    CHECK_MSG(nnb_npy_read(golden, &a, err, sizeof err) == 0, "%s", err);
    CHECK(a.dtype == NNB_F32 && a.ndim == 2 && a.shape[0] == 20 && a.shape[1] == 4);
    nnb_npy_free(&a);

    CHECK(nnb_npy_read("/nonexistent/x.npy", &a, err, sizeof err) == -1);
    CHECK_STR_CONTAINS(err, "/nonexistent/x.npy");
    return nnb_test_finish();
}
