/*
 * Reading an nnbench sweep file (docs/sweeps.md): every run's full JSON is read
 * as nnbench full JSON, and each runner becomes (point, group, runner), the point
 * named by its settings so two sweeps match points by what they ran, not by index.
 * A point's repeats are pooled: their samples together, the time their median.
 * The configuration kept is what every run shares; what varies is per point.
 */
#include "compare_internal.h"
#include "robust_stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct setting_ref {
    const char *key, *value;
} setting_ref;

static int by_key(const void *a, const void *b) {
    return strcmp(((const setting_ref *)a)->key, ((const setting_ref *)b)->key);
}

/* "key=value key=value", keys sorted (model first when the point has one); NULL on a bad point. */
static char *point_key(const cJSON *point, char *err, size_t err_len, const char *where) {
    const cJSON *settings = cJSON_GetObjectItemCaseSensitive(point, "settings");
    if (!cJSON_IsObject(settings)) {
        nnb_cmp_errorf(err, err_len, "%s.settings: expected an object of key -> value, got %s", where,
                       nnb_cmp_json_type(settings));
        return NULL;
    }
    int n = cJSON_GetArraySize(settings);
    setting_ref *refs = calloc((size_t)(n > 0 ? n : 1), sizeof *refs);
    size_t len = 1;
    int i = 0;
    for (const cJSON *s = settings->child; refs && s; s = s->next, i++) {
        if (!cJSON_IsString(s)) {
            nnb_cmp_errorf(err, err_len, "%s.settings.%s: expected a string, got %s", where, s->string,
                           nnb_cmp_json_type(s));
            free(refs);
            return NULL;
        }
        refs[i] = (setting_ref){s->string, s->valuestring};
        len += strlen(s->string) + strlen(s->valuestring) + 2;
    }
    const char *model = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(point, "model"));
    len += model ? strlen(model) + 8 : 0;
    char *key = refs ? malloc(len) : NULL;
    if (!key) {
        free(refs);
        nnb_cmp_errorf(err, err_len, "%s: out of memory", where);
        return NULL;
    }
    qsort(refs, (size_t)n, sizeof *refs, by_key);
    key[0] = '\0';
    if (model)
        strcat(strcat(key, "model="), model);
    for (i = 0; i < n; i++)
        strcat(strcat(strcat(strcat(key, key[0] ? " " : ""), refs[i].key), "="), refs[i].value);
    free(refs);
    return key;
}

static int append_samples(nnb_cmp_phase *to, const nnb_cmp_phase *from) {
    if (!from->sample_count)
        return 0;
    double *grown = realloc(to->samples, sizeof(double) * (size_t)(to->sample_count + from->sample_count));
    if (!grown)
        return -1;
    memcpy(grown + to->sample_count, from->samples, sizeof(double) * (size_t)from->sample_count);
    to->samples = grown;
    to->sample_count += from->sample_count;
    return 0;
}

static nnb_cmp_runner *find(nnb_cmp_file *f, const char *point, const nnb_cmp_runner *r) {
    for (int i = 0; i < f->runner_count; i++) {
        nnb_cmp_runner *x = &f->runners[i];
        if (strcmp(x->point, point) == 0 && strcmp(x->group, r->group) == 0 && strcmp(x->name, r->name) == 0)
            return x;
    }
    return NULL;
}

/* Moves run's runner r into out under point: a new entry, or pooled into an earlier repeat's. */
static int pool_runner(nnb_cmp_file *out, const char *point, nnb_cmp_runner *r) {
    nnb_cmp_runner *have = find(out, point, r);
    if (have && strcmp(have->status, "ok") == 0 && strcmp(r->status, "ok") == 0) {
        for (int ph = 0; ph < NNB_CMP_PHASES; ph++) {
            nnb_cmp_phase *to = &have->phase[ph], *from = &r->phase[ph];
            if (append_samples(to, from))
                return -1;
            to->present |= from->present;
            to->zero_time |= from->zero_time;
            if (!isfinite(to->time_ms))
                to->time_ms = from->time_ms; /* a repeat without samples: its median stands */
        }
        return 0;
    }
    if (have && strcmp(r->status, "ok") != 0)
        return 0; /* a failed repeat adds nothing to one that has times */
    if (!have) {
        nnb_cmp_runner *grown = realloc(out->runners, sizeof *grown * (size_t)(out->runner_count + 1));
        if (!grown)
            return -1;
        out->runners = grown;
        have = &out->runners[out->runner_count++];
        memset(have, 0, sizeof *have);
        if (!(have->point = nnb_cmp_strdup(point)))
            return -1;
    } else { /* an earlier repeat failed, this one did not: it replaces that record */
        free(have->group), free(have->name), free(have->status);
        for (int ph = 0; ph < NNB_CMP_PHASES; ph++)
            free(have->phase[ph].samples);
    }
    char *keep_point = have->point;
    *have = *r;
    have->point = keep_point;
    memset(r, 0, sizeof *r); /* ownership moved */
    return 0;
}

