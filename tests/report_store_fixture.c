#include "report_store_fixture.h"

#include "store.h"

#include <stdio.h>

int report_make_store(const char *path, char *err, size_t err_len) {
    nnb_store *s;
    if (nnb_store_open(path, &s, err, err_len))
        return -1;
    int rc = 0;
    for (int day = 0; day < REPORT_FIXTURE_RUNS && rc == 0; day++) {
        double level = day < REPORT_FIXTURE_STEP ? 1.0 : 1.2, samples[8];
        for (int k = 0; k < 8; k++)
            samples[k] = level * (1.0 + 0.01 * ((k * 37 + day * 11) % 9 - 4) / 4.0);
        nnb_store_run runs[2] = {
            {"{\"cpu\":\"fixture\"}", "jit", "forward", "{\"hiddenSize\":8}", "ms", 0, level, samples, 8},
            {"{\"cpu\":\"fixture\"}", REPORT_FIXTURE_HOSTILE, "forward", "{\"hiddenSize\":8}", "ms", 0, 2.0 + day, NULL,
             0},
        };
        char sha[65], date[32], file[64], commit[16];
        snprintf(sha, sizeof sha, "%064d", day + 1);
        snprintf(date, sizeof date, "2026-12-%02dT03:00:00Z", day + 1);
        snprintf(file, sizeof file, "results/nightly-%02d.json", day + 1);
        snprintf(commit, sizeof commit, "c0ffee%02d", day);
        nnb_store_file f = {sha,
                            file,
                            "nnbench",
                            commit,
                            date,
                            "nightly",
                            "{\"host\":\"vm\",\"note\":\"</script><b>prov</b>\"}",
                            runs,
                            day < 3 ? 2 : 1};
        rc = nnb_store_add_file(s, &f, err, err_len) < 0 ? -1 : 0;
    }
    nnb_store_close(s);
    return rc;
}
