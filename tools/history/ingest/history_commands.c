/* history list, show and export: the store read back, as text or JSON. The export is the format `history
 * add` reads back (ingest_export.c): files by SHA-256, series with their runs and samples. */
#define _POSIX_C_SOURCE 200809L
#include "history_cli.h"

#include "history.h"

#include "cmdline.h"
#include "exit_codes.h"
#include "ingest.h"
#include "ingest_internal.h"
#include "report.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

/* "group=rnns hidden_size=8 ...": the config's scalar members, for a line of text. */
static void config_summary(const char *config, char *out, size_t cap) {
    cJSON *c = cJSON_Parse(config);
    size_t used = 0;
    out[0] = '\0';
    for (const cJSON *m = c ? c->child : NULL; m && used + 1 < cap; m = m->next) {
        char value[128];
        if (cJSON_IsString(m))
            snprintf(value, sizeof value, "%s", m->valuestring);
        else if (cJSON_IsNumber(m))
            snprintf(value, sizeof value, "%.15g", m->valuedouble);
        else if (cJSON_IsBool(m))
            snprintf(value, sizeof value, "%s", cJSON_IsTrue(m) ? "true" : "false");
        else
            continue;
        int n = snprintf(out + used, cap - used, "%s%s=%s", used ? " " : "", m->string, value);
        used += n > 0 ? (size_t)n : 0;
    }
    cJSON_Delete(c);
}

static cJSON *series_json(const nnb_store_series *s) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "key", s->key);
    cJSON_AddItemToObject(o, "machine", cJSON_Parse(s->machine));
    cJSON_AddStringToObject(o, "runner", s->runner);
    cJSON_AddStringToObject(o, "phase", s->phase);
    cJSON_AddItemToObject(o, "config", cJSON_Parse(s->config));
    cJSON_AddStringToObject(o, "unit", s->unit);
    cJSON_AddBoolToObject(o, "higher_is_better", s->higher_is_better);
    return o;
}

static void print_json(cJSON *root) {
    char *text = cJSON_Print(root);
    if (text)
        puts(text);
    free(text);
    cJSON_Delete(root);
}

static int list_series(const char *prog, nnb_store *st, const char *filter, nnb_store_series **v, int *n) {
    char err[1024] = "";
    if (nnb_store_list_series(st, filter, v, n, err, sizeof err)) {
        history_error(prog, "%s", err);
        return -1;
    }
    return 0;
}

int nnb_history_list_main(int argc, char **argv) {
    const char *store = NULL, *filter = NULL, *json = NULL;
    const history_flag flags[] = {
        {"--store", "FILE", "the store: a SQLite file (default " NNB_HISTORY_DEFAULT_STORE ") or postgresql://...",
         &store},
        {"--series", "FILTER", "only series whose runner, phase, config, machine or key contains FILTER", &filter},
        {"--json", NULL, "JSON on stdout instead of the table", &json},
    };
    const history_command c = {"list", "[flags]",
                               "One line per series: key, runner, phase, runs, last date, and its config.", flags,
                               (int)(sizeof flags / sizeof *flags)};
    const char *pos[1];
    int npos, rc = history_parse(&c, argc, argv, pos, 0, &npos);
    nnb_store *st = NULL;
    nnb_store_series *v = NULL;
    int n = 0;
    if (rc)
        return rc < 0 ? NNB_EXIT_OK : rc;
    if (history_open("list", store, &st) || list_series("list", st, filter, &v, &n)) {
        nnb_store_close(st);
        return NNB_EXIT_USAGE;
    }
    if (json) {
        cJSON *array = cJSON_CreateArray();
        for (int i = 0; i < n; i++) {
            cJSON *o = series_json(&v[i]);
            cJSON_AddNumberToObject(o, "runs", v[i].run_count);
            cJSON_AddStringToObject(o, "first_date", v[i].first_date);
            cJSON_AddStringToObject(o, "last_date", v[i].last_date);
            cJSON_AddItemToArray(array, o);
        }
        print_json(array);
    } else {
        printf("%-16s  %-14s %-10s %5s  %-20s  %s\n", "key", "runner", "phase", "runs", "last date", "config");
        for (int i = 0; i < n; i++) {
            char summary[1024];
            config_summary(v[i].config, summary, sizeof summary);
            printf("%-16s  %-14s %-10s %5d  %-20s  %s\n", v[i].key, v[i].runner, v[i].phase, v[i].run_count,
                   v[i].last_date, summary);
        }
        if (n == 0)
            printf("(no series%s%s)\n", filter ? " matching " : "", filter ? filter : "");
    }
    nnb_store_series_free(v, n);
    nnb_store_close(st);
    return NNB_EXIT_OK;
}

