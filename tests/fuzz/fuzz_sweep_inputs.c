/*
 * Fuzz target: the files nnbench sweep and nnbench merge read (tools/sweep).
 *
 * The first byte picks the reader, the rest is the file:
 *   even: a shape set (nnb_shape_set_load): it loads, or fails with a message naming the file;
 *         a loaded set has a model, a count >= 1 and at least one setting on every shape;
 *   odd:  a shard file (cJSON_Parse, then nnb_sweep_merge_docs of it alone, then
 *         nnb_sweep_write_outputs into a private folder): refused, or merged and summarised.
 * A crash, a sanitizer report, or an inconsistent result (abort()) is a finding.
 *
 * Built with libFuzzer by tests/fuzz/CMakeLists.txt, and without it (entry point renamed) by
 * tests/fuzz.cmake for fuzz_regressions_should_not_crash.
 */
#define _GNU_SOURCE
#include "cli.h"
#include "sweep.h"
#include "sweep_internal.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[512], shapes_path[600];

static void finding(const char *what, const char *detail) {
    fprintf(stderr, "fuzz_sweep_inputs: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

static void remove_dir(void) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_sweep_inputs: could not remove %s\n", dir);
}

static void make_dir(void) {
    if (dir[0])
        return;
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/nnb_fuzz_sweep_XXXXXX",
             tmp && *tmp                ? tmp
             : access("/dev/shm", W_OK) ? "/tmp"
                                        : "/dev/shm");
    if (!mkdtemp(dir))
        finding("cannot create a temporary folder", dir);
    snprintf(shapes_path, sizeof shapes_path, "%s/in.shapes", dir);
    atexit(remove_dir);
}

static void shape_set(const uint8_t *data, size_t size) {
    FILE *f = fopen(shapes_path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        finding("cannot write the input", shapes_path);
    static const nnb_sweep_hooks hooks = {.axis_flag = nnb_cli_axis_flag,
                                          .base_flag = nnb_cli_sweep_base_flag,
                                          .check_argv = nnb_cli_check_run_argv,
                                          .self_exe = "/bin/false"};
    nnb_shape_set s;
    char err[1024] = "";
    if (nnb_shape_set_load(shapes_path, &hooks, &s, err, sizeof err) != 0) {
        if (!strstr(err, shapes_path))
            finding("a rejection does not name the file", err);
        return;
    }
    if (s.count < 1)
        finding("a loaded shape set has no shapes", NULL);
    for (int i = 0; i < s.count; i++)
        if (!s.shapes[i].model || s.shapes[i].count < 1 || s.shapes[i].setting_count < 1 || !s.shapes[i].label)
            finding("a loaded shape lacks its model, count, settings or label", NULL);
    nnb_shape_set_free(&s);
}

static void shard_file(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    if (!text)
        return;
    memcpy(text, data, size);
    text[size] = 0;
    cJSON *doc = cJSON_Parse(text);
    free(text);
    if (!doc)
        return;
    const char *name = "fuzz.json", *reason = NULL;
    cJSON *merged = NULL;
    char err[1024] = "";
    int rc = nnb_sweep_merge_docs(&doc, &name, &reason, 1, &merged, err, sizeof err);
    if (rc == 2 && merged)
        finding("a refused merge returned a document", err);
    if (rc != 2) {
        if (!merged)
            finding("an accepted merge returned no document", NULL);
        nnb_sweep_output_options oo = {dir, NULL, NULL, NULL, NULL};
        if (nnb_sweep_write_outputs(merged, &oo, err, sizeof err) != 0)
            finding("the outputs of an accepted merge could not be written", err);
    }
    cJSON_Delete(merged);
    cJSON_Delete(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > (1u << 20))
        return 0;
    make_dir();
    if (data[0] % 2 == 0)
        shape_set(data + 1, size - 1);
    else
        shard_file(data + 1, size - 1);
    return 0;
}
