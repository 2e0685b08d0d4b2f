#define _GNU_SOURCE
/* nnbench sweep and nnbench merge through the binary, on the test plugins' spin runner (forward busy-waits
 * --seqLength microseconds, backward twice that), so every time has a known floor:
 *   - a 3-point x 2-repeat sweep: every run a fresh process with its results and the point's settings; the
 *     CSV's medians, means and standard deviations equal those recomputed here from the per-run JSON;
 *     forward >= seqLength us and backward >= 2 x seqLength us; markdown and SVG carry the points;
 *   - the same sweep in 3 shards merges to the same points, each exactly once;
 *   - a missing shard, a missing shard file, failed, crashed and timed-out runs are named, exit 1;
 *   - shards of another sweep, duplicates and non-sweep files are refused (exit 2), leaving an earlier
 *     merged file untouched; bad command lines exit 2 before anything runs. */
#include "test_support.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char bin[1024], plugins[1024], root[256];
static char out[1 << 16], err[1 << 17];

#define LET_SEGV_KILL "ASAN_OPTIONS=$ASAN_OPTIONS:handle_segv=0 "
#define COMMON "--device cpu --group rnns --warmup 1 --nloops 7 --threads 1 --runner-path"

#define sh(...) nnb_test_runf(out, sizeof out, err, sizeof err, __VA_ARGS__)

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char *bufs[8];
    static int next;
    char **slot = &bufs[next++ % 8];
    free(*slot);
    *slot = calloc(1, 1 << 22);
    size_t n = *slot ? fread(*slot, 1, (1 << 22) - 1, f) : 0;
    (void)n;
    fclose(f);
    return *slot;
}

static const cJSON *get(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }

/* Column index of name in a CSV header line. */
static int column(const char *header, const char *name) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%.*s", (int)strcspn(header, "\n"), header);
    int i = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save), i++)
        if (!strcmp(t, name))
            return i;
    return -1;
}

static double cell(const char *line, int col) {
    for (int i = 0; i < col && line; i++)
        line = strchr(line, ',') ? strchr(line, ',') + 1 : NULL;
    return line && *line != ',' && *line != '\n' ? strtod(line, NULL) : NAN;
}

/* The per-run forward/backward medians of point k from sweep.json. */
static int run_medians(const cJSON *doc, int k, double *fwd, double *bwd) {
    const cJSON *p = cJSON_GetArrayItem(get(doc, "points"), k), *run;
    int n = 0;
    cJSON_ArrayForEach(run, get(p, "runs")) {
        const cJSON *rec = cJSON_GetArrayItem(get(get(get(run, "results"), "groups"), "rnns"), 0);
        fwd[n] = cJSON_GetNumberValue(get(get(rec, "forward"), "median_ms"));
        bwd[n] = cJSON_GetNumberValue(get(get(rec, "backward"), "median_ms"));
        n++;
    }
    return n;
}

