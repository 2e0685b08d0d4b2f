/* Run sweeps' tables (summary_internal.h): one row per point x runner over the repeats (median, mean, std,
 * min, max per phase, as process_metrics.py does), sweep.csv, sweep.md, and the per-model roll-up of shape
 * sets (sweep.md and sweep-rollup.csv), marked partial when it misses some of the model's points. */
#define _GNU_SOURCE
#include "summary_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const sum_phase_names[PHASES] = {"forward", "backward", "total"};

static summary_row *row_for(summary *s, const cJSON *point, const char *runner, const char *group, int repeats) {
    for (int i = s->count - 1; i >= 0 && s->rows[i].point == point; i--)
        if (!strcmp(s->rows[i].runner, runner))
            return &s->rows[i];
    if (s->count == s->cap) {
        int cap = s->cap ? 2 * s->cap : 64;
        summary_row *grown = realloc(s->rows, sizeof *grown * (size_t)cap);
        if (!grown)
            return NULL;
        s->rows = grown;
        s->cap = cap;
    }
    summary_row *r = &s->rows[s->count];
    memset(r, 0, sizeof *r);
    r->point = point;
    r->runner = runner;
    r->group = group;
    for (int p = 0; p < PHASES; p++) {
        r->flops[p] = NAN;
        if (!(r->ms[p] = calloc((size_t)repeats, sizeof *r->ms[p])))
            return NULL;
    }
    s->count++;
    return r;
}

void sum_note_keys(summary *s, const cJSON *settings) {
    const cJSON *kv;
    cJSON_ArrayForEach(kv, settings) {
        int known = 0;
        for (int i = 0; i < s->key_count && !known; i++)
            known = !strcmp(s->keys[i], kv->string);
        if (!known && s->key_count < (int)(sizeof s->keys / sizeof *s->keys))
            s->keys[s->key_count++] = kv->string;
    }
}

static void add_runner_result(summary_row *r, const cJSON *rec) {
    double fwd = sum_num(sum_get(rec, "forward"), "median_ms"), bwd = sum_num(sum_get(rec, "backward"), "median_ms");
    const cJSON *flops = sum_get(rec, "flops");
    r->ms[FWD][r->n] = fwd;
    r->ms[BWD][r->n] = bwd;
    r->ms[TOT][r->n] = isfinite(bwd) ? fwd + bwd : fwd;
    r->flops[FWD] = sum_num(flops, "forward");
    r->flops[BWD] = sum_num(flops, "backward");
    r->flops[TOT] = isfinite(r->flops[BWD]) ? r->flops[FWD] + r->flops[BWD] : r->flops[FWD];
    r->n++;
}

int sum_collect(const cJSON *merged, summary *s) {
    const cJSON *point;
    cJSON_ArrayForEach(point, sum_get(merged, "points")) {
        sum_note_keys(s, sum_get(point, "settings"));
        int repeats = cJSON_GetArraySize(sum_get(point, "runs")); /* what is there, whatever the file claims */
        const cJSON *run;
        cJSON_ArrayForEach(run, sum_get(point, "runs")) {
            const cJSON *group;
            cJSON_ArrayForEach(group, sum_get(sum_get(run, "results"), "groups")) {
                const cJSON *rec;
                cJSON_ArrayForEach(rec, group) {
                    const char *name = sum_str(rec, "name"), *status = sum_str(rec, "status");
                    if (!name)
                        continue;
                    summary_row *r = row_for(s, point, name, group->string, repeats);
                    if (!r)
                        return -1;
                    if (status && !strcmp(status, "ok") && r->n < repeats)
                        add_runner_result(r, rec);
                }
            }
        }
    }
    return 0;
}

void sum_free(summary *s) {
    for (int i = 0; i < s->count; i++)
        for (int p = 0; p < PHASES; p++)
            free(s->rows[i].ms[p]);
    free(s->rows);
}

void sum_csv(const summary *s, text *t) {
    sum_put(t, "point,label,model,count");
    for (int k = 0; k < s->key_count; k++)
        sum_put(t, ","), sum_put_csv_cell(t, s->keys[k]);
    sum_put(t, ",runner,group,repeats");
    for (int p = 0; p < PHASES; p++)
        sum_put(t, ",%s_median_ms,%s_mean_ms,%s_std_ms,%s_min_ms,%s_max_ms", sum_phase_names[p], sum_phase_names[p],
                sum_phase_names[p], sum_phase_names[p], sum_phase_names[p]);
    sum_put(t, ",forward_gflops,backward_gflops,total_gflops\n");
    for (int i = 0; i < s->count; i++) {
        const summary_row *r = &s->rows[i];
        sum_put(t, "%d,", sum_int(r->point, "index", -1));
        sum_put_csv_cell(t, sum_str(r->point, "label"));
        sum_put(t, ",");
        sum_put_csv_cell(t, sum_str(r->point, "model"));
        sum_put(t, ",%.0f", sum_num(r->point, "count"));
        for (int k = 0; k < s->key_count; k++)
            sum_put(t, ","), sum_put_csv_cell(t, sum_str(sum_get(r->point, "settings"), s->keys[k]));
        sum_put(t, ","), sum_put_csv_cell(t, r->runner), sum_put(t, ","), sum_put_csv_cell(t, r->group),
            sum_put(t, ",%d", r->n);
        stat5 st[PHASES];
        for (int p = 0; p < PHASES; p++) {
            st[p] = sum_stats(r->ms[p], r->n);
            sum_put(t, ","), sum_put_num(t, st[p].median), sum_put(t, ","), sum_put_num(t, st[p].mean), sum_put(t, ",");
            sum_put_num(t, st[p].std), sum_put(t, ","), sum_put_num(t, st[p].min), sum_put(t, ","),
                sum_put_num(t, st[p].max);
        }
        for (int p = 0; p < PHASES; p++)
            sum_put(t, ","), sum_put_num(t, sum_gflops_at(r->flops[p], st[p].median));
        sum_put(t, "\n");
    }
}

