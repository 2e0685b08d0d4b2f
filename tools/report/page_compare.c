#include "report_internal.h"
int nnb_page_compare(const char *old_path, const char *new_path, const char *path, char *err, size_t err_len) {
    (void)old_path; nnb_page pg; if (nnb_page_begin(&pg, path, new_path, 1, err, err_len)) return -1; return nnb_page_end(&pg, path, err, err_len);
}
