#include "report_internal.h"
int nnb_page_serve(const cJSON *root, const char *src, const char *path, char *err, size_t err_len) {
    (void)root; nnb_page pg; if (nnb_page_begin(&pg, path, src, 1, err, err_len)) return -1; return nnb_page_end(&pg, path, err, err_len);
}
