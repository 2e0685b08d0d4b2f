/*
 * nnbench report without a browser: every page kind from the committed fixtures, then
 *   - self-contained: Chart.js inlined verbatim (byte for byte the file NNB_CHARTJS_PATH) in pages of
 *     result files; in a store site, one copy DIR/chart.min.js (byte for byte that file) that every page
 *     loads with <script src="chart.min.js">; outside the library no http:// or https:// anywhere (no
 *     network: no CDN, no remote font or image), and no other <script src>;
 *   - text from files is escaped: a runner named like an HTML tag appears as text in the table and as
 *     \u003c escapes in the charts' JSON, never as markup;
 *   - store pages: a page per series, a sparkline each on the index, the change points a finder set with
 *     nnb_report_set_change_finder returns marked (and "no change-point method" without one);
 *   - bad inputs refused (exit 2, the file or flag named) and nothing written: unknown format, not JSON,
 *     --out naming a file, a missing --out, a misspelt flag.
 */
#define _GNU_SOURCE
#include "html_report.h"
#include "report_changes.h"
#include "report_store_fixture.h"
#include "test_support.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char out[65536], err[65536], tmp[64], data[200];
static const char *bin;
static char *library;

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n)
        n = 0;
    if (s)
        s[n] = 0;
    fclose(f);
    return s;
}

static int report(const char *args) {
    return nnb_test_runf(out, sizeof out, err, sizeof err, "%s report %s", bin, args);
}

/* A store site's one copy of the library: DIR/chart.min.js, byte for byte the Debian file. */
static void check_library_copy(const char *dir) {
    char path[2048];
    snprintf(path, sizeof path, "%s/chart.min.js", dir);
    struct stat st, lib_st;
    CHECK_MSG(stat(path, &st) == 0, "%s: missing (store pages load it)", path);
    CHECK(stat(NNB_CHARTJS_PATH, &lib_st) == 0);
    char *copy = slurp(path);
    CHECK_MSG(copy && st.st_size == lib_st.st_size && memcmp(copy, library, (size_t)st.st_size) == 0,
              "%s: not byte for byte %s", path, NNB_CHARTJS_PATH);
    free(copy);
}

/* Every page in dir: the library inlined once (result files) or loaded from the site's own copy (a store
 * site, store_site 1), and no URL or other external script outside the library. */
static int check_pages(const char *dir, int store_site) {
    DIR *d = opendir(dir);
    struct dirent *e;
    int pages = 0;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.' || (store_site && !strcmp(e->d_name, "chart.min.js")))
            continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        CHECK_MSG(strstr(e->d_name, ".html") && !strstr(e->d_name, ".tmp"), "%s: not a page", path);
        char *page = slurp(path), *lib = page ? strstr(page, library) : NULL;
        if (!page)
            continue;
        if (store_site) {
            char *local = strstr(page, "<script src=\"chart.min.js\"></script>");
            CHECK_MSG(local != NULL, "%s: does not load the site's chart.min.js", path);
            CHECK_MSG(lib == NULL, "%s: a store page inlines the library", path);
            if (local)
                memset(local, ' ', strlen("<script src"));
        } else {
            CHECK_MSG(lib != NULL, "%s: Chart.js not inlined verbatim", path);
            if (lib)
                memset(lib, ' ', strlen(library)); /* the library's own licence comments name its home page */
        }
        CHECK_MSG(!strstr(page, "http://") && !strstr(page, "https://"), "%s: a URL outside the library", path);
        CHECK_MSG(!strcasestr(page, "<script src") && !strcasestr(page, "<link"), "%s: an external resource", path);
        pages++;
        free(page);
    }
    if (d)
        closedir(d);
    if (store_site)
        check_library_copy(dir);
    return pages;
}

