/* nnbench-compare on files made by the real tools (tests/data/compare), every number checked against what
 * this test computes itself from the same files:
 *   fastrnns_cpu_T7_B3_I10_H8.oss.json   PyTorch's fastrnns.bench --device cpu --print-json: CPU means in
 *                                         SECONDS (copied from a fastrnns run; aten jit jit_premul py)
 *   nnbench_cpu_T7_B3_I10_H8.json         nnbench --rnns aten jit jit_premul py, same sizes, --fuser te
 *   nnbench_cpu_T7_B3_I10_H16_fuser_none.json   the same with --hiddenSize 16 --fuser none
 *   sweep_old.json / sweep_new.json       nnbench sweep of the test plugins' spin runner, --repeat 2:
 *                                         seqLength 100,200 / 200,400 (NEW with --inputSize 20)
 *   serve_old.json / serve_new.json       nnbench serve --runner jit --device cpu --requests 20 (tiny LSTM),
 *                                         NEW with --max-batch 4
 *   serve_sweep_old.json / _new.json      nnbench sweep --serve of spin, --repeat 2, offline, 16 requests:
 *                                         --axis max-batch=1,4 / 4,8 */
#define _XOPEN_SOURCE 700 /* realpath */
#include "robust_stats.h"
#include "test_support.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static char tool[PATH_MAX], data[1024];
static int rc;
static char out[65536], err[16384];

static int run(const char *args) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cd '%s/compare' && '%s' %s", data, tool, args);
    return rc = nnb_test_run(cmd, out, sizeof out, err, sizeof err);
}

static cJSON *load(const char *name) {
    char path[2048];
    snprintf(path, sizeof path, "%s/compare/%s", data, name);
    cJSON *j = nnb_test_read_json(path);
    CHECK_MSG(j != NULL, "cannot read %s", path);
    return j;
}

static const cJSON *get(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }

/* One table row: the line whose cells, blanks collapsed, start with `cells` ("rnns jit forward"); then the old
 * and new values, the ratio and, when present, the interval. 0 when there is no such row. */
typedef struct row {
    double old_value, new_value, ratio, lo, hi;
    char rest[256]; /* after the ratio: interval and verdict */
} row;

static int find_row(const char *cells, row *r) {
    memset(r, 0, sizeof *r);
    r->lo = r->hi = NAN;
    for (const char *p = out; *p;) {
        size_t len = strcspn(p, "\n");
        char line[1024];
        int n = 0;
        for (size_t i = 0; i < len && n + 1 < (int)sizeof line; i++)
            if (p[i] != ' ' || (n > 0 && line[n - 1] != ' '))
                line[n++] = p[i];
        line[n] = '\0';
        p += len + (p[len] == '\n');
        size_t k = strlen(cells);
        if (strncmp(line, cells, k) != 0 || line[k] != ' ')
            continue;
        int used = 0;
        if (sscanf(line + k, " %lf %lf %lf %n", &r->old_value, &r->new_value, &r->ratio, &used) < 3)
            return 0;
        snprintf(r->rest, sizeof r->rest, "%s", line + k + used);
        sscanf(r->rest, "[%lf, %lf]", &r->lo, &r->hi);
        return 1;
    }
    return 0;
}

/* Printed with about 4 significant digits. */
static void expect_close(double got, double want, const char *what) {
    CHECK_MSG(fabs(got - want) <= 6e-4 * fabs(want) + 6e-5, "%s: printed %.6g, computed %.6g", what, got, want);
}

/* ---- fastrnns CPU seconds against nnbench ms ------------------------------------------------------- */

static double median_of_samples(const cJSON *phase) {
    double x[4096];
    int n = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, get(phase, "samples_ms")) {
        if (cJSON_IsNumber(s) && n < 4096)
            x[n++] = s->valuedouble;
    }
    return nnb_median_of(x, n);
}

