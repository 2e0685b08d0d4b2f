/* `nnbench history changes` output: an aligned table, or JSON (docs/history-changes.md has both). */
#include "changes.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum {
    COL_SERIES,
    COL_RUNNER,
    COL_PHASE,
    COL_CONFIG,
    COL_COMMIT,
    COL_DATE,
    COL_LABEL,
    COL_VERDICT,
    COL_RATIO,
    COL_INTERVAL,
    COL_P,
    COL_SAMPLES,
    COLS
};
static const char *const HEADINGS[COLS] = {"series",          "runner",       "phase", "config",
                                           "first run after", "date",         "label", "change",
                                           "after/before",    "95% interval", "p",     "samples"};
#define CELL 64
#define CONFIG_WIDTH 40

/* {"hiddenSize":512,"fuser":"te"} -> hiddenSize=512,fuser=te (the canonical JSON as it is when not JSON). */
static void short_config(const char *config, char *out, size_t cap) {
    cJSON *root = cJSON_Parse(config ? config : "");
    snprintf(out, cap, "%s", config ? config : "-");
    if (!cJSON_IsObject(root))
        return cJSON_Delete(root);
    size_t at = 0;
    out[0] = '\0';
    for (cJSON *item = root->child; item && at + 1 < cap; item = item->next) {
        char *printed = cJSON_IsString(item) ? NULL : cJSON_PrintUnformatted(item);
        at += (size_t)snprintf(out + at, cap - at, "%s%s=%s", at ? "," : "", item->string,
                               printed ? printed : item->valuestring);
        free(printed);
    }
    if (!out[0])
        snprintf(out, cap, "-");
    cJSON_Delete(root);
}

static const char *confirm_name(confirm_state c) {
    return c == CONFIRM_YES ? "confirmed" : c == CONFIRM_NOT ? "not confirmed" : "no samples";
}

static void fill_cells(const change_row *r, char cells[COLS][CELL]) {
    const nnb_change_point *c = &r->cp;
    char config[512];
    short_config(r->series->config, config, sizeof config);
    if (strlen(config) > CONFIG_WIDTH)
        snprintf(config + CONFIG_WIDTH - 3, 4, "...");
    snprintf(cells[COL_SERIES], CELL, "%.8s", r->series->key);
    snprintf(cells[COL_RUNNER], CELL, "%s", r->series->runner);
    snprintf(cells[COL_PHASE], CELL, "%s", r->series->phase);
    snprintf(cells[COL_CONFIG], CELL, "%s", config);
    snprintf(cells[COL_COMMIT], CELL, "%.10s", r->after->commit && *r->after->commit ? r->after->commit : "-");
    snprintf(cells[COL_DATE], CELL, "%s", r->after->date ? r->after->date : "-");
    snprintf(cells[COL_LABEL], CELL, "%s", r->after->label && *r->after->label ? r->after->label : "-");
    snprintf(cells[COL_VERDICT], CELL, "%s", c->slowdown ? "slowdown" : "speed-up");
    snprintf(cells[COL_RATIO], CELL, "%.3f", c->magnitude);
    if (isfinite(c->magnitude_lo))
        snprintf(cells[COL_INTERVAL], CELL, "[%.3f, %.3f]", c->magnitude_lo, c->magnitude_hi);
    else
        snprintf(cells[COL_INTERVAL], CELL, "-");
    snprintf(cells[COL_P], CELL, "%.2g", c->p_value);
    snprintf(cells[COL_SAMPLES], CELL, "%s", confirm_name(r->confirm));
}

static void print_row(FILE *f, char cells[COLS][CELL], const int *width, const char *note) {
    for (int j = 0; j < COLS; j++)
        fprintf(f, j + 1 < COLS ? "%-*s  " : "%-*s", j + 1 < COLS ? width[j] : 0, cells[j]);
    fprintf(f, "%s\n", note);
}

void changes_print_text(FILE *f, const changes_report *r) {
    const nnb_cp_options *o = &r->cli->cp;
    fprintf(f,
            "%d series in %s (%s), %d change%s: E-Divisive means, Welch's t-test (window %d, p <= %g, min size "
            "%d)\n",
            r->series_count, r->cli->store, r->backend, r->row_count, r->row_count == 1 ? "" : "s", o->window, o->max_p,
            o->min_size);
    if (r->row_count == 0)
        return;
    char(*cells)[COLS][CELL] = malloc(sizeof *cells * (size_t)(r->row_count + 1));
    if (!cells)
        return;
    int width[COLS] = {0};
    for (int j = 0; j < COLS; j++)
        snprintf(cells[0][j], CELL, "%s", HEADINGS[j]);
    for (int i = 0; i < r->row_count; i++)
        fill_cells(&r->rows[i], cells[i + 1]);
    for (int i = 0; i <= r->row_count; i++)
        for (int j = 0; j < COLS; j++)
            if ((int)strlen(cells[i][j]) > width[j])
                width[j] = (int)strlen(cells[i][j]);
    fputc('\n', f);
    print_row(f, cells[0], width, "");
    for (int i = 0; i < r->row_count; i++)
        print_row(f, cells[i + 1], width, r->rows[i].fails ? "  <- beyond --fail-above" : "");
    free(cells);
}