static void check_full_sweep(const char *dir) {
    char path[512];
    snprintf(path, sizeof path, "%s/sweep.json", dir);
    cJSON *doc = nnb_test_read_json(path);
    CHECK_MSG(doc != NULL, "%s is valid JSON", path);
    if (!doc)
        return;
    CHECK(!strcmp(cJSON_GetStringValue(get(doc, "schema")), "nnbench-sweep"));
    CHECK(cJSON_IsTrue(get(doc, "complete")));
    CHECK(cJSON_GetArraySize(get(doc, "points")) == 3);
    CHECK(cJSON_GetArraySize(get(doc, "failures")) == 0);
    static const int seq[] = {200, 400, 800};
    snprintf(path, sizeof path, "%s/sweep.csv", dir);
    const char *csv = slurp(path);
    CHECK_MSG(csv != NULL, "%s written", path);
    if (!csv) {
        cJSON_Delete(doc);
        return;
    }
    int cf = column(csv, "forward_median_ms"), cb = column(csv, "backward_median_ms"),
        ct = column(csv, "total_median_ms"), cfm = column(csv, "forward_mean_ms"), cfs = column(csv, "forward_std_ms"),
        cs = column(csv, "seqLength"), cr = column(csv, "repeats");
    CHECK(cf > 0 && cb > 0 && ct > 0 && cfm > 0 && cfs > 0 && cs > 0 && cr > 0);
    const char *line = strchr(csv, '\n');
    for (int k = 0; k < 3; k++) {
        const cJSON *p = cJSON_GetArrayItem(get(doc, "points"), k);
        CHECK(cJSON_GetNumberValue(get(p, "index")) == k);
        const char *v = cJSON_GetStringValue(get(get(p, "settings"), "seqLength"));
        CHECK(v && atoi(v) == seq[k]);
        const cJSON *rec =
            cJSON_GetArrayItem(get(get(get(cJSON_GetArrayItem(get(p, "runs"), 1), "results"), "groups"), "rnns"), 0);
        const char *name = cJSON_GetStringValue(get(rec, "name"));
        CHECK_MSG(name && !strcmp(name, "spin"), "point %d repeat 2: spin ran", k);
        const char *tagged = cJSON_GetStringValue(get(get(get(rec, "sweep"), "settings"), "seqLength"));
        CHECK_MSG(tagged && atoi(tagged) == seq[k], "point %d: its runner record carries seqLength", k);
        CHECK(cJSON_GetNumberValue(get(get(rec, "sweep"), "repeat")) == 1);
        double f[4], b[4];
        int n = run_medians(doc, k, f, b);
        CHECK_MSG(n == 2, "point %d: 2 runs (%d)", k, n);
        line = line ? line + 1 : NULL;
        CHECK_MSG(line && *line, "CSV row %d", k);
        if (!line || n != 2)
            continue;
        double mean = 0.5 * (f[0] + f[1]), sd = fabs(f[0] - f[1]) / sqrt(2.0);
        CHECK_NEAR(cell(line, cs), seq[k], 0);
        CHECK_NEAR(cell(line, cr), 2, 0);
        CHECK_NEAR(cell(line, cf), mean, 1e-5 * mean); /* median of two = their mean */
        CHECK_NEAR(cell(line, cfm), mean, 1e-5 * mean);
        CHECK_NEAR(cell(line, cfs), sd, 1e-5 * mean + 1e-9);
        CHECK_NEAR(cell(line, ct), 0.5 * (f[0] + b[0] + f[1] + b[1]), 1e-5 * mean * 3);
        for (int r = 0; r < 2; r++) {
            CHECK_MSG(f[r] >= 0.99e-3 * seq[k], "forward %g ms >= %d us", f[r], seq[k]);
            CHECK_MSG(b[r] >= 2 * 0.99e-3 * seq[k], "backward %g ms >= 2 x %d us", b[r], seq[k]);
            CHECK_MSG(f[r] < 20e-3 * seq[k], "forward %g ms not absurd for %d us", f[r], seq[k]);
        }
        line = strchr(line, '\n');
    }
    snprintf(path, sizeof path, "%s/sweep.md", dir);
    const char *md = slurp(path);
    CHECK_STR_CONTAINS(md ? md : "", "| 1 | 400 | spin | 2 |");
    snprintf(path, sizeof path, "%s/sweep.svg", dir);
    const char *svg = slurp(path);
    CHECK_STR_CONTAINS(svg ? svg : "", "data-x=\"800\"");
    CHECK_STR_CONTAINS(svg ? svg : "", ">seqLength<");
    cJSON_Delete(doc);
}

static int point_labels(const char *path, char labels[][64], int cap) {
    cJSON *doc = nnb_test_read_json(path);
    int n = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, get(doc, "points")) if (n < cap) {
        CHECK(cJSON_GetNumberValue(get(p, "index")) == n); /* sorted, each index once */
        const char *label = cJSON_GetStringValue(get(p, "label"));
        snprintf(labels[n++], 64, "%s", label ? label : "");
    }
    cJSON_Delete(doc);
    return n;
}

