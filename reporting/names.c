/* Names of statuses and groups as the reports print them (<nnbench/results.h>), and error texts. */
#define _POSIX_C_SOURCE 200809L
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *nnb_run_status_name(nnb_run_status s) {
    switch (s) {
    case NNB_RUN_OK: return "ok";
    case NNB_RUN_FAILED: return "failed";
    case NNB_RUN_SKIPPED: return "skipped";
    case NNB_RUN_CHECK_FAILED: return "check_failed";
    case NNB_RUN_INTERRUPTED: return "interrupted";
    }
    return "unknown";
}

const char *nnb_ab_phase_name(int phase) {
    static const char *const names[NNB_AB_PHASES] = {"forward", "backward", "total"};
    return phase >= 0 && phase < NNB_AB_PHASES ? names[phase] : "unknown";
}

typedef struct group_names {
    const char *group, *title, *json_key;
} group_names;

static const group_names GROUPS[] = {
    {NNB_GROUP_RNNS, "LSTM", "lstm"},
    {NNB_GROUP_CNNS, "ResNet", "resnet"},
    {NNB_GROUP_VL_RNNS, "variable-length sequence LSTM", "vl_lstm"},
    {NNB_GROUP_CONVS, "convolution", "conv"},
};

static const group_names *find_group(const char *group) {
    for (size_t i = 0; group && i < sizeof GROUPS / sizeof GROUPS[0]; i++)
        if (strcmp(GROUPS[i].group, group) == 0)
            return &GROUPS[i];
    return NULL;
}

/* Unknown groups are named by themselves, so a new group still reports. */
const char *nnb_group_title(const char *group) {
    const group_names *g = find_group(group);
    return g ? g->title : group ? group : "";
}

const char *nnb_group_json_key(const char *group) {
    const group_names *g = find_group(group);
    return g ? g->json_key : group ? group : "";
}

/* "%.3g", but "nan" whatever the sign bit (glibc would print "-nan"). */
static void format_3g(char *buf, size_t len, double x) {
    if (isnan(x))
        snprintf(buf, len, "nan");
    else
        snprintf(buf, len, "%.3g", x);
}

void nnb_runner_error_text(const nnb_runner_result *r, char *buf, size_t len) {
    if (!len)
        return;
    snprintf(buf, len, "%.*s", (int)strnlen(r->error, sizeof r->error), r->error);
    if (buf[0] || r->status != NNB_RUN_CHECK_FAILED)
        return;
    // A check failure the driver did not describe: name the failing tensors.
    size_t used = (size_t)snprintf(buf, len, "vs %s:", r->check_reference ? r->check_reference : "reference");
    for (int i = 0; i < r->check_count && r->checks && used < len; i++) {
        const nnb_tensor_check *c = &r->checks[i];
        if (c->pass)
            continue;
        char rel[32], tol[32];
        format_3g(rel, sizeof rel, c->l2 ? c->l2_rel_err : c->max_rel_err);
        format_3g(tol, sizeof tol, c->tolerance);
        used += (size_t)snprintf(buf + used, len - used, " %s %s %s > %s;", c->name,
                                 c->l2 ? "l2_rel_err" : "max_rel_err", rel, tol);
    }
}
