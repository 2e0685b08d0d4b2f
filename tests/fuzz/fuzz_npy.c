/*
 * Fuzz target: the .npy reader (reporting/npy.c).
 *
 * nnb_npy_read takes a path, so each input is written to a file in a private
 * temporary folder (made once per process, removed at exit; see make_dir). An array that
 * reads back must be consistent (shape, count, no more data than the file
 * holds) and must survive a round trip: nnb_npy_write to a second file and
 * nnb_npy_read again give the same dtype, shape and bytes. Anything else
 * calls abort(): a finding.
 *
 * Built with libFuzzer by tests/fuzz/CMakeLists.txt, and without it (entry
 * point renamed) by tests/fuzz.cmake for fuzz_regressions_should_not_crash.
 */
#define _POSIX_C_SOURCE 200809L
#include "npy.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[512], in_path[600], out_path[600];

static void remove_files(void) {
    unlink(in_path);
    unlink(out_path);
    rmdir(dir);
}

static void finding(const char *what, const char *detail) {
    fprintf(stderr, "fuzz_npy: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

/* $TMPDIR, else /dev/shm (memory: several times faster than a disk's /tmp), else /tmp. */
static void make_dir(void) {
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%s/nnb-fuzz-npy.XXXXXX", tmp);
    if (!mkdtemp(dir)) {
        perror("fuzz_npy: mkdtemp");
        abort(); /* not a finding: the harness cannot run here */
    }
    snprintf(in_path, sizeof in_path, "%s/in.npy", dir);
    snprintf(out_path, sizeof out_path, "%s/out.npy", dir);
    atexit(remove_files);
}

static size_t elem_size(nnb_dtype d) { return d == NNB_F32 || d == NNB_I32 ? 4 : 8; }

/* A successful read: what the header promises is what came back. */
static void check_array(const nnb_npy_array *a, size_t file_size) {
    if (a->dtype != NNB_F32 && a->dtype != NNB_F64 && a->dtype != NNB_I64 && a->dtype != NNB_I32)
        finding("read: unknown dtype", NULL);
    if (a->ndim < 0 || a->ndim > NNB_MAX_DIMS)
        finding("read: ndim out of range", NULL);
    int64_t count = 1;
    for (int i = 0; i < a->ndim; i++) {
        if (a->shape[i] < 0)
            finding("read: negative dimension", NULL);
        if (a->shape[i] && count > INT64_MAX / a->shape[i])
            finding("read: element count overflows", NULL);
        count *= a->shape[i];
    }
    if (count != a->count)
        finding("read: count is not the product of the shape", NULL);
    if (!a->data)
        finding("read: no data", NULL);
    /* The data came from the file: it cannot be larger (else count * size wrapped). */
    if ((uint64_t)a->count > file_size / elem_size(a->dtype))
        finding("read: more data than the file holds", NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!dir[0])
        make_dir();
    FILE *f = fopen(in_path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        perror("fuzz_npy: writing the input");
        abort();
    }

    char err[8192] = "";
    nnb_npy_array a;
    if (nnb_npy_read(in_path, &a, err, sizeof err)) {
        if (!err[0])
            finding("read failed without a message", NULL);
        if (a.data)
            finding("read failed but left data", NULL);
        return 0;
    }
    check_array(&a, size);

    nnb_tensor t = {.name = "fuzz", .dtype = a.dtype, .ndim = a.ndim, .data = a.data};
    memcpy(t.shape, a.shape, sizeof t.shape);
    if (nnb_npy_write(out_path, &t, err, sizeof err))
        finding("an array that was read cannot be written", err);
    nnb_npy_array b;
    if (nnb_npy_read(out_path, &b, err, sizeof err))
        finding("a written array cannot be read back", err);
    if (b.dtype != a.dtype || b.ndim != a.ndim || b.count != a.count ||
        memcmp(b.shape, a.shape, sizeof(int64_t) * (size_t)a.ndim) != 0)
        finding("round trip changed dtype or shape", NULL);
    if (memcmp(b.data, a.data, (size_t)a.count * elem_size(a.dtype)) != 0)
        finding("round trip changed the data", NULL);
    nnb_npy_free(&b);
    nnb_npy_free(&a);
    return 0;
}