/* Every runner and phase of the OSS file: the printed ratio is nnbench's median / (fastrnns' mean x scale). */
static void expect_oss_ratios(const cJSON *oss, const cJSON *full, double scale, double *log_sum, int *count) {
    const char *keys[2] = {"lstm", "lstm-backward"}, *phases[2] = {"forward", "backward"};
    *log_sum = 0, *count = 0;
    for (int ph = 0; ph < 2; ph++) {
        const cJSON *mean;
        cJSON_ArrayForEach(mean, get(oss, keys[ph])) {
            const cJSON *runner = NULL, *r;
            cJSON_ArrayForEach(r, get(get(full, "groups"), "rnns")) {
                if (!strcmp(get(r, "name")->valuestring, mean->string))
                    runner = r;
            }
            CHECK_MSG(runner != NULL, "%s is in the nnbench fixture", mean->string);
            if (!runner)
                continue;
            double old_ms = mean->valuedouble * scale, new_ms = median_of_samples(get(runner, phases[ph]));
            char cells[128], what[160];
            snprintf(cells, sizeof cells, "rnns %s %s", mean->string, phases[ph]);
            row rw;
            CHECK_MSG(find_row(cells, &rw), "row '%s' in:\n%s", cells, out);
            snprintf(what, sizeof what, "%s (x%g) ratio", cells, scale);
            expect_close(rw.old_value, old_ms, what);
            expect_close(rw.ratio, new_ms / old_ms, what);
            *log_sum += log(new_ms / old_ms), (*count)++;
        }
    }
}

static void fastrnns_seconds(void) {
    cJSON *oss = load("fastrnns_cpu_T7_B3_I10_H8.oss.json"), *full = load("nnbench_cpu_T7_B3_I10_H8.json");
    double log_sum;
    int n;
    /* Read as ms, the fastrnns means look 1000x too fast: every ratio is inflated, and the tool says why. */
    CHECK_MSG(run("fastrnns_cpu_T7_B3_I10_H8.oss.json nnbench_cpu_T7_B3_I10_H8.json") == 0, "exit %d: %s", rc, err);
    expect_oss_ratios(oss, full, 1.0, &log_sum, &n);
    CHECK_MSG(n == 8, "%d rows compared, expected 8", n);
    char warning[256];
    snprintf(warning, sizeof warning, "warning: NEW / OLD is %.4g overall (geometric mean) and OLD is fastrnns OSS",
             exp(log_sum / n));
    CHECK_STR_CONTAINS(out, warning);
    CHECK_STR_CONTAINS(out, "If OLD came from a CPU run, give --old-unit s");
    CHECK_STR_CONTAINS(err, "nnbench-compare: warning: NEW / OLD is");
    CHECK_STR_CONTAINS(out, "configuration: OLD unknown (fastrnns OSS JSON records none): not compared");

    /* --old-unit s: the means are seconds; the ratios are those above / 1000, and nothing is suspicious. */
    CHECK_MSG(run("--old-unit s fastrnns_cpu_T7_B3_I10_H8.oss.json nnbench_cpu_T7_B3_I10_H8.json") == 0, "exit %d", rc);
    expect_oss_ratios(oss, full, 1000.0, &log_sum, &n);
    double geomean = exp(log_sum / n);
    CHECK_MSG(geomean > 0.005 && geomean < 2, "geometric mean %g: not a plausible native-vs-PyTorch ratio", geomean);
    CHECK_MSG(strstr(out, "warning") == NULL && err[0] == 0, "no warning with --old-unit s:\n%s%s", out, err);
    CHECK_STR_CONTAINS(out, "time = mean, given in s (--old-unit s), shown in ms");
    char line[128];
    snprintf(line, sizeof line, "overall %.4f (n=8)", geomean);
    CHECK_STR_CONTAINS(out, line);

    /* Stating ms silences the warning; the other way round the flag to give is --new-unit. */
    run("--old-unit ms fastrnns_cpu_T7_B3_I10_H8.oss.json nnbench_cpu_T7_B3_I10_H8.json");
    CHECK_MSG(strstr(out, "warning") == NULL, "--old-unit ms: no warning:\n%s", out);
    run("nnbench_cpu_T7_B3_I10_H8.json fastrnns_cpu_T7_B3_I10_H8.oss.json");
    CHECK_STR_CONTAINS(out, "and NEW is fastrnns OSS JSON read as ms");
    CHECK_STR_CONTAINS(out, "give --new-unit s");
    run("--new-unit s nnbench_cpu_T7_B3_I10_H8.json fastrnns_cpu_T7_B3_I10_H8.oss.json");
    CHECK_MSG(strstr(out, "warning") == NULL, "--new-unit s: no warning:\n%s", out);
    cJSON_Delete(oss);
    cJSON_Delete(full);
}