/* The one series named by key or filter: an exact key wins; else exactly one match. */
static int pick_series(const char *what, nnb_store_series *v, int n) {
    for (int i = 0; i < n; i++)
        if (!strcmp(v[i].key, what))
            return i;
    if (n == 1)
        return 0;
    if (n == 0)
        history_error("show", "no series matches '%s' (nnbench history list shows them)", what);
    else {
        history_error("show", "'%s' matches %d series; give one key (nnbench history list --series '%s'):", what, n,
                      what);
        for (int i = 0; i < n && i < 10; i++)
            fprintf(stderr, "  %s  %s %s\n", v[i].key, v[i].runner, v[i].phase);
    }
    return -1;
}

int nnb_history_show_main(int argc, char **argv) {
    const char *store = NULL, *since = NULL, *json = NULL;
    const history_flag flags[] = {
        {"--store", "FILE", "the store: a SQLite file (default " NNB_HISTORY_DEFAULT_STORE ") or postgresql://...",
         &store},
        {"--since", "DATE", "only runs from this ISO-8601 date on", &since},
        {"--json", NULL, "JSON on stdout instead of the table", &json},
    };
    const history_command c = {"show", "[flags] SERIES_KEY_OR_FILTER",
                               "The runs of one series, oldest first: date, commit, label, value, samples.\n"
                               "SERIES_KEY_OR_FILTER: a key from nnbench history list, or text only one series "
                               "contains.",
                               flags, (int)(sizeof flags / sizeof *flags)};
    const char *pos[1];
    char day[21];
    int npos, rc = history_parse(&c, argc, argv, pos, 1, &npos);
    if (rc)
        return rc < 0 ? NNB_EXIT_OK : rc;
    if (npos != 1 || (since && nnb_ingest_normalize_date(since, day))) {
        history_error("show", npos != 1 ? "give the series (a key from nnbench history list; see --help)"
                                        : "--since: not an ISO-8601 date (e.g. 2026-12-06)");
        return NNB_EXIT_USAGE;
    }
    nnb_store *st = NULL;
    nnb_store_series *v = NULL;
    nnb_store_point *p = NULL;
    int n = 0, np = 0, which = -1;
    char err[1024] = "";
    rc = NNB_EXIT_USAGE;
    if (history_open("show", store, &st) || list_series("show", st, pos[0], &v, &n) ||
        (which = pick_series(pos[0], v, n)) < 0)
        goto done;
    if (nnb_store_series_points(st, v[which].id, since ? day : NULL, &p, &np, err, sizeof err)) {
        history_error("show", "%s", err);
        goto done;
    }
    rc = NNB_EXIT_OK;
    if (json) {
        cJSON *o = series_json(&v[which]), *runs = cJSON_AddArrayToObject(o, "runs");
        for (int i = 0; i < np; i++) {
            cJSON *r = cJSON_CreateObject();
            cJSON_AddStringToObject(r, "date", p[i].date);
            cJSON_AddItemToObject(r, "commit", p[i].commit ? cJSON_CreateString(p[i].commit) : cJSON_CreateNull());
            cJSON_AddItemToObject(r, "label", p[i].label ? cJSON_CreateString(p[i].label) : cJSON_CreateNull());
            cJSON_AddStringToObject(r, "path", p[i].path);
            cJSON_AddStringToObject(r, "format", p[i].format);
            cJSON_AddNumberToObject(r, "value", p[i].value);
            cJSON_AddNumberToObject(r, "samples", p[i].sample_count);
            cJSON_AddItemToArray(runs, r);
        }
        print_json(o);
        goto done;
    }
    char summary[1024];
    config_summary(v[which].config, summary, sizeof summary);
    printf("series %s: %s %s (%s, %s is better)\n  config: %s\n  machine: %s\n", v[which].key, v[which].runner,
           v[which].phase, v[which].unit, v[which].higher_is_better ? "higher" : "lower", summary, v[which].machine);
    printf("%-20s  %-12s  %-12s  %14s  %7s\n", "date", "commit", "label", "value", "samples");
    for (int i = 0; i < np; i++)
        printf("%-20s  %-12.12s  %-12.12s  %14.6g  %7d\n", p[i].date, p[i].commit ? p[i].commit : "-",
               p[i].label ? p[i].label : "-", p[i].value, p[i].sample_count);
done:
    nnb_store_points_free(p, np);
    nnb_store_series_free(v, n);
    nnb_store_close(st);
    return rc;
}

