/* Placeholder until the SQLite and PostgreSQL backends land (helper i19-store replaces this file). */
#include "store.h"

#include <stdio.h>

static int not_built(char *err, size_t err_len) {
    if (err)
        snprintf(err, err_len, "the results store is not built yet");
    return -1;
}
int nnb_store_open(const char *spec, nnb_store **out, char *err, size_t err_len) {
    (void)spec, *out = NULL;
    return not_built(err, err_len);
}
void nnb_store_close(nnb_store *s) { (void)s; }
const char *nnb_store_backend(const nnb_store *s) { return (void)s, "none"; }
int nnb_store_schema_version(const nnb_store *s) { return (void)s, 0; }
int nnb_store_add_file(nnb_store *s, const nnb_store_file *f, char *err, size_t err_len) {
    (void)s, (void)f;
    return not_built(err, err_len);
}
int nnb_store_list_series(nnb_store *s, const char *filter, nnb_store_series **out, int *count, char *err,
                          size_t err_len) {
    (void)s, (void)filter, *out = NULL, *count = 0;
    return not_built(err, err_len);
}
void nnb_store_series_free(nnb_store_series *v, int count) { (void)v, (void)count; }
int nnb_store_series_points(nnb_store *s, long long series_id, const char *since, nnb_store_point **out, int *count,
                            char *err, size_t err_len) {
    (void)s, (void)series_id, (void)since, *out = NULL, *count = 0;
    return not_built(err, err_len);
}
void nnb_store_points_free(nnb_store_point *v, int count) { (void)v, (void)count; }
char *nnb_store_file_provenance(nnb_store *s, long long file_id, char *err, size_t err_len) {
    (void)s, (void)file_id;
    not_built(err, err_len);
    return NULL;
}
