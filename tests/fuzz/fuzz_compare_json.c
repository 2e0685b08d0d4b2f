/*
 * Fuzz target: nnbench-compare's readers, comparison and output
 * (tools/compare, library nnb_compare_core).
 *
 * The input is a result file's text. Without a form feed byte (never valid in
 * JSON) it is parsed as OLD and as NEW; with one, the text before the first
 * form feed is OLD and the rest NEW, so two different files meet. When both
 * parse, they are compared (which must not fail: compare.h) and the report is
 * printed as text and as markdown into memory, where text from the files must
 * neither carry control characters nor break the markdown table. A failed
 * parse must leave a one-line message and an empty file. Anything else calls
 * abort(): a finding.
 *
 * Built with libFuzzer by tests/fuzz/CMakeLists.txt, and without it (entry
 * point renamed) by tests/fuzz.cmake for fuzz_regressions_should_not_crash.
 */
#define _POSIX_C_SOURCE 200809L
#include "compare.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Fewer resamples than nnbench-compare's 2000: the same code, more inputs per second. */
#define FUZZ_RESAMPLES 100

static void finding(const char *what, const char *detail) {
    fprintf(stderr, "fuzz_compare_json: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

/* 0 when text parses; on failure the contract of compare.h is checked. */
static int parse(const char *text, size_t len, const char *name, nnb_cmp_file *f) {
    char err[1024] = "";
    if (nnb_cmp_parse(text, len, name, f, err, sizeof err) == 0) {
        for (int i = 0; i < f->runner_count; i++) {
            const nnb_cmp_runner *r = &f->runners[i];
            if (!r->group || !r->name || !r->status)
                finding("parsed runner without a group, name or status", name);
            for (int ph = 0; ph < NNB_CMP_PHASES; ph++) {
                const nnb_cmp_phase *p = &r->phase[ph];
                if (!isnan(p->time_ms) && !(isfinite(p->time_ms) && p->time_ms >= 0))
                    finding("parsed a time that is neither NaN nor finite and not negative", r->name);
                if (p->sample_count < 0 || (p->sample_count && !p->samples))
                    finding("bad sample count", r->name);
                for (int s = 0; s < p->sample_count; s++)
                    if (!(isfinite(p->samples[s]) && p->samples[s] > 0))
                        finding("kept a sample that is not finite and positive", r->name);
            }
        }
        return 0;
    }
    if (!err[0] || strchr(err, '\n'))
        finding("parse failed without a one-line message", err);
    if (f->runners || f->runner_count || f->path)
        finding("parse failed but left a non-empty file", name);
    return -1;
}

/* compare_output.c: text from the files must not garble a terminal (control
 * characters) or a markdown table (a '|' that is not escaped). */
static void check_output(const char *out, size_t len, nnb_cmp_format format) {
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)out[i] < 0x20 && out[i] != '\n') || out[i] == 0x7f)
            finding("control character in the printed report", format == NNB_CMP_MARKDOWN ? "markdown" : "text");
    if (format != NNB_CMP_MARKDOWN)
        return;
    int header_bars = 0; /* every row has the header's cells (8; 9 with a sweep's point; 7 for serve files) */
    for (const char *line = out; line < out + len;) {
        const char *end = memchr(line, '\n', (size_t)(out + len - line));
        if (!end)
            end = out + len;
        if (end - line >= 2 && line[0] == '|' && line[1] == ' ') {
            int bars = 0;
            for (const char *c = line; c < end; c++)
                bars += *c == '|' && (c == line || c[-1] != '\\');
            if (!header_bars)
                header_bars = bars;
            if (bars != header_bars || bars < 8 || bars > 10)
                finding("markdown table row with another number of cells than the header", NULL);
        }
        line = end + 1;
    }
}

static void print(const nnb_cmp_report *r, nnb_cmp_format format) {
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m)
        return;
    if (nnb_cmp_print(m, r, format))
        finding("nnb_cmp_print failed on a memory stream", NULL);
    fclose(m);
    check_output(buf, len, format);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    const char *ff = memchr(text, '\f', size);
    size_t old_len = ff ? (size_t)(ff - text) : size;
    const char *new_text = ff ? ff + 1 : text;
    size_t new_len = ff ? size - old_len - 1 : size;

    nnb_cmp_file old_file, new_file;
    int old_rc = parse(text, old_len, "old.json", &old_file);
    int new_rc = parse(new_text, new_len, "new|`dir`/new.json", &new_file);
    if (old_rc == 0 && new_rc == 0) {
        nnb_cmp_options opt = nnb_cmp_default_options();
        opt.resamples = FUZZ_RESAMPLES;
        opt.fail_above = 1.02;
        nnb_cmp_report report;
        char err[1024] = "";
        if (nnb_cmp_compare(&old_file, &new_file, &opt, &report, err, sizeof err)) {
            /* Only kinds that do not compare (a sweep or serve file with another kind) may fail. */
            if (!strstr(err, "is compared only with another") || strchr(err, '\n'))
                finding("nnb_cmp_compare failed on two files that parsed", err);
        } else {
            print(&report, NNB_CMP_TEXT);
            print(&report, NNB_CMP_MARKDOWN);
        }
        nnb_cmp_report_free(&report);
    }
    nnb_cmp_file_free(&old_file);
    nnb_cmp_file_free(&new_file);
    return 0;
}