static void sharded_sweep_merges_to_the_same_points(void) {
    for (int i = 0; i < 3; i++) {
        int rc = sh("%s sweep --out %s/sharded --shard %d/3 --axis seqLength=200,400,800 --repeat 2 " COMMON
                    " %s --rnns spin",
                    bin, root, i, plugins);
        CHECK_MSG(rc == 0, "shard %d/3: rc %d: %s", i, rc, err);
    }
    char path[512];
    snprintf(path, sizeof path, "%s/sharded/shard-1-of-3.json", root);
    cJSON *shard = nnb_test_read_json(path);
    CHECK_MSG(cJSON_GetArraySize(get(shard, "points")) == 1, "shard 1/3 holds one point");
    cJSON_Delete(shard);
    int rc = sh("%s merge %s/sharded", bin, root);
    CHECK_MSG(rc == 0, "merge: rc %d: %s", rc, err);
    snprintf(path, sizeof path, "%s/sharded", root);
    check_full_sweep(path);
    char a[8][64], b[8][64];
    char p1[512], p2[512];
    snprintf(p1, sizeof p1, "%s/full/sweep.json", root);
    snprintf(p2, sizeof p2, "%s/sharded/sweep.json", root);
    int na = point_labels(p1, a, 8), nb = point_labels(p2, b, 8);
    CHECK(na == 3 && nb == 3);
    for (int k = 0; k < na && k < nb; k++)
        CHECK(!strcmp(a[k], b[k]));
}

static void missing_shards_are_named(void) {
    sh("mkdir -p %s/partial && cp %s/sharded/shard-0-of-3.json %s/sharded/shard-2-of-3.json %s/partial/", root, root,
       root, root);
    int rc = sh("%s merge %s/partial", bin, root);
    CHECK_MSG(rc == 1, "merge with a shard missing: exit 1 (%d)", rc);
    CHECK_STR_CONTAINS(err, "shard 1/3 never wrote its file: points 1 have no results");
    char path[512];
    snprintf(path, sizeof path, "%s/partial/sweep.json", root);
    cJSON *doc = nnb_test_read_json(path);
    CHECK(doc && cJSON_IsFalse(get(doc, "complete")) && cJSON_GetArraySize(get(doc, "points")) == 2);
    CHECK(doc && cJSON_GetArraySize(get(doc, "missing")) >= 1);
    cJSON_Delete(doc);
    /* The Slurm merge job names every shard file: a file that was never written is named as such. */
    rc = sh("%s merge --out %s/partial %s/partial/shard-0-of-3.json %s/partial/shard-1-of-3.json "
            "%s/partial/shard-2-of-3.json",
            bin, root, root, root, root);
    CHECK(rc == 1);
    CHECK_STR_CONTAINS(err, "shard-1-of-3.json: not found (the shard never wrote it)");
}

static void foreign_and_duplicate_shards_are_refused(void) {
    char before[1 << 12], path[512];
    snprintf(path, sizeof path, "%s/sharded/sweep.json", root);
    const char *text = slurp(path);
    snprintf(before, sizeof before, "%.4000s", text ? text : "");
    int rc = sh("%s sweep --out %s/other --shard 0/3 --axis seqLength=200,400,801 --repeat 2 " COMMON " %s --rnns spin",
                bin, root, plugins);
    CHECK_MSG(rc == 0, "other sweep: %s", err);
    rc = sh("%s merge --out %s/sharded %s/sharded/shard-1-of-3.json %s/sharded/shard-2-of-3.json "
            "%s/other/shard-0-of-3.json",
            bin, root, root, root, root);
    CHECK_MSG(rc == 2, "shards of two sweeps: exit 2 (%d)", rc);
    CHECK_STR_CONTAINS(err, "are from different sweeps: their axes differ");
    text = slurp(path);
    CHECK_MSG(text && !strncmp(text, before, strlen(before)), "the earlier sweep.json is untouched");

    sh("mkdir -p %s/dup && cp %s/sharded/shard-0-of-3.json %s/dup/copy.json", root, root, root);
    rc = sh("%s merge --out %s/dup %s/sharded/shard-0-of-3.json %s/dup/copy.json", bin, root, root, root);
    CHECK(rc == 2);
    CHECK_STR_CONTAINS(err, "shard 0/3 is in both");
    rc = sh("%s merge --out %s/dup %s/full/runs/p00000-r0.json", bin, root, root);
    CHECK(rc == 2);
    CHECK_STR_CONTAINS(err, "not an nnbench sweep file");
}

