/* `nnbench history changes` command line: flags as "--flag value" or "--flag=value", either spelling. */
#include "changes.h"

#include "cmdline.h"
#include "history.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void changes_usage(FILE *f) {
    fprintf(f, "usage: nnbench history changes [flags]\n"
               "\n"
               "Change points of every series in the store: where a runner's times moved for good,\n"
               "found by E-Divisive means with Welch's t-test on the runs' medians (as Apache Otava\n"
               "does), with the size of each change, its 95%% interval and its p-value.\n"
               "\n"
               "flags:\n");
    const int w = 22;
    nnb_cmd_print_flag(f, w, "--store", "FILE", "the store: a SQLite file (default " NNB_HISTORY_DEFAULT_STORE ")");
    nnb_cmd_print_flag(f, w, "", "", "or a postgresql:// URL");
    nnb_cmd_print_flag(f, w, "--series", "NAME", "only series whose runner, phase, config, machine or key");
    nnb_cmd_print_flag(f, w, "", "", "contains NAME (case-insensitive)");
    nnb_cmd_print_flag(f, w, "--since", "DATE", "only runs on or after DATE (YYYY-MM-DD or ISO-8601 time)");
    nnb_cmd_print_flag(f, w, "--json", "", "JSON on stdout instead of a table");
    nnb_cmd_print_flag(f, w, "--fail-above", "R", "exit 4 when the latest change of a series is a slowdown");
    nnb_cmd_print_flag(f, w, "", "", "whose 95% interval lies wholly above the ratio R (> 1,");
    nnb_cmd_print_flag(f, w, "", "", "e.g. 1.05; higher-is-better series: below 1/R)");
    nnb_cmd_print_flag(f, w, "--window", "N", "runs per E-Divisive window (default 50)");
    nnb_cmd_print_flag(f, w, "--max-p", "P", "largest p-value of a change (default 0.001)");
    nnb_cmd_print_flag(f, w, "--min-size", "N", "fewest runs on either side of a change (default 5)");
    nnb_cmd_print_flag(f, w, "-h, --help", "", "this help");
    fprintf(f, "\n"
               "\"confirmed\": the pooled samples of up to 3 runs either side agree (one-sided\n"
               "Mann-Whitney rank-sum test in the change's direction, p < 0.025).\n"
               "Exit status: 0 done; 4 --fail-above triggered; 2 bad command line or store.\n"
               "See docs/history-changes.md.\n");
}

static int bad(char *err, size_t err_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(char *err, size_t err_len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
    return -1;
}

static int parse_double(const char *text, double *x) {
    char *end;
    *x = strtod(text, &end);
    return end != text && *end == '\0' && isfinite(*x) ? 0 : -1;
}

static int parse_int(const char *text, int *x) {
    char *end;
    long v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || v < -1000000000L || v > 1000000000L)
        return -1;
    *x = (int)v;
    return 0;
}

/* n digits at *p, advancing it; -1 when they are not there. */
static int digits(const char **p, int n) {
    int v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (!isdigit((unsigned char)**p))
            return -1;
        v = v * 10 + (**p - '0');
    }
    return v;
}

int changes_is_iso_date(const char *text) {
    static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const char *p = text;
    int year = digits(&p, 4), month = *p == '-' ? (p++, digits(&p, 2)) : -1;
    int day = *p == '-' ? (p++, digits(&p, 2)) : -1;
    int leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    if (year < 0 || month < 1 || month > 12 || day < 1 || day > days[month - 1] || (month == 2 && day == 29 && !leap))
        return 0;
    if (*p == '\0')
        return 1;
    if (*p != 'T' && *p != ' ')
        return 0;
    p++;
    int hour = digits(&p, 2), minute = *p == ':' ? (p++, digits(&p, 2)) : -1, second = 0;
    if (*p == ':')
        p++, second = digits(&p, 2);
    if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60)
        return 0;
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p); p++)
            ;
    if (*p == 'Z') /* the store's dates are UTC, compared as text: no other offsets */
        p++;
    return *p == '\0';
}