static void add_number(cJSON *o, const char *name, double x) {
    if (isfinite(x))
        cJSON_AddNumberToObject(o, name, x);
    else
        cJSON_AddNullToObject(o, name);
}

static void add_string(cJSON *o, const char *name, const char *s) {
    if (s)
        cJSON_AddStringToObject(o, name, s);
    else
        cJSON_AddNullToObject(o, name);
}

/* A canonical JSON field as JSON (its text as a string when it does not parse). */
static void add_json(cJSON *o, const char *name, const char *text) {
    cJSON *v = text ? cJSON_Parse(text) : NULL;
    if (v)
        cJSON_AddItemToObject(o, name, v);
    else
        add_string(o, name, text);
}

static cJSON *run_json(const nnb_store_point *p) {
    cJSON *o = cJSON_CreateObject();
    add_string(o, "commit", p->commit);
    add_string(o, "date", p->date);
    add_string(o, "label", p->label);
    add_string(o, "path", p->path);
    add_number(o, "value", p->value);
    return o;
}

static cJSON *change_json(const change_row *r) {
    const nnb_change_point *c = &r->cp;
    const nnb_store_series *s = r->series;
    cJSON *o = cJSON_CreateObject(), *series = cJSON_AddObjectToObject(o, "series");
    add_string(series, "key", s->key);
    add_string(series, "runner", s->runner);
    add_string(series, "phase", s->phase);
    add_json(series, "config", s->config);
    add_json(series, "machine", s->machine);
    add_string(series, "unit", s->unit);
    cJSON_AddBoolToObject(series, "higher_is_better", s->higher_is_better);
    cJSON_AddNumberToObject(o, "index", c->index);
    cJSON_AddNumberToObject(o, "runs", r->runs);
    cJSON_AddNumberToObject(o, "runs_before", c->index - c->start_before);
    cJSON_AddNumberToObject(o, "runs_after", c->end_after - c->index);
    cJSON_AddItemToObject(o, "last_run_before", run_json(r->before));
    cJSON_AddItemToObject(o, "first_run_after", run_json(r->after));
    add_number(o, "mean_before", c->mean_before);
    add_number(o, "mean_after", c->mean_after);
    add_number(o, "magnitude", c->magnitude);
    add_number(o, "magnitude_lo", c->magnitude_lo);
    add_number(o, "magnitude_hi", c->magnitude_hi);
    add_number(o, "p_value", c->p_value);
    add_number(o, "t_test_p", c->t_test_p);
    cJSON_AddStringToObject(o, "direction", c->slowdown ? "slowdown" : "speed-up");
    cJSON_AddBoolToObject(o, "latest", r->latest);
    cJSON_AddBoolToObject(o, "beyond_fail_above", r->fails);
    if (r->confirm == CONFIRM_NO_SAMPLES)
        cJSON_AddNullToObject(o, "confirmed");
    else
        cJSON_AddBoolToObject(o, "confirmed", r->confirm == CONFIRM_YES);
    cJSON *confirm = cJSON_AddObjectToObject(o, "samples");
    cJSON_AddNumberToObject(confirm, "before", r->samples_before);
    cJSON_AddNumberToObject(confirm, "after", r->samples_after);
    add_number(confirm, "median_ratio", r->confirm_ratio);
    add_number(confirm, "rank_sum_p", r->confirm_p);
    return o;
}

int changes_print_json(FILE *f, const changes_report *r) {
    cJSON *root = cJSON_CreateObject(), *opts = cJSON_AddObjectToObject(root, "options");
    cJSON_AddStringToObject(root, "store", r->cli->store);
    cJSON_AddStringToObject(root, "backend", r->backend);
    cJSON_AddStringToObject(opts, "method", "e-divisive means, welch t-test");
    cJSON_AddNumberToObject(opts, "window", r->cli->cp.window);
    cJSON_AddNumberToObject(opts, "max_p", r->cli->cp.max_p);
    cJSON_AddNumberToObject(opts, "min_size", r->cli->cp.min_size);
    add_string(opts, "series", r->cli->series);
    add_string(opts, "since", r->cli->since);
    add_number(opts, "fail_above", r->cli->fail_above > 0 ? r->cli->fail_above : NAN);
    cJSON_AddNumberToObject(root, "series_count", r->series_count);
    cJSON *changes = cJSON_AddArrayToObject(root, "changes");
    int regression = 0;
    for (int i = 0; i < r->row_count; i++) {
        cJSON_AddItemToArray(changes, change_json(&r->rows[i]));
        regression |= r->rows[i].fails;
    }
    cJSON_AddBoolToObject(root, "regression", regression);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text)
        return -1;
    fprintf(f, "%s\n", text);
    free(text);
    return 0;
}
