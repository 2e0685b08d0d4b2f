/* The driver's side of --dtype (precision.h, docs/precision.md). */
#define _GNU_SOURCE
#include "precision.h"

#include "cmdline.h"
#include "nnb_precision.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Names people reach for, and the --dtype value they mean. */
static const char *const friendly[][2] = {
    {"float32", "fp32"},  {"float", "fp32"},         {"f32", "fp32"},         {"single", "fp32"},
    {"fp", "fp32"},       {"tensorfloat32", "tf32"}, {"tensorfloat", "tf32"}, {"tf", "tf32"},
    {"bfloat16", "bf16"}, {"bfloat", "bf16"},        {"bf", "bf16"},          {"half", "fp16"},
    {"float16", "fp16"},  {"f16", "fp16"},
};

/* The --dtype value a refused spelling most likely means, or NULL. */
static const char *meant(const char *value) {
    char lower[32];
    size_t n = strlen(value);
    if (n >= sizeof lower)
        return NULL;
    for (size_t i = 0; i <= n; i++)
        lower[i] = (char)(value[i] >= 'A' && value[i] <= 'Z' ? value[i] - 'A' + 'a' : value[i]);
    for (int p = 0; p < NNB_PRECISION_COUNT; p++) /* "BF16", "bf_16", "bf-16" */
        if (!strcmp(lower, nnb_precision_name(p)))
            return nnb_precision_name(p);
    char squeezed[32];
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (lower[i] != '_' && lower[i] != '-' && lower[i] != '.')
            squeezed[k++] = lower[i];
    squeezed[k] = 0;
    if (!strncmp(squeezed, "torch", 5)) /* "torch.bfloat16" */
        memmove(squeezed, squeezed + 5, k - 4);
    for (size_t i = 0; i < sizeof friendly / sizeof *friendly; i++)
        if (!strcmp(squeezed, friendly[i][0]))
            return friendly[i][1];
    for (int p = 0; p < NNB_PRECISION_COUNT; p++)
        if (!strcmp(squeezed, nnb_precision_name(p)))
            return nnb_precision_name(p);
    return NULL;
}

int nnb_precision_parse(const char *value, int *precision, char *err, size_t err_len) {
    for (int p = 0; p < NNB_PRECISION_COUNT; p++)
        if (!strcmp(value, nnb_precision_name(p))) {
            *precision = p;
            return 0;
        }
    snprintf(err, err_len, "--dtype: unknown dtype '%s' (valid: fp32, tf32, bf16, fp16)", value);
    const char *guess = meant(value);
    if (guess) {
        size_t used = strlen(err);
        snprintf(err + used, err_len > used ? err_len - used : 0, "; did you mean '%s'?", guess);
    } else {
        const char *names[NNB_PRECISION_COUNT];
        for (int p = 0; p < NNB_PRECISION_COUNT; p++)
            names[p] = nnb_precision_name(p);
        nnb_cmd_append_suggestion(err, err_len, value, names, NNB_PRECISION_COUNT);
    }
    return -1;
}

/* "fp32, bf16": what d declares, joined by sep. */
static void declared(const nnb_runner_desc *d, const char *sep, char *out, size_t cap) {
    size_t used = 0;
    out[0] = 0;
    for (int p = 0; p < NNB_PRECISION_COUNT && used < cap; p++)
        if (nnb_runner_supports_precision(d, p))
            used += (size_t)snprintf(out + used, cap - used, "%s%s", used ? sep : "", nnb_precision_name(p));
}

int nnb_precision_refusal(const nnb_runner_desc *d, const nnb_config *cfg, char *why, size_t why_len) {
    const char *dtype = nnb_precision_name(cfg->precision);
    if (!nnb_runner_supports_precision(d, cfg->precision)) {
        char list[64];
        declared(d, ", ", list, sizeof list);
        snprintf(why, why_len, "%s (%s): %s is not supported by this runner (it computes in %s)", d->name, d->device,
                 dtype ? dtype : "this dtype", list);
        return 1;
    }
    char reason[400] = "";
    if (d->available && !d->available(cfg, reason, sizeof reason)) {
        snprintf(why, why_len, "%s (%s): %s", d->name, d->device, reason[0] ? reason : "not available here");
        return 1;
    }
    return 0;
}

void nnb_precision_list(const nnb_runner_desc *d, const nnb_config *cfg, char *out, size_t cap) {
    if (!cfg) {
        declared(d, ",", out, cap);
        return;
    }
    nnb_config c = *cfg;
    char reason[400];
    c.precision = NNB_PRECISION_FP32;
    c.allow_tf32 = 0;
    int fp32_runs = !d->available || d->available(&c, reason, sizeof reason);
    size_t used = 0;
    out[0] = 0;
    for (int p = 0; p < NNB_PRECISION_COUNT && used < cap; p++) {
        if (!nnb_runner_supports_precision(d, p))
            continue;
        c.precision = p;
        c.allow_tf32 = p == NNB_PRECISION_TF32;
        int refused = fp32_runs && p != NNB_PRECISION_FP32 && d->available && !d->available(&c, reason, sizeof reason);
        used += (size_t)snprintf(out + used, cap - used, "%s%s%s", used ? "," : "", nnb_precision_name(p),
                                 refused ? "*" : "");
    }
}

double nnb_precision_rounding_term(const nnb_config *cfg, const char *group) {
    if (cfg->precision == NNB_PRECISION_FP32)
        return 0;
    double depth = group && !strcmp(group, NNB_GROUP_CNNS)    ? NNB_CHECK_CNN_DEPTH
                   : group && !strcmp(group, NNB_GROUP_CONVS) ? 1.0
                                                              : (double)(cfg->num_layers > 0 ? cfg->num_layers : 1);
    return NNB_CHECK_ROUNDINGS * nnb_precision_unit_roundoff(cfg->precision) * sqrt(depth);
}

void nnb_precision_tolerances(const nnb_config *cfg, const char *group, double *fwd_tol, double *l2_grad_tol) {
    double term = nnb_precision_rounding_term(cfg, group);
    if (*fwd_tol < term)
        *fwd_tol = term;
    if (l2_grad_tol && *l2_grad_tol > 0 && *l2_grad_tol < term)
        *l2_grad_tol = term;
}