/* The unit rules on made-up OSS lines: a stated unit is believed, except that a ratio near 1000 is always
 * worth a word; a side read as ms by default is suspected from a factor 10 on. */
static void unit_thresholds(void) {
    char dir[] = "/tmp/nnb-compare-units-XXXXXX", args[512];
    CHECK(mkdtemp(dir) != NULL);
    const struct {
        const char *name, *text;
    } files[] = {{"one.json", "{\"lstm\": {\"jit\": 1.0}}"},
                 {"thousand.json", "{\"lstm\": {\"jit\": 900.0}}"},
                 {"forty.json", "{\"lstm\": {\"jit\": 40.0}}"},
                 {"five.json", "{\"lstm\": {\"jit\": 5.0}}"},
                 {"milli.json", "{\"lstm\": {\"jit\": 0.05}}"}};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/%s", dir, files[i].name);
        FILE *f = fopen(path, "w");
        CHECK(f && fputs(files[i].text, f) >= 0);
        if (f)
            fclose(f);
    }
    snprintf(args, sizeof args, "--old-unit ms %s/one.json %s/thousand.json", dir, dir);
    run(args);
    CHECK_STR_CONTAINS(out, "warning: NEW / OLD is 900 overall (geometric mean), near 1000x");
    snprintf(args, sizeof args, "--old-unit ms %s/one.json %s/forty.json", dir, dir);
    run(args);
    CHECK_MSG(strstr(out, "warning") == NULL, "40x with the unit stated: no warning:\n%s", out);
    snprintf(args, sizeof args, "%s/one.json %s/forty.json", dir, dir);
    run(args);
    CHECK_STR_CONTAINS(out, "give --old-unit s");
    snprintf(args, sizeof args, "%s/one.json %s/five.json", dir, dir);
    run(args);
    CHECK_MSG(strstr(out, "warning") == NULL, "5x: no warning:\n%s", out);
    snprintf(args, sizeof args, "%s/one.json %s/milli.json", dir, dir);
    run(args);
    CHECK_STR_CONTAINS(out, "NEW / OLD is 0.05 overall (geometric mean) and NEW is fastrnns OSS JSON read as ms");
    snprintf(args, sizeof args, "rm -rf '%s'", dir); /* only our own mkdtemp directory */
    CHECK(system(args) == 0);
}

/* ---- configurations ---------------------------------------------------------------------------------- */

