/*
 * tools/gpu-check.sh without a GPU: --dry-run prints the plan, one row per step with its budget, and the
 * budgets (summed here, independently of the script's own total) fit the 8 minutes the check is sized for and
 * cover every step the first contact needs; without a GPU (the probe replaced by `false`) the script prints the
 * plan, says so in one line, exits 77 and creates no output folder; a bad argument exits 2.
 */
#define _POSIX_C_SOURCE 200809L
#include "test_support.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { LIMIT_S = 8 * 60 };

static const char *const required[] = {"build",      "ctest_gpu",   "check", "bench_rnns", "bench_vl_rnns",
                                       "bench_cnns", "ab_executor", "serve", "nsys"};
#define NREQUIRED (sizeof required / sizeof *required)

/* Sums the plan's step rows ("  <name> <budget_s> <what>") up to the total row; checks each required step. */
static void check_plan(const char *out) {
    int seen[NREQUIRED] = {0}, steps = 0, sum = 0, total = -1;
    char copy[16384];
    snprintf(copy, sizeof copy, "%s", out);
    int in_plan = 0;
    for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char name[64];
        int budget;
        if (strstr(line, "step") && strstr(line, "budget_s")) {
            in_plan = 1;
            continue;
        }
        if (!in_plan || sscanf(line, " %63s %d", name, &budget) != 2)
            continue;
        if (!strcmp(name, "total")) {
            total = budget;
            break;
        }
        CHECK_MSG(budget > 0, "step %s: budget %d", name, budget);
        steps++;
        sum += budget;
        for (size_t i = 0; i < NREQUIRED; i++)
            if (!strcmp(name, required[i]))
                seen[i]++;
    }
    CHECK_MSG(steps >= (int)NREQUIRED, "%d steps in the plan:\n%s", steps, out);
    for (size_t i = 0; i < NREQUIRED; i++)
        CHECK_MSG(seen[i] == 1, "step %s appears %d times in the plan", required[i], seen[i]);
    CHECK_MSG(total == sum, "the plan's total %d is not the sum of its steps %d", total, sum);
    CHECK_MSG(sum <= LIMIT_S, "budgets sum to %d s, over %d s", sum, LIMIT_S);
}

int main(void) {
    char script[1024], out[16384], err[4096], folder[256];
    snprintf(script, sizeof script, "%s/tools/gpu-check.sh", NNB_SOURCE_DIR);

    int rc = nnb_test_runf(out, sizeof out, err, sizeof err, "bash %s --dry-run", script);
    CHECK_MSG(rc == 0, "--dry-run: exit %d (stderr: %s)", rc, err);
    check_plan(out);

    snprintf(folder, sizeof folder, "/tmp/nnb-gpu-check-test-%ld", (long)getpid());
    rc = nnb_test_runf(out, sizeof out, err, sizeof err, "NNB_GPU_CHECK_NVIDIA_SMI=false OUT=%s bash %s", folder,
                       script);
    CHECK_MSG(rc == 77, "without a GPU: exit %d, expected 77 (stderr: %s)", rc, err);
    check_plan(out);
    const char *last = strstr(out, "gpu-check: no NVIDIA GPU");
    CHECK_MSG(last != NULL, "no 'no NVIDIA GPU' line in:\n%s", out);
    CHECK_MSG(last && strchr(last, '\n') == out + strlen(out) - 1, "the no-GPU line is not the last, single line:\n%s",
              out);
    struct stat st;
    CHECK_MSG(stat(folder, &st) != 0, "%s was created although nothing ran", folder);

    rc = nnb_test_runf(out, sizeof out, err, sizeof err, "bash %s --bogus", script);
    CHECK_MSG(rc == 2 && strstr(err, "unknown argument '--bogus'"), "--bogus: exit %d, stderr: %s", rc, err);
    return nnb_test_finish();
}
