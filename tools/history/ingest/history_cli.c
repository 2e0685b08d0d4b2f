/* history add and the parser the four subcommands share. add reads and checks EVERY file before it writes
 * anything: one damaged file and the store stays as it was. */
#include "history_cli.h"

#include "cmdline.h"
#include "exit_codes.h"
#include "history.h"
#include "ingest.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void history_error(const char *name, const char *fmt, ...) {
    fprintf(stderr, "nnbench history %s: ", name);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void usage(const history_command *c, FILE *f) {
    fprintf(f, "usage: nnbench history %s %s\n\nflags:\n", c->name, c->synopsis);
    for (int i = 0; i < c->flag_count; i++)
        nnb_cmd_print_flag(f, 22, c->flags[i].name, c->flags[i].metavar, c->flags[i].help);
    nnb_cmd_print_flag(f, 22, "-h, --help", NULL, "this help");
    fprintf(f, "\n%s\nSee docs/history.md.\n", c->about);
}

static const history_flag *find_flag(const history_command *c, const char *arg) {
    for (int i = 0; i < c->flag_count; i++)
        if (nnb_cmd_flag_is(arg, c->flags[i].name))
            return &c->flags[i];
    return NULL;
}

static int unknown_flag(const history_command *c, const char *arg) {
    const char *names[32];
    int n = c->flag_count < 31 ? c->flag_count : 31;
    for (int i = 0; i < n; i++)
        names[i] = c->flags[i].name;
    names[n++] = "--help";
    char spelled[128], msg[512];
    nnb_cmd_flag_spelling(arg, spelled, sizeof spelled);
    snprintf(msg, sizeof msg, "unknown flag '%s' (see --help)", spelled);
    nnb_cmd_append_suggestion(msg, sizeof msg, spelled, names, (size_t)n);
    history_error(c->name, "%s", msg);
    return NNB_EXIT_USAGE;
}

int history_parse(const history_command *c, int argc, char **argv, const char **pos, int cap, int *npos) {
    *npos = 0;
    for (int i = 0; i < argc; i++)
        if (nnb_cmd_is_help(argv[i])) {
            usage(c, stdout);
            return -1;
        }
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) || !arg[2]) {
            if (*npos == cap) {
                history_error(c->name, "too many arguments ('%s'; see --help)", arg);
                return NNB_EXIT_USAGE;
            }
            pos[(*npos)++] = arg;
            continue;
        }
        const history_flag *f = find_flag(c, arg);
        if (!f)
            return unknown_flag(c, arg);
        const char *eq = strchr(arg, '=');
        if (!f->metavar) {
            if (eq) {
                history_error(c->name, "%s takes no value (got '%s')", f->name, eq + 1);
                return NNB_EXIT_USAGE;
            }
            *f->value = "1";
        } else if (eq) {
            *f->value = eq + 1;
        } else if (i + 1 < argc) {
            *f->value = argv[++i];
        } else {
            history_error(c->name, "%s needs a value (%s %s)", f->name, f->name, f->metavar);
            return NNB_EXIT_USAGE;
        }
    }
    return 0;
}

int history_open(const char *prog, const char *spec, nnb_store **out) {
    char err[1024] = "";
    if (nnb_store_open(spec ? spec : NNB_HISTORY_DEFAULT_STORE, out, err, sizeof err)) {
        history_error(prog, "%s", err);
        return -1;
    }
    return 0;
}

/* ---- history add ------------------------------------------------------------------------------------- */

/* Distinct series among a file's runs. */
static int series_count(const nnb_store_file *f) {
    int n = 0;
    for (int i = 0; i < f->run_count; i++) {
        const nnb_store_run *r = &f->runs[i];
        int seen = 0;
        for (int j = 0; j < i && !seen; j++) {
            const nnb_store_run *q = &f->runs[j];
            seen = !strcmp(r->machine, q->machine) && !strcmp(r->runner, q->runner) && !strcmp(r->phase, q->phase) &&
                   !strcmp(r->config, q->config);
        }
        n += !seen;
    }
    return n;
}