static void md_cell_stat(text *t, const stat5 *s) {
    if (!s->n) {
        sum_put(t, " | -");
        return;
    }
    sum_put(t, " | %.4g", s->median);
    if (s->n > 1)
        sum_put(t, " (%.4g ± %.2g)", s->mean, s->std);
}

/* One model x runner of the roll-up: sum over the model's points of count x median. */
typedef struct rollup {
    const char *model, *runner;
    int rows, measured, expected; /* expected: the sweep's points of the model; -1 unknown (older files) */
    double sum[PHASES];
} rollup;

/* Points of the model in the whole sweep: its shapes (sweep.shapes.models) times the axes' combinations. */
static int expected_rows(const cJSON *merged, const char *model) {
    const cJSON *cfg = sum_get(merged, "sweep"), *shapes = sum_get(cfg, "shapes");
    double per = sum_num(sum_get(shapes, "models"), model), count = sum_num(shapes, "count");
    double points = sum_num(cfg, "point_count");
    return per > 0 && count > 0 && points > 0 && per <= 1e6 && points <= 1e6 ? (int)(per * (points / count)) : -1;
}

/* Every (model, runner) in order of first appearance; *out malloc'd (caller frees); -1 out of memory. */
static int rollups(const cJSON *merged, const summary *s, rollup **out) {
    rollup *r = calloc((size_t)(s->count ? s->count : 1), sizeof *r);
    int n = 0;
    if (!(*out = r))
        return -1;
    for (int i = 0; i < s->count; i++) {
        const char *model = sum_str(s->rows[i].point, "model"), *runner = s->rows[i].runner;
        if (!model)
            continue;
        int k = 0;
        while (k < n && (strcmp(r[k].model, model) || strcmp(r[k].runner, runner)))
            k++;
        if (k == n)
            r[n++] = (rollup){model, runner, 0, 0, expected_rows(merged, model), {0, 0, 0}};
        r[k].rows++;
        r[k].measured += s->rows[i].n > 0;
        for (int p = 0; p < PHASES; p++) {
            stat5 st = sum_stats(s->rows[i].ms[p], s->rows[i].n);
            r[k].sum[p] += isfinite(st.median) ? sum_num(s->rows[i].point, "count") * st.median : 0;
        }
    }
    return n;
}

/* Is the roll-up of r over every point the sweep has for its model? */
static int rollup_complete(const cJSON *merged, const rollup *r) {
    if (r->expected >= 0)
        return r->measured >= r->expected;
    return r->measured == r->rows && cJSON_IsTrue(sum_get(merged, "complete"));
}

static void md_rollup(const cJSON *merged, const summary *s, text *t) {
    rollup *r;
    int n = rollups(merged, s, &r);
    if (n > 0) {
        sum_put(t, "\n## Per-model roll-up\n\nSum over the model's shapes of count x median time (ms), per runner. "
                   "A roll-up that misses some of the model's shapes (not run, failed, or in a shard not merged) "
                   "says **partial**: its sums are not the model's.\n\n| model | runner | shapes | forward ms | "
                   "backward ms | total ms |\n| --- | --- | --- | --- | --- | --- |\n");
    }
    for (int k = 0; k < n; k++) {
        sum_put(t, "| "), sum_md_escape(t, r[k].model), sum_put(t, " | "), sum_md_escape(t, r[k].runner);
        if (rollup_complete(merged, &r[k]))
            sum_put(t, " | %d", r[k].measured);
        else if (r[k].expected >= 0)
            sum_put(t, " | %d of %d (**partial**)", r[k].measured, r[k].expected);
        else
            sum_put(t, " | %d (**partial**: the sweep is incomplete)", r[k].measured);
        for (int p = 0; p < PHASES; p++)
            sum_put(t, " | %.5g", r[k].sum[p]);
        sum_put(t, " |\n");
    }
    if (n > 0 && sum_get(merged, "beside")) {
        sum_md_beside_runs(merged, t);
        for (int k = 0; k < n; k++)
            sum_md_beside_share(merged, r[k].model, r[k].runner, r[k].sum, t);
    }
    free(r);
}

