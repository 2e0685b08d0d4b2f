/*
 * nnbench history changes end to end: stores built through the store API (60 runs a series, a 5% step at
 * run 40, samples in every run), then the binary's table, JSON, --fail-above exits and bad input.
 */
#define _GNU_SOURCE
#include "store.h"
#include "test_support.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define RUNS 60
#define STEP_AT 40
#define SAMPLES 10

static char bin[1024], dir[64], out[1 << 20], err[65536];
#define run(...) nnb_test_runf(out, sizeof out, err, sizeof err, __VA_ARGS__)

static uint64_t rng_state = 7;
static double uniform01(void) { /* splitmix64 */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return ((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
}
static double normal01(void) { return sqrt(-2 * log(1 - uniform01())) * cos(2 * M_PI * uniform01()); }
static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct series_spec {
    const char *runner, *phase, *unit;
    int higher_is_better;
    double base, step; /* the level, multiplied by step from run STEP_AT on */
    int without_samples;
    int samples_without_step; /* the samples stay at base (0.5% noise, no run noise); only the value steps */
} series_spec;

/* One run: 1% run-to-run noise, 0.5% between samples; its value the samples' median. */
static void make_run(const series_spec *s, int i, double *samples, nnb_store_run *r) {
    double level = s->base * (i >= STEP_AT ? s->step : 1.0) * (1 + 0.01 * normal01()), sorted[SAMPLES];
    for (int j = 0; j < SAMPLES; j++)
        sorted[j] = samples[j] = level * (1 + 0.005 * normal01());
    if (s->samples_without_step)
        for (int j = 0; j < SAMPLES; j++)
            sorted[j] = samples[j] = s->base * (1 + 0.005 * normal01());
    qsort(sorted, SAMPLES, sizeof(double), by_value);
    double step = s->samples_without_step && i >= STEP_AT ? s->step : 1.0;
    *r = (nnb_store_run){"{\"cpu\":\"test\"}",
                         s->runner,
                         s->phase,
                         "{\"hiddenSize\":512,\"seqLength\":100}",
                         s->unit,
                         s->higher_is_better,
                         step * 0.5 * (sorted[SAMPLES / 2 - 1] + sorted[SAMPLES / 2]),
                         s->without_samples ? NULL : samples,
                         s->without_samples ? 0 : SAMPLES};
}

/* A store of RUNS files, one a day from 2026-01-01, commit cNNN, label nightly-NNN, a run of each series. */
static int build_store(const char *path, const series_spec *specs, int n) {
    nnb_store *store;
    char e[512];
    if (nnb_store_open(path, &store, e, sizeof e))
        return CHECK_MSG(0, "open %s: %s", path, e), -1;
    int rc = 0;
    for (int i = 0; i < RUNS && rc == 0; i++) {
        nnb_store_run runs[4];
        double samples[4][SAMPLES];
        for (int k = 0; k < n; k++)
            make_run(&specs[k], i, samples[k], &runs[k]);
        char sha[65], commit[16], date[32], label[32];
        snprintf(sha, sizeof sha, "%064d", i + 1000 * n);
        snprintf(commit, sizeof commit, "c%03d", i);
        snprintf(date, sizeof date, "2026-%02d-%02dT02:00:00Z", 1 + i / 28, 1 + i % 28);
        snprintf(label, sizeof label, "nightly-%03d", i);
        nnb_store_file f = {sha, "synthetic.json", "nnbench", commit, date, label, NULL, runs, n};
        rc = nnb_store_add_file(store, &f, e, sizeof e);
        CHECK_MSG(rc == 0, "add run %d: %s", i, e);
    }
    nnb_store_close(store);
    return rc;
}

static const cJSON *field(const cJSON *o, const char *name) { return cJSON_GetObjectItemCaseSensitive(o, name); }
static double number(const cJSON *o, const char *name) {
    const cJSON *v = field(o, name);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* The step of store 1 in JSON: both series' changes at run 40, c040, their sizes, confirmed. */
static void json_names_the_step(const char *store) {
    int rc = run("%s history changes --store %s --json", bin, store);
    CHECK_MSG(rc == 0, "--json: exit %d (%s)", rc, err);
    cJSON *root = cJSON_Parse(out);
    CHECK_MSG(root != NULL, "--json: not JSON: %.300s", out);
    const cJSON *changes = field(root, "changes");
    CHECK_MSG(cJSON_GetArraySize(changes) == 2, "--json: %d changes, expected 2", cJSON_GetArraySize(changes));
    CHECK(number(root, "series_count") == 2 && cJSON_IsFalse(field(root, "regression")));
    const cJSON *c;
    cJSON_ArrayForEach(c, changes) {
        const char *runner = field(field(c, "series"), "runner")->valuestring;
        int throughput = !strcmp(runner, "serve");
        CHECK_MSG(number(c, "index") == STEP_AT, "%s: change at %g", runner, number(c, "index"));
        CHECK(!strcmp(field(field(c, "first_run_after"), "commit")->valuestring, "c040"));
        CHECK(!strcmp(field(field(c, "last_run_before"), "label")->valuestring, "nightly-039"));
        CHECK_MSG(number(c, "magnitude_lo") < 1.05 && number(c, "magnitude_hi") > 1.05, "%s: [%g, %g] misses 1.05",
                  runner, number(c, "magnitude_lo"), number(c, "magnitude_hi"));
        CHECK(number(c, "p_value") <= 0.001 && cJSON_IsTrue(field(c, "confirmed")) && cJSON_IsTrue(field(c, "latest")));
        CHECK(number(field(c, "samples"), "before") == 3 * SAMPLES);
        CHECK_MSG(number(field(c, "samples"), "rank_sum_p") < 0.025, "%s: rank-sum p %g", runner,
                  number(field(c, "samples"), "rank_sum_p"));
        double ratio = number(field(c, "samples"), "median_ratio");
        CHECK_MSG(fabs(ratio - 1.05) < 0.03, "%s: median ratio %g", runner, ratio);
        CHECK(!strcmp(field(c, "direction")->valuestring, throughput ? "speed-up" : "slowdown"));
        CHECK(number(field(field(c, "series"), "config"), "hiddenSize") == 512);
    }
    cJSON_Delete(root);
}

static void table_and_exits(const char *store1, const char *store2) {
    int rc = run("%s history changes --store %s", bin, store1);
    CHECK_MSG(rc == 0, "text: exit %d (%s)", rc, err);
    printf("%s", out);
    CHECK_STR_CONTAINS(out, "2 series in");
    CHECK_STR_CONTAINS(out, "2 changes: E-Divisive means, Welch's t-test (window 50, p <= 0.001, min size 5)");
    CHECK_STR_CONTAINS(out, "hiddenSize=512,seqLength=100");
    CHECK_STR_CONTAINS(out, "c040");
    CHECK_STR_CONTAINS(out, "nightly-040");
    CHECK_STR_CONTAINS(out, "slowdown");
    CHECK_STR_CONTAINS(out, "confirmed");
    /* store 1: jit forward (ms) slowed down by 5%; serve throughput (higher is better) rose by 5%. */
    rc = run("%s history changes --store %s --fail-above 1.02", bin, store1);
    CHECK_MSG(rc == 4, "a 5%% slowdown under --fail-above 1.02: exit %d", rc);
    CHECK_STR_CONTAINS(out, "<- beyond --fail-above");
    CHECK_STR_CONTAINS(err, "--fail-above 1.02");
    rc = run("%s history changes --store %s --fail_above=1.10", bin, store1);
    CHECK_MSG(rc == 0, "a 5%% slowdown under --fail-above 1.10: exit %d (%s)", rc, err);
    rc = run("%s history changes --store %s --series serve --fail-above 1.02", bin, store1);
    CHECK_MSG(rc == 0 && strstr(out, "speed-up") && !strstr(out, "slowdown"), "throughput up: exit %d %s", rc, out);
    /* store 2: jit forward sped up by 5%; serve throughput fell by 5% (a slowdown, beyond 1/1.02). */
    rc = run("%s history changes --store %s --series jit --fail-above 1.02", bin, store2);
    CHECK_MSG(rc == 0 && strstr(out, "speed-up"), "a speed-up under --fail-above: exit %d %s", rc, out);
    rc = run("%s history changes --store %s --series serve --fail-above 1.02 --json", bin, store2);
    CHECK_MSG(rc == 4 && strstr(out, "\"regression\":\ttrue"), "throughput down: exit %d %s", rc, out);
    /* Runs without samples: the change is found, "confirmed" cannot be said. */
    rc = run("%s history changes --store %s --series aten --json", bin, store2);
    CHECK_MSG(rc == 0 && strstr(out, "\"confirmed\":\tnull") && strstr(out, "\"index\":\t40"),
              "without samples: exit %d %s", rc, out);
    rc = run("%s history changes --store %s --series aten", bin, store2);
    CHECK_MSG(rc == 0 && strstr(out, "no samples"), "without samples: exit %d %s", rc, out);
    /* Only the runs since the step: a flat series, no change. */
    rc = run("%s history changes --store %s --since 2026-02-13 --fail-above 1.02", bin, store1);
    CHECK_MSG(rc == 0 && strstr(out, "0 changes"), "--since after the step: exit %d %s", rc, out);
}

/* The values step by 5% at run 40 but the samples do not: the change is found, and not confirmed. */
static void values_step_samples_do_not(const char *store) {
    int rc = run("%s history changes --store %s --json", bin, store);
    cJSON *root = cJSON_Parse(out);
    const cJSON *changes = root ? field(root, "changes") : NULL;
    CHECK_MSG(rc == 0 && cJSON_GetArraySize(changes) == 1, "values-only step: exit %d %.300s", rc, out);
    const cJSON *c = cJSON_GetArrayItem(changes, 0);
    CHECK_MSG(c && number(c, "index") == STEP_AT && cJSON_IsFalse(field(c, "confirmed")),
              "values-only step: expected a change at %d, not confirmed: %.600s", STEP_AT, out);
    CHECK_MSG(c && number(field(c, "samples"), "rank_sum_p") >= 0.025 &&
                  fabs(number(field(c, "samples"), "median_ratio") - 1) < 0.01,
              "values-only step: rank-sum p %g, median ratio %g", number(field(c, "samples"), "rank_sum_p"),
              number(field(c, "samples"), "median_ratio"));
    cJSON_Delete(root);
    rc = run("%s history changes --store %s", bin, store);
    CHECK_MSG(rc == 0 && strstr(out, "not confirmed"), "values-only step, table: %s", out);
}

static void bad_input(const char *store1) {
    const struct {
        const char *args, *expected;
    } cases[] = {
        {"--store /nonexistent/x.sqlite", "no store at '/nonexistent/x.sqlite'"},
        {"--since 2026-13-01", "--since: '2026-13-01' is not a date"},
        {"--window 3", "--window: 3 is too small (at least 4)"},
        {"--window 8", "--window 8 is shorter than twice --min-size 5"},
        {"--max-p 2", "--max-p: '2' is out of range"},
        {"--fail-above 0.9", "--fail-above: '0.9' is out of range"},
        {"--min-size x", "--min-size: 'x' is not a whole number"},
        {"--series nothing-like-this", "no series matches --series 'nothing-like-this'"},
        {"--jsn", "did you mean '--json'?"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int rc = run("%s history changes --store %s %s", bin, store1, cases[i].args);
        CHECK_MSG(rc == 2, "%s: exit %d, expected 2", cases[i].args, rc);
        CHECK_MSG(strstr(err, cases[i].expected) != NULL, "%s: expected \"%s\" in: %s", cases[i].args,
                  cases[i].expected, err);
        CHECK_MSG(out[0] == 0, "%s: wrote to stdout: %s", cases[i].args, out);
    }
}

int main(void) {
    snprintf(bin, sizeof bin, "%s", nnb_test_env("NNBENCH_BIN"));
    snprintf(dir, sizeof dir, "/tmp/nnb_changes_XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    char store1[128], store2[128], store3[128];
    snprintf(store1, sizeof store1, "%s/one.sqlite", dir);
    snprintf(store3, sizeof store3, "%s/three.sqlite", dir);
    snprintf(store2, sizeof store2, "%s/two.sqlite", dir);
    const series_spec up[] = {{"jit", "forward", "ms", 0, 10.0, 1.05, 0, 0},
                              {"serve", "throughput", "req/s", 1, 500, 1.05, 0, 0}};
    const series_spec down[] = {{"jit", "forward", "ms", 0, 10.0, 0.95, 0, 0},
                                {"serve", "throughput", "req/s", 1, 500, 0.95, 0, 0},
                                {"aten", "backward", "ms", 0, 20.0, 1.05, 1, 0}};
    const series_spec values_only[] = {{"jit", "forward", "ms", 0, 10.0, 1.05, 0, 1}};
    if (build_store(store1, up, 2) == 0 && build_store(store2, down, 3) == 0) {
        json_names_the_step(store1);
        table_and_exits(store1, store2);
        bad_input(store1);
    }
    if (build_store(store3, values_only, 1) == 0)
        values_step_samples_do_not(store3);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return nnb_test_finish();
}
