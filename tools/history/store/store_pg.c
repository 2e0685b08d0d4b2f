/* The PostgreSQL backend of store.h (libpq). */
#include "store_internal.h"

int nnb_store_pg_open(const char *url, nnb_store **out, char *err, size_t err_len) {
    *out = NULL;
    return nnb_store_fail(err, err_len, "store %s: the PostgreSQL backend is not built yet", url);
}