static void configurations(void) {
    cJSON *a = load("nnbench_cpu_T7_B3_I10_H8.json"), *b = load("nnbench_cpu_T7_B3_I10_H16_fuser_none.json");
    CHECK(get(get(a, "config"), "hidden_size")->valueint == 8 && get(get(b, "config"), "hidden_size")->valueint == 16);
    CHECK(!strcmp(get(get(b, "config"), "fuser")->valuestring, "none"));
    CHECK_MSG(run("nnbench_cpu_T7_B3_I10_H8.json nnbench_cpu_T7_B3_I10_H16_fuser_none.json") == 0, "exit %d", rc);
    /* Exactly the two keys that differ, in file order, and nothing else (nloops, seed, date are not compared). */
    CHECK_STR_CONTAINS(out, "warning: the configurations differ (OLD -> NEW): hidden_size 8 -> 16, fuser te -> none; "
                            "the ratios compare different setups\n");
    CHECK_STR_CONTAINS(out, "configuration: OLD and NEW differ in 2 of ");
    CHECK_STR_CONTAINS(err, "nnbench-compare: warning: the configurations differ");
    run("--format markdown nnbench_cpu_T7_B3_I10_H8.json nnbench_cpu_T7_B3_I10_H16_fuser_none.json");
    CHECK_STR_CONTAINS(out, "- **warning**: the configurations differ (OLD -> NEW): hidden_size 8 -> 16, fuser te");
    run("nnbench_cpu_T7_B3_I10_H8.json nnbench_cpu_T7_B3_I10_H8.json");
    CHECK_STR_CONTAINS(out, "configuration: the same in OLD and NEW (");
    CHECK_MSG(strstr(out, "warning") == NULL, "no warning for a file against itself:\n%s", out);
    cJSON_Delete(a);
    cJSON_Delete(b);
}

/* ---- sweeps -------------------------------------------------------------------------------------------- */

/* The samples of runner spin's phase at the point whose seqLength is `seq`, every repeat in file order. */
static int pooled_samples(const cJSON *sweep, const char *seq, const char *phase, double *x, int cap) {
    int n = 0;
    const cJSON *point, *run_, *runner, *s;
    cJSON_ArrayForEach(point, get(sweep, "points")) {
        if (strcmp(get(get(point, "settings"), "seqLength")->valuestring, seq))
            continue;
        cJSON_ArrayForEach(run_, get(point, "runs")) {
            cJSON_ArrayForEach(runner, get(get(get(run_, "results"), "groups"), "rnns")) {
                if (strcmp(get(runner, "name")->valuestring, "spin"))
                    continue;
                cJSON_ArrayForEach(s, get(get(runner, phase), "samples_ms")) {
                    if (n < cap)
                        x[n++] = s->valuedouble;
                }
            }
        }
    }
    return n;
}

static void sweeps(void) {
    cJSON *a = load("sweep_old.json"), *b = load("sweep_new.json");
    CHECK_MSG(run("sweep_old.json sweep_new.json") == 0, "exit %d: %s", rc, err);
    const char *phases[2] = {"forward", "backward"};
    for (int ph = 0; ph < 2; ph++) {
        double x[256], y[256], ratio, lo, hi;
        int nx = pooled_samples(a, "200", phases[ph], x, 256), ny = pooled_samples(b, "200", phases[ph], y, 256);
        CHECK_MSG(nx == 14 && ny == 14, "2 repeats x 7 samples pooled: %d, %d", nx, ny);
        CHECK(nnb_bootstrap_median_ratio(x, nx, y, ny, 0.95, 2000, UINT64_C(0x6e6e6263), &ratio, &lo, &hi) == 0);
        char cells[64];
        snprintf(cells, sizeof cells, "seqLength=200 rnns spin %s", phases[ph]);
        row r;
        CHECK_MSG(find_row(cells, &r), "row '%s' in:\n%s", cells, out);
        expect_close(r.old_value, nnb_median_of(x, nx), cells);
        expect_close(r.new_value, nnb_median_of(y, ny), cells);
        expect_close(r.ratio, ratio, cells);
        expect_close(r.lo, lo, cells);
        expect_close(r.hi, hi, cells);
    }
    /* Points are matched by their settings: 100 ran only in OLD, 400 only in NEW. */
    CHECK_STR_CONTAINS(out, "seqLength=100  rnns   spin    -");
    CHECK_STR_CONTAINS(out, "only in OLD");
    CHECK_STR_CONTAINS(out, "seqLength=400  rnns   spin    -");
    CHECK_STR_CONTAINS(out, "only in NEW");
    /* The axis varies per point (not a difference); --inputSize was a common argument of NEW only. */
    CHECK_STR_CONTAINS(out, "warning: the configurations differ (OLD -> NEW): input_size 512 -> 20; the ratios");
    CHECK(strstr(out, "seq_length") == NULL);
    run("--format markdown sweep_old.json sweep_new.json");
    CHECK_STR_CONTAINS(out, "| point | group | runner | phase | old ms |");
    CHECK_STR_CONTAINS(out, "| seqLength=200 | rnns | spin | forward |");
    /* Ratios about 1 with tight intervals: regressions beyond 0.5, not beyond 1.5. */
    CHECK_MSG(run("--fail-above 0.5 sweep_old.json sweep_new.json") == 4, "--fail-above 0.5: exit %d", rc);
    CHECK_STR_CONTAINS(out, "seqLength=200: rnns spin forward: CI lower bound");
    CHECK_MSG(run("--fail-above 1.5 sweep_old.json sweep_new.json") == 0, "--fail-above 1.5: exit %d", rc);
    cJSON_Delete(a);
    cJSON_Delete(b);
}