static void failed_runs_are_named(void) {
    int rc = sh(LET_SEGV_KILL "%s sweep --out %s/fail --axis seqLength=200,300 --run-timeout 3 " COMMON
                              " %s --rnns spin,forward_fails",
                bin, root, plugins);
    CHECK_MSG(rc == 1, "a failing runner: sweep exit 1 (%d)", rc);
    CHECK_STR_CONTAINS(err, "point 0 (seqLength=200) repeat 1: failed: forward_fails FAILED: forward: deliberate");
    char path[512];
    snprintf(path, sizeof path, "%s/fail/sweep.csv", root);
    const char *csv = slurp(path);
    CHECK_STR_CONTAINS(csv ? csv : "", ",spin,rnns,1,"); /* the good runner's numbers are kept */

    rc = sh(LET_SEGV_KILL "%s sweep --out %s/crash --axis seqLength=1,2 --run-timeout 3 " COMMON
                          " %s --rnns segfaults --no-isolate",
            bin, root, plugins);
    CHECK(rc == 1);
    CHECK_STR_CONTAINS(err, "repeat 1/1: crashed");
    snprintf(path, sizeof path, "%s/crash/sweep.json", root);
    cJSON *doc = nnb_test_read_json(path);
    const cJSON *f = cJSON_GetArrayItem(get(doc, "failures"), 1);
    const char *status = cJSON_GetStringValue(get(f, "status"));
    CHECK(status && !strcmp(status, "crashed"));
    CHECK(cJSON_GetArraySize(get(doc, "failures")) == 2);
    cJSON_Delete(doc);

    rc = sh("%s sweep --out %s/hang --axis seqLength=1 --run-timeout 1 " COMMON " %s --rnns hangs --no-isolate", bin,
            root, plugins);
    CHECK(rc == 1);
    CHECK_STR_CONTAINS(err, "timeout");
    CHECK_STR_CONTAINS(err, "killed after the --run-timeout of 1 s");
}

/* --serve: each point an `nnbench serve` run; the CSV's means and standard deviations over the repeats equal
 * those recomputed from each run's own summary. */
