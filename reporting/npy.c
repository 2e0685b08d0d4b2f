#define _GNU_SOURCE
#include "npy.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *descr_of(nnb_dtype d) {
    switch (d) {
    case NNB_F32: return "<f4";
    case NNB_F64: return "<f8";
    case NNB_I64: return "<i8";
    case NNB_I32: return "<i4";
    }
    return NULL;
}

static size_t size_of(nnb_dtype d) { return d == NNB_F32 || d == NNB_I32 ? 4 : 8; }

static int build_header(const nnb_tensor *t, char *hdr, size_t cap, size_t *len) {
    char shape[256] = "";
    size_t used = 0;
    for (int i = 0; i < t->ndim; i++)
        used += (size_t)snprintf(shape + used, sizeof shape - used, "%lld%s", (long long)t->shape[i],
                                 t->ndim == 1 ? "," : (i + 1 < t->ndim ? ", " : ""));
    char dict[400];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr_of(t->dtype),
                     shape);
    /* magic(6) + version(2) + header_len(2) + dict + padding + '\n', multiple of 64 */
    size_t total = 10 + (size_t)n + 1;
    size_t padded = (total + 63) / 64 * 64;
    if (padded > cap)
        return -1;
    memcpy(hdr, "\x93NUMPY\x01\x00", 8);
    size_t hlen = padded - 10;
    hdr[8] = (char)(hlen & 0xff);
    hdr[9] = (char)(hlen >> 8);
    memcpy(hdr + 10, dict, (size_t)n);
    memset(hdr + 10 + n, ' ', padded - total);
    hdr[padded - 1] = '\n';
    *len = padded;
    return 0;
}

int nnb_npy_write(const char *path, const nnb_tensor *t, char *err, size_t err_len) {
    if (!descr_of(t->dtype) || t->ndim < 0 || t->ndim > NNB_MAX_DIMS) {
        snprintf(err, err_len, "%s: unsupported tensor type", path);
        return -1;
    }
    char hdr[512];
    size_t hlen;
    if (build_header(t, hdr, sizeof hdr, &hlen)) {
        snprintf(err, err_len, "%s: header too long", path);
        return -1;
    }
    size_t count = 1;
    for (int i = 0; i < t->ndim; i++)
        count *= (size_t)t->shape[i];
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        snprintf(err, err_len, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    int ok = fwrite(hdr, 1, hlen, f) == hlen && fwrite(t->data, size_of(t->dtype), count, f) == count;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, err_len, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int parse_header(const char *h, nnb_npy_array *a) {
    const char *d = strstr(h, "'descr':");
    if (!d)
        return -1;
    d = strchr(d + 8, '\'');
    if (!d)
        return -1;
    if (!strncmp(d, "'<f4'", 5))
        a->dtype = NNB_F32;
    else if (!strncmp(d, "'<f8'", 5))
        a->dtype = NNB_F64;
    else if (!strncmp(d, "'<i8'", 5))
        a->dtype = NNB_I64;
    else if (!strncmp(d, "'<i4'", 5))
        a->dtype = NNB_I32;
    else
        return -1;
    if (!strstr(h, "'fortran_order': False"))
        return -1;
    const char *s = strstr(h, "'shape':");
    if (!s || !(s = strchr(s, '(')))
        return -1;
    s++;
    a->ndim = 0;
    a->count = 1;
    while (*s && *s != ')') {
        char *end;
        long long v = strtoll(s, &end, 10);
        if (end == s) {
            s++;
            continue;
        }
        if (a->ndim == NNB_MAX_DIMS || v < 0 || (v > 0 && a->count > INT64_MAX / v)) /* count would overflow */
            return -1;
        a->shape[a->ndim++] = v;
        a->count *= v;
        s = end;
    }
    return 0;
}

int nnb_npy_read(const char *path, nnb_npy_array *a, char *err, size_t err_len) {
    memset(a, 0, sizeof *a);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_len, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    unsigned char pre[10];
    char hdr[4096];
    int rc = -1;
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) || pre[6] != 1) {
        snprintf(err, err_len, "%s: not a version 1 .npy file", path);
        goto out;
    }
    size_t hlen = (size_t)pre[8] | ((size_t)pre[9] << 8);
    if (hlen >= sizeof hdr || fread(hdr, 1, hlen, f) != hlen) {
        snprintf(err, err_len, "%s: bad header", path);
        goto out;
    }
    hdr[hlen] = 0;
    if (parse_header(hdr, a)) {
        snprintf(err, err_len, "%s: unsupported header %s", path, hdr);
        goto out;
    }
    /* The data must be in the file: no allocation the file cannot fill, no wrapped byte count. */
    struct stat st;
    long data_start = ftell(f);
    if ((uint64_t)a->count > SIZE_MAX / size_of(a->dtype) ||
        (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && data_start >= 0 &&
         (uint64_t)a->count * size_of(a->dtype) > (uint64_t)(st.st_size - data_start))) {
        snprintf(err, err_len, "%s: truncated data", path);
        goto out;
    }
    size_t bytes = (size_t)a->count * size_of(a->dtype);
    a->data = malloc(bytes ? bytes : 1);
    if (!a->data || fread(a->data, 1, bytes, f) != bytes) {
        snprintf(err, err_len, "%s: truncated data", path);
        goto out;
    }
    rc = 0;
out:
    fclose(f);
    if (rc)
        nnb_npy_free(a);
    return rc;
}

void nnb_npy_free(nnb_npy_array *a) {
    free(a->data);
    memset(a, 0, sizeof *a);
}