static void file_pages(void) {
    char args[16384], dir[128];
    snprintf(dir, sizeof dir, "%s/files", tmp);
    snprintf(args, sizeof args,
             "--out %s %s/report/run.json %s/report/ab.json %s/compare/sweep_new.json %s/compare/serve_sweep_new.json "
             "%s/compare/serve_new.json %s/report/hostile_run.json --compare %s/compare/old.json %s/compare/new.json",
             dir, data, data, data, data, data, data, data, data);
    int rc = report(args);
    CHECK_MSG(rc == 0, "report exit %d: %s", rc, err);
    CHECK_STR_CONTAINS(out, "7 pages and index.html");
    CHECK_MSG(check_pages(dir, 0) == 8, "7 pages and index.html expected in %s", dir);
    static const char *const pages[][2] = {{"01-run.html", "run: "},
                                           {"02-ab.html", "per-round ratios B / A"},
                                           {"03-sweep_new.html", "by seqLength"},
                                           {"04-serve_sweep_new.html", "p99 latency ms by max-batch"},
                                           {"05-serve_new.html", "latency CDF"},
                                           {"07-compare-new.html", "NEW / OLD per row"},
                                           {"index.html", "06-hostile_run.html"}};
    for (size_t i = 0; i < sizeof pages / sizeof *pages; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, pages[i][0]);
        char *page = slurp(path);
        CHECK_MSG(page && strstr(page, pages[i][1]), "%s lacks '%s'", path, pages[i][1]);
        free(page);
    }
    char path[512];
    snprintf(path, sizeof path, "%s/01-run.html", dir);
    char *page = slurp(path);
    /* --dtype: each runner's dtype (fp32 for a file from before it) and its check's worst tensor, the new
     * "error" or, in an older file, the error its norm judges. */
    CHECK_MSG(page && strstr(page, "<th class=\"l\">dtype</th>") &&
                  strstr(page, "<td class=\"l\">bf16</td><td class=\"l\">dx 0.0024 &le; 0.031 (max_rel)</td>"),
              "the run page lacks jit_premul's dtype and check error");
    /* what ran (runner_info.gemm), and % of the runner's own peak: the AMX one when it ran on AMX tiles */
    CHECK_MSG(page && strstr(page, "<th class=\"l\">what ran</th>") &&
                  strstr(page, "(max_rel)</td><td class=\"l\">gemm amx</td>") && strstr(page, "<td>10.8</td>") &&
                  strstr(page, "<td>11.5</td>") && !strstr(page, "<td>313.5</td>"),
              "the run page lacks jit_premul's GEMM path or its share of the AMX peak");
    CHECK_MSG(page && strstr(page, "<td class=\"l\">fp32</td><td class=\"l\">dw_ih_l0 8.2e-07 &le; 0.0001 (max_rel)"),
              "the run page lacks jit's fp32 and its check error read from max_rel_err");
    free(page);
    snprintf(path, sizeof path, "%s/06-hostile_run.html", dir);
    page = slurp(path);
    CHECK_MSG(page && !strstr(page, "<img src=x") && !strstr(page, "<script>window.nnbHostile"),
              "hostile names reached the page as markup");
    CHECK_MSG(page &&
                  strstr(page, "&lt;img src=x onerror=&quot;window.nnbHostile=1&quot;&gt;&amp;&#39;&lt;/script&gt;"),
              "the hostile runner name is not in the table as escaped text");
    CHECK_MSG(page && strstr(page, "\\u003cimg src=x"), "the hostile name is not \\u-escaped in the charts' JSON");
    free(page);
}

static void bad_inputs(void) {
    char args[4096], dir[128], bad[128];
    snprintf(dir, sizeof dir, "%s/bad", tmp);
    snprintf(bad, sizeof bad, "%s/unknown.json", tmp);
    FILE *f = fopen(bad, "w");
    fputs("{\"schema\": \"something-else\"}\n", f);
    fclose(f);
    snprintf(args, sizeof args, "--out %s %s/report/run.json %s", dir, data, bad);
    CHECK(report(args) == 2);
    CHECK_STR_CONTAINS(err, "unknown.json: unknown format");
    snprintf(args, sizeof args, "%s/index.html", dir);
    CHECK_MSG(access(args, F_OK) != 0, "a page was written although an input was refused");
    snprintf(args, sizeof args, "--out %s %s/report/hostile_run.json %s/report", dir, data, data); /* a folder */
    CHECK(report(args) == 2);
    CHECK_STR_CONTAINS(err, "/report: ");
    snprintf(args, sizeof args, "--out %s %s", bad, bad); /* --out names a file */
    CHECK(report(args) == 2);
    CHECK_STR_CONTAINS(err, "--out");
    char *still = slurp(bad);
    CHECK_MSG(still && strstr(still, "something-else"), "the file named by --out was changed");
    free(still);
    CHECK(report("run.json") == 2);
    CHECK_STR_CONTAINS(err, "--out DIR is required");
    snprintf(args, sizeof args, "--outt %s x.json", dir);
    CHECK(report(args) == 2);
    CHECK_STR_CONTAINS(err, "did you mean '--out'");
    CHECK(report("--help") == 0);
    CHECK_STR_CONTAINS(out, "usage: nnbench report");
}

