/*
 * nnbench report in a real browser: every page kind (run, --ab, sweep, serve sweep, serve, compare, the
 * files' index, the store's index and series pages) generated from the committed fixtures, opened from
 * file:// in headless Chromium (no network: the pages must draw on their own), and for each page:
 *   - the console is silent (no CONSOLE line in Chromium's log: no error, no warning, nothing logged) and
 *     window.onerror caught nothing (#nnb-errors is empty in the DOM);
 *   - every chart drew: #nnb-status data-drawn equals data-charts (the page script sets it after Chart.js
 *     drew each one) and each <canvas> has data-drawn="1" and a non-zero width; pages of results hold at
 *     least one chart;
 *   - a hostile runner name stays text: no <img src="x"> element in the DOM;
 *   - a screenshot that is not blank: its PNG is over twice the size of a blank page's at the same size.
 * Exits 77 (skipped) where Chromium is missing or cannot start (tools/install-deps.sh --browser).
 * NNB_REPORT_KEEP=DIR keeps the pages and screenshots in DIR.
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

static char out[1 << 20], err[1 << 20], tmp[256], browser[512];
static const char *bin, *data;

#define WINDOW "--window-size=1000,1400"

static int find_browser(void) {
    const char *given = getenv("NNB_CHROMIUM");
    if (given && *given)
        return snprintf(browser, sizeof browser, "%s", given), 1;
    static const char *const names[] = {"chromium", "chromium-browser", "google-chrome"};
    const char *path = getenv("PATH");
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char dirs[4096];
        snprintf(dirs, sizeof dirs, "%s", path ? path : "/usr/bin");
        for (char *save, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
            snprintf(browser, sizeof browser, "%s/%s", d, names[i]);
            if (access(browser, X_OK) == 0)
                return 1;
        }
    }
    return 0;
}

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static int chromium(const char *what, const char *page) {
    return nnb_test_runf(out, sizeof out, err, sizeof err,
                         "timeout 120 %s --headless=new --disable-gpu --no-sandbox --no-first-run "
                         "--disable-extensions --user-data-dir=%s/profile --enable-logging=stderr --v=0 "
                         "--virtual-time-budget=5000 " WINDOW " %s file://%s",
                         browser, tmp, what, page);
}

static int attr_int(const char *tag, const char *attr) {
    char key[64];
    snprintf(key, sizeof key, "%s=\"", attr);
    const char *p = strstr(tag, key);
    return p ? atoi(p + strlen(key)) : -1;
}

/* Each <canvas> drawn (data-drawn="1") with a non-zero width attribute (set by Chart.js); the count. */
static int drawn_canvases(const char *dom, const char *page) {
    int n = 0;
    for (const char *c = strstr(dom, "<canvas"); c; c = strstr(c + 1, "<canvas")) {
        const char *end = strchr(c, '>');
        char tag[1024];
        snprintf(tag, sizeof tag, "%.*s", end ? (int)(end - c) : 0, c);
        CHECK_MSG(strstr(tag, "data-drawn=\"1\"") && attr_int(tag, "width") > 0, "%s: a chart did not draw: %s", page,
                  tag);
        n++;
    }
    return n;
}

static void check_page(const char *page, int needs_charts, long blank_png) {
    int rc = chromium("--dump-dom", page);
    CHECK_MSG(rc == 0, "%s: chromium exit %d", page, rc);
    const char *status = strstr(out, "id=\"nnb-status\"");
    CHECK_MSG(status != NULL, "%s: no #nnb-status: the page script did not run", page);
    char tag[256] = "";
    if (status)
        snprintf(tag, sizeof tag, "%.*s", (int)(strchr(status, '>') ? strchr(status, '>') - status : 0), status);
    int charts = attr_int(tag, "data-charts"), drawn = attr_int(tag, "data-drawn");
    CHECK_MSG(charts >= 0 && drawn == charts, "%s: %d of %d charts drawn (%s)", page, drawn, charts, tag);
    CHECK_MSG(!needs_charts || charts > 0, "%s: no chart", page);
    CHECK_MSG(drawn_canvases(out, page) == charts, "%s: canvases and charts differ", page);
    CHECK_MSG(strstr(out, "<div id=\"nnb-errors\"></div>") != NULL, "%s: script errors: %.300s", page,
              strstr(out, "id=\"nnb-errors\"") ? strstr(out, "id=\"nnb-errors\"") : "(no #nnb-errors)");
    CHECK_MSG(!strstr(out, "<img src=\"x\""), "%s: a hostile name became an element", page);
    const char *console = strstr(err, ":CONSOLE");
    CHECK_MSG(!console, "%s: the console said: %.300s", page, console ? console : "");
    char png[1100], shot[1200];
    snprintf(png, sizeof png, "%s.png", page);
    snprintf(shot, sizeof shot, "--screenshot=%s", png);
    CHECK_MSG(chromium(shot, page) == 0, "%s: no screenshot", page);
    CHECK_MSG(file_size(png) > 2 * blank_png, "%s: the screenshot looks blank (%ld bytes, blank %ld)", png,
              file_size(png), blank_png);
}