void sum_rollup_csv(const cJSON *merged, const summary *s, text *t) {
    rollup *r;
    int n = rollups(merged, s, &r);
    sum_put(t, "model,runner,shapes_measured,shapes_expected,complete,forward_ms,backward_ms,total_ms\n");
    for (int k = 0; k < n; k++) {
        sum_put_csv_cell(t, r[k].model), sum_put(t, ","), sum_put_csv_cell(t, r[k].runner);
        sum_put(t, ",%d,", r[k].measured);
        if (r[k].expected >= 0)
            sum_put(t, "%d", r[k].expected);
        sum_put(t, ",%s", rollup_complete(merged, &r[k]) ? "true" : "false");
        for (int p = 0; p < PHASES; p++)
            sum_put(t, ","), sum_put_num(t, r[k].sum[p]);
        sum_put(t, "\n");
    }
    free(r);
}

void sum_md_problems(const cJSON *merged, text *t) {
    const cJSON *item;
    if (cJSON_GetArraySize(sum_get(merged, "missing")) + cJSON_GetArraySize(sum_get(merged, "failures")) == 0)
        return;
    sum_put(t, "\n## Missing and failed\n\n");
    cJSON_ArrayForEach(item, sum_get(merged, "missing")) sum_put(t, "- %s\n", item->valuestring);
    cJSON_ArrayForEach(item, sum_get(merged, "failures")) {
        sum_put(t, "- point %d (%s) repeat %d: %s: %s (log `%s`)\n", sum_int(item, "point", -1), sum_str(item, "label"),
                sum_int(item, "repeat", -1) + 1, sum_str(item, "status"), sum_str(item, "error"), sum_str(item, "log"));
    }
}

/* Does the key take more than one value over the points (a column worth showing)? */
static int key_varies(const summary *s, const char *key) {
    const char *first = NULL;
    for (int i = 0; i < s->count; i++) {
        const char *v = sum_str(sum_get(s->rows[i].point, "settings"), key);
        if (!v)
            return 1; /* set at some points only */
        if (!first)
            first = v;
        else if (strcmp(first, v))
            return 1;
    }
    return 0;
}

int sum_has_models(const summary *s) {
    for (int i = 0; i < s->count; i++)
        if (sum_str(s->rows[i].point, "model"))
            return 1;
    return 0;
}

void sum_markdown(const cJSON *merged, const summary *s, text *t) {
    const cJSON *cfg = sum_get(merged, "sweep");
    sum_put(t,
            "# nnbench sweep %s\n\n%d points x %d repeats (fresh processes)%s. Common arguments:", sum_str(cfg, "id"),
            sum_int(cfg, "point_count", -1), sum_int(cfg, "repeat", -1), sum_incomplete_note(merged).s);
    const cJSON *a;
    cJSON_ArrayForEach(a, sum_get(cfg, "common_args")) sum_put(t, " `%s`", a->valuestring);
    int labels = sum_has_models(s), show[NNB_SWEEP_MAX_KEYS * 4];
    for (int k = 0; k < s->key_count; k++)
        show[k] = key_varies(s, s->keys[k]);
    sum_put(t, "\n\nEach time is the median over the repeats of each run's median, in ms; in parentheses the mean "
               "± standard deviation over the repeats. Settings the same at every point are left out.\n\n| point |");
    if (labels)
        sum_put(t, " shape |");
    for (int k = 0; k < s->key_count; k++)
        if (show[k])
            sum_put(t, " "), sum_md_escape(t, s->keys[k]), sum_put(t, " |");
    sum_put(t, " runner | n | forward ms | backward ms | total ms | total GFLOP/s |\n|---|");
    if (labels)
        sum_put(t, "---|");
    for (int k = 0; k < s->key_count; k++)
        if (show[k])
            sum_put(t, "---|");
    sum_put(t, "---|---|---|---|---|---|\n");
    for (int i = 0; i < s->count; i++) {
        const summary_row *r = &s->rows[i];
        sum_put(t, "| %d", sum_int(r->point, "index", -1));
        if (labels)
            sum_put(t, " | "), sum_md_escape(t, sum_str(r->point, "label"));
        for (int k = 0; k < s->key_count; k++) {
            const char *v = sum_str(sum_get(r->point, "settings"), s->keys[k]);
            if (show[k])
                sum_put(t, " | "), sum_md_escape(t, v ? v : "");
        }
        sum_put(t, " | "), sum_md_escape(t, r->runner), sum_put(t, " | %d", r->n);
        stat5 st[PHASES];
        for (int p = 0; p < PHASES; p++)
            md_cell_stat(t, (st[p] = sum_stats(r->ms[p], r->n), &st[p]));
        double g = sum_gflops_at(r->flops[TOT], st[TOT].median);
        if (isfinite(g))
            sum_put(t, " | %.4g |\n", g);
        else
            sum_put(t, " | - |\n");
    }
    md_rollup(merged, s, t);
    sum_md_problems(merged, t);
}
