/* A small SQLite results store for the report tests: series "jit forward" (12 daily runs, 8 samples each,
 * values 1.0 for runs 0-5 and 1.2 from run 6: one step) and a series of a hostile runner name (3 runs).
 * Returns 0, or -1 with err. */
#ifndef NNB_REPORT_STORE_FIXTURE_H
#define NNB_REPORT_STORE_FIXTURE_H

#include <stddef.h>

#define REPORT_FIXTURE_RUNS 12
#define REPORT_FIXTURE_STEP 6
#define REPORT_FIXTURE_HOSTILE "<img src=x onerror=\"window.nnbHostile=3\">"

int report_make_store(const char *path, char *err, size_t err_len);

#endif