/* ---- serving --------------------------------------------------------------------------------------------- */

static int compare_doubles(const void *p, const void *q) {
    double x = *(const double *)p, y = *(const double *)q;
    return (x > y) - (x < y);
}

/* Appends the measured requests' response - arrival of one serve run to x[*n]. */
static void add_latencies(const cJSON *serve, double *x, int *n, int cap) {
    int i = 0, warmup = get(get(serve, "config"), "warmup_requests")->valueint;
    const cJSON *req;
    cJSON_ArrayForEach(req, get(serve, "requests")) {
        if (i++ >= warmup && *n < cap)
            x[(*n)++] = cJSON_GetArrayItem(req, 3)->valuedouble - cJSON_GetArrayItem(req, 0)->valuedouble;
    }
}

/* Nearest rank (docs/serving.md): the smallest value with at least p% of them at or below it. */
static double nearest_rank(double *x, int n, double p) {
    qsort(x, (size_t)n, sizeof *x, compare_doubles);
    long rank = (long)ceil(p / 100.0 * n - 1e-9);
    return n ? x[(rank < 1 ? 1 : rank) - 1] : NAN;
}

static double request_percentile(const cJSON *serve, double p) {
    double x[4096];
    int n = 0;
    add_latencies(serve, x, &n, 4096);
    return nearest_rank(x, n, p);
}

