#define _GNU_SOURCE
/* The installed layout and its plugin SDK, end to end:
 *   1. `cmake --install <build dir> --prefix <temp>` (the tree as built; nothing is rebuilt):
 *      bin/nnbench, bin/nnbench-compare, every runner plugin, include/nnbench/runner.h,
 *      lib/pkgconfig/nnbench-runner.pc; no test plugin;
 *   2. examples/out-of-tree-runner, copied out of the source tree, built with `make` against the
 *      installed tree through PKG_CONFIG_PATH=<prefix>/lib/pkgconfig alone;
 *   3. the installed nnbench finds it with --runner-path, then installed into the pkg-config
 *      runnerdir by `make install`, by itself; it runs, reports timings and computes y = 2x,
 *      dx = 2 grad_y; no plugin of the build tree is loaded;
 *   4. the installed tree moved elsewhere still finds its runners (relocatable).
 * Arguments: cmake, build dir, source dir, build configuration, pkg-config, C compiler. */
#include "test_support.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *cmake_exe, *build_dir, *source_dir, *config, *pkg_config, *cc;
static char root[1024]; /* the temporary directory; everything below lives in it */
static char out[1 << 17], err[1 << 17];

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...) {
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    /* Nothing from the caller's environment may add runner folders or headers. */
    char full[8400];
    snprintf(full, sizeof full, "unset NNBENCH_RUNNER_PATH CPATH C_INCLUDE_PATH PKG_CONFIG_LIBDIR; %s", cmd);
    int rc = nnb_test_run(full, out, sizeof out, err, sizeof err);
    if (rc != 0)
        printf("command: %s\nexit %d\nstdout:\n%s\nstderr:\n%s\n", cmd, rc, out, err);
    return rc;
}

static int exists(const char *dir, const char *rel) {
    char p[2048];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    struct stat st;
    return stat(p, &st) == 0;
}

/* The line of `nnbench --list` for runner name, or NULL; its last field is the plugin's path. */
static const char *list_line(const char *list, const char *name, char *line, size_t cap) {
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > n && !strncmp(p, name, n) && p[n] == ' ') {
            snprintf(line, cap, "%.*s", (int)len, p);
            return line;
        }
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

static const char *plugin_of(const char *list, const char *name, char *buf, size_t cap) {
    char line[1024];
    if (!list_line(list, name, line, sizeof line))
        return NULL;
    char *last = strrchr(line, ' ');
    snprintf(buf, cap, "%s", last ? last + 1 : line);
    return buf;
}

/* Runner name's plugin is dir/file. */
static void check_listed_from(const char *list, const char *name, const char *dir, const char *file) {
    char got[1024], want[2048];
    snprintf(want, sizeof want, "%s/%s", dir, file);
    const char *p = plugin_of(list, name, got, sizeof got);
    CHECK_MSG(p != NULL, "runner '%s' not in --list:\n%s", name, list);
    CHECK_MSG(p && !strcmp(p, want), "runner '%s' comes from %s, expected %s", name, p ? p : "?", want);
}

/* Every .so installed is one of the build tree's runner plugins: no test plugin. */
static void check_installed_plugins(const char *installed) {
    const char *build_runners = nnb_test_env("NNBENCH_RUNNER_DIR");
    DIR *d = opendir(installed);
    CHECK_MSG(d != NULL, "no %s", installed);
    if (!d)
        return;
    int count = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 3, ".so"))
            continue;
        count++;
        CHECK_MSG(exists(build_runners, e->d_name), "%s/%s is not a runner plugin of %s", installed, e->d_name,
                  build_runners);
    }
    closedir(d);
    CHECK_MSG(count >= 1, "no plugin installed in %s", installed);
    CHECK_MSG(exists(installed, "nnb_cpu_reference.so"), "the reference plugin is not installed in %s", installed);
    CHECK_MSG(!exists(installed, "test_empty.so") && !exists(installed, "survivor.so"), "test plugins installed");
}

