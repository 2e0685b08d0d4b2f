/*
 * Comparing two parsed result files: one row per (group, runner, phase) that
 * either file has, a ratio NEW / OLD where both time it, a bootstrap interval
 * and verdict where both carry samples, and the geometric means of the ratios.
 */
#include "compare_internal.h"
#include "robust_stats.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

nnb_cmp_options nnb_cmp_default_options(void) {
    nnb_cmp_options o = {0.01, 0, NNB_CMP_RESAMPLES, NNB_CMP_CONFIDENCE, NNB_CMP_SEED};
    return o;
}

typedef struct builder {
    nnb_cmp_report *report;
    int capacity;
} builder;

static nnb_cmp_row *new_row(builder *b, const nnb_cmp_runner *runner, int phase, nnb_cmp_row_kind kind) {
    nnb_cmp_report *r = b->report;
    if (r->row_count == b->capacity) {
        int bigger = b->capacity ? b->capacity * 2 : 32;
        nnb_cmp_row *grown = realloc(r->rows, sizeof *grown * (size_t)bigger);
        if (!grown)
            return NULL;
        r->rows = grown, b->capacity = bigger;
    }
    nnb_cmp_row *row = &r->rows[r->row_count++];
    memset(row, 0, sizeof *row);
    row->point = runner->point;
    row->group = runner->group;
    row->runner = runner->name;
    row->phase = phase;
    row->kind = kind;
    row->old_ms = row->new_ms = row->ratio = row->lo = row->hi = NAN;
    return row;
}