static void serves(void) {
    cJSON *a = load("serve_old.json"), *b = load("serve_new.json");
    CHECK_MSG(run("serve_old.json serve_new.json") == 0, "exit %d: %s", rc, err);
    const double percentiles[2] = {50, 99};
    const char *labels[2] = {"jit p50 latency ms", "jit p99 latency ms"}, *keys[2] = {"p50", "p99"};
    for (int i = 0; i < 2; i++) {
        double old_p = request_percentile(a, percentiles[i]), new_p = request_percentile(b, percentiles[i]);
        /* The requests reproduce the summary, so the interval describes the numbers shown. */
        CHECK_NEAR(old_p, get(get(get(a, "summary"), "latency_ms"), keys[i])->valuedouble, 1e-12);
        CHECK_NEAR(new_p, get(get(get(b, "summary"), "latency_ms"), keys[i])->valuedouble, 1e-12);
        row r;
        CHECK_MSG(find_row(labels[i], &r), "row '%s' in:\n%s", labels[i], out);
        expect_close(r.old_value, old_p, labels[i]);
        expect_close(r.ratio, new_p / old_p, labels[i]);
    }
    /* 20 requests: enough for p50's interval (10), not for p99's (500: a few requests above it). */
    row p50, p99;
    CHECK(find_row("jit p50 latency ms", &p50) && find_row("jit p99 latency ms", &p99));
    CHECK_MSG(p50.lo > 0 && p50.lo <= p50.ratio + 1e-4 && p50.ratio <= p50.hi + 1e-4, "p50: [%g, %g] around %g", p50.lo,
              p50.hi, p50.ratio);
    CHECK_MSG(isnan(p99.lo) && strstr(p99.rest, "too few requests"), "p99: no interval: %s", p99.rest);
    double old_tp = get(get(a, "summary"), "whole_samples_per_s")->valuedouble;
    double new_tp = get(get(b, "summary"), "whole_samples_per_s")->valuedouble;
    row r;
    CHECK_MSG(find_row("jit throughput samples/s", &r), "throughput row in:\n%s", out);
    expect_close(r.ratio, new_tp / old_tp, "throughput ratio");
    CHECK_STR_CONTAINS(r.rest, "no interval");
    CHECK_STR_CONTAINS(out, "warning: the configurations differ (OLD -> NEW): max_batch 1 -> 4; the ratios");
    CHECK(strstr(out, "geometric mean") == NULL); /* latencies and a throughput share no scale */

    /* p99 went up about 1.9x (no interval: the ratio decides), throughput down to about 0.89 of OLD's (< 1/1.1). */
    CHECK_MSG(run("--fail-above 1.1 serve_old.json serve_new.json") == 4, "--fail-above 1.1: exit %d", rc);
    CHECK_STR_CONTAINS(out, "serve jit p99 latency ms: ratio 1.8998 > 1.1 (too few requests)");
    CHECK_STR_CONTAINS(out, "serve jit throughput samples/s: ratio");
    CHECK_MSG(run("--fail-above 2.5 serve_old.json serve_new.json") == 0, "--fail-above 2.5: exit %d", rc);
    cJSON_Delete(a);
    cJSON_Delete(b);
}

/* The runs of the point with settings max-batch=mb: latencies pooled, throughput averaged. */
static void pooled_point(const cJSON *sweep, const char *mb, double *x, int *n, double *throughput) {
    const cJSON *point, *run_;
    int runs = 0;
    *n = 0, *throughput = 0;
    cJSON_ArrayForEach(point, get(sweep, "points")) {
        if (strcmp(get(get(point, "settings"), "max-batch")->valuestring, mb))
            continue;
        cJSON_ArrayForEach(run_, get(point, "runs")) {
            add_latencies(get(run_, "results"), x, n, 4096);
            *throughput += get(get(get(run_, "results"), "summary"), "whole_samples_per_s")->valuedouble;
            runs++;
        }
    }
    *throughput /= runs;
    CHECK_MSG(runs == 2, "max-batch=%s: %d runs, expected 2 repeats", mb, runs);
}

static void serve_sweeps(void) {
    cJSON *a = load("serve_sweep_old.json"), *b = load("serve_sweep_new.json");
    CHECK_MSG(run("serve_sweep_old.json serve_sweep_new.json") == 0, "exit %d: %s", rc, err);
    static double x[4096], y[4096];
    int nx, ny;
    double tx, ty;
    pooled_point(a, "4", x, &nx, &tx);
    pooled_point(b, "4", y, &ny, &ty);
    CHECK_MSG(nx == 32 && ny == 32, "2 repeats x 16 requests: %d, %d", nx, ny);
    const double percentiles[2] = {50, 99};
    const char *labels[2] = {"max-batch=4 spin p50 latency ms", "max-batch=4 spin p99 latency ms"};
    for (int i = 0; i < 2; i++) {
        double old_p = nearest_rank(x, nx, percentiles[i]), new_p = nearest_rank(y, ny, percentiles[i]);
        row r;
        CHECK_MSG(find_row(labels[i], &r), "row '%s' in:\n%s", labels[i], out);
        expect_close(r.old_value, old_p, labels[i]);
        expect_close(r.new_value, new_p, labels[i]);
        expect_close(r.ratio, new_p / old_p, labels[i]);
    }
    row r;
    CHECK_MSG(find_row("max-batch=4 spin throughput samples/s", &r), "throughput row in:\n%s", out);
    expect_close(r.old_value, tx, "mean throughput of OLD's repeats");
    expect_close(r.ratio, ty / tx, "throughput ratio");
    CHECK_STR_CONTAINS(out, "max-batch=1  spin    -");
    CHECK_STR_CONTAINS(out, "only in OLD");
    CHECK_STR_CONTAINS(out, "max-batch=8  spin    -");
    CHECK_STR_CONTAINS(out, "only in NEW");
    /* A sweep of serve runs against a sweep of nnbench runs: refused. */
    CHECK_MSG(run("serve_sweep_old.json sweep_new.json") == 2, "serve sweep vs sweep: exit %d", rc);
    CHECK_STR_CONTAINS(err, "is a sweep of nnbench serve runs and NEW (sweep_new.json) one of nnbench runs");
    cJSON_Delete(a);
    cJSON_Delete(b);
}

