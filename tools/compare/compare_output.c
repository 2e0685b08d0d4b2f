/*
 * Printing a comparison: the same cells as an aligned terminal table or a
 * GitHub markdown table, framed by what was compared and how, the geometric
 * means, and the rows behind a --fail-above exit.
 */
#include "compare.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { COLUMNS = 8, CELL = 192 };

static const char *const HEADINGS[COLUMNS] = {"group",  "runner", "phase",  "old ms",
                                              "new ms", "ratio",  "95% CI", "verdict"};
/* Numbers read best right-aligned. */
static const int RIGHT_ALIGNED[COLUMNS] = {0, 0, 0, 1, 1, 1, 0, 0};

typedef struct cells {
    char text[COLUMNS][CELL];
} cells;

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
    int decimals = 3 - (int)floor(log10(ms));
    decimals = decimals < 0 ? 0 : decimals > 9 ? 9 : decimals;
    snprintf(out, len, "%.*f", decimals, ms);
}

static void put_ratio(char *out, size_t len, double x) {
    if (isfinite(x))
        snprintf(out, len, "%.4f", x);
    else
        snprintf(out, len, "-");
}

static void fill_cells(const nnb_cmp_row *row, nnb_cmp_format format, cells *c) {
    put_name(c->text[0], CELL, row->group, format);
    put_name(c->text[1], CELL, row->runner, format);
    snprintf(c->text[2], CELL, "%s", row->phase < 0 ? "-" : nnb_cmp_phase_name(row->phase));
    put_ms(c->text[3], CELL, row->old_ms);
    put_ms(c->text[4], CELL, row->new_ms);
    put_ratio(c->text[5], CELL, row->ratio);
    if (row->has_ci)
        snprintf(c->text[6], CELL, "[%.4f, %.4f]", row->lo, row->hi);
    else
        snprintf(c->text[6], CELL, "-");
    if (row->kind == NNB_CMP_COMPARED)
        snprintf(c->text[7], CELL, "%s%s", row->verdict, row->regressed ? " *" : "");
    else
        put_name(c->text[7], CELL, row->note, format); /* may quote a status from a file */
}

/* Display width of UTF-8 text: code points, not bytes. */
static int display_width(const char *s) {
    int w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        w += (*p & 0xC0) != 0x80;
    return w;
}

static const char *time_basis(nnb_cmp_kind kind) {
    return kind == NNB_CMP_FULL_JSON ? "median of the samples" : "mean";
}

static void print_sources(FILE *f, const nnb_cmp_report *r, nnb_cmp_format format) {
    const nnb_cmp_file *files[2] = {r->old_file, r->new_file};
    const char *labels[2] = {"OLD", "NEW"}, *bullet = format == NNB_CMP_MARKDOWN ? "- " : "";
    for (int i = 0; i < 2; i++) {
        char path[512];
        put_name(path, sizeof path, files[i]->path, NNB_CMP_TEXT);
        const char *quote = format == NNB_CMP_MARKDOWN && !strchr(path, '`') ? "`" : "";
        fprintf(f, "%s%s: %s%s%s (%s; time = %s, ms)\n", bullet, labels[i], quote, path, quote,
                nnb_cmp_kind_name(files[i]->kind), time_basis(files[i]->kind));
    }
    const nnb_cmp_options *o = &r->options;
    const char *mixed = r->old_file->kind == r->new_file->kind   ? ""
                        : r->old_file->kind == NNB_CMP_FULL_JSON ? " (NEW mean / OLD median: the files differ in kind)"
                                                                 : " (NEW median / OLD mean: the files differ in kind)";
    fprintf(f, "%sratio: NEW / OLD%s\n", bullet, mixed);
    fprintf(f,
            "%s95%% CI: bootstrap %g%% CI of the ratio of medians, %d resamples (where both files have samples); "
            "noise threshold %g%%\n\n",
            bullet, o->confidence * 100, o->resamples, o->noise_threshold * 100);
}

static void print_text_line(FILE *f, const char *const text[COLUMNS], const int width[COLUMNS]) {
    for (int c = 0; c < COLUMNS; c++) {
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

static void print_text_table(FILE *f, const cells *rows, int count) {
    int width[COLUMNS];
    for (int c = 0; c < COLUMNS; c++) {
        width[c] = display_width(HEADINGS[c]);
        for (int i = 0; i < count; i++) {
            int w = display_width(rows[i].text[c]);
            width[c] = w > width[c] ? w : width[c];
        }
    }
    print_text_line(f, HEADINGS, width);
    for (int i = 0; i < count; i++) {
        const char *text[COLUMNS];
        for (int c = 0; c < COLUMNS; c++)
            text[c] = rows[i].text[c];
        print_text_line(f, text, width);
    }
}

static void print_markdown_table(FILE *f, const cells *rows, int count) {
    for (int c = 0; c < COLUMNS; c++)
        fprintf(f, "| %s ", HEADINGS[c]);
    fputs("|\n", f);
    for (int c = 0; c < COLUMNS; c++)
        fprintf(f, "| %s ", RIGHT_ALIGNED[c] ? "---:" : "---");
    fputs("|\n", f);
    for (int i = 0; i < count; i++) {
        for (int c = 0; c < COLUMNS; c++)
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
        fprintf(f, "--fail-above %g: no phase regressed beyond %g\n", limit, limit);
        return;
    }
    fprintf(f, "--fail-above %g: %d phase%s regressed beyond %g (marked *):\n", limit, r->regressions,
            r->regressions == 1 ? "" : "s", limit);
    for (int i = 0; i < r->row_count; i++) {
        const nnb_cmp_row *row = &r->rows[i];
        if (!row->regressed)
            continue;
        char group[CELL], runner[CELL];
        put_name(group, sizeof group, row->group, format);
        put_name(runner, sizeof runner, row->runner, format);
        if (row->has_ci)
            fprintf(f, "%s%s %s %s: CI lower bound %.4f > %g\n", format == NNB_CMP_MARKDOWN ? "- " : "  ", group,
                    runner, nnb_cmp_phase_name(row->phase), row->lo, limit);
        else
            fprintf(f, "%s%s %s %s: ratio %.4f > %g (no samples)\n", format == NNB_CMP_MARKDOWN ? "- " : "  ", group,
                    runner, nnb_cmp_phase_name(row->phase), row->ratio, limit);
    }
}

int nnb_cmp_print(FILE *f, const nnb_cmp_report *r, nnb_cmp_format format) {
    cells *rows = calloc((size_t)(r->row_count ? r->row_count : 1), sizeof *rows);
    if (!rows)
        return -1;
    for (int i = 0; i < r->row_count; i++)
        fill_cells(&r->rows[i], format, &rows[i]);
    print_sources(f, r, format);
    if (format == NNB_CMP_MARKDOWN)
        print_markdown_table(f, rows, r->row_count);
    else
        print_text_table(f, rows, r->row_count);
    free(rows);
    fputs("\n", f);
    print_geomeans(f, r);
    print_regressions(f, r, format);
    return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}