static void set_note(nnb_cmp_row *row, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_note(nnb_cmp_row *row, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(row->note, sizeof row->note, fmt, ap);
    va_end(ap);
}

/* Runners are grouped by (point, group); points are NULL outside sweeps. */
static int same_section(const nnb_cmp_runner *a, const nnb_cmp_runner *b) {
    int same_point = a->point && b->point ? strcmp(a->point, b->point) == 0 : a->point == b->point;
    return same_point && strcmp(a->group, b->group) == 0;
}

static const nnb_cmp_runner *find_runner(const nnb_cmp_file *f, const nnb_cmp_runner *like) {
    for (int i = 0; i < f->runner_count; i++)
        if (same_section(&f->runners[i], like) && strcmp(f->runners[i].name, like->name) == 0)
            return &f->runners[i];
    return NULL;
}

static int has_time(const nnb_cmp_phase *ph) { return ph->present && isfinite(ph->time_ms); }

static int is_ok(const nnb_cmp_runner *r) { return strcmp(r->status, "ok") == 0; }

/* "no backward in NEW", "no forward time in OLD (null)": why one side has no time. */
static void describe_missing(char *out, size_t len, const nnb_cmp_phase *ph, const char *phase, const char *side) {
    if (has_time(ph))
        out[0] = '\0';
    else if (!ph->present)
        snprintf(out, len, "no %s in %s", phase, side);
    else if (ph->zero_time)
        snprintf(out, len, "zero %s time in %s (below the timer's resolution)", phase, side);
    else
        snprintf(out, len, "no %s time in %s (null)", phase, side);
}

static void note_missing_time(nnb_cmp_row *row, const nnb_cmp_phase *a, const nnb_cmp_phase *b) {
    const char *phase = nnb_cmp_phase_name(row->phase);
    char old_part[72], new_part[72];
    describe_missing(old_part, sizeof old_part, a, phase, "OLD");
    describe_missing(new_part, sizeof new_part, b, phase, "NEW");
    set_note(row, "%s%s%s", old_part, old_part[0] && new_part[0] ? "; " : "", new_part);
}

static int compare_phase(builder *b, const nnb_cmp_runner *o, const nnb_cmp_runner *n, int phase,
                         const nnb_cmp_options *opt, char *err, size_t err_len) {
    const nnb_cmp_phase *a = &o->phase[phase], *c = &n->phase[phase];
    if (!a->present && !c->present)
        return 0; /* e.g. the backward of a forward-only runner */
    int comparable = has_time(a) && has_time(c);
    nnb_cmp_row *row = new_row(b, o, phase, comparable ? NNB_CMP_COMPARED : NNB_CMP_NO_TIME);
    if (!row) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    row->old_ms = has_time(a) ? a->time_ms : NAN;
    row->new_ms = has_time(c) ? c->time_ms : NAN;
    if (!comparable) {
        note_missing_time(row, a, c);
        return 0;
    }
    row->ratio = row->new_ms / row->old_ms;
    row->has_ci = a->sample_count >= 2 && c->sample_count >= 2;
    if (!row->has_ci) {
        row->verdict = "no samples";
        row->regressed = opt->fail_above > 0 && row->ratio > opt->fail_above;
        return 0;
    }
    double ratio;
    if (nnb_bootstrap_median_ratio(a->samples, a->sample_count, c->samples, c->sample_count, opt->confidence,
                                   opt->resamples, opt->seed, &ratio, &row->lo, &row->hi)) {
        snprintf(err, err_len, "%s/%s %s: bootstrap failed (out of memory?)", o->group, o->name,
                 nnb_cmp_phase_name(phase));
        return -1;
    }
    row->verdict = nnb_verdict_name(nnb_verdict_of(row->lo, row->hi, opt->noise_threshold));
    row->regressed = opt->fail_above > 0 && row->lo > opt->fail_above;
    return 0;
}

/* One whole-runner row (only in one file, or not ok), or one row per phase. */
static int compare_runner(builder *b, const nnb_cmp_runner *o, const nnb_cmp_runner *n, const nnb_cmp_options *opt,
                          char *err, size_t err_len) {
    nnb_cmp_row *row = NULL;
    if (!o || !n) {
        if ((row = new_row(b, o ? o : n, -1, o ? NNB_CMP_ONLY_OLD : NNB_CMP_ONLY_NEW)))
            set_note(row, o ? "only in OLD" : "only in NEW");
    } else if (!is_ok(o) || !is_ok(n)) {
        if ((row = new_row(b, o, -1, NNB_CMP_NOT_OK))) {
            if (!is_ok(o) && !is_ok(n))
                set_note(row, "not ok in OLD: %s; NEW: %s", o->status, n->status);
            else
                set_note(row, "not ok in %s: %s", is_ok(o) ? "NEW" : "OLD", is_ok(o) ? n->status : o->status);
        }
    } else {
        int rows_before = b->report->row_count;
        for (int ph = 0; ph < NNB_CMP_PHASES; ph++)
            if (compare_phase(b, o, n, ph, opt, err, err_len))
                return -1;
        if (b->report->row_count > rows_before)
            return 0;
        /* "ok" but neither phase in either file: still say so rather than drop the runner. */
        if ((row = new_row(b, o, -1, NNB_CMP_NO_TIME)))
            set_note(row, "no forward or backward in OLD or NEW");
    }
    if (!row)
        snprintf(err, err_len, "out of memory");
    return row ? 0 : -1;
}

static int section_before(const nnb_cmp_file *f, int index, const nnb_cmp_runner *like) {
    for (int i = 0; i < index; i++)
        if (same_section(&f->runners[i], like))
            return 1;
    return 0;
}

/* OLD's runners of the section (point and group of `section`) in OLD's order, then those only NEW has. */
static int compare_group(builder *b, const nnb_cmp_file *old_file, const nnb_cmp_file *new_file,
                         const nnb_cmp_runner *section, const nnb_cmp_options *opt, char *err, size_t err_len) {
    for (int i = 0; i < old_file->runner_count; i++) {
        const nnb_cmp_runner *o = &old_file->runners[i];
        if (same_section(o, section) && compare_runner(b, o, find_runner(new_file, o), opt, err, err_len))
            return -1;
    }
    for (int i = 0; i < new_file->runner_count; i++) {
        const nnb_cmp_runner *n = &new_file->runners[i];
        if (same_section(n, section) && !find_runner(old_file, n) && compare_runner(b, NULL, n, opt, err, err_len))
            return -1;
    }
    return 0;
}

static void compute_geomeans(nnb_cmp_report *r) {
    double log_sum[NNB_CMP_PHASES + 1] = {0};
    int count[NNB_CMP_PHASES + 1] = {0};
    for (int i = 0; i < r->row_count; i++) {
        const nnb_cmp_row *row = &r->rows[i];
        if (row->kind != NNB_CMP_COMPARED)
            continue;
        double l = log(row->ratio);
        log_sum[row->phase] += l, count[row->phase]++;
        log_sum[NNB_CMP_PHASES] += l, count[NNB_CMP_PHASES]++;
        r->regressions += row->regressed;
    }
    for (int k = 0; k <= NNB_CMP_PHASES; k++) {
        r->geomean[k].count = count[k];
        r->geomean[k].value = count[k] ? exp(log_sum[k] / count[k]) : NAN;
    }
}

/* Full JSON and OSS JSON compare with each other; a sweep only with a sweep, a serve file
 * only with a serve file (their rows mean different things). */
static int check_kinds(const nnb_cmp_file *old_file, const nnb_cmp_file *new_file, char *err, size_t err_len) {
    int old_special = old_file->kind == NNB_CMP_SWEEP_JSON || old_file->kind == NNB_CMP_SERVE_JSON;
    int new_special = new_file->kind == NNB_CMP_SWEEP_JSON || new_file->kind == NNB_CMP_SERVE_JSON;
    if (old_file->kind == new_file->kind && nnb_cmp_is_serve(old_file) != nnb_cmp_is_serve(new_file)) {
        snprintf(err, err_len,
                 "OLD (%s) is a sweep of nnbench %sruns and NEW (%s) one of nnbench %sruns: a sweep of serve runs "
                 "is compared only with another",
                 old_file->path, nnb_cmp_is_serve(old_file) ? "serve " : "", new_file->path,
                 nnb_cmp_is_serve(new_file) ? "serve " : "");
        return -1;
    }
    if (old_file->kind == new_file->kind || (!old_special && !new_special))
        return 0;
    const char *special = old_special ? nnb_cmp_kind_name(old_file->kind) : nnb_cmp_kind_name(new_file->kind);
    snprintf(err, err_len, "OLD (%s) is %s %s and NEW (%s) is %s %s: an %s is compared only with another %s",
             old_file->path, old_file->kind == NNB_CMP_OSS_JSON ? "a" : "an", nnb_cmp_kind_name(old_file->kind),
             new_file->path, new_file->kind == NNB_CMP_OSS_JSON ? "a" : "an", nnb_cmp_kind_name(new_file->kind),
             special, special);
    return -1;
}

int nnb_cmp_compare(const nnb_cmp_file *old_file, const nnb_cmp_file *new_file, const nnb_cmp_options *opt,
                    nnb_cmp_report *out, char *err, size_t err_len) {
    memset(out, 0, sizeof *out);
    out->old_file = old_file;
    out->new_file = new_file;
    out->options = *opt;
    for (int k = 0; k <= NNB_CMP_PHASES; k++)
        out->geomean[k].value = NAN;
    if (check_kinds(old_file, new_file, err, err_len))
        return -1;
    nnb_cmp_compare_configs(out);
    if (nnb_cmp_is_serve(old_file)) {
        if (nnb_cmp_compare_serve(out, err, err_len)) {
            nnb_cmp_report_free(out);
            return -1;
        }
        return 0;
    }
    builder b = {out, 0};
    int rc = 0;
    for (int i = 0; rc == 0 && i < old_file->runner_count; i++) {
        const nnb_cmp_runner *section = &old_file->runners[i];
        if (!section_before(old_file, i, section))
            rc = compare_group(&b, old_file, new_file, section, opt, err, err_len);
    }
    for (int i = 0; rc == 0 && i < new_file->runner_count; i++) {
        const nnb_cmp_runner *section = &new_file->runners[i];
        if (!section_before(new_file, i, section) && !section_before(old_file, old_file->runner_count, section))
            rc = compare_group(&b, old_file, new_file, section, opt, err, err_len);
    }
    if (rc) {
        nnb_cmp_report_free(out);
        return -1;
    }
    compute_geomeans(out);
    nnb_cmp_check_units(out);
    return 0;
}

void nnb_cmp_report_free(nnb_cmp_report *r) {
    if (!r)
        return;
    free(r->rows);
    memset(r, 0, sizeof *r);
}
