/*
 * Internals shared by the two store backends (store_sqlite.c, store_pg.c) and the dispatch in store.c:
 * the backend table, the series key, the samples encoding and the error helpers. Not part of store.h.
 */
#ifndef NNB_STORE_INTERNAL_H
#define NNB_STORE_INTERNAL_H

#include "store.h"

#include <stddef.h>
#include <stdint.h>

typedef struct nnb_store_backend_ops {
    const char *name;
    void (*close)(nnb_store *s);
    int (*add_file)(nnb_store *s, const nnb_store_file *f, char *err, size_t err_len);
    int (*list_series)(nnb_store *s, const char *filter, nnb_store_series **out, int *count, char *err, size_t err_len);
    int (*series_points)(nnb_store *s, long long series_id, const char *since, nnb_store_point **out, int *count,
                         char *err, size_t err_len);
    int (*all_points)(nnb_store *s, const char *since, nnb_store_point_set **out, int *count, char *err,
                      size_t err_len);
    char *(*file_provenance)(nnb_store *s, long long file_id, char *err, size_t err_len);
} nnb_store_backend_ops;

/* Every backend's handle starts with this header. */
struct nnb_store {
    const nnb_store_backend_ops *ops;
    char *spec_shown; /* the spec as shown in messages (a URL's password masked) */
    int schema_version;
};

int nnb_store_sqlite_open(const char *path, nnb_store **out, char *err, size_t err_len);
int nnb_store_pg_open(const char *url, nnb_store **out, char *err, size_t err_len);

/* Test hook: called inside nnb_store_add_file's transaction after each run is written (index from 0);
 * non-zero makes the add fail and roll back. NULL (the default) in normal use. */
extern int (*nnb_store_after_run_hook)(int run_index);

/* The series key: 16 hex digits (FNV-1a 64 of machine, runner, phase, config, each followed by a 0 byte). */
#define NNB_STORE_KEY_LEN 16
void nnb_store_series_key(const nnb_store_run *r, char key[NNB_STORE_KEY_LEN + 1]);

/* Samples as little-endian IEEE-754 doubles: encode into a new buffer (8 * n bytes; NULL when n is 0 or on
 * failure), decode a buffer of len bytes (len must be a multiple of 8) into a new array. */
unsigned char *nnb_store_encode_samples(const double *v, int n);
int nnb_store_decode_samples(const unsigned char *buf, size_t len, double **out, int *count);

/* Checks the parts of a file every backend needs (sha256, path, format, date, runs) before a transaction. */
int nnb_store_check_file(const nnb_store *s, const nnb_store_file *f, char *err, size_t err_len);

int nnb_store_fail(char *err, size_t err_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
char *nnb_store_strdup(const char *s); /* NULL stays NULL */
/* Makes room for element n of *v (elements of elem bytes, capacity *cap), doubling; 0 or -1 (out of memory). */
int nnb_store_grow(void **v, int *cap, int n, size_t elem);
int nnb_store_init_header(nnb_store *s, const nnb_store_backend_ops *ops, const char *spec_shown);
void nnb_store_free_header(nnb_store *s);

#endif