static void check_dir(const char *dir, long blank_png) {
    DIR *d = opendir(dir);
    struct dirent *e;
    int pages = 0;
    while (d && (e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".html"))
            continue;
        char page[1024];
        snprintf(page, sizeof page, "%s/%s", dir, e->d_name);
        check_page(page, strcmp(e->d_name, "index.html") != 0 || strstr(dir, "store"), blank_png);
        pages++;
    }
    if (d)
        closedir(d);
    CHECK_MSG(pages > 2, "%s: only %d pages", dir, pages);
}

/* A stand-in for stats/changepoint: the fixture's step. */
static int step_finder(const double *values, int n, int higher_is_better, int *at, int max, void *ctx) {
    (void)values, (void)higher_is_better, (void)ctx;
    if (n < REPORT_FIXTURE_RUNS || max < 1)
        return 0;
    at[0] = REPORT_FIXTURE_STEP;
    return 1;
}

int main(void) {
    bin = nnb_test_env("NNBENCH_BIN");
    data = nnb_test_env("NNBENCH_TEST_DATA");
    if (!find_browser()) {
        printf("skipped: no chromium in PATH (tools/install-deps.sh --browser installs it)\n");
        return 77;
    }
    const char *keep = getenv("NNB_REPORT_KEEP");
    snprintf(tmp, sizeof tmp, "%s", keep && *keep ? keep : "/tmp/nnb-browser-XXXXXX");
    if (keep && *keep ? mkdir(tmp, 0755) != 0 && access(tmp, W_OK) != 0 : !mkdtemp(tmp))
        return 1;
    char blank[512], blank_png[600], arg[700];
    snprintf(blank, sizeof blank, "%s/blank.html", tmp);
    FILE *f = fopen(blank, "w");
    fputs("<!DOCTYPE html><html><head><title>blank</title></head><body></body></html>\n", f);
    fclose(f);
    snprintf(blank_png, sizeof blank_png, "%s.png", blank);
    snprintf(arg, sizeof arg, "--screenshot=%s", blank_png);
    if (chromium(arg, blank) != 0 || file_size(blank_png) <= 0) {
        printf("skipped: %s cannot start headless: %.500s\n", browser, err);
        return 77;
    }
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "%s report --out %s/files %s/report/run.json %s/report/ab.json %s/compare/sweep_new.json "
             "%s/compare/serve_sweep_new.json %s/compare/serve_new.json %s/report/hostile_run.json "
             "--compare %s/compare/old.json %s/compare/new.json",
             bin, tmp, data, data, data, data, data, data, data, data);
    int rc = nnb_test_run(cmd, out, sizeof out, err, sizeof err);
    CHECK_MSG(rc == 0, "report: %s", err);
    char store[600], e[512] = "";
    snprintf(store, sizeof store, "%s/history.sqlite", tmp);
    remove(store);
    CHECK_MSG(report_make_store(store, e, sizeof e) == 0, "store fixture: %s", e);
    char site[700];
    snprintf(site, sizeof site, "%s/store", tmp);
    char *argv[] = {"--store", store, "--out", site, NULL};
    nnb_report_set_change_finder(step_finder, NULL); /* so the change-point lines are drawn too */
    CHECK_MSG(nnb_report_main(4, argv) == 0, "report --store %s failed", store);
    char dir[600];
    snprintf(dir, sizeof dir, "%s/files", tmp);
    check_dir(dir, file_size(blank_png));
    snprintf(dir, sizeof dir, "%s/store", tmp);
    check_dir(dir, file_size(blank_png));
    if (!(keep && *keep) && nnb_test_failed == 0) {
        snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
        if (system(cmd) != 0)
            return 1;
    }
    return nnb_test_finish();
}