/* pkg-config --variable=runnerdir, through PKG_CONFIG_PATH=<prefix>/lib/pkgconfig only, resolves to want. */
static void check_pkg_config(const char *prefix, const char *want_runnerdir) {
    if (run("PKG_CONFIG_PATH='%s/lib/pkgconfig' '%s' --variable=runnerdir nnbench-runner", prefix, pkg_config)) {
        CHECK_MSG(0, "pkg-config --variable=runnerdir failed");
        return;
    }
    out[strcspn(out, "\n")] = 0;
    char *real = realpath(out, NULL);
    CHECK_MSG(real && !strcmp(real, want_runnerdir), "runnerdir %s resolves to %s, expected %s", out,
              real ? real : "(nothing)", want_runnerdir);
    free(real);
    CHECK(run("PKG_CONFIG_PATH='%s/lib/pkgconfig' '%s' --cflags nnbench-runner", prefix, pkg_config) == 0);
    char *inc = strstr(out, "-I");
    CHECK_MSG(inc != NULL, "no -I in --cflags: %s", out);
    if (inc) {
        inc += 2;
        inc[strcspn(inc, " \n")] = 0;
        CHECK_MSG(exists(inc, "nnbench/runner.h"), "--cflags -I%s has no nnbench/runner.h", inc);
    }
}

static cJSON *read_json(const char *path) { return nnb_test_read_json(path); }

/* The table row "scaled_copy <avg_fwd> <std_fwd> <info_fwd> <avg_bwd> ...": both averages positive. */
static void check_table_row(const char *table) {
    int rows = 0;
    for (const char *p = table; p && *p;) {
        const char *end = strchr(p, '\n');
        char line[1024], name[64], info[64];
        snprintf(line, sizeof line, "%.*s", (int)(end ? end - p : (long)strlen(p)), p);
        p = end ? end + 1 : NULL;
        double avg_fwd = 0, std_fwd = 0, avg_bwd = 0;
        int got = sscanf(line, "%63s %lf %lf %63s %lf", name, &avg_fwd, &std_fwd, info, &avg_bwd);
        if (got < 1 || strcmp(name, "scaled_copy"))
            continue;
        rows++;
        CHECK_MSG(got == 5 && avg_fwd > 0 && avg_bwd > 0, "row without forward and backward times: %s", line);
    }
    CHECK_MSG(rows == 1, "%d scaled_copy rows in the table:\n%s", rows, table);
}

static void check_results_json(const char *path) {
    cJSON *root_json = read_json(path);
    CHECK_MSG(root_json != NULL, "cannot parse %s", path);
    if (!root_json)
        return;
    const cJSON *found = NULL, *g, *r;
    cJSON_ArrayForEach(g, cJSON_GetObjectItem(root_json, "groups")) {
        cJSON_ArrayForEach(r, g) {
            const cJSON *n = cJSON_GetObjectItem(r, "name");
            if (cJSON_IsString(n) && !strcmp(n->valuestring, "scaled_copy"))
                found = r;
        }
    }
    CHECK_MSG(found != NULL, "scaled_copy not in %s", path);
    if (found) {
        const cJSON *status = cJSON_GetObjectItem(found, "status");
        CHECK(cJSON_IsString(status) && !strcmp(status->valuestring, "ok"));
        const cJSON *fwd = cJSON_GetObjectItem(cJSON_GetObjectItem(found, "forward"), "samples_ms");
        const cJSON *bwd = cJSON_GetObjectItem(cJSON_GetObjectItem(found, "backward"), "samples_ms");
        CHECK_MSG(cJSON_GetArraySize(fwd) == 3 && cJSON_GetArraySize(bwd) == 3, "samples: %d forward, %d backward",
                  cJSON_GetArraySize(fwd), cJSON_GetArraySize(bwd));
        const cJSON *info = cJSON_GetObjectItem(found, "runner_info");
        const cJSON *elements = cJSON_GetObjectItem(info, "elements");
        const cJSON *flops = cJSON_GetObjectItem(cJSON_GetObjectItem(found, "flops"), "forward");
        CHECK_MSG(cJSON_IsNumber(elements) && cJSON_IsNumber(flops) && elements->valuedouble > 0 &&
                      flops->valuedouble == elements->valuedouble,
                  "runner_info.elements and flops.forward disagree");
    }
    cJSON_Delete(root_json);
}