/* Adds the (already read) files of one input; prints its line. 0, or -1 on a store error. */
static int add_one(nnb_store *s, const char *path, const nnb_ingest_result *r) {
    int runs = 0, series = 0, present = 0;
    for (int i = 0; i < r->file_count; i++) {
        char err[1024] = "";
        int rc = nnb_store_add_file(s, &r->files[i], err, sizeof err);
        if (rc < 0) {
            history_error("add", "%s: %s (this file was not added)", path, err);
            return -1;
        }
        if (rc == 1) {
            present++;
            continue;
        }
        runs += r->files[i].run_count;
        series += series_count(&r->files[i]);
    }
    if (present == r->file_count)
        printf("%s: already in the store (same content)\n", path);
    else if (r->file_count == 1)
        printf("%s: added %d runs (%d series)\n", path, runs, series);
    else
        printf("%s: added %d runs (%d series) from %d files (%d already in the store)\n", path, runs, series,
               r->file_count - present, present);
    return 0;
}

int nnb_history_add_main(int argc, char **argv) {
    const char *store = NULL, *commit = NULL, *date = NULL, *label = NULL, *unit = NULL;
    const history_flag flags[] = {
        {"--store", "FILE", "the store: a SQLite file (default " NNB_HISTORY_DEFAULT_STORE ") or postgresql://...",
         &store},
        {"--commit", "SHA", "the commit measured (default: the file's own, if it names one)", &commit},
        {"--date", "DATE", "ISO-8601 date of the run (default: the file's own, else its modification time)", &date},
        {"--label", "TEXT", "a note kept with every file added (e.g. nightly, pr-123)", &label},
        {"--unit", "s|ms", "unit of fastrnns OSS JSON times (default ms, with a note; fastrnns on a CPU writes s)",
         &unit},
    };
    const history_command c = {"add", "[flags] FILE...",
                               "Formats (detected from the content): nnbench full JSON (--json-out), sweep.json,\n"
                               "serve JSON, fastrnns OSS JSON, pytest-benchmark JSON, a history export.\n"
                               "Every file is read and checked before anything is written; each is added in\n"
                               "one transaction, and a file added before is recognised by its SHA-256.",
                               flags, (int)(sizeof flags / sizeof *flags)};
    const char **files = calloc((size_t)argc + 1, sizeof *files);
    int nfiles = 0, rc = files ? history_parse(&c, argc, argv, files, argc, &nfiles) : NNB_EXIT_FAILED;
    char day[21];
    if (rc == 0 && unit && strcmp(unit, "s") && strcmp(unit, "ms"))
        history_error("add", "--unit: '%s' is not a unit (s or ms)", unit), rc = NNB_EXIT_USAGE;
    if (rc == 0 && date && nnb_ingest_normalize_date(date, day))
        history_error("add", "--date: '%s' is not an ISO-8601 date (e.g. 2026-12-06 or 2026-12-06T05:58:23Z)", date),
            rc = NNB_EXIT_USAGE;
    if (rc == 0 && nfiles == 0)
        history_error("add", "no file given (nnbench history add [flags] FILE...; see --help)"), rc = NNB_EXIT_USAGE;
    if (rc) {
        free(files);
        return rc < 0 ? NNB_EXIT_OK : rc;
    }
    nnb_ingest_options opt = {commit, date ? day : NULL, label, unit};
    nnb_ingest_result **read = calloc((size_t)nfiles, sizeof *read);
    int bad = !read;
    for (int i = 0; read && i < nfiles; i++) {
        char err[1024] = "";
        if (nnb_ingest_file(files[i], &opt, &read[i], err, sizeof err)) {
            history_error("add", "%s", err);
            bad++;
        } else {
            for (const char *line = read[i]->notes; *line; line = strchr(line, '\n') + 1)
                fprintf(stderr, "nnbench history add: note: %.*s\n", (int)strcspn(line, "\n"), line);
        }
    }
    nnb_store *s = NULL;
    if (bad)
        history_error("add", "nothing was added (%d of %d files could not be read)", bad, nfiles), rc = NNB_EXIT_USAGE;
    else if (history_open("add", store, &s))
        rc = NNB_EXIT_USAGE;
    for (int i = 0; rc == 0 && i < nfiles; i++)
        if (add_one(s, files[i], read[i]))
            rc = NNB_EXIT_FAILED;
    nnb_store_close(s);
    for (int i = 0; read && i < nfiles; i++)
        nnb_ingest_free(read[i]);
    free(read);
    free(files);
    return rc;
}