static int set_option(changes_cli *cli, const char *flag, const char *value, char *err, size_t err_len) {
    double x;
    int n;
    if (!strcmp(flag, "--store")) {
        if (!*value)
            return bad(err, err_len, "--store: empty (a SQLite file or a postgresql:// URL)");
        cli->store = value;
    } else if (!strcmp(flag, "--series")) {
        cli->series = value;
    } else if (!strcmp(flag, "--since")) {
        if (!changes_is_iso_date(value))
            return bad(err, err_len, "--since: '%s' is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)", value);
        cli->since = value;
    } else if (!strcmp(flag, "--fail-above")) {
        if (parse_double(value, &x))
            return bad(err, err_len, "--fail-above: '%s' is not a number (a ratio such as 1.05)", value);
        if (!(x > 1))
            return bad(err, err_len, "--fail-above: '%s' is out of range (a ratio > 1, e.g. 1.05)", value);
        cli->fail_above = x;
    } else if (!strcmp(flag, "--max-p")) {
        if (parse_double(value, &x))
            return bad(err, err_len, "--max-p: '%s' is not a number (a p-value such as 0.001)", value);
        if (!(x > 0 && x < 1))
            return bad(err, err_len, "--max-p: '%s' is out of range (0 < P < 1, e.g. 0.001)", value);
        cli->cp.max_p = x;
    } else { /* --window, --min-size */
        int is_window = !strcmp(flag, "--window"), least = is_window ? 4 : 2;
        if (parse_int(value, &n))
            return bad(err, err_len, "%s: '%s' is not a whole number of runs", flag, value);
        if (n < least)
            return bad(err, err_len, "%s: %d is too small (at least %d)", flag, n, least);
        *(is_window ? &cli->cp.window : &cli->cp.min_size) = n;
    }
    return 0;
}

static const char *const VALUE_FLAGS[] = {"--store",  "--series", "--since",   "--fail-above",
                                          "--window", "--max-p",  "--min-size"};
static const char *const ALL_FLAGS[] = {"--store", "--series",   "--since", "--fail-above", "--window",
                                        "--max-p", "--min-size", "--json",  "--help"};
#define COUNT(a) (sizeof a / sizeof *a)

static int takes_value(const char *flag) {
    for (size_t i = 0; i < COUNT(VALUE_FLAGS); i++)
        if (!strcmp(flag, VALUE_FLAGS[i]))
            return 1;
    return 0;
}

int changes_parse_args(int argc, char **argv, changes_cli *cli, char *err, size_t err_len) {
    memset(cli, 0, sizeof *cli);
    cli->store = NNB_HISTORY_DEFAULT_STORE;
    cli->cp = nnb_cp_default_options();
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (arg[0] != '-')
            return bad(err, err_len, "unexpected argument '%s' (history changes takes flags only; see --help)", arg);
        char flag[64];
        const char *eq = strchr(arg, '='), *value = eq ? eq + 1 : NULL;
        nnb_cmd_flag_spelling(arg, flag, sizeof flag);
        if (nnb_cmd_is_help(flag) || !strcmp(flag, "--json")) {
            if (value)
                return bad(err, err_len, "%s takes no value", flag);
            *(nnb_cmd_is_help(flag) ? &cli->help : &cli->json) = 1;
            if (cli->help)
                return 0;
            continue;
        }
        if (!takes_value(flag)) {
            bad(err, err_len, "unknown flag '%s' (see nnbench history changes --help)", arg);
            nnb_cmd_append_suggestion(err, err_len, flag, ALL_FLAGS, COUNT(ALL_FLAGS));
            return -1;
        }
        if (!value && i + 1 >= argc)
            return bad(err, err_len, "%s needs a value (see --help)", flag);
        if (set_option(cli, flag, value ? value : argv[++i], err, err_len))
            return -1;
    }
    if (cli->cp.window < 2 * cli->cp.min_size)
        return bad(err, err_len, "--window %d is shorter than twice --min-size %d (make it at least %d)",
                   cli->cp.window, cli->cp.min_size, 2 * cli->cp.min_size);
    return 0;
}
