/*
 * What each file says about how it was made, and the warnings that follow when
 * two files differ in it: configuration keys (sizes, fuser, threads, device, CPU
 * model...) and the unit of OSS times (fastrnns times the CPU in seconds).
 */
#include "compare_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* The keys that change what is timed or on what. Seeds, loop counts and request
 * counts change the noise, not the work, and are left out. */
static const char *const FULL_CONFIG_KEYS[] = {"seq_length",
                                               "mini_batch",
                                               "input_size",
                                               "hidden_size",
                                               "num_layers",
                                               "cnn_batch",
                                               "image_size",
                                               "dtype",
                                               "precision",
                                               "fuser",
                                               "executor",
                                               "threads",
                                               "device",
                                               "allow_tf32",
                                               "cuda_pointwise_loop_level",
                                               "cuda_pointwise_block_count",
                                               "cuda_pointwise_block_size",
                                               NULL};
static const char *const SERVE_CONFIG_KEYS[] = {"runner",      "device",      "mode",       "batch_size",
                                                "concurrency", "qps",         "max_batch",  "max_batch_delay_ms",
                                                "workers",     "threads",     "seq_length", "num_layers",
                                                "input_size",  "hidden_size", "image_size", "dtype",
                                                "precision",   "weights",     NULL};
static const char *const CONTEXT_KEYS[] = {"cpu_model", "gpu_name", "blas", "onednn", "cudnn", NULL};

static const char VARIES[] = "\x01varies"; /* not a value any file can hold */

/* A scalar as text: integers without a decimal point, strings as they are. */
static char *value_text(const cJSON *v) {
    char buf[64];
    if (cJSON_IsString(v))
        return nnb_cmp_strdup(v->valuestring);
    if (cJSON_IsNumber(v)) {
        double x = v->valuedouble;
        if (x == floor(x) && fabs(x) < 1e15)
            snprintf(buf, sizeof buf, "%.0f", x);
        else
            snprintf(buf, sizeof buf, "%.17g", x);
        return nnb_cmp_strdup(buf);
    }
    if (cJSON_IsBool(v))
        return nnb_cmp_strdup(cJSON_IsTrue(v) ? "true" : "false");
    if (cJSON_IsNull(v))
        return nnb_cmp_strdup("null");
    return cJSON_PrintUnformatted(v);
}

static nnb_cmp_setting *find_setting(const nnb_cmp_file *f, const char *key) {
    for (int i = 0; i < f->config_count; i++)
        if (strcmp(f->config[i].key, key) == 0)
            return &f->config[i];
    return NULL;
}

int nnb_cmp_config_merge(nnb_cmp_file *f, const char *key, const char *value) {
    f->config_known = 1;
    nnb_cmp_setting *s = find_setting(f, key);
    if (s) {
        if (strcmp(s->value, value) != 0 && strcmp(s->value, VARIES) != 0) {
            char *varies = nnb_cmp_strdup(VARIES);
            if (!varies)
                return -1;
            free(s->value);
            s->value = varies;
        }
        return 0;
    }
    nnb_cmp_setting *grown = realloc(f->config, sizeof *grown * (size_t)(f->config_count + 1));
    if (!grown)
        return -1;
    f->config = grown;
    s = &f->config[f->config_count];
    s->key = nnb_cmp_strdup(key);
    s->value = nnb_cmp_strdup(value);
    f->config_count++;
    return s->key && s->value ? 0 : -1;
}

void nnb_cmp_config_drop_varying(nnb_cmp_file *f) {
    int kept = 0;
    for (int i = 0; i < f->config_count; i++) {
        if (strcmp(f->config[i].value, VARIES) == 0) {
            free(f->config[i].key);
            free(f->config[i].value);
        } else {
            f->config[kept++] = f->config[i];
        }
    }
    f->config_count = kept;
}

static int read_keys(const cJSON *obj, const char *const *keys, nnb_cmp_file *out) {
    for (int i = 0; keys[i]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, keys[i]);
        if (!v)
            continue; /* an older file, or a key this kind of file does not have */
        char *text = value_text(v);
        int rc = text ? nnb_cmp_config_merge(out, keys[i], text) : -1;
        free(text);
        if (rc)
            return -1;
    }
    return 0;
}

int nnb_cmp_read_config(const cJSON *root, nnb_cmp_file *out, char *err, size_t err_len) {
    const cJSON *config = cJSON_GetObjectItemCaseSensitive(root, "config");
    const cJSON *context = cJSON_GetObjectItemCaseSensitive(root, "context");
    out->config_known = 1; /* a file with neither object still has a (empty) configuration */
    const char *schema = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "schema"));
    const char *const *keys = schema && strcmp(schema, "nnbench-serve") == 0 ? SERVE_CONFIG_KEYS : FULL_CONFIG_KEYS;
    if ((cJSON_IsObject(config) && read_keys(config, keys, out)) ||
        (cJSON_IsObject(context) && read_keys(context, CONTEXT_KEYS, out))) {
        nnb_cmp_errorf(err, err_len, "%s: out of memory reading the configuration", out->path ? out->path : "?");
        return -1;
    }
    return 0;
}

