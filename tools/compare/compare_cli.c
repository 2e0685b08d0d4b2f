/* nnbench-compare's command line: flags as "--flag value" or "--flag=value", then OLD and NEW. */
#include "compare.h"

#include "cmdline.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void nnb_cmp_usage(FILE *f) {
    fputs("usage: nnbench-compare [options] OLD NEW\n"
          "\n"
          "Compares two nnbench result files per group, runner and phase: the ratio\n"
          "NEW / OLD of their times and, where both files carry samples, a verdict.\n"
          "Each file is nnbench full JSON (nnbench --json-out FILE) or fastrnns OSS\n"
          "JSON (nnbench --print-json, fastrnns.bench --print-json), detected per file;\n"
          "the two may differ. Two sweep files (nnbench sweep: sweep.json) compare per\n"
          "point, matched by settings; two serve files (nnbench serve --json-out) by\n"
          "p50 and p99 latency and throughput.\n"
          "\n"
          "Options:\n"
          "  --format text|markdown  an aligned terminal table (default) or a GitHub table\n"
          "  --noise-threshold P     percent, \"1\" or \"1%\" (default 1): a ratio whose 95% CI\n"
          "                          lies inside [1 - P/100, 1 + P/100] is \"same\"\n"
          "  --fail-above R          exit 4 when a phase regressed beyond the ratio R\n"
          "                          (> 0, e.g. 1.05): the lower bound of its CI is above R,\n"
          "                          or, without samples, its ratio is (serve throughput:\n"
          "                          its ratio is below 1/R)\n"
          "  --old-unit s|ms         unit of OLD's times when it is fastrnns OSS JSON\n"
          "                          (default ms; fastrnns.bench --device cpu writes s)\n"
          "  --new-unit s|ms         the same for NEW. nnbench's own files are always ms:\n"
          "                          s is refused for them\n"
          "  -h, --help              this help\n"
          "\n"
          "Times (ms): the median of the samples (full JSON) or the mean (OSS JSON).\n"
          "95% CI: bootstrap 95% CI of the ratio of medians, 2000 resamples, fixed\n"
          "seed (the same files give the same output). Verdicts: faster, slower, same,\n"
          "undecided; \"no samples\" when either file has fewer than 2 samples.\n"
          "\n"
          "Exit status: 0 compared; 4 --fail-above triggered; 2 bad command line or\n"
          "unreadable or malformed input (nothing is printed on stdout).\n"
          "See docs/compare.md.\n",
          f);
}

static int bad(char *err, size_t err_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(char *err, size_t err_len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
    return -1;
}

/* A finite number, all of text (after an optional '%' when percent_ok). */
static int parse_number(const char *text, int percent_ok, double *x) {
    char *end;
    *x = strtod(text, &end);
    if (end == text)
        return -1;
    if (percent_ok && *end == '%')
        end++;
    return *end == '\0' && isfinite(*x) ? 0 : -1;
}

static int set_option(nnb_cmp_cli *cli, const char *flag, const char *value, char *err, size_t err_len) {
    double x;
    if (strcmp(flag, "--format") == 0) {
        if (strcmp(value, "text") == 0)
            cli->format = NNB_CMP_TEXT;
        else if (strcmp(value, "markdown") == 0)
            cli->format = NNB_CMP_MARKDOWN;
        else
            return bad(err, err_len, "--format: unknown format '%s' (valid: text, markdown)", value);
    } else if (strcmp(flag, "--noise-threshold") == 0) {
        if (parse_number(value, 1, &x))
            return bad(err, err_len, "--noise-threshold: '%s' is not a number (a percentage such as 1 or 1%%)", value);
        if (!(x >= 0 && x < 100))
            return bad(err, err_len, "--noise-threshold: '%s' is out of range (a percentage, 0 <= P < 100)", value);
        cli->options.noise_threshold = x / 100.0;
    } else if (strcmp(flag, "--old-unit") == 0 || strcmp(flag, "--new-unit") == 0) {
        int old_side = strcmp(flag, "--old-unit") == 0;
        if (nnb_cmp_parse_unit(value, old_side ? &cli->old_unit : &cli->new_unit))
            return bad(err, err_len, "%s: unknown unit '%s' (valid: s, ms)", flag, value);
        *(old_side ? &cli->old_unit_given : &cli->new_unit_given) = 1;
    } else { /* --fail-above */
        if (parse_number(value, 0, &x))
            return bad(err, err_len, "--fail-above: '%s' is not a number (a ratio NEW/OLD such as 1.05)", value);
        if (!(x > 0))
            return bad(err, err_len, "--fail-above: '%s' is out of range (a ratio NEW/OLD > 0, e.g. 1.05)", value);
        cli->options.fail_above = x;
    }
    return 0;
}

static const char *const VALUE_FLAGS[] = {"--format",   "--noise-threshold", "--fail-above",
                                          "--old-unit", "--new-unit",        NULL};

static int takes_value(const char *flag) {
    for (int i = 0; VALUE_FLAGS[i]; i++)
        if (strcmp(flag, VALUE_FLAGS[i]) == 0)
            return 1;
    return 0;
}

int nnb_cmp_parse_args(int argc, char **argv, nnb_cmp_cli *cli, char *err, size_t err_len) {
    memset(cli, 0, sizeof *cli);
    cli->format = NNB_CMP_TEXT;
    cli->options = nnb_cmp_default_options();
    const char *paths[2] = {NULL, NULL};
    int path_count = 0, options_done = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (options_done || arg[0] != '-' || arg[1] == '\0') { /* "-" is a file name */
            if (path_count < 2)
                paths[path_count] = arg;
            path_count++;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            options_done = 1;
            continue;
        }
        char flag[64];
        const char *eq = strchr(arg, '='), *value = eq ? eq + 1 : NULL;
        nnb_cmd_flag_spelling(arg, flag, sizeof flag); /* --fail_above is --fail-above */
        if (strcmp(flag, "--help") == 0 || strcmp(flag, "-h") == 0) {
            if (value)
                return bad(err, err_len, "%s takes no value", flag);
            cli->help = 1;
            return 0;
        }
        if (!takes_value(flag)) {
            static const char *const known[] = {"--format", "--noise-threshold", "--fail-above", "--help"};
            bad(err, err_len, "unknown flag '%s' (see --help)", arg);
            nnb_cmd_append_suggestion(err, err_len, arg, known, sizeof known / sizeof *known);
            return -1;
        }
        if (!value && i + 1 >= argc)
            return bad(err, err_len, "%s needs a value (see --help)", flag);
        if (set_option(cli, flag, value ? value : argv[++i], err, err_len))
            return -1;
    }
    if (path_count != 2) {
        return bad(err, err_len, "expected two result files, OLD and NEW; got %d argument%s (see --help)", path_count,
                   path_count == 1 ? "" : "s");
    }
    cli->old_path = paths[0];
    cli->new_path = paths[1];
    return 0;
}