static int read_npy(const char *dir, const char *name, nnb_npy_array *a) {
    char path[2048], e[256] = "";
    snprintf(path, sizeof path, "%s/%s.npy", dir, name);
    if (nnb_npy_read(path, a, e, sizeof e)) {
        CHECK_MSG(0, "%s: %s", path, e);
        return -1;
    }
    return 0;
}

/* --dump of the last iteration: y = 2x and dx = 2 grad_y exactly, (T, B, I) = (3, 2, 5). */
static void check_dump(const char *dir) {
    static const char *const pairs[2][2] = {{"x", "y"}, {"grad_y", "dx"}};
    for (int k = 0; k < 2; k++) {
        nnb_npy_array in, res;
        if (read_npy(dir, pairs[k][0], &in))
            continue;
        if (read_npy(dir, pairs[k][1], &res)) {
            nnb_npy_free(&in);
            continue;
        }
        CHECK(in.dtype == NNB_F32 && res.dtype == NNB_F32 && in.count == 30 && res.count == 30);
        CHECK(in.ndim == 3 && in.shape[0] == 3 && in.shape[1] == 2 && in.shape[2] == 5);
        int bad = 0, nonzero = 0;
        for (int64_t i = 0; i < in.count && i < res.count; i++) {
            float v = ((const float *)in.data)[i], w = ((const float *)res.data)[i];
            bad += w != 2.0f * v;
            nonzero += v != 0.0f;
        }
        CHECK_MSG(bad == 0 && nonzero > 0, "%s != 2 %s in %d of %lld elements (%d inputs non-zero)", pairs[k][1],
                  pairs[k][0], bad, (long long)in.count, nonzero);
        nnb_npy_free(&in);
        nnb_npy_free(&res);
    }
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: %s CMAKE BUILD_DIR SOURCE_DIR CONFIG PKG_CONFIG CC\n", argv[0]);
        return 2;
    }
    cmake_exe = argv[1], build_dir = argv[2], source_dir = argv[3], config = argv[4], pkg_config = argv[5];
    cc = argv[6];
    if (run("command -v make >/dev/null")) {
        CHECK_MSG(0, "make not found (tools/install-deps.sh installs build-essential)");
        return nnb_test_finish();
    }
    char tmpl[] = "/tmp/nnb-install-test-XXXXXX";
    char *made = mkdtemp(tmpl), *real_root = made ? realpath(made, NULL) : NULL;
    CHECK_MSG(real_root != NULL, "cannot create a temporary directory");
    if (!real_root)
        return nnb_test_finish();
    snprintf(root, sizeof root, "%s", real_root);
    free(real_root);

    char prefix[1100], runnerdir[1200], example[1100], moved_parent[1100], moved[1200], json[1100], dump[1100];
    snprintf(prefix, sizeof prefix, "%s/prefix", root);
    snprintf(runnerdir, sizeof runnerdir, "%s/lib/nnbench/runners", prefix);
    snprintf(example, sizeof example, "%s/scaled_copy", root);
    snprintf(moved_parent, sizeof moved_parent, "%s/elsewhere", root);
    snprintf(moved, sizeof moved, "%s/nnbench", moved_parent);
    snprintf(json, sizeof json, "%s/results.json", root);
    snprintf(dump, sizeof dump, "%s/dump", root);

    /* 1. Install the build tree as it is. */
    int installed = run("'%s' --install '%s' --config '%s' --prefix '%s'", cmake_exe, build_dir, config, prefix) == 0;
    CHECK_MSG(installed, "cmake --install failed");
    if (installed) {
        CHECK(exists(prefix, "bin/nnbench"));
        CHECK(exists(prefix, "bin/nnbench-compare"));
        CHECK(exists(prefix, "include/nnbench/runner.h"));
        CHECK(exists(prefix, "lib/pkgconfig/nnbench-runner.pc"));
        check_installed_plugins(runnerdir);
        check_pkg_config(prefix, runnerdir);
    }

    /* 2. The example, out of the source tree, built through pkg-config alone. */
    int built = 0;
    /* (make clean: a scaled_copy.so built in the source tree must not stand in for this build.) */
    if (installed && run("cp -R '%s/examples/out-of-tree-runner' '%s' && make -s -C '%s' clean", source_dir, example,
                         example) == 0) {
        built = run("PKG_CONFIG_PATH='%s/lib/pkgconfig' make -C '%s' PKG_CONFIG='%s' CC='%s' "
                    "CFLAGS='-O2 -Wall -Wextra -Werror'",
                    prefix, example, pkg_config, cc) == 0;
        CHECK_MSG(built, "make of the example failed");
        CHECK_MSG(!strstr(out, source_dir), "the example's build refers to the source tree:\n%s", out);
        CHECK(exists(example, "scaled_copy.so"));
    }

    if (built) {
        /* 3a. --runner-path: found next to the installed runners, nothing from the build tree. */
        CHECK(run("'%s/bin/nnbench' --list --runner-path '%s'", prefix, example) == 0);
        check_listed_from(out, "scaled_copy", example, "scaled_copy.so");
        check_listed_from(out, "py", runnerdir, "nnb_cpu_reference.so");
        CHECK_MSG(!strstr(out, build_dir), "the installed nnbench loaded plugins of the build tree:\n%s", out);
        char line[1024];
        CHECK_MSG(!list_line(out, "empty", line, sizeof line), "a test plugin is listed");

        /* 3b. make install into the runnerdir: found by itself. */
        CHECK(run("PKG_CONFIG_PATH='%s/lib/pkgconfig' make -C '%s' PKG_CONFIG='%s' install", prefix, example,
                  pkg_config) == 0);
        CHECK(exists(runnerdir, "scaled_copy.so"));
        CHECK(run("'%s/bin/nnbench' --list", prefix) == 0);
        check_listed_from(out, "scaled_copy", runnerdir, "scaled_copy.so");
        CHECK_MSG(!strstr(out, build_dir), "the installed nnbench loaded plugins of the build tree:\n%s", out);
        CHECK_MSG(!strstr(err, "could not") && !strstr(err, "duplicate"), "load diagnostics: %s", err);

        /* 3c. It runs and reports timings, and computes what it says. */
        CHECK(run("'%s/bin/nnbench' --device cpu --rnns scaled_copy --nloops 3 --warmup 1 --json-out '%s'", prefix,
                  json) == 0);
        CHECK_STR_CONTAINS(err, "Benchmarking LSTMs...");
        check_table_row(err);
        check_results_json(json);
        CHECK(run("'%s/bin/nnbench' --device cpu --rnns scaled_copy --seqLength 3 --miniBatch 2 --inputSize 5 "
                  "--nloops 2 --warmup 1 --dump '%s'",
                  prefix, dump) == 0);
        char dumped[1200];
        snprintf(dumped, sizeof dumped, "%s/scaled_copy", dump);
        check_dump(dumped);
    }

    /* 4. Moved elsewhere, the tree still finds its runners (and the new copy's pkg-config says so). */
    if (installed && run("mkdir -p '%s' && mv '%s' '%s'", moved_parent, prefix, moved) == 0) {
        char moved_runners[1300];
        snprintf(moved_runners, sizeof moved_runners, "%s/lib/nnbench/runners", moved);
        CHECK(run("'%s/bin/nnbench' --list", moved) == 0);
        check_listed_from(out, "py", moved_runners, "nnb_cpu_reference.so");
        if (built)
            check_listed_from(out, "scaled_copy", moved_runners, "scaled_copy.so");
        CHECK_MSG(!strstr(out, build_dir), "the moved nnbench loaded plugins of the build tree:\n%s", out);
        check_pkg_config(moved, moved_runners);
        if (built)
            CHECK(run("'%s/bin/nnbench' --device cpu --rnns scaled_copy --seqLength 3 --miniBatch 2 --inputSize 5 "
                      "--nloops 2 --warmup 1",
                      moved) == 0);
    }

    CHECK(run("rm -rf '%s'", root) == 0);
    return nnb_test_finish();
}
