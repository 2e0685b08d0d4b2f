/*
 * NumPy .npy (format 1.0) files: little-endian, C order, float32/float64/int64/
 * int32. Used by --dump and by the tests that read golden data.
 */
#ifndef NNB_NPY_H
#define NNB_NPY_H

#include <nnbench/runner.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Write t to path (atomically: temporary file, then rename). 0, or -1 with err. */
int nnb_npy_write(const char *path, const nnb_tensor *t, char *err, size_t err_len);

/* An array read from a file; data is malloc'ed and owned by the caller
 * (nnb_npy_free). */
typedef struct nnb_npy_array {
    nnb_dtype dtype;
    int ndim;
    int64_t shape[NNB_MAX_DIMS];
    int64_t count; /* elements */
    void *data;
} nnb_npy_array;

int nnb_npy_read(const char *path, nnb_npy_array *out, char *err, size_t err_len);
void nnb_npy_free(nnb_npy_array *a);

#ifdef __cplusplus
}
#endif
#endif
