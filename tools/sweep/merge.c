/* nnbench merge: shard files of one sweep into one, refusing files of other sweeps and duplicate points,
 * naming every shard, point and run that is missing or failed. */
#define _GNU_SOURCE
#include "sweep_internal.h"

#include "cmdline.h"
#include "exit_codes.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { INCOMPLETE = NNB_EXIT_FAILED, USAGE = NNB_EXIT_USAGE }; /* cmdline/exit_codes.h */

static const cJSON *get(const cJSON *o, const char *key) { return cJSON_GetObjectItemCaseSensitive(o, key); }

static const char *str_of(const cJSON *o, const char *key) {
    const cJSON *v = get(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int int_of(const cJSON *o, const char *key, int fallback) {
    const cJSON *v = get(o, key);
    return cJSON_IsNumber(v) && v->valuedouble >= -2147483647.0 && v->valuedouble <= 2147483647.0 ? (int)v->valuedouble
                                                                                                  : fallback;
}

static int all_strings(const cJSON *container) {
    const cJSON *v;
    cJSON_ArrayForEach(v, container) if (!cJSON_IsString(v)) return 0;
    return 1;
}

static int is_sweep_doc(const cJSON *d) {
    const char *schema = str_of(d, "schema");
    const cJSON *cfg = get(d, "sweep");
    return schema && !strcmp(schema, NNB_SWEEP_SCHEMA) && cJSON_IsObject(cfg) && cJSON_IsArray(get(d, "shards")) &&
           cJSON_IsArray(get(d, "points")) && str_of(cfg, "id") && cJSON_IsArray(get(cfg, "common_args")) &&
           all_strings(get(cfg, "common_args")) && cJSON_IsArray(get(cfg, "axes"));
}

/* What the summaries rely on: a label, settings of strings, runs with a status. */
static int is_point(const cJSON *p) {
    const cJSON *settings = get(p, "settings"), *runs = get(p, "runs"), *run;
    if (!str_of(p, "label") || !cJSON_IsNumber(get(p, "count")) || !cJSON_IsObject(settings) ||
        !all_strings(settings) || !cJSON_IsArray(runs))
        return 0;
    const cJSON *model = get(p, "model");
    if (!cJSON_IsNull(model) && !cJSON_IsString(model))
        return 0;
    cJSON_ArrayForEach(run, runs) if (!cJSON_IsObject(run) || !str_of(run, "status")) return 0;
    return 1;
}

/* Why two sweep configurations differ, in words. */
static const char *config_difference(const cJSON *a, const cJSON *b) {
    static const char *const keys[] = {"common_args", "axes", "repeat", "zip", "shapes", "point_count"};
    static const char *const words[] = {
        "their common nnbench arguments differ", "their axes differ",       "their --repeat differs",
        "one is --zip, the other not",           "their shape sets differ", "their point counts differ"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        const cJSON *x = get(a, keys[i]), *y = get(b, keys[i]);
        if (!strcmp(keys[i], "shapes") && cJSON_IsObject(x) && cJSON_IsObject(y)) {
            const char *hx = str_of(x, "content_hash"), *hy = str_of(y, "content_hash");
            if (!hx || !hy || strcmp(hx, hy))
                return words[i];
            continue;
        }
        if (!cJSON_Compare(x, y, 1))
            return words[i];
    }
    return "their sweep ids differ";
}

typedef struct merge_state {
    const cJSON *config;
    const char *config_from;
    int shard_count, point_count, repeat;
    const char **shard_from; /* [shard_count]: which file held it */
    const cJSON **point;     /* [point_count] */
    const char **point_from;
    cJSON *missing, *failures;
} merge_state;

static int take_doc(merge_state *m, const cJSON *d, const char *name, char *err, size_t err_len) {
    const cJSON *cfg = get(d, "sweep");
    if (!m->config) {
        m->config = cfg;
        m->config_from = name;
        m->point_count = int_of(cfg, "point_count", -1);
        m->repeat = int_of(cfg, "repeat", 1);
        if (m->point_count < 1 || m->point_count > NNB_SWEEP_MAX_POINTS)
            return nnb_sweep_fail(err, err_len, "%s: sweep.point_count is missing or out of range", name);
        if (m->repeat < 1 || m->repeat > 1000)
            return nnb_sweep_fail(err, err_len, "%s: sweep.repeat is out of range (1..1000)", name);
        if (!(m->point = calloc((size_t)m->point_count, sizeof *m->point)) ||
            !(m->point_from = calloc((size_t)m->point_count, sizeof *m->point_from)))
            return nnb_sweep_fail(err, err_len, "out of memory");
    } else if (strcmp(str_of(cfg, "id"), str_of(m->config, "id"))) {
        return nnb_sweep_fail(err, err_len, "%s and %s are from different sweeps: %s", m->config_from, name,
                              config_difference(m->config, cfg));
    }
    const cJSON *shard;
    cJSON_ArrayForEach(shard, get(d, "shards")) {
        int i = int_of(shard, "index", -1), n = int_of(shard, "count", -1);
        if (n < 1 || n > 10000 || i < 0 || i >= n)
            return nnb_sweep_fail(err, err_len, "%s: a shard entry has no valid index/count", name);
        if (!m->shard_count) {
            m->shard_count = n;
            if (!(m->shard_from = calloc((size_t)n, sizeof *m->shard_from)))
                return nnb_sweep_fail(err, err_len, "out of memory");
        } else if (n != m->shard_count) {
            return nnb_sweep_fail(err, err_len,
                                  "%s has shard %d/%d but earlier files have %d shards: "
                                  "shards of one merge must come from one --shard N (or --slurm --shards N)",
                                  name, i, n, m->shard_count);
        }
        if (m->shard_from[i])
            return nnb_sweep_fail(err, err_len, "shard %d/%d is in both %s and %s", i, n, m->shard_from[i], name);
        m->shard_from[i] = name;
    }
    const cJSON *p;
    cJSON_ArrayForEach(p, get(d, "points")) {
        int k = int_of(p, "index", -1);
        if (k < 0 || k >= m->point_count)
            return nnb_sweep_fail(err, err_len, "%s: a point has no valid index (0..%d)", name, m->point_count - 1);
        if (!is_point(p))
            return nnb_sweep_fail(err, err_len, "%s: point %d is malformed (label, count, settings or runs)", name, k);
        if (m->point[k])
            return nnb_sweep_fail(err, err_len, "point %d (%s) is in both %s and %s", k,
                                  str_of(p, "label") ? str_of(p, "label") : "?", m->point_from[k], name);
        m->point[k] = p;
        m->point_from[k] = name;
    }
    return 0;
}

static void note(cJSON *list, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void note(cJSON *list, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(stderr, "nnbench merge: %s\n", buf);
    cJSON_AddItemToArray(list, cJSON_CreateString(buf));
}

/* "2, 6, 10" (the first few of the shard's points that have no results). */
static void shard_points(const merge_state *m, int shard, char *buf, size_t len) {
    size_t used = 0;
    int shown = 0, more = 0;
    buf[0] = 0;
    for (int k = shard; k < m->point_count; k += m->shard_count) {
        if (m->point[k])
            continue;
        if (shown < 12 && used < len)
            used += (size_t)snprintf(buf + used, len - used, "%s%d", shown ? ", " : "", k), shown++;
        else
            more++;
    }
    if (more && used < len)
        snprintf(buf + used, len - used, " and %d more", more);
}

static void name_missing(merge_state *m, const char *const *names, const char *const *reasons, int count) {
    for (int i = 0; i < count; i++)
        if (reasons[i])
            note(m->missing, "%s: %s", names[i], reasons[i]);
    for (int s = 0; s < m->shard_count; s++) {
        char pts[256];
        shard_points(m, s, pts, sizeof pts);
        if (!m->shard_from[s] && s >= m->point_count) /* more shards than points: nothing is missing */
            fprintf(stderr, "nnbench merge: shard %d/%d holds no points (the sweep has %d); its file is not needed\n",
                    s, m->shard_count, m->point_count);
        else if (!m->shard_from[s])
            note(m->missing, "shard %d/%d never wrote its file: points %s have no results", s, m->shard_count,
                 pts[0] ? pts : "(none)");
        else if (pts[0])
            note(m->missing, "shard %d/%d (%s) stopped early: points %s have no results", s, m->shard_count,
                 m->shard_from[s], pts);
    }
}

static void name_failures(merge_state *m) {
    for (int k = 0; k < m->point_count; k++) {
        const cJSON *p = m->point[k];
        if (!p)
            continue;
        const cJSON *run;
        int runs = 0;
        cJSON_ArrayForEach(run, get(p, "runs")) {
            runs++;
            const char *status = str_of(run, "status");
            if (status && !strcmp(status, "ok"))
                continue;
            cJSON *f = cJSON_CreateObject();
            cJSON_AddNumberToObject(f, "point", k);
            cJSON_AddNumberToObject(f, "repeat", int_of(run, "repeat", -1));
            cJSON_AddStringToObject(f, "label", str_of(p, "label") ? str_of(p, "label") : "");
            cJSON_AddStringToObject(f, "status", status ? status : "unknown");
            cJSON_AddStringToObject(f, "error", str_of(run, "error") ? str_of(run, "error") : "");
            cJSON_AddStringToObject(f, "log", str_of(run, "log") ? str_of(run, "log") : "");
            cJSON_AddStringToObject(f, "file", m->point_from[k]);
            cJSON_AddItemToArray(m->failures, f);
            fprintf(stderr, "nnbench merge: point %d (%s) repeat %d: %s: %s (log %s)\n", k, str_of(f, "label"),
                    int_of(run, "repeat", -1) + 1, str_of(f, "status"), str_of(f, "error"), str_of(f, "log"));
        }
        if (runs < m->repeat)
            note(m->missing, "point %d (%s) has %d of %d repeats (%s stopped early)", k,
                 str_of(p, "label") ? str_of(p, "label") : "?", runs, m->repeat, m->point_from[k]);
    }
}

static int by_index(const void *a, const void *b) {
    int x = int_of(*(const cJSON *const *)a, "index", 0), y = int_of(*(const cJSON *const *)b, "index", 0);
    return (x > y) - (x < y);
}

static cJSON *build_merged(const merge_state *m, cJSON *const *docs, int count) {
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "schema", NNB_SWEEP_SCHEMA);
    cJSON_AddNumberToObject(out, "schema_version", NNB_SWEEP_SCHEMA_VERSION);
    cJSON_AddItemToObject(out, "sweep", cJSON_Duplicate(m->config, 1));
    int nshards = 0;
    for (int i = 0; i < count; i++)
        nshards += docs[i] ? cJSON_GetArraySize(get(docs[i], "shards")) : 0;
    const cJSON **shards = calloc((size_t)nshards + 1, sizeof *shards);
    int j = 0;
    for (int i = 0; i < count && shards; i++) {
        const cJSON *s;
        if (docs[i])
            cJSON_ArrayForEach(s, get(docs[i], "shards")) shards[j++] = s;
    }
    if (shards)
        qsort(shards, (size_t)j, sizeof *shards, by_index);
    cJSON *sa = cJSON_AddArrayToObject(out, "shards");
    for (int i = 0; i < j; i++)
        cJSON_AddItemToArray(sa, cJSON_Duplicate(shards[i], 1));
    free(shards);
    cJSON *pa = cJSON_AddArrayToObject(out, "points");
    for (int k = 0; k < m->point_count; k++)
        if (m->point[k])
            cJSON_AddItemToArray(pa, cJSON_Duplicate(m->point[k], 1));
    return out;
}

int nnb_sweep_merge_docs(cJSON *const *docs, const char *const *names, const char *const *missing_reason, int count,
                         cJSON **merged, char *err, size_t err_len) {
    merge_state m;
    memset(&m, 0, sizeof m);
    *merged = NULL;
    int rc = 0, usable = 0;
    for (int i = 0; i < count && !rc; i++) {
        if (!docs[i])
            continue;
        if (!is_sweep_doc(docs[i]))
            rc = nnb_sweep_fail(err, err_len, "%s: not an nnbench sweep file (schema \"%s\" expected)", names[i],
                                NNB_SWEEP_SCHEMA);
        else
            rc = take_doc(&m, docs[i], names[i], err, err_len), usable++;
    }
    if (!rc && !usable)
        rc = nnb_sweep_fail(err, err_len, "no shard file could be read");
    if (rc) {
        free(m.shard_from), free(m.point), free(m.point_from);
        return USAGE;
    }
    m.missing = cJSON_CreateArray();
    m.failures = cJSON_CreateArray();
    name_missing(&m, names, missing_reason, count);
    name_failures(&m);
    cJSON *out = build_merged(&m, docs, count);
    int incomplete = cJSON_GetArraySize(m.missing) > 0, failed = cJSON_GetArraySize(m.failures) > 0;
    cJSON_AddBoolToObject(out, "complete", !incomplete);
    cJSON_AddItemToObject(out, "missing", m.missing);
    cJSON_AddItemToObject(out, "failures", m.failures);
    free(m.shard_from), free(m.point), free(m.point_from);
    *merged = out;
    return incomplete || failed ? INCOMPLETE : 0;
}

/* ---- nnbench merge ------------------------------------------------------------------ */

static int is_shard_file_name(const char *name) {
    int i, n, len = 0;
    return sscanf(name, "shard-%d-of-%d.json%n", &i, &n, &len) == 2 && len == (int)strlen(name);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* A directory argument: its shard-I-of-N.json files, sorted. */
static int add_dir(const char *dir, char ***paths, int *count, char *err, size_t err_len) {
    DIR *d = opendir(dir);
    if (!d)
        return nnb_sweep_fail(err, err_len, "%s: %s", dir, strerror(errno));
    int first = *count;
    for (struct dirent *e; (e = readdir(d));) {
        if (!is_shard_file_name(e->d_name))
            continue;
        char **grown = realloc(*paths, (size_t)(*count + 1) * sizeof *grown);
        size_t n = strlen(dir) + strlen(e->d_name) + 2;
        char *p = malloc(n);
        if (!grown || !p) {
            free(p);
            if (grown)
                *paths = grown;
            closedir(d);
            return nnb_sweep_fail(err, err_len, "out of memory");
        }
        snprintf(p, n, "%s/%s", dir, e->d_name);
        *paths = grown;
        (*paths)[(*count)++] = p;
    }
    closedir(d);
    if (*count == first)
        return nnb_sweep_fail(err, err_len, "%s: no shard-I-of-N.json files in this directory", dir);
    qsort(*paths + first, (size_t)(*count - first), sizeof **paths, cmp_str);
    return 0;
}

static void merge_help(void) {
    printf("usage: nnbench merge [flags] SHARD_FILE_OR_DIR...\n\n"
           "Merges the shard files of one sweep (a folder stands for its shard-I-of-N.json files) into\n"
           "DIR/sweep.json, sweep.csv, sweep.md and sweep.svg.\n\n"
           "flags (dash and underscore spellings are equivalent; -h is --help):\n");
    nnb_cmd_print_flag(stdout, 36, "--out", "DIR", "where the results go (default: the first input's folder; created)");
    nnb_cmd_print_flag(stdout, 36, "--plot-x", "NAME", "the axis along the plot's x (default: the first numeric one)");
    nnb_cmd_print_flag(stdout, 36, "--plot-y", "time|gflops", "the plot's y (default time)");
    nnb_cmd_print_flag(stdout, 36, "--plot-phase", "total|forward|backward", "the phase plotted (default total)");
    nnb_cmd_print_flag(stdout, 36, "--beside", "FILE", "nnbench --json-out results set beside the per-model roll-up");
    printf("\nExit status: 0 complete; 1 a shard, point or run is missing or failed (named; the rest written,\n"
           "marked incomplete); 2 bad command line, a path that does not exist, files of different sweeps,\n"
           "duplicate points. See docs/sweeps.md and docs/exit-codes.md.\n");
}

typedef struct merge_args {
    nnb_sweep_output_options oo;
    char **paths;
    int count;
    char out_buf[4096];
} merge_args;

/* The value slot of a merge flag (--out, --plot-x, --plot-y, --plot-phase), NULL for another flag. */
static const char *const merge_flags[] = {"--out", "--plot-x", "--plot-y", "--plot-phase", "--beside"};

static const char **merge_flag_slot(merge_args *a, const char *arg) {
    const char **slots[] = {&a->oo.out_dir, &a->oo.plot_x, &a->oo.plot_y, &a->oo.plot_phase, &a->oo.beside};
    for (int i = 0; i < 5; i++)
        if (nnb_cmd_flag_is(arg, merge_flags[i]))
            return slots[i];
    return NULL;
}

/* A path that is not there: a shard file of a folder that exists is a shard that never wrote its file (named
 * in the merge, exit 1); anything else is a mistyped path. 0, or -1 with err. */
static int check_missing(const char *path, char *err, size_t err_len) {
    char dir[4096];
    const char *slash = strrchr(path, '/');
    struct stat st;
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    if (is_shard_file_name(slash ? slash + 1 : path) && stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
        return 0;
    return nnb_sweep_fail(err, err_len,
                          "'%s' does not exist (give shard-I-of-N.json files or the folders that hold them)", path);
}

static int add_path(merge_args *a, const char *path, char *err, size_t err_len) {
    char **grown = realloc(a->paths, (size_t)(a->count + 1) * sizeof *grown);
    if (!grown)
        return nnb_sweep_fail(err, err_len, "out of memory");
    a->paths = grown;
    if (!(a->paths[a->count++] = nnb_sweep_strdup(path)))
        return nnb_sweep_fail(err, err_len, "out of memory");
    return 0;
}

static int parse_merge_args(int argc, char **argv, merge_args *a, char *err, size_t err_len) {
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (nnb_cmd_is_help(arg)) {
            merge_help();
            exit(NNB_EXIT_OK);
        }
        if (!strncmp(arg, "--", 2)) {
            const char *eq = strchr(arg, '=');
            size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
            const char **slot = merge_flag_slot(a, arg);
            if (!slot) {
                nnb_sweep_fail(err, err_len, "unknown flag '%.*s' (see nnbench merge --help)", (int)n, arg);
                nnb_cmd_append_suggestion(err, err_len, arg, merge_flags, 4);
                return -1;
            }
            *slot = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
            if (!*slot || !**slot)
                return nnb_sweep_fail(err, err_len, "%.*s needs a value", (int)n, arg);
            continue;
        }
        struct stat st;
        int rc = stat(arg, &st) == 0 && S_ISDIR(st.st_mode) ? add_dir(arg, &a->paths, &a->count, err, err_len)
                                                            : add_path(a, arg, err, err_len);
        if (rc)
            return -1;
    }
    if (a->oo.plot_y && strcmp(a->oo.plot_y, "time") && strcmp(a->oo.plot_y, "gflops"))
        return nnb_sweep_fail(err, err_len, "--plot-y: '%s' is not one of time, gflops", a->oo.plot_y);
    if (a->oo.plot_phase && strcmp(a->oo.plot_phase, "total") && strcmp(a->oo.plot_phase, "forward") &&
        strcmp(a->oo.plot_phase, "backward"))
        return nnb_sweep_fail(err, err_len, "--plot-phase: '%s' is not one of total, forward, backward",
                              a->oo.plot_phase);
    if (!a->count)
        return nnb_sweep_fail(err, err_len, "no shard files given (see nnbench merge --help)");
    for (int i = 0; i < a->count; i++) {
        struct stat st;
        if (stat(a->paths[i], &st) != 0 && check_missing(a->paths[i], err, err_len))
            return -1;
    }
    if (!a->oo.out_dir) {
        const char *slash = strrchr(a->paths[0], '/');
        snprintf(a->out_buf, sizeof a->out_buf, "%.*s", slash ? (int)(slash - a->paths[0]) : 1,
                 slash ? a->paths[0] : ".");
        a->oo.out_dir = a->out_buf;
    }
    return 0;
}

int nnb_merge_main(int argc, char **argv) {
    char err[1024];
    merge_args a;
    memset(&a, 0, sizeof a);
    int rc = parse_merge_args(argc, argv, &a, err, sizeof err) ? USAGE : 0;
    cJSON **docs = rc ? NULL : calloc((size_t)a.count, sizeof *docs);
    char **reasons = rc ? NULL : calloc((size_t)a.count, sizeof *reasons);
    if (!rc && (!docs || !reasons))
        rc = USAGE, snprintf(err, sizeof err, "out of memory");
    for (int i = 0; !rc && i < a.count; i++) {
        char msg[1024];
        size_t n;
        struct stat st;
        if (stat(a.paths[i], &st) != 0) { /* named as missing, never dropped in silence */
            reasons[i] = nnb_sweep_strdup(errno == ENOENT ? "not found (the shard never wrote it)" : strerror(errno));
            continue;
        }
        char *text = nnb_sweep_read_file(a.paths[i], &n, msg, sizeof msg);
        if (text && !(docs[i] = cJSON_Parse(text)))
            snprintf(msg, sizeof msg, "not valid JSON (a damaged shard file)");
        if (!docs[i])
            reasons[i] = nnb_sweep_strdup(msg);
        free(text);
    }
    cJSON *merged = NULL;
    if (!rc)
        rc = nnb_sweep_merge_docs(docs, (const char *const *)a.paths, (const char *const *)reasons, a.count, &merged,
                                  err, sizeof err);
    if (rc != USAGE && nnb_cmd_prepare_output("--out", a.oo.out_dir, 1, err, sizeof err) == 0 &&
        nnb_sweep_write_outputs(merged, &a.oo, err, sizeof err) == 0) {
        fprintf(stderr, "nnbench merge: wrote %s/sweep.json, sweep.csv, sweep.md, sweep.svg%s\n", a.oo.out_dir,
                rc ? " (incomplete: see above)" : "");
    } else if (rc != USAGE) {
        rc = USAGE;
    }
    if (rc == USAGE)
        fprintf(stderr, "nnbench merge: %s\n", err);
    for (int i = 0; i < a.count; i++) {
        if (docs)
            cJSON_Delete(docs[i]);
        if (reasons)
            free(reasons[i]);
        free(a.paths[i]);
    }
    free(docs), free(reasons), free(a.paths);
    cJSON_Delete(merged);
    return rc;
}
