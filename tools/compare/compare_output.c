/*
 * Printing a comparison: the same cells as an aligned terminal table or a
 * GitHub markdown table, framed by what was compared and how, the geometric
 * means, and the rows behind a --fail-above exit.
 */
#include "compare_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { COLUMNS = 9, CELL = 192 };

/* The point column shows only for sweeps; serve files have metrics, not phases, and no groups. */
static const char *const HEADINGS[COLUMNS] = {"point",  "group", "runner", "phase",  "old ms",
                                              "new ms", "ratio", "95% CI", "verdict"};
static const char *const SERVE_HEADINGS[COLUMNS] = {"point", "group", "runner", "metric", "old",
                                                    "new",   "ratio", "95% CI", "verdict"};
/* Numbers read best right-aligned. */
static const int RIGHT_ALIGNED[COLUMNS] = {0, 0, 0, 0, 1, 1, 1, 0, 0};

typedef struct cells {
    char text[COLUMNS][CELL];
} cells;

typedef struct layout {
    const char *const *headings;
    int shown[COLUMNS];
} layout;

static layout layout_of(const nnb_cmp_report *r) {
    nnb_cmp_kind kind = r->old_file->kind;
    int serve = nnb_cmp_is_serve(r->old_file);
    layout l = {serve ? SERVE_HEADINGS : HEADINGS, {0}};
    for (int c = 0; c < COLUMNS; c++)
        l.shown[c] = 1;
    l.shown[0] = kind == NNB_CMP_SWEEP_JSON;
    l.shown[1] = !serve;
    return l;
}

/* Names come from the files: control characters would garble a terminal, '|' a markdown table. */
static void put_name(char *out, size_t len, const char *name, nnb_cmp_format format) {
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p && n + 3 < len; p++) {
        if (format == NNB_CMP_MARKDOWN && *p == '|')
            out[n++] = '\\';
        out[n++] = *p < 0x20 || *p == 0x7f ? '?' : (char)*p;
    }
    out[n] = '\0';
}

/* About four significant digits, never an exponent: 0.01234, 1.234, 12.35, 1234. */
static void put_ms(char *out, size_t len, double ms) {
    if (!isfinite(ms)) {
        snprintf(out, len, "-");
        return;
    }
    double magnitude = fabs(ms); /* 0 (an underflowed figure) has no logarithm: print it with no decimals */
    int decimals = magnitude > 0 ? 3 - (int)floor(log10(magnitude)) : 0;
    decimals = decimals < 0 ? 0 : decimals > 9 ? 9 : decimals;
    snprintf(out, len, "%.*f", decimals, ms);
}

static void put_ratio(char *out, size_t len, double x) {
    if (isfinite(x))
        snprintf(out, len, "%.4f", x);
    else
        snprintf(out, len, "-");
}

static const char *phase_label(const nnb_cmp_row *row) {
    return row->metric ? row->metric : row->phase < 0 ? "-" : nnb_cmp_phase_name(row->phase);
}

static void fill_cells(const nnb_cmp_row *row, nnb_cmp_format format, cells *c) {
    put_name(c->text[0], CELL, row->point ? row->point : "-", format);
    put_name(c->text[1], CELL, row->group, format);
    put_name(c->text[2], CELL, row->runner, format);
    snprintf(c->text[3], CELL, "%s", phase_label(row));
    put_ms(c->text[4], CELL, row->old_ms);
    put_ms(c->text[5], CELL, row->new_ms);
    put_ratio(c->text[6], CELL, row->ratio);
    if (row->has_ci)
        snprintf(c->text[7], CELL, "[%.4f, %.4f]", row->lo, row->hi);
    else
        snprintf(c->text[7], CELL, "-");
    if (row->kind == NNB_CMP_COMPARED)
        snprintf(c->text[8], CELL, "%s%s", row->verdict, row->regressed ? " *" : "");
    else
        put_name(c->text[8], CELL, row->note, format); /* may quote a status from a file */
}

/* Display width of UTF-8 text: code points, not bytes. */
static int display_width(const char *s) {
    int w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        w += (*p & 0xC0) != 0x80;
    return w;
}

