/*
 * fastrnns' two machine-readable outputs (bench.py print_json_oss_format and
 * print_json_pep_format), byte for byte as json.dumps writes them: ", " and
 * ": " separators, keys in run order, floats as Python's repr.
 *
 * One difference: a NaN or infinite mean is written as null (json.dumps would
 * write NaN/Infinity, which is not JSON).
 */
#include "report.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Python float repr ------------------------------------------------------ */

/* Shortest "%.*e" text (1..17 significant digits) that reads back as x. */
static void shortest_scientific(double x, char *sci, size_t len) {
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(sci, len, "%.*e", digits - 1, x);
        if (strtod(sci, NULL) == x)
            return;
    }
}

int nnb_format_double_repr(char *buf, size_t len, double x) {
    if (isnan(x))
        return snprintf(buf, len, "nan");
    if (isinf(x))
        return snprintf(buf, len, x < 0 ? "-inf" : "inf");
    if (x == 0)
        return snprintf(buf, len, signbit(x) ? "-0.0" : "0.0");

    char sci[40]; // "-d.dddddddddddddddde-308"
    shortest_scientific(x, sci, sizeof sci);

    // Split "[-]d.ddde[+-]XX" into significant digits and the decimal exponent.
    char digits[24];
    int n = 0;
    const char *p = sci + (sci[0] == '-');
    for (; *p && *p != 'e'; p++)
        if (isdigit((unsigned char)*p) && n < (int)sizeof digits - 1)
            digits[n++] = *p;
    int exp10 = atoi(p + 1);
    while (n > 1 && digits[n - 1] == '0')
        n--;
    digits[n] = '\0';

    char out[64];
    int o = 0;
    if (x < 0)
        out[o++] = '-';
    if (exp10 >= -4 && exp10 < 16) { // Python repr: fixed notation, always with a decimal point
        if (exp10 >= 0) {
            for (int i = 0; i <= exp10; i++)
                out[o++] = i < n ? digits[i] : '0';
            out[o++] = '.';
            if (n > exp10 + 1)
                for (int i = exp10 + 1; i < n; i++)
                    out[o++] = digits[i];
            else
                out[o++] = '0';
        } else {
            out[o++] = '0';
            out[o++] = '.';
            for (int i = 0; i < -exp10 - 1; i++)
                out[o++] = '0';
            for (int i = 0; i < n; i++)
                out[o++] = digits[i];
        }
        out[o] = '\0';
    } else { // exponent notation: "1e-07", "1.5e+16"
        out[o++] = digits[0];
        if (n > 1) {
            out[o++] = '.';
            for (int i = 1; i < n; i++)
                out[o++] = digits[i];
        }
        snprintf(out + o, sizeof out - (size_t)o, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
    }
    return snprintf(buf, len, "%s", out);
}

/* ---- json.dumps pieces --------------------------------------------------------- */

/* A JSON string literal (json.dumps escapes; non-ASCII bytes pass through as UTF-8). */
static void put_json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        case '\b': fputs("\\b", f); break;
        case '\f': fputs("\\f", f); break;
        default:
            if (*p < 0x20)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
}

static void put_json_float(FILE *f, double x) {
    char text[64];
    if (!isfinite(x)) {
        fputs("null", f);
        return;
    }
    nnb_format_double_repr(text, sizeof text, x);
    fputs(text, f);
}

/* A runner appears in fastrnns' outputs only when it ran fine (and, for the
 * -backward key, has a backward). */
static int reported(const nnb_runner_result *r, int backward) {
    return r->status == NNB_RUN_OK && (!backward || r->has_backward);
}

/* "lstm" or "lstm-backward". */
static void phase_key(const nnb_group_result *g, int backward, char *buf, size_t len) {
    snprintf(buf, len, "%s%s", nnb_group_json_key(g->group), backward ? "-backward" : "");
}

/* ---- OSS: {"lstm": {"py": 12.5}, "lstm-backward": {...}} ------------------------- */

int nnb_report_oss(FILE *f, const nnb_run_results *res) {
    fputc('{', f);
    for (int gi = 0; gi < res->group_count; gi++) {
        const nnb_group_result *g = &res->groups[gi];
        for (int backward = 0; backward <= 1; backward++) {
            char key[64];
            phase_key(g, backward, key, sizeof key);
            if (gi > 0 || backward)
                fputs(", ", f);
            put_json_string(f, key);
            fputs(": {", f);
            int first = 1;
            for (int i = 0; i < g->count; i++) {
                const nnb_runner_result *r = &g->runners[i];
                if (!reported(r, backward))
                    continue;
                if (!first)
                    fputs(", ", f);
                first = 0;
                put_json_string(f, r->name);
                fputs(": ", f);
                put_json_float(f, backward ? r->bwd.mean : r->fwd.mean);
            }
            fputc('}', f);
        }
    }
    fputs("}\n", f);
    return ferror(f) ? -1 : 0;
}

/* ---- AI-PEP: Caffe2Observer {"type": "NET", "metric": ..., "unit": "ms", "value": "..."} -- */

int nnb_report_pep(FILE *f, const nnb_run_results *res) {
    for (int gi = 0; gi < res->group_count; gi++) {
        const nnb_group_result *g = &res->groups[gi];
        for (int backward = 0; backward <= 1; backward++) {
            char key[64];
            phase_key(g, backward, key, sizeof key);
            for (int i = 0; i < g->count; i++) {
                const nnb_runner_result *r = &g->runners[i];
                if (!reported(r, backward))
                    continue;
                const nnb_phase_stats *s = backward ? &r->bwd : &r->fwd;
                char metric[256];
                snprintf(metric, sizeof metric, "%s-%s", key, r->name);
                for (int k = 0; k < s->count; k++) {
                    char value[64];
                    nnb_format_double_repr(value, sizeof value, s->samples_ms[k]);
                    fputs("Caffe2Observer {\"type\": \"NET\", \"metric\": ", f);
                    put_json_string(f, metric);
                    fputs(", \"unit\": \"ms\", \"value\": ", f);
                    put_json_string(f, value);
                    fputs("}\n", f);
                }
            }
        }
    }
    return ferror(f) ? -1 : 0;
}
