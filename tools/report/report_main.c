/* nnbench report: the command line, input detection, one page per input and index.html. */
#define _GNU_SOURCE
#include "html_report.h"
#include "report_internal.h"

#include "cmdline.h"
#include "exit_codes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INPUTS 256
#define MAX_FILE_BYTES (256u << 20)

static const char *const flags[] = {"--out", "--store", "--compare", "--filter", "--help"};

static void usage(FILE *f) {
    fputs("usage: nnbench report --out DIR FILE...\n"
          "       nnbench report --out DIR --compare FILE FILE\n"
          "       nnbench report --store FILE --out DIR [--filter NAME]\n"
          "A static HTML site that opens offline (file://): index.html and one page per input, with charts\n"
          "(Chart.js, inlined into each page; a --store site's pages load one copy, DIR/chart.min.js).\n"
          "Inputs are detected by content: a run (nnbench --json-out), an --ab run, a sweep (sweep.json),\n"
          "a serve run (nnbench serve --json-out). docs/report.md.\n",
          f);
    nnb_cmd_print_flag(f, 18, "--out", "DIR", "the site's folder (created if missing)");
    nnb_cmd_print_flag(f, 18, "--compare", "FILE", "OLD NEW: a page of NEW / OLD ratios with intervals");
    nnb_cmd_print_flag(f, 18, "--store", "FILE", "a results store (SQLite file or postgresql:// URL)");
    nnb_cmd_print_flag(f, 18, "--filter", "NAME", "--store: only series whose runner, phase, config... hold NAME");
    nnb_cmd_print_flag(f, 18, "-h, --help", "", "this help");
}

typedef struct input {
    const char *path, *old_path; /* old_path: a --compare pair (path is NEW) */
    cJSON *root;
    nnb_report_kind kind;
    char page[300];
} input;

static const char *const kind_names[] = {"run", "A/B run", "sweep", "serve run"};

static cJSON *read_json(const char *path, char *err, size_t err_len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_len, "%s: cannot read (%s)", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, len = 0, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0 && len < MAX_FILE_BYTES) {
        len += got;
        if (len + 1 == cap) {
            char *bigger = realloc(buf, cap *= 2);
            if (!bigger)
                free(buf);
            buf = bigger;
        }
    }
    fclose(f);
    if (!buf || len >= MAX_FILE_BYTES) {
        free(buf);
        snprintf(err, err_len, "%s: too large or out of memory", path);
        return NULL;
    }
    buf[len] = 0;
    cJSON *root = cJSON_ParseWithLength(buf, len);
    free(buf);
    if (!root)
        snprintf(err, err_len, "%s: not JSON; give nnbench result files (run, --ab, sweep or serve JSON)", path);
    return root;
}

/* The kind of a parsed file, or -1 with err naming the file. */
static int detect(const cJSON *root, const char *path, char *err, size_t err_len) {
    const char *schema = nnb_json_str(root, "schema");
    if (schema && !strcmp(schema, "nnbench-results"))
        return cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(root, "ab")) ? NNB_PAGE_AB : NNB_PAGE_RUN;
    if (schema && !strcmp(schema, "nnbench-sweep"))
        return NNB_PAGE_SWEEP;
    if (schema && !strcmp(schema, "nnbench-serve"))
        return NNB_PAGE_SERVE;
    snprintf(err, err_len,
             "%s: unknown format (schema %s): give a run or --ab result (nnbench --json-out), a sweep.json or a "
             "serve result; two files to compare go after --compare",
             path, schema ? schema : "missing");
    return -1;
}

/* "NN-name.html" from the file's base name (letters, digits, '.', '-', '_' kept). */
static void page_name(input *in, int index) {
    const char *base = strrchr(in->path, '/') ? strrchr(in->path, '/') + 1 : in->path;
    char clean[200];
    size_t n = 0;
    for (const char *c = base; *c && n + 1 < sizeof clean; c++)
        clean[n++] = (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_", *c)) ? *c : '_';
    clean[n] = 0;
    if (n > 5 && !strcmp(clean + n - 5, ".json"))
        clean[n - 5] = 0;
    snprintf(in->page, sizeof in->page, "%02d-%s%s.html", index + 1, in->old_path ? "compare-" : "", clean);
}

static int write_index(const char *dir, input *in, int n, char *err, size_t err_len) {
    char path[4200];
    snprintf(path, sizeof path, "%s/index.html", dir);
    nnb_page pg;
    if (nnb_page_begin(&pg, path, "nnbench report", 0, err, err_len))
        return -1;
    fputs("<table><tr><th class=\"l\">page</th><th class=\"l\">kind</th><th class=\"l\">file</th></tr>\n", pg.f);
    for (int i = 0; i < n; i++) {
        fputs("<tr><td class=\"l\"><a href=\"", pg.f);
        nnb_html_text(pg.f, in[i].page);
        fputs("\">", pg.f);
        nnb_html_text(pg.f, in[i].page);
        fprintf(pg.f, "</a></td><td class=\"l\">%s</td><td class=\"l\">",
                in[i].old_path ? "compare" : kind_names[in[i].kind]);
        if (in[i].old_path) {
            nnb_html_text(pg.f, in[i].old_path);
            fputs(" &rarr; ", pg.f);
        }
        nnb_html_text(pg.f, in[i].path);
        fputs("</td></tr>\n", pg.f);
    }
    fputs("</table>\n", pg.f);
    return nnb_page_end(&pg, path, err, err_len);
}

static int write_pages(const char *dir, input *in, int n, char *err, size_t err_len) {
    for (int i = 0; i < n; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, in[i].page);
        int rc;
        if (in[i].old_path)
            rc = nnb_page_compare(in[i].old_path, in[i].path, path, err, err_len);
        else if (in[i].kind == NNB_PAGE_SWEEP)
            rc = nnb_page_sweep(in[i].root, in[i].path, path, err, err_len);
        else if (in[i].kind == NNB_PAGE_SERVE)
            rc = nnb_page_serve(in[i].root, in[i].path, path, err, err_len);
        else
            rc = nnb_page_run(in[i].root, in[i].kind, in[i].path, path, err, err_len);
        if (rc)
            return -1;
    }
    return write_index(dir, in, n, err, err_len);
}