static const char *time_basis(const nnb_cmp_file *file, int is_old) {
    switch (file->kind) {
    case NNB_CMP_FULL_JSON: return "time = median of the samples, ms";
    case NNB_CMP_OSS_JSON:
        if (!file->seconds)
            return "time = mean, ms";
        return is_old ? "time = mean, given in s (--old-unit s), shown in ms"
                      : "time = mean, given in s (--new-unit s), shown in ms";
    case NNB_CMP_SWEEP_JSON:
        return nnb_cmp_is_serve(file) ? "serve runs; per point, latency percentiles of the measured requests of all "
                                        "its repeats, ms; throughput, mean of the repeats, samples/s"
                                      : "per point, time = median of the samples of all its repeats, ms";
    default: return "latency percentiles of the measured requests, ms; throughput, samples/s";
    }
}

static void print_sources(FILE *f, const nnb_cmp_report *r, nnb_cmp_format format) {
    const nnb_cmp_file *files[2] = {r->old_file, r->new_file};
    const char *labels[2] = {"OLD", "NEW"}, *bullet = format == NNB_CMP_MARKDOWN ? "- " : "";
    for (int i = 0; i < 2; i++) {
        char path[512];
        put_name(path, sizeof path, files[i]->path, NNB_CMP_TEXT);
        const char *quote = format == NNB_CMP_MARKDOWN && !strchr(path, '`') ? "`" : "";
        fprintf(f, "%s%s: %s%s%s (%s; %s)\n", bullet, labels[i], quote, path, quote, nnb_cmp_kind_name(files[i]->kind),
                time_basis(files[i], i == 0));
    }
    if (nnb_cmp_is_serve(r->old_file)) {
        fprintf(f, "%sratio: NEW / OLD (latency: above 1 means NEW is slower; throughput: below 1 means it is)\n",
                bullet);
        fprintf(f,
                "%s95%% CI: bootstrap %g%% CI of the ratio of latency percentiles from the per-request latencies, "
                "%d resamples; noise threshold %g%%\n",
                bullet, r->options.confidence * 100, r->options.resamples, r->options.noise_threshold * 100);
        return;
    }
    const nnb_cmp_options *o = &r->options;
    const char *pooled = r->old_file->kind == NNB_CMP_SWEEP_JSON ? " (a point's repeats pooled)" : "";
    const char *mixed = r->old_file->kind == r->new_file->kind   ? ""
                        : r->old_file->kind == NNB_CMP_FULL_JSON ? " (NEW mean / OLD median: the files differ in kind)"
                                                                 : " (NEW median / OLD mean: the files differ in kind)";
    fprintf(f, "%sratio: NEW / OLD%s\n", bullet, mixed);
    fprintf(f,
            "%s95%% CI: bootstrap %g%% CI of the ratio of medians%s, %d resamples (where both files have samples); "
            "noise threshold %g%%\n",
            bullet, o->confidence * 100, pooled, o->resamples, o->noise_threshold * 100);
}

static void print_text_line(FILE *f, const char *const text[COLUMNS], const int width[COLUMNS], const layout *l) {
    for (int c = 0; c < COLUMNS; c++) {
        if (!l->shown[c])
            continue;
        int pad = width[c] - display_width(text[c]);
        if (c == COLUMNS - 1) { /* last column: no trailing blanks */
            fprintf(f, "%s\n", text[c]);
            break;
        }
        if (RIGHT_ALIGNED[c])
            fprintf(f, "%*s%s  ", pad, "", text[c]);
        else
            fprintf(f, "%s%*s  ", text[c], pad, "");
    }
}

static void print_text_table(FILE *f, const cells *rows, int count, const layout *l) {
    int width[COLUMNS];
    for (int c = 0; c < COLUMNS; c++) {
        width[c] = display_width(l->headings[c]);
        for (int i = 0; i < count; i++) {
            int w = display_width(rows[i].text[c]);
            width[c] = w > width[c] ? w : width[c];
        }
    }
    print_text_line(f, l->headings, width, l);
    for (int i = 0; i < count; i++) {
        const char *text[COLUMNS];
        for (int c = 0; c < COLUMNS; c++)
            text[c] = rows[i].text[c];
        print_text_line(f, text, width, l);
    }
}

static void print_markdown_table(FILE *f, const cells *rows, int count, const layout *l) {
    for (int c = 0; c < COLUMNS; c++)
        if (l->shown[c])
            fprintf(f, "| %s ", l->headings[c]);
    fputs("|\n", f);
    for (int c = 0; c < COLUMNS; c++)
        if (l->shown[c])
            fprintf(f, "| %s ", RIGHT_ALIGNED[c] ? "---:" : "---");
    fputs("|\n", f);
    for (int i = 0; i < count; i++) {
        for (int c = 0; c < COLUMNS; c++)
            if (l->shown[c])
                fprintf(f, "| %s ", rows[i].text[c]);
        fputs("|\n", f);
    }
}

