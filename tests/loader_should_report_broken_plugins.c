/* The loader reports each kind of broken plugin distinctly and loads the rest. */
#include "test_support.h"

#include <stdlib.h>
#include <string.h>

static const nnb_load_diag *diag_for(const nnb_registry *r, const char *file) {
    for (int i = 0; i < r->diag_count; i++) {
        const char *slash = strrchr(r->diags[i].path, '/');
        if (slash && !strcmp(slash + 1, file))
            return &r->diags[i];
    }
    return NULL;
}

static void expect_diag(const nnb_registry *r, const char *file, nnb_load_error kind, const char *text) {
    const nnb_load_diag *d = diag_for(r, file);
    CHECK_MSG(d != NULL, "no diagnostic for %s", file);
    if (!d)
        return;
    CHECK_MSG(d->kind == kind, "%s: kind %d, expected %d (%s)", file, d->kind, kind, d->message);
    CHECK_STR_CONTAINS(d->message, text);
    CHECK_STR_CONTAINS(d->message, file);
}

static void registry_reports_each_error(const char *broken) {
    nnb_registry r;
    nnb_registry_init(&r);
    CHECK(nnb_registry_load_dir(&r, broken) != 0);
    expect_diag(&r, "not_a_plugin.so", NNB_LOAD_CANNOT_OPEN, "cannot open plugin");
    expect_diag(&r, "no_entry.so", NNB_LOAD_NO_ENTRY, "no 'nnbench_plugin_entry' symbol");
    expect_diag(&r, "wrong_abi.so", NNB_LOAD_BAD_ABI, "plugin ABI 99.0, driver ABI 1.");
    expect_diag(&r, "bad_descriptor.so", NNB_LOAD_BAD_DESCRIPTOR, "group is not rnns, cnns, vl_rnns or convs");
    expect_diag(&r, "dup_b.so", NNB_LOAD_DUPLICATE, "dup_a.so");
    CHECK_MSG(r.diag_count == 5, "expected 5 diagnostics, got %d", r.diag_count);
    /* The good plugins still load: the first "dup" and the survivor. */
    const nnb_loaded_runner *dup = nnb_registry_find(&r, "dup");
    CHECK(dup != NULL && strstr(dup->plugin_path, "dup_a.so") != NULL);
    CHECK(nnb_registry_find(&r, "survivor") != NULL);
    CHECK(nnb_registry_find(&r, "broken") == NULL);
    /* A plugin built against ABI 1.0: shorter descriptors, read with their own
     * stride; fields it does not know read as NULL. */
    const nnb_loaded_runner *old_b = nnb_registry_find(&r, "old_minor_b");
    CHECK(nnb_registry_find(&r, "old_minor_a") != NULL);
    CHECK(old_b != NULL && !strcmp(old_b->desc->group, NNB_GROUP_CNNS) && old_b->desc->check_tolerance == NULL &&
          old_b->desc->destroy != NULL);
    /* ABI 1.2's entries too: an older plugin cannot serve, and says so by NULLs (nnbench serve refuses it). */
    CHECK(old_b != NULL && old_b->desc->infer == NULL && old_b->desc->infer_io == NULL &&
          old_b->desc->load_param == NULL);
    CHECK_MSG(r.count == 4, "expected 4 runners, got %d", r.count);
    nnb_registry_free(&r);
}

static void driver_lists_survivors_and_prints_errors(const char *bin, const char *broken) {
    char cmd[4096], out[65536], err[65536];
    snprintf(cmd, sizeof cmd, "%s --runner-path %s --list", bin, broken);
    int rc = nnb_test_run(cmd, out, sizeof out, err, sizeof err);
    CHECK_MSG(rc == 0, "--list exit %d", rc);
    CHECK_STR_CONTAINS(out, "survivor");
    CHECK_STR_CONTAINS(out, "5 plugin(s) could not be loaded");
    CHECK_STR_CONTAINS(err, "cannot open plugin");
    CHECK_STR_CONTAINS(err, "not an nnbench plugin");
    CHECK_STR_CONTAINS(err, "incompatible plugin ABI");
    CHECK_STR_CONTAINS(err, "invalid plugin descriptor");
    CHECK_STR_CONTAINS(err, "duplicate runner name");
}

static void create_failure_is_reported_and_others_run(const char *bin, const char *good) {
    char cmd[4096], out[65536], err[65536];
    snprintf(cmd, sizeof cmd, "%s --device cpu --runner-path %s --rnns create_fails empty --warmup 1 --nloops 3", bin,
             good);
    int rc = nnb_test_run(cmd, out, sizeof out, err, sizeof err);
    CHECK_MSG(rc == 1, "a failed create must give exit 1, got %d", rc);
    CHECK_STR_CONTAINS(err, "deliberate create failure for the test");
    CHECK_STR_CONTAINS(err, "           empty"); /* the next runner's row */
}

int main(void) {
    char broken[1024], good[1024];
    snprintf(broken, sizeof broken, "%s/broken", nnb_test_env("NNBENCH_TEST_PLUGIN_DIR"));
    snprintf(good, sizeof good, "%s/good", nnb_test_env("NNBENCH_TEST_PLUGIN_DIR"));
    registry_reports_each_error(broken);
    driver_lists_survivors_and_prints_errors(nnb_test_env("NNBENCH_BIN"), broken);
    create_failure_is_reported_and_others_run(nnb_test_env("NNBENCH_BIN"), good);
    return nnb_test_finish();
}