/* A stand-in for stats/changepoint: the step the fixture holds, wherever the series is long enough. */
static int step_finder(const double *values, int n, int higher_is_better, int *at, int max, void *ctx) {
    (void)values, (void)higher_is_better;
    ++*(int *)ctx;
    if (n < REPORT_FIXTURE_RUNS || max < 1)
        return 0;
    at[0] = REPORT_FIXTURE_STEP;
    return 1;
}

static char *store_page(const char *dir, const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return slurp(path);
}

static void store_pages(void) {
    char store[128], dir[128], e[512] = "";
    snprintf(store, sizeof store, "%s/history.sqlite", tmp);
    int made = report_make_store(store, e, sizeof e);
    CHECK_MSG(made == 0, "store fixture: %s", e);
    if (made)
        return;
    snprintf(dir, sizeof dir, "%s/store", tmp);
    int calls = 0;
    nnb_report_set_change_finder(step_finder, &calls);
    char *argv[] = {"--store", store, "--out", dir, NULL};
    CHECK(nnb_report_main(4, argv) == 0);
    CHECK_MSG(calls == 2, "the finder ran %d times for 2 series", calls);
    CHECK_MSG(check_pages(dir, 1) == 3, "index and 2 series pages expected");
    char *index = store_page(dir, "index.html");
    CHECK_MSG(index && strstr(index, "class=\"spark\"") && strstr(index, "2026-12-07T03:00:00Z: 1.2000&times;"),
              "index: no sparkline or not the latest change (run 6, 1.2 / 1.0)");
    CHECK_MSG(index && !strstr(index, "<img src=x"), "index: the hostile runner name as markup");
    free(index);
    char *jit = NULL;
    for (int id = 1; id <= 2 && !jit; id++) {
        char name[64];
        snprintf(name, sizeof name, "series-%d.html", id);
        char *p = store_page(dir, name);
        if (p && strstr(p, "<h1>jit forward"))
            jit = p;
        else
            free(p);
    }
    CHECK_MSG(jit != NULL, "no page for the series jit forward");
    CHECK_MSG(jit && strstr(jit, "\"vlines\":[5.5]"), "the change point is not marked between runs 5 and 6");
    CHECK_MSG(jit && strstr(jit, "id=\"run-11\"") && strstr(jit, "c0ffee11"), "run 11 has no anchor or commit");
    CHECK_MSG(jit && strstr(jit, "&lt;/script&gt;&lt;b&gt;prov"), "the provenance is not shown escaped");
    free(jit);
    nnb_report_set_change_finder(NULL, NULL);
    CHECK(nnb_report_main(4, argv) == 0);
    index = store_page(dir, "index.html");
    CHECK_MSG(index && strstr(index, "no change-point method wired in"), "without a finder the index must say so");
    free(index);
    char *bad_argv[] = {"--store", "/nonexistent-folder/h.sqlite", "--out", dir, NULL};
    CHECK(nnb_report_main(4, bad_argv) == 2);
}

int main(void) {
    bin = nnb_test_env("NNBENCH_BIN");
    snprintf(data, sizeof data, "%s", nnb_test_env("NNBENCH_TEST_DATA"));
    library = slurp(NNB_CHARTJS_PATH);
    if (!library) {
        CHECK(report("--out /tmp/nnb-report-nolib x.json") == 2);
        CHECK_STR_CONTAINS(err, "install libjs-chart.js");
        printf("skipped: %s is missing (tools/install-deps.sh installs libjs-chart.js)\n", NNB_CHARTJS_PATH);
        return nnb_test_failed ? 1 : 77;
    }
    snprintf(tmp, sizeof tmp, "/tmp/nnb-report-XXXXXX");
    if (!mkdtemp(tmp))
        return 1;
    file_pages();
    bad_inputs();
    store_pages();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    if (nnb_test_failed == 0 && system(cmd) != 0)
        return 1;
    free(library);
    return nnb_test_finish();
}