void nnb_cmp_config_free(nnb_cmp_file *f) {
    for (int i = 0; i < f->config_count; i++) {
        free(f->config[i].key);
        free(f->config[i].value);
    }
    free(f->config);
    f->config = NULL;
    f->config_count = 0;
}

void nnb_cmp_add_warning(nnb_cmp_report *r, const char *fmt, ...) {
    if (r->warning_count == NNB_CMP_MAX_WARNINGS)
        return;
    char *text = r->warnings[r->warning_count++];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof r->warnings[0], fmt, ap);
    va_end(ap);
    for (char *c = text; *c; c++) /* values from the files: one line, nothing a terminal would act on */
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
}

/* Appends to buf[len] what fits. */
static void append(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t len, const char *fmt, ...) {
    size_t used = strlen(buf);
    if (used + 1 >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
}

void nnb_cmp_compare_configs(nnb_cmp_report *r) {
    const nnb_cmp_file *o = r->old_file, *n = r->new_file;
    if (!o->config_known || !n->config_known) {
        snprintf(r->config_note, sizeof r->config_note, "configuration: %s%s%s unknown (%s records none): not compared",
                 !o->config_known ? "OLD" : "", !o->config_known && !n->config_known ? " and " : "",
                 !n->config_known ? "NEW" : "", nnb_cmp_kind_name(NNB_CMP_OSS_JSON));
        return;
    }
    char differences[sizeof r->warnings[0] - 128] = "";
    int compared = 0, differing = 0;
    for (int i = 0; i < o->config_count; i++) {
        const nnb_cmp_setting *a = &o->config[i], *b = find_setting(n, a->key);
        if (!b)
            continue; /* a key only one file has (e.g. a newer field) says nothing about a difference */
        compared++;
        if (strcmp(a->value, b->value) != 0)
            append(differences, sizeof differences, "%s%s %s -> %s", differing++ ? ", " : "", a->key, a->value,
                   b->value);
    }
    if (!differing) {
        snprintf(r->config_note, sizeof r->config_note, "configuration: the same in OLD and NEW (%d keys compared)",
                 compared);
        return;
    }
    snprintf(r->config_note, sizeof r->config_note, "configuration: OLD and NEW differ in %d of %d keys compared",
             differing, compared);
    nnb_cmp_add_warning(r, "the configurations differ (OLD -> NEW): %s; the ratios compare different setups",
                        differences);
}

void nnb_cmp_check_units(nnb_cmp_report *r) {
    double ratio = r->geomean[NNB_CMP_PHASES].value;
    if (!(ratio > 0) || !isfinite(ratio))
        return;
    /* If a side's times were seconds read as ms, they look 1000x too small: that side is OLD
     * when NEW / OLD is large, NEW when it is small. */
    const nnb_cmp_file *suspect = ratio > 1 ? r->old_file : r->new_file;
    const char *side = ratio > 1 ? "OLD" : "NEW", *flag = ratio > 1 ? "--old-unit" : "--new-unit";
    double decades = fabs(log10(ratio));
    if (suspect->kind == NNB_CMP_OSS_JSON && !suspect->unit_given && decades >= 1) {
        nnb_cmp_add_warning(r,
                            "NEW / OLD is %.4g overall (geometric mean) and %s is fastrnns OSS JSON read as ms: "
                            "fastrnns.bench --device cpu writes seconds (its CUDA times are ms). If %s came from a "
                            "CPU run, give %s s; if it is ms, %s ms silences this",
                            ratio, side, side, flag, flag);
    } else if (fabs(decades - 3) <= log10(3.0)) {
        nnb_cmp_add_warning(r,
                            "NEW / OLD is %.4g overall (geometric mean), near 1000x: one file's times may be "
                            "seconds (fastrnns OSS JSON from a CPU run: %s s), or the files time different work",
                            ratio, flag);
    }
}

int nnb_cmp_parse_unit(const char *text, nnb_cmp_unit *unit) {
    if (strcmp(text, "ms") == 0)
        *unit = NNB_CMP_UNIT_MS;
    else if (strcmp(text, "s") == 0)
        *unit = NNB_CMP_UNIT_S;
    else
        return -1;
    return 0;
}

int nnb_cmp_set_unit(nnb_cmp_file *f, nnb_cmp_unit unit, const char *side, char *err, size_t err_len) {
    const char *flag = strcmp(side, "OLD") == 0 ? "--old-unit" : "--new-unit";
    if (f->kind != NNB_CMP_OSS_JSON && unit == NNB_CMP_UNIT_S) {
        nnb_cmp_errorf(err, err_len,
                       "%s s: %s (%s) is an %s, whose times are always ms; %s applies to fastrnns OSS JSON only "
                       "(drop it, or give %s ms)",
                       flag, side, f->path, nnb_cmp_kind_name(f->kind), flag, flag);
        return -1;
    }
    f->unit_given = 1;
    if (f->kind != NNB_CMP_OSS_JSON || unit == NNB_CMP_UNIT_MS)
        return 0;
    f->seconds = 1;
    for (int i = 0; i < f->runner_count; i++)
        for (int ph = 0; ph < NNB_CMP_PHASES; ph++)
            f->runners[i].phase[ph].time_ms *= 1000.0; /* NaN stays NaN */
    return 0;
}