/* A repeat without request rows (null requests) after one that has them: the point's latencies are the
 * first repeat's (p99 3, not the second's summary 9), its throughput the mean of both. Fuzzing found the
 * second repeat's NULL array passed to memcpy (undefined; UBSan reports it). */
static void serve_sweep_repeat_without_requests(void) {
    char dir[] = "/tmp/nnb-compare-serve-XXXXXX", path[128], args[512];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/s.json", dir);
    FILE *f = fopen(path, "w");
    CHECK(f && fputs("{\"schema\": \"nnbench-sweep\", \"sweep\": {\"command\": \"serve\"}, \"points\": [{"
                     "\"settings\": {\"workers\": \"1\"}, \"runs\": ["
                     "{\"results\": {\"schema\": \"nnbench-serve\", \"config\": {\"runner\": \"spin\", "
                     "\"warmup_requests\": 0}, \"summary\": {\"latency_ms\": {\"p50\": 2, \"p99\": 3}, "
                     "\"whole_samples_per_s\": 300}, \"requests\": [[0, 0, 1, 2, 0, 1], [1, 1, 3, 4, 1, 1]]}},"
                     "{\"results\": {\"schema\": \"nnbench-serve\", \"config\": {\"runner\": \"spin\", "
                     "\"warmup_requests\": 0}, \"summary\": {\"latency_ms\": {\"p50\": 9, \"p99\": 9}, "
                     "\"whole_samples_per_s\": 100}, \"requests\": null}}"
                     "]}]}",
                     f) >= 0);
    if (f)
        fclose(f);
    snprintf(args, sizeof args, "'%s' '%s'", path, path);
    CHECK_MSG(run(args) == 0, "exit %d: %s", rc, err);
    row r;
    CHECK_MSG(find_row("workers=1 spin p99 latency ms", &r), "p99 row in:\n%s", out);
    expect_close(r.old_value, 3, "p99 of the pooled latencies 2 and 3"); /* not the first repeat's 9 */
    CHECK_MSG(find_row("workers=1 spin throughput samples/s", &r), "throughput row in:\n%s", out);
    expect_close(r.old_value, 200, "mean throughput of 100 and 300");
    snprintf(args, sizeof args, "rm -rf '%s'", dir); /* only our own mkdtemp directory */
    CHECK(system(args) == 0);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH-OF-nnbench-compare\n", argv[0]);
        return 2;
    }
    if (!realpath(argv[1], tool)) { /* run() changes directory first */
        perror(argv[1]);
        return 2;
    }
    snprintf(data, sizeof data, "%s", nnb_test_env("NNBENCH_TEST_DATA"));
    fastrnns_seconds();
    unit_thresholds();
    configurations();
    sweeps();
    serves();
    serve_sweeps();
    serve_sweep_repeat_without_requests();
    return nnb_test_finish();
}