/* ---- export ---------------------------------------------------------------------------------------------- */

typedef struct file_seen {
    long long id;
    char *sha256;
} file_seen;

/* The sha256 of a file (kept in its provenance at ingest), noting the file in files[] the first time. */
static const char *file_sha(nnb_store *st, const nnb_store_point *p, cJSON *files, file_seen **seen, int *nseen) {
    for (int i = 0; i < *nseen; i++)
        if ((*seen)[i].id == p->file_id)
            return (*seen)[i].sha256;
    char err[512];
    char *prov_text = nnb_store_file_provenance(st, p->file_id, err, sizeof err);
    cJSON *prov = prov_text ? cJSON_Parse(prov_text) : NULL;
    free(prov_text);
    const char *sha = ib_string(prov, "sha256");
    file_seen *grown = realloc(*seen, sizeof *grown * (size_t)(*nseen + 1));
    if (!grown) {
        cJSON_Delete(prov);
        return NULL;
    }
    *seen = grown;
    char fallback[32];
    snprintf(fallback, sizeof fallback, "file-%lld", p->file_id);
    grown[*nseen] = (file_seen){p->file_id, strdup(sha ? sha : fallback)};
    cJSON *f = cJSON_CreateObject();
    cJSON_AddNumberToObject(f, "order", (double)p->file_id);
    cJSON_AddStringToObject(f, "sha256", grown[*nseen].sha256);
    cJSON_AddStringToObject(f, "path", p->path);
    cJSON_AddStringToObject(f, "format", p->format);
    cJSON_AddItemToObject(f, "commit", p->commit ? cJSON_CreateString(p->commit) : cJSON_CreateNull());
    cJSON_AddStringToObject(f, "date", p->date);
    cJSON_AddItemToObject(f, "label", p->label ? cJSON_CreateString(p->label) : cJSON_CreateNull());
    cJSON_AddItemToObject(f, "provenance", prov ? prov : cJSON_CreateNull());
    cJSON_AddItemToArray(files, f);
    return grown[(*nseen)++].sha256;
}

static int by_order(const void *a, const void *b) {
    double x = cJSON_GetObjectItem(*(cJSON *const *)a, "order")->valuedouble;
    double y = cJSON_GetObjectItem(*(cJSON *const *)b, "order")->valuedouble;
    return (x > y) - (x < y);
}

/* files[] in the order they were added (so a store built from the export orders ties the same way), without
 * the store's own ids. */
static void order_files(cJSON *files) {
    int n = cJSON_GetArraySize(files);
    cJSON **items = malloc(sizeof *items * (size_t)(n ? n : 1));
    for (int i = 0; items && i < n; i++)
        items[i] = cJSON_DetachItemFromArray(files, 0);
    if (!items)
        return;
    qsort(items, (size_t)n, sizeof *items, by_order);
    for (int i = 0; i < n; i++) {
        cJSON_DeleteItemFromObject(items[i], "order");
        cJSON_AddItemToArray(files, items[i]);
    }
    free(items);
}