static void pooled_medians(nnb_cmp_file *f) {
    for (int i = 0; i < f->runner_count; i++)
        for (int ph = 0; ph < NNB_CMP_PHASES; ph++) {
            nnb_cmp_phase *p = &f->runners[i].phase[ph];
            if (p->sample_count && !p->zero_time)
                p->time_ms = nnb_median_of(p->samples, p->sample_count);
        }
}

static int read_run(const cJSON *results, const char *where, const char *point, nnb_cmp_file *out, char *err,
                    size_t err_len) {
    nnb_cmp_file run;
    if (nnb_cmp_read_full_root(results, where, &run, err, err_len))
        return -1;
    int rc = nnb_cmp_read_config(results, out, err, err_len);
    for (int k = 0; rc == 0 && k < run.runner_count; k++)
        if (pool_runner(out, point, &run.runners[k])) {
            nnb_cmp_errorf(err, err_len, "%s: out of memory", where);
            rc = -1;
        }
    nnb_cmp_file_free(&run);
    return rc;
}

static int point_seen(const nnb_cmp_file *f, const char *key) {
    for (int i = 0; i < f->runner_count; i++)
        if (strcmp(f->runners[i].point, key) == 0)
            return 1;
    for (int i = 0; i < f->serve_count; i++)
        if (strcmp(f->serve[i].point, key) == 0)
            return 1;
    return 0;
}

static int read_point(const cJSON *point, int index, const char *name, int serve, nnb_cmp_file *out, char *err,
                      size_t err_len) {
    char where[768];
    snprintf(where, sizeof where, "%s: points[%d]", name, index);
    if (!cJSON_IsObject(point)) {
        nnb_cmp_errorf(err, err_len, "%s: expected a point object, got %s", where, nnb_cmp_json_type(point));
        return -1;
    }
    char *key = point_key(point, err, err_len, where);
    if (!key)
        return -1;
    if (point_seen(out, key)) {
        nnb_cmp_errorf(err, err_len, "%s: a second point with the settings \"%s\"", where, key);
        free(key);
        return -1;
    }
    const cJSON *runs = cJSON_GetObjectItemCaseSensitive(point, "runs");
    int rc = 0, r = 0;
    if (!cJSON_IsArray(runs)) {
        nnb_cmp_errorf(err, err_len, "%s.runs: expected an array of runs, got %s", where, nnb_cmp_json_type(runs));
        rc = -1;
    }
    for (const cJSON *run = runs ? runs->child : NULL; rc == 0 && run; run = run->next, r++) {
        const cJSON *results = cJSON_GetObjectItemCaseSensitive(run, "results");
        if (!results || cJSON_IsNull(results))
            continue; /* a run that left no results (crashed, timed out): the sweep names it */
        char at[1024];
        snprintf(at, sizeof at, "%s.runs[%d].results", where, r);
        rc = serve ? nnb_cmp_read_serve_run(results, at, key, out, err, err_len)
                   : read_run(results, at, key, out, err, err_len);
    }
    free(key);
    return rc;
}

int nnb_cmp_read_sweep(const cJSON *root, const char *name, nnb_cmp_file *out, char *err, size_t err_len) {
    out->kind = NNB_CMP_SWEEP_JSON;
    out->config_known = 1; /* what every run shares: nothing is "unknown" even without runs */
    const char *command = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "sweep"), "command"));
    int serve = command && strcmp(command, "serve") == 0; /* sweep --serve: every run is a serve file */
    const cJSON *points = cJSON_GetObjectItemCaseSensitive(root, "points");
    if (!cJSON_IsArray(points)) {
        nnb_cmp_errorf(err, err_len, "%s: a sweep file needs \"points\": an array (docs/sweeps.md); it is %s", name,
                       nnb_cmp_json_type(points));
        return -1;
    }
    int i = 0;
    for (const cJSON *p = points->child; p; p = p->next, i++)
        if (read_point(p, i, name, serve, out, err, err_len))
            return -1;
    pooled_medians(out);
    nnb_cmp_serve_pool_percentiles(out);
    nnb_cmp_config_drop_varying(out);
    return 0;
}