typedef struct options {
    const char *out, *store, *filter;
    input in[MAX_INPUTS];
    int n;
} options;

static int flag_value(int argc, char **argv, int *i, const char **value, char *err, size_t err_len) {
    const char *eq = strchr(argv[*i], '=');
    if (eq && argv[*i][1] == '-') {
        *value = eq + 1;
        return 0;
    }
    if (*i + 1 >= argc) {
        snprintf(err, err_len, "%s needs a value", argv[*i]);
        return -1;
    }
    *value = argv[++*i];
    return 0;
}

static int parse(int argc, char **argv, options *o, char *err, size_t err_len) {
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || !a[1]) {
            if (o->n == MAX_INPUTS)
                return snprintf(err, err_len, "more than %d inputs", MAX_INPUTS), -1;
            o->in[o->n++].path = a;
        } else if (nnb_cmd_flag_is(a, "--out")) {
            if (flag_value(argc, argv, &i, &o->out, err, err_len))
                return -1;
        } else if (nnb_cmd_flag_is(a, "--store")) {
            if (flag_value(argc, argv, &i, &o->store, err, err_len))
                return -1;
        } else if (nnb_cmd_flag_is(a, "--filter")) {
            if (flag_value(argc, argv, &i, &o->filter, err, err_len))
                return -1;
        } else if (nnb_cmd_flag_is(a, "--compare")) {
            if (i + 2 >= argc || o->n == MAX_INPUTS)
                return snprintf(err, err_len, "--compare needs two files: --compare OLD NEW"), -1;
            o->in[o->n].old_path = argv[++i];
            o->in[o->n++].path = argv[++i];
        } else {
            char spelled[128];
            nnb_cmd_flag_spelling(a, spelled, sizeof spelled);
            snprintf(err, err_len, "unknown flag '%s' (see nnbench report --help)", a);
            nnb_cmd_append_suggestion(err, err_len, spelled, flags, sizeof flags / sizeof *flags);
            return -1;
        }
    }
    if (!o->out)
        return snprintf(err, err_len, "--out DIR is required (the folder the pages go to)"), -1;
    if (!o->store && o->n == 0)
        return snprintf(err, err_len, "nothing to report: give result files, --compare OLD NEW, or --store FILE"), -1;
    if (o->filter && !o->store)
        return snprintf(err, err_len, "--filter selects series of a store: give it with --store FILE"), -1;
    if (o->store && o->n > 0)
        return snprintf(err, err_len, "--store makes its own site: give it without result files (or use two --out)"),
               -1;
    return 0;
}

static int run(options *o, char *err, size_t err_len) {
    if (!nnb_report_library(err, err_len) || nnb_cmd_prepare_output("--out", o->out, 1, err, err_len))
        return NNB_EXIT_USAGE;
    if (o->store)
        return nnb_report_store(o->store, o->filter, o->out, err, err_len) ? NNB_EXIT_USAGE : NNB_EXIT_OK;
    for (int i = 0; i < o->n; i++) { /* every input is read and recognised before any page is written */
        page_name(&o->in[i], i);
        if (o->in[i].old_path)
            continue;
        o->in[i].root = read_json(o->in[i].path, err, err_len);
        int kind = o->in[i].root ? detect(o->in[i].root, o->in[i].path, err, err_len) : -1;
        if (kind < 0)
            return NNB_EXIT_USAGE;
        o->in[i].kind = (nnb_report_kind)kind;
    }
    if (write_pages(o->out, o->in, o->n, err, err_len))
        return NNB_EXIT_USAGE;
    printf("nnbench report: %d page%s and index.html in %s\n", o->n, o->n == 1 ? "" : "s", o->out);
    return NNB_EXIT_OK;
}

int nnb_report_main(int argc, char **argv) {
    for (int i = 0; i < argc; i++) {
        if (nnb_cmd_is_help(argv[i])) {
            usage(stdout);
            return NNB_EXIT_OK;
        }
    }
    options *o = calloc(1, sizeof *o);
    char err[2048] = "";
    int rc = !o ? NNB_EXIT_USAGE : parse(argc, argv, o, err, sizeof err) ? NNB_EXIT_USAGE : run(o, err, sizeof err);
    if (rc != NNB_EXIT_OK)
        fprintf(stderr, "nnbench report: %s\n", err[0] ? err : "out of memory");
    for (int i = 0; o && i < o->n; i++)
        cJSON_Delete(o->in[i].root);
    free(o);
    return rc;
}