static void print_geomeans(FILE *f, const nnb_cmp_report *r) {
    const char *labels[NNB_CMP_PHASES + 1] = {"forward", "backward", "overall"};
    fputs("geometric mean of the ratios:", f);
    for (int k = 0; k <= NNB_CMP_PHASES; k++) {
        char value[32];
        put_ratio(value, sizeof value, r->geomean[k].value);
        fprintf(f, "%s %s %s (n=%d)", k ? "," : "", labels[k], value, r->geomean[k].count);
    }
    fputs("\n", f);
}

static void print_regressions(FILE *f, const nnb_cmp_report *r, nnb_cmp_format format) {
    double limit = r->options.fail_above;
    if (!(limit > 0))
        return;
    if (!r->regressions) {
        fprintf(f, "--fail-above %g: no %s regressed beyond %g\n", limit,
                nnb_cmp_is_serve(r->old_file) ? "metric" : "phase", limit);
        return;
    }
    const char *what = nnb_cmp_is_serve(r->old_file) ? "metric" : "phase";
    fprintf(f, "--fail-above %g: %d %s%s regressed beyond %g (marked *):\n", limit, r->regressions, what,
            r->regressions == 1 ? "" : "s", limit);
    for (int i = 0; i < r->row_count; i++) {
        const nnb_cmp_row *row = &r->rows[i];
        if (!row->regressed)
            continue;
        char point[CELL + 2] = "", group[CELL], runner[CELL];
        if (row->point) {
            put_name(point, CELL, row->point, format);
            strcat(point, ": ");
        }
        put_name(group, sizeof group, row->group, format);
        put_name(runner, sizeof runner, row->runner, format);
        const char *bullet = format == NNB_CMP_MARKDOWN ? "- " : "  ";
        if (row->higher_is_better)
            fprintf(f, "%s%s%s %s %s: ratio %.4f < 1/%g\n", bullet, point, group, runner, phase_label(row), row->ratio,
                    limit);
        else if (row->has_ci)
            fprintf(f, "%s%s%s %s %s: CI lower bound %.4f > %g\n", bullet, point, group, runner, phase_label(row),
                    row->lo, limit);
        else
            fprintf(f, "%s%s%s %s %s: ratio %.4f > %g (%s)\n", bullet, point, group, runner, phase_label(row),
                    row->ratio, limit, row->verdict);
    }
}

/* The configuration line and every warning, then the blank line before the table. */
static void print_notes(FILE *f, const nnb_cmp_report *r, nnb_cmp_format format) {
    const char *bullet = format == NNB_CMP_MARKDOWN ? "- " : "";
    char text[sizeof r->warnings[0]];
    put_name(text, sizeof text, r->config_note, format);
    fprintf(f, "%s%s\n", bullet, text);
    for (int i = 0; i < r->warning_count; i++) {
        put_name(text, sizeof text, r->warnings[i], format);
        fprintf(f, "%s%s: %s\n", bullet, format == NNB_CMP_MARKDOWN ? "**warning**" : "warning", text);
    }
    fputs("\n", f);
}

int nnb_cmp_print(FILE *f, const nnb_cmp_report *r, nnb_cmp_format format) {
    cells *rows = calloc((size_t)(r->row_count ? r->row_count : 1), sizeof *rows);
    if (!rows)
        return -1;
    for (int i = 0; i < r->row_count; i++)
        fill_cells(&r->rows[i], format, &rows[i]);
    layout l = layout_of(r);
    print_sources(f, r, format);
    print_notes(f, r, format);
    if (format == NNB_CMP_MARKDOWN)
        print_markdown_table(f, rows, r->row_count, &l);
    else
        print_text_table(f, rows, r->row_count, &l);
    free(rows);
    int serve = nnb_cmp_is_serve(r->old_file); /* latencies and a throughput: no common scale, no geomean */
    if (!serve || r->options.fail_above > 0)
        fputs("\n", f);
    if (!serve)
        print_geomeans(f, r);
    print_regressions(f, r, format);
    return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}
