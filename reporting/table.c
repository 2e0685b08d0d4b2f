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

/* The lines of a runner that is not ok; a timed check failure's timing row comes before them. */
static void put_status_rows(FILE *f, const nnb_runner_result *r, const char *sep) {
    char message[sizeof r->error];
    switch (r->status) {
    case NNB_RUN_OK: return;
    case NNB_RUN_FAILED: put_status_line(f, r->name, "FAILED:", r->error, sep); return;
    case NNB_RUN_SKIPPED: put_status_line(f, r->name, "SKIPPED:", r->error, sep); return;
    case NNB_RUN_INTERRUPTED:
        put_status_line(f, r->fwd.count > 0 ? "" : r->name, "INTERRUPTED:", r->error, sep);
        return;
    case NNB_RUN_CHECK_FAILED:
        nnb_runner_error_text(r, message, sizeof message);
        put_status_line(f, r->fwd.count > 0 ? "" : r->name, "CHECK FAILED:", message, sep);
        return;
    }
    put_status_line(f, r->name, "UNKNOWN STATUS:", r->error, sep);
}

/* Under a timed row of a run that is not fp32 (or, in the robust table, was checked): the dtype and the check's
 * worst tensor, the one closest to its tolerance ("    dtype bf16; check vs py: dx max_rel 0.0024 <= 0.031"). */
static void put_precision_line(FILE *f, const nnb_runner_result *r, const char *sep) {
    if (r->fwd.count <= 0)
        return;
    const char *dtype = nnb_precision_name(r->precision);
    put_cell(f, "", 1, sep);
    fprintf(f, "%sdtype %s", sep, dtype ? dtype : "?");
    const nnb_tensor_check *worst = NULL;
    for (int i = 0; r->checked && r->checks && i < r->check_count; i++) {
        const nnb_tensor_check *c = &r->checks[i];
        double e = c->l2 ? c->l2_rel_err : c->max_rel_err;
        double we = worst ? (worst->l2 ? worst->l2_rel_err : worst->max_rel_err) : 0;
        if (!worst || isnan(e) || (!isnan(we) && e / c->tolerance > we / worst->tolerance))
            worst = c;
    }
    if (worst) {
        double e = worst->l2 ? worst->l2_rel_err : worst->max_rel_err;
        fprintf(f, "; check vs %s: %s %s %.3g %s %.3g", r->check_reference ? r->check_reference : "?", worst->name,
                worst->l2 ? "l2_rel" : "max_rel", e, worst->pass ? "<=" : ">", worst->tolerance);
    }
    fputc('\n', f);
}

/* ---- --stats robust ---- */

void nnb_table_begin_robust(FILE *f, const char *group, const char *sep, int with_peak) {
    static const char *const header[] = {"name",       "median_fwd", "ci_fwd",   "median_bwd", "ci_bwd",
                                         "gflops_fwd", "gflops_bwd", "peak_fwd", "peak_bwd"};
    fprintf(f, "Benchmarking %ss... (medians and 95%% intervals of the median, ms)\n", nnb_group_title(group));
    put_cells(f, header, with_peak ? 9 : 7, sep_or_default(sep));
}

/* "lo-hi" of the median's interval, or "n/a" when the samples are too few to bound it. */
static void format_interval(char *buf, size_t len, const nnb_phase_stats *s) {
    if (isfinite(s->median_lo) && isfinite(s->median_hi))
        snprintf(buf, len, "%.4g-%.4g", s->median_lo, s->median_hi);
    else
        snprintf(buf, len, "n/a");
}

/* GFLOP/s at the median time, and its share of the peak in percent; "n/a" when unknown. */
static void format_rate(char *rate, char *share, size_t len, double flops, const nnb_phase_stats *s, double peak) {
    snprintf(rate, len, "n/a");
    snprintf(share, len, "n/a");
    if (!(flops > 0) || !(s->median > 0) || s->count <= 0)
        return;
    double g = flops / (s->median * 1e6);
    snprintf(rate, len, "%.4g", g);
    if (peak > 0)
        snprintf(share, len, "%.3g%%", 100 * g / peak);
}

static void put_robust_row(FILE *f, const nnb_runner_result *r, const char *sep, double peak) {
    char med_f[32], ci_f[48], med_b[32] = "n/a", ci_b[48] = "n/a", g_f[32], g_b[32] = "n/a", p_f[32], p_b[32] = "n/a";
    format_g(med_f, sizeof med_f, r->fwd.median, 4);
    format_interval(ci_f, sizeof ci_f, &r->fwd);
    format_rate(g_f, p_f, sizeof g_f, r->fwd_flops, &r->fwd, peak);
    if (r->has_backward) {
        format_g(med_b, sizeof med_b, r->bwd.median, 4);
        format_interval(ci_b, sizeof ci_b, &r->bwd);
        format_rate(g_b, p_b, sizeof g_b, r->bwd_flops, &r->bwd, peak);
    }
    const char *cells[] = {r->name, med_f, ci_f, med_b, ci_b, g_f, g_b, p_f, p_b};
    put_cells(f, cells, peak > 0 ? 9 : 7, sep);
}

static void put_part_rows(FILE *f, const nnb_runner_result *r, const char *sep, int robust);

void nnb_table_row_robust(FILE *f, const nnb_runner_result *r, const char *sep, double peak) {
    sep = sep_or_default(sep);
    int noted = r->precision != NNB_PRECISION_FP32 || r->checked;
    if (r->status == NNB_RUN_OK) {
        put_robust_row(f, r, sep, peak);
        if (noted)
            put_precision_line(f, r, sep);
        put_part_rows(f, r, sep, 1);
        return;
    }
    if ((r->status == NNB_RUN_CHECK_FAILED || r->status == NNB_RUN_INTERRUPTED) && r->fwd.count > 0) {
        put_robust_row(f, r, sep, peak);
        if (noted)
            put_precision_line(f, r, sep);
    }
    put_status_rows(f, r, sep);
}

/* ABI 1.3 backward parts, a row each under the runner's: "- bwd_data" with the part's time in the backward
 * columns and "part" as its info. */
static void put_part_rows(FILE *f, const nnb_runner_result *r, const char *sep, int robust) {
    for (int p = 0; p < r->part_count && r->parts[p].count > 0; p++) {
        char name[48], a[32], b[48];
        snprintf(name, sizeof name, "- %s", r->part_names[p]);
        format_g(a, sizeof a, robust ? r->parts[p].median : r->parts[p].mean, 4);
        if (robust)
            format_interval(b, sizeof b, &r->parts[p]);
        else
            format_g(b, sizeof b, r->parts[p].std, 4);
        const char *timing[] = {name, "", "", "", a, b, "part"};
        const char *robust_cells[] = {name, "", "", a, b, "", ""};
        put_cells(f, robust ? robust_cells : timing, 7, sep);
    }
}

void nnb_table_row(FILE *f, const nnb_runner_result *r, const char *sep) {
    sep = sep_or_default(sep);
    if (r->status == NNB_RUN_OK) {
        put_timing_row(f, r, "None", sep);
        if (r->precision != NNB_PRECISION_FP32) /* fp32 rows stay fastrnns' */
            put_precision_line(f, r, sep);
        put_part_rows(f, r, sep, 0);
        return;
    }
    if (r->status == NNB_RUN_CHECK_FAILED && r->fwd.count > 0)
        put_timing_row(f, r, "CHECK FAILED", sep);
    if (r->status == NNB_RUN_INTERRUPTED && r->fwd.count > 0)
        put_timing_row(f, r, "INTERRUPTED", sep);
    put_status_rows(f, r, sep);
}
