/* The report's change finder once stats/changepoint is in the tree (tools/report/CMakeLists.txt builds this
 * file only then): E-Divisive means with a t-test, the method and defaults of `nnbench history changes`, so
 * the pages mark the changes that command reports. */
#include "changepoint.h"
#include "report_changes.h"

#include <stdlib.h>

int nnb_report_changepoint_finder(const double *values, int n, int higher_is_better, int *at, int max, void *ctx) {
    (void)ctx;
    nnb_cp_options opt = nnb_cp_default_options();
    if (n < 2 * opt.min_size) /* too short for a change with min_size runs on each side */
        return 0;
    nnb_change_point *cp = NULL;
    int count = 0;
    if (nnb_changepoints(values, n, &opt, higher_is_better, &cp, &count, NULL, 0))
        return -1;
    int k = 0;
    for (; k < count && k < max; k++)
        at[k] = cp[k].index;
    free(cp);
    return k;
}