static void serve_sweeps_summarise_latency_and_throughput(void) {
    int rc = sh("%s sweep --serve --out %s/serve --axis max-batch=1,4 --repeat 2 --device cpu --runner-path %s "
                "--runner spin --seqLength 200 --inputSize 20 --mode offline --requests 16 --warmup-requests 0",
                bin, root, plugins);
    CHECK_MSG(rc == 0, "serve sweep: rc %d: %s", rc, err);
    char path[512];
    snprintf(path, sizeof path, "%s/serve/sweep.json", root);
    cJSON *doc = nnb_test_read_json(path);
    snprintf(path, sizeof path, "%s/serve/sweep.csv", root);
    const char *csv = slurp(path);
    CHECK_MSG(doc && csv, "serve sweep outputs written");
    if (!doc || !csv) {
        cJSON_Delete(doc);
        return;
    }
    int cm = column(csv, "p99_ms_mean"), cs = column(csv, "p99_ms_std"), cb = column(csv, "mean_batch_samples_mean"),
        cv = column(csv, "valid_runs");
    CHECK(cm > 0 && cs > 0 && cb > 0 && cv > 0);
    const char *line = strchr(csv, '\n');
    for (int k = 0; k < 2 && line; k++, line = strchr(line, '\n')) {
        line++;
        const cJSON *runs = get(cJSON_GetArrayItem(get(doc, "points"), k), "runs");
        double p[2];
        for (int r = 0; r < 2; r++)
            p[r] = cJSON_GetNumberValue(
                get(get(get(get(cJSON_GetArrayItem(runs, r), "results"), "summary"), "latency_ms"), "p99"));
        CHECK_NEAR(cell(line, cm), 0.5 * (p[0] + p[1]), 1e-5 * p[0]);
        CHECK_NEAR(cell(line, cs), fabs(p[0] - p[1]) / sqrt(2.0), 1e-5 * p[0] + 1e-9);
        CHECK_NEAR(cell(line, cb), k == 0 ? 1 : 4, 1e-9); /* offline fills every batch */
        CHECK_NEAR(cell(line, cv), 2, 0);
        CHECK_MSG(p[0] >= 0.2 + (k == 0 ? 1 : 4) * 0.02, "p99 %g ms covers the service time", p[0]);
    }
    snprintf(path, sizeof path, "%s/serve/sweep.svg", root);
    const char *svg = slurp(path);
    CHECK_STR_CONTAINS(svg ? svg : "", "p99 latency against throughput");
    CHECK_STR_CONTAINS(svg ? svg : "", "class=\"point\"");
    cJSON_Delete(doc);
    rc = sh("%s sweep --serve --axis max-batch=1,x --runner spin", bin);
    CHECK(rc == 2);
    CHECK_STR_CONTAINS(err, "--max-batch: 'x' is not an integer");
    rc = sh("%s sweep --serve --axis csv=a,b --runner spin", bin);
    CHECK(rc == 2);
    CHECK_STR_CONTAINS(err, "--csv cannot vary");
}

static void bad_command_lines_exit_2(void) {
    struct {
        const char *args, *needle;
    } cases[] = {
        {"sweep --rnns spin", "nothing to sweep"},
        {"sweep --axis seqLength=1,x", "'x' is not an integer"},
        {"sweep --axis seqLength=1 --json-out a.json", "--json-out cannot be given"},
        {"sweep --axis seqLength=1 --out /proc/version", "--out: '/proc/version' is a file; give a folder"},
        {"sweep --axis seqLength=1 --shapes /no/such.shapes", "/no/such.shapes"},
        {"merge", "no shard files given"},
        {"merge --plot-y speed x.json", "--plot-y: 'speed'"},
        {"merge --bogus x.json", "unknown flag '--bogus'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int rc = sh("%s %s", bin, cases[i].args);
        CHECK_MSG(rc == 2, "nnbench %s: exit 2 (%d)", cases[i].args, rc);
        CHECK_STR_CONTAINS(err, cases[i].needle);
    }
}

int main(void) {
    snprintf(bin, sizeof bin, "%s", nnb_test_env("NNBENCH_BIN"));
    snprintf(plugins, sizeof plugins, "%s/good", nnb_test_env("NNBENCH_TEST_PLUGIN_DIR"));
    snprintf(root, sizeof root, "/tmp/nnb_sweep_test_XXXXXX");
    if (!mkdtemp(root))
        return fprintf(stderr, "mkdtemp failed\n"), 1;
    int rc = sh("%s sweep --out %s/full --axis seqLength=200,400,800 --repeat 2 " COMMON " %s --rnns spin", bin, root,
                plugins);
    CHECK_MSG(rc == 0, "sweep: rc %d: %s", rc, err);
    char dir[512];
    snprintf(dir, sizeof dir, "%s/full", root);
    check_full_sweep(dir);
    sharded_sweep_merges_to_the_same_points();
    missing_shards_are_named();
    foreign_and_duplicate_shards_are_refused();
    failed_runs_are_named();
    serve_sweeps_summarise_latency_and_throughput();
    bad_command_lines_exit_2();
    if (!nnb_test_failed)
        sh("rm -rf %s", root);
    else
        fprintf(stderr, "kept %s\n", root);
    return nnb_test_finish();
}