static char *export_text(nnb_store *st, nnb_store_series *v, int n) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "schema", NNB_EXPORT_SCHEMA);
    cJSON_AddNumberToObject(root, "schema_version", 1);
    cJSON *files = cJSON_AddArrayToObject(root, "files"), *series = cJSON_AddArrayToObject(root, "series");
    file_seen *seen = NULL;
    int nseen = 0, failed = 0;
    for (int i = 0; i < n && !failed; i++) {
        nnb_store_point *p = NULL;
        int np = 0;
        char err[1024] = "";
        if (nnb_store_series_points(st, v[i].id, NULL, &p, &np, err, sizeof err)) {
            history_error("export", "%s", err);
            failed = 1;
            break;
        }
        cJSON *s = series_json(&v[i]), *runs = cJSON_AddArrayToObject(s, "runs");
        for (int j = 0; j < np; j++) {
            cJSON *r = cJSON_CreateObject();
            const char *sha = file_sha(st, &p[j], files, &seen, &nseen);
            cJSON_AddStringToObject(r, "file", sha ? sha : "");
            cJSON_AddStringToObject(r, "date", p[j].date);
            cJSON_AddItemToObject(r, "commit", p[j].commit ? cJSON_CreateString(p[j].commit) : cJSON_CreateNull());
            cJSON_AddItemToObject(r, "label", p[j].label ? cJSON_CreateString(p[j].label) : cJSON_CreateNull());
            cJSON_AddNumberToObject(r, "value", p[j].value);
            cJSON_AddItemToObject(
                r, "samples", cJSON_CreateDoubleArray(p[j].samples ? p[j].samples : (double[]){0}, p[j].sample_count));
            cJSON_AddItemToArray(runs, r);
        }
        cJSON_AddItemToArray(series, s);
        nnb_store_points_free(p, np);
    }
    order_files(files);
    char *text = failed ? NULL : cJSON_Print(root);
    cJSON_Delete(root);
    for (int i = 0; i < nseen; i++)
        free(seen[i].sha256);
    free(seen);
    return text;
}

int nnb_history_export_main(int argc, char **argv) {
    const char *store = NULL, *filter = NULL, *out = NULL;
    const history_flag flags[] = {
        {"--store", "FILE", "the store: a SQLite file (default " NNB_HISTORY_DEFAULT_STORE ") or postgresql://...",
         &store},
        {"--series", "FILTER", "only series whose runner, phase, config, machine or key contains FILTER", &filter},
        {"--out", "FILE", "write there (folders created; written whole or not at all) instead of stdout", &out},
    };
    const history_command c = {"export", "[flags]",
                               "Every series with its runs and samples, and the files they came from, as JSON\n"
                               "that nnbench history add reads back (into another store, for example).",
                               flags, (int)(sizeof flags / sizeof *flags)};
    const char *pos[1];
    int npos, rc = history_parse(&c, argc, argv, pos, 0, &npos);
    if (rc)
        return rc < 0 ? NNB_EXIT_OK : rc;
    char err[1024] = "";
    if (out && nnb_cmd_prepare_output("--out", out, 0, err, sizeof err)) {
        history_error("export", "%s", err);
        return NNB_EXIT_USAGE;
    }
    nnb_store *st = NULL;
    nnb_store_series *v = NULL;
    int n = 0;
    if (history_open("export", store, &st) || list_series("export", st, filter, &v, &n)) {
        nnb_store_close(st);
        return NNB_EXIT_USAGE;
    }
    char *text = export_text(st, v, n);
    rc = text ? NNB_EXIT_OK : NNB_EXIT_FAILED;
    if (text && out && nnb_write_file_atomic(out, text, strlen(text), err, sizeof err)) {
        history_error("export", "%s", err);
        rc = NNB_EXIT_FAILED;
    } else if (text && !out) {
        fputs(text, stdout);
    }
    free(text);
    nnb_store_series_free(v, n);
    nnb_store_close(st);
    return rc;
}
