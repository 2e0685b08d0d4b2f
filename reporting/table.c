/*
 * The fastrnns table (benchmarks/fastrnns/bench.py: print_header, pretty_print,
 * fit_str): every cell right-aligned in 16 characters, cut to its first 16
 * when longer, cells joined by sep; floats as "%.4g".
 */
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define COLWIDTH 16

static const char *sep_or_default(const char *sep) { return sep ? sep : " "; }

/* fastrnns fit_str: pad on the left to COLWIDTH, or keep the first COLWIDTH characters. */
static void put_cell(FILE *f, const char *text, int first, const char *sep) {
    if (!first)
        fputs(sep, f);
    fprintf(f, "%*.*s", COLWIDTH, COLWIDTH, text ? text : "");
}

static void put_cells(FILE *f, const char *const *cells, int count, const char *sep) {
    for (int i = 0; i < count; i++)
        put_cell(f, cells[i], i == 0, sep);
    fputc('\n', f);
}

/* The error text on one line: newlines (which a runner should not write) become spaces. */
static void put_one_line(FILE *f, const char *text) {
    for (const char *p = text; *p; p++)
        fputc(*p == '\n' || *p == '\r' ? ' ' : *p, f);
}

void nnb_table_begin(FILE *f, const char *group, const char *sep) {
    static const char *const header[] = {"name", "avg_fwd", "std_fwd", "info_fwd", "avg_bwd", "std_bwd", "info_bwd"};
    fprintf(f, "Benchmarking %ss...\n", nnb_group_title(group));
    put_cells(f, header, 7, sep_or_default(sep));
}

void nnb_table_end(FILE *f) { fputc('\n', f); }

/* Python's f"{x:.<digits>g}": like C's, but a NaN is "nan" whatever its sign bit. */
static void format_g(char *buf, size_t len, double x, int digits) {
    if (isnan(x))
        snprintf(buf, len, "nan");
    else
        snprintf(buf, len, "%.*g", digits, x);
}

/* The measured row; info_fwd says whether the run is trustworthy. */
static void put_timing_row(FILE *f, const nnb_runner_result *r, const char *info_fwd, const char *sep) {
    char avg_fwd[32], std_fwd[32], avg_bwd[32] = "n/a", std_bwd[32] = "n/a";
    format_g(avg_fwd, sizeof avg_fwd, r->fwd.mean, 4);
    format_g(std_fwd, sizeof std_fwd, r->fwd.std, 4);
    if (r->has_backward) {
        format_g(avg_bwd, sizeof avg_bwd, r->bwd.mean, 4);
        format_g(std_bwd, sizeof std_bwd, r->bwd.std, 4);
    }
    const char *cells[] = {r->name, avg_fwd, std_fwd, info_fwd, avg_bwd, std_bwd, r->has_backward ? "None" : "n/a"};
    put_cells(f, cells, 7, sep);
}

/* name (or blank), a status label in the second column, then the message in full. */
static void put_status_line(FILE *f, const char *name, const char *label, const char *message, const char *sep) {
    put_cell(f, name, 1, sep);
    put_cell(f, label, 0, sep);
    fputs(sep, f);
    put_one_line(f, message && *message ? message : "(no message)");
    fputc('\n', f);
}

void nnb_table_row(FILE *f, const nnb_runner_result *r, const char *sep) {
    sep = sep_or_default(sep);
    switch (r->status) {
    case NNB_RUN_OK: put_timing_row(f, r, "None", sep); return;
    case NNB_RUN_FAILED: put_status_line(f, r->name, "FAILED:", r->error, sep); return;
    case NNB_RUN_SKIPPED: put_status_line(f, r->name, "SKIPPED:", r->error, sep); return;
    case NNB_RUN_CHECK_FAILED: break;
    default: put_status_line(f, r->name, "UNKNOWN STATUS:", r->error, sep); return;
    }
    char message[sizeof r->error];
    nnb_runner_error_text(r, message, sizeof message);
    if (r->fwd.count > 0) {
        put_timing_row(f, r, "CHECK FAILED", sep);
        put_status_line(f, "", "CHECK FAILED:", message, sep);
    } else {
        put_status_line(f, r->name, "CHECK FAILED:", message, sep);
    }
}
