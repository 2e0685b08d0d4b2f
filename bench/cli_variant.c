/* nnbench --ab's runner specs (cli.h, nnb_cli_parse_variant): NAME@--flag=value@VAR=VALUE... */
#define _GNU_SOURCE
#include "cli_internal.h"
#include "cmdline.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Flags a variant may set: exactly those that land in the runner's nnb_config. */
static int is_config_flag(const char *flag) {
    static const char *const names[] = {"--seqLength",
                                        "--numLayers",
                                        "--inputSize",
                                        "--hiddenSize",
                                        "--miniBatch",
                                        "--cnn-batch",
                                        "--image-size",
                                        "--seed",
                                        "--threads",
                                        "--fuser",
                                        "--executor",
                                        "--tf32",
                                        "--dtype",
                                        "--cuda-pointwise-loop-level",
                                        "--cuda-pointwise-block-count",
                                        "--cuda-pointwise-block-size",
                                        "--conv-algo", /* convs: same problem, another algorithm or direction */
                                        "--conv-dir"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcmp(flag, names[i]))
            return 1;
    return 0;
}

static int is_env_name(const char *s, size_t len) {
    if (len == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return 0;
    for (size_t i = 1; i < len; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
            return 0;
    return 1;
}

/* NAME=VALUE whose NAME is an nnbench flag without its dashes ("fuser=old", "-seed=3"): it would be taken as
 * an environment variable (or refused as one) and the flag silently not applied. -1 with the spelling that
 * works, else 0. */
static int looks_like_flag(const char *spec, const char *piece, char *err, size_t err_len) {
    char dashed[80];
    size_t len = strcspn(piece, "=");
    snprintf(dashed, sizeof dashed, "--%.*s", (int)len, piece + strspn(piece, "-"));
    int lower = 0; /* environment variables are upper case by convention: "hiddensize" means the flag */
    for (size_t i = 0; i < len; i++)
        lower |= islower((unsigned char)piece[i]);
    const flag_spec *f = nnb_cli_lookup(dashed, lower);
    if (!f)
        return 0;
    size_t runner_len = strcspn(spec, "@");
    snprintf(err, err_len, "--ab: '%s': '%.*s' is the flag %s, not an environment variable; write %.*s@%s%s", spec,
             (int)len, piece, f->name, (int)runner_len, spec, f->name, piece + len);
    return -1;
}

static int apply_variant_flag(nnb_options *tmp, const char *spec, char *piece, char *err, size_t err_len) {
    char msg[512];
    const flag_spec *f = nnb_cli_lookup(piece, 0);
    if (!f || !is_config_flag(f->name)) {
        snprintf(err, err_len,
                 "--ab: '%s': '%s' is not a flag a variant can set (sizes, --fuser, --executor, --threads, --seed, "
                 "--dtype, --cuda-pointwise-*)",
                 spec, piece);
        return -1;
    }
    char *eq = strchr(piece, '=');
    if (f->kind == ARG_NONE) {
        if (eq) {
            snprintf(err, err_len, "--ab: '%s': %s takes no value", spec, f->name);
            return -1;
        }
        return nnb_cli_apply(tmp, f, NULL, err, err_len);
    }
    if (!eq) {
        snprintf(err, err_len, "--ab: '%s': %s needs a value (%s=VALUE)", spec, f->name, f->name);
        return -1;
    }
    if (nnb_cli_apply(tmp, f, eq + 1, msg, sizeof msg)) {
        snprintf(err, err_len, "--ab: '%s': %s", spec, msg);
        return -1;
    }
    return 0;
}

int nnb_cli_parse_variant(const char *spec, const nnb_options *base, nnb_variant *out, char *err, size_t err_len) {
    memset(out, 0, sizeof *out);
    if (strlen(spec) >= sizeof out->text) {
        snprintf(err, err_len, "--ab: runner spec '%.40s...' is too long (at most %zu characters)", spec,
                 sizeof out->text - 1);
        return -1;
    }
    snprintf(out->spec_copy, sizeof out->spec_copy, "%s", spec);
    snprintf(out->text, sizeof out->text, "%s", spec);
    out->spec = out->spec_copy;
    static nnb_options tmp; /* large; parsing is single-threaded */
    tmp = *base;
    char *save = NULL, *piece = strtok_r(out->text, "@", &save);
    if (!piece || spec[0] == '@') {
        snprintf(err, err_len, "--ab: '%s' does not start with a runner name", spec);
        return -1;
    }
    out->runner = piece;
    while ((piece = strtok_r(NULL, "@", &save))) {
        if (!strncmp(piece, "--", 2)) {
            if (apply_variant_flag(&tmp, spec, piece, err, err_len))
                return -1;
            continue;
        }
        char *eq = strchr(piece, '=');
        if (looks_like_flag(spec, piece, err, err_len))
            return -1;
        if (!eq || !is_env_name(piece, (size_t)(eq - piece))) {
            snprintf(err, err_len,
                     "--ab: '%s': '%s' is neither --flag=value nor VAR=VALUE (an environment variable: letters, "
                     "digits and '_', not starting with a digit)",
                     spec, piece);
            return -1;
        }
        if (out->env_count == NNB_MAX_VARIANT_ENV) {
            snprintf(err, err_len, "--ab: '%s': more than %d environment settings", spec, NNB_MAX_VARIANT_ENV);
            return -1;
        }
        *eq = 0;
        out->env_name[out->env_count] = piece;
        out->env_value[out->env_count++] = eq + 1;
    }
    char msg[512];
    if (nnb_cli_check_sizes(&tmp, msg, sizeof msg)) {
        snprintf(err, err_len, "--ab: '%s': %s", spec, msg);
        return -1;
    }
    out->config = tmp.config;
    return 0;
}
