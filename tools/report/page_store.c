#include "report_internal.h"
int nnb_report_store(const char *spec, const char *filter, const char *dir, char *err, size_t err_len) {
    (void)spec; (void)filter; (void)dir; snprintf(err, err_len, "todo"); return -1;
}
