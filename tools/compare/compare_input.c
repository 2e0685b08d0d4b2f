/*
 * Reading result files: the file itself (size-capped, pipes allowed), its JSON
 * (compare_json.c), then full JSON or OSS JSON validated field by field so a bad
 * file is named precisely instead of compared wrongly; sweep and serve files go
 * to their own readers (compare_sweep.c, compare_serve.c).
 */
#define _POSIX_C_SOURCE 200809L
#include "compare_internal.h"
#include "robust_stats.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- Small helpers ------------------------------------------------------------- */

static char *copy_string(const char *s) {
    size_t n = strlen(s) + 1;
    char *c = malloc(n);
    if (c)
        memcpy(c, s, n);
    return c;
}

static void format_error(char *err, size_t err_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Messages are one line: control characters (from names in the file) become '?'. */
static void format_error(char *err, size_t err_len, const char *fmt, ...) {
    if (!err || !err_len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
    for (char *c = err; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
}

const char *nnb_cmp_kind_name(nnb_cmp_kind kind) {
    static const char *const names[] = {"nnbench full JSON", "fastrnns OSS JSON", "nnbench sweep file",
                                        "nnbench serve file"};
    return names[kind];
}

const char *nnb_cmp_phase_name(int phase) { return phase == NNB_CMP_BACKWARD ? "backward" : "forward"; }

/* ---- Reading the file ------------------------------------------------------------ */

/* Reads all of fd into a fresh buffer; size_hint is the expected length (0: unknown, e.g. a pipe). */
static int read_all(int fd, const char *path, size_t size_hint, char **text, size_t *len, char *err, size_t err_len) {
    size_t cap = size_hint ? size_hint + 1 : 65536, used = 0;
    char *buf = malloc(cap);
    if (!buf) {
        format_error(err, err_len, "%s: out of memory reading %zu bytes", path, cap);
        return -1;
    }
    for (;;) {
        if (used == cap) {
            size_t bigger = cap * 2 > NNB_CMP_MAX_FILE_BYTES + 1 ? NNB_CMP_MAX_FILE_BYTES + 1 : cap * 2;
            char *grown = bigger > cap ? realloc(buf, bigger) : NULL;
            if (!grown) {
                free(buf);
                format_error(err, err_len, "%s: more than %u MiB (the limit), or out of memory", path,
                             NNB_CMP_MAX_FILE_BYTES >> 20);
                return -1;
            }
            buf = grown, cap = bigger;
        }
        ssize_t n = read(fd, buf + used, cap - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            format_error(err, err_len, "%s: cannot read: %s", path, strerror(errno));
            free(buf);
            return -1;
        }
        if (n == 0)
            break;
        used += (size_t)n;
        if (used > NNB_CMP_MAX_FILE_BYTES) { /* a pipe or a file that grew while read */
            format_error(err, err_len, "%s: more than %u MiB (the limit)", path, NNB_CMP_MAX_FILE_BYTES >> 20);
            free(buf);
            return -1;
        }
    }
    if (used == cap) { /* room for the NUL that cJSON needs */
        char *grown = realloc(buf, cap + 1);
        if (!grown) {
            free(buf);
            format_error(err, err_len, "%s: out of memory", path);
            return -1;
        }
        buf = grown;
    }
    buf[used] = '\0';
    *text = buf;
    *len = used;
    return 0;
}

static int read_file(const char *path, char **text, size_t *len, char *err, size_t err_len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        format_error(err, err_len, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    int rc = -1;
    if (fstat(fd, &st) != 0)
        format_error(err, err_len, "%s: cannot stat: %s", path, strerror(errno));
    else if (S_ISDIR(st.st_mode))
        format_error(err, err_len, "%s: is a directory, expected a results file", path);
    else if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > NNB_CMP_MAX_FILE_BYTES)
        format_error(err, err_len, "%s: %jd bytes, more than the %u MiB limit for a results file", path,
                     (intmax_t)st.st_size, NNB_CMP_MAX_FILE_BYTES >> 20);
    else
        rc = read_all(fd, path, S_ISREG(st.st_mode) ? (size_t)st.st_size : 0, text, len, err, err_len);
    close(fd);
    if (rc == 0 && *len == 0) {
        format_error(err, err_len, "%s: empty file, expected nnbench full JSON or fastrnns OSS JSON", path);
        free(*text);
        rc = -1;
    }
    return rc;
}

/* ---- Building the runner list ----------------------------------------------------- */

typedef struct parser {
    const char *name; /* file name for messages */
    nnb_cmp_file *out;
    int capacity;
    char *err;
    size_t err_len;
} parser;

static int fail(parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(parser *p, const char *fmt, ...) {
    char what[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    format_error(p->err, p->err_len, "%s: %s", p->name, what);
    return -1;
}

static const char *json_type_name(const cJSON *j) {
    if (!j)
        return "missing";
    if (cJSON_IsNull(j))
        return "null";
    if (cJSON_IsBool(j))
        return "a boolean";
    if (cJSON_IsNumber(j))
        return "a number";
    if (cJSON_IsString(j))
        return "a string";
    if (cJSON_IsArray(j))
        return "an array";
    return "an object";
}

static nnb_cmp_runner *find_runner(nnb_cmp_file *f, const char *group, const char *name) {
    for (int i = 0; i < f->runner_count; i++)
        if (strcmp(f->runners[i].group, group) == 0 && strcmp(f->runners[i].name, name) == 0)
            return &f->runners[i];
    return NULL;
}

static nnb_cmp_runner *add_runner(parser *p, const char *group, const char *name, const char *status) {
    nnb_cmp_file *f = p->out;
    if (f->runner_count == p->capacity) {
        int bigger = p->capacity ? p->capacity * 2 : 16;
        nnb_cmp_runner *grown = realloc(f->runners, sizeof *grown * (size_t)bigger);
        if (!grown)
            return NULL;
        f->runners = grown, p->capacity = bigger;
    }
    nnb_cmp_runner *r = &f->runners[f->runner_count];
    memset(r, 0, sizeof *r);
    for (int ph = 0; ph < NNB_CMP_PHASES; ph++)
        r->phase[ph].time_ms = NAN;
    r->group = copy_string(group);
    r->name = copy_string(name);
    r->status = copy_string(status);
    f->runner_count++; /* counted now so nnb_cmp_file_free releases it even half-made */
    return r->group && r->name && r->status ? r : NULL;
}

/* A time in ms: 0 when positive, 1 when zero (below a timer's resolution, e.g.
 * CUDA events' half microsecond: not an error, but no ratio can be taken), -1
 * (error) when negative or not finite, which no timer gives. */
static int check_time(parser *p, const char *where, double ms) {
    if (!isfinite(ms))
        return fail(p, "%s: %g is not a finite time", where, ms);
    if (ms < 0)
        return fail(p, "%s: %g ms is a negative time", where, ms);
    return ms == 0;
}

/* cJSON keeps every copy of a repeated key; lookups would see only the first. */
static int key_seen_before(const cJSON *first, const cJSON *item) {
    for (const cJSON *k = first; k != item; k = k->next)
        if (strcmp(k->string, item->string) == 0)
            return 1;
    return 0;
}

/* ---- nnbench full JSON ----------------------------------------------------------------- */

/* A number of ms or null (NaN); absent is null too. *zero tells a zero time. */
static int optional_time(parser *p, const char *where, const cJSON *obj, const char *key, double *ms, int *zero) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *ms = NAN;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsNumber(v))
        return fail(p, "%s.%s: expected a number of ms or null, got %s", where, key, json_type_name(v));
    char at[640];
    snprintf(at, sizeof at, "%s.%s", where, key);
    *ms = v->valuedouble;
    *zero = check_time(p, at, *ms);
    return *zero < 0 ? -1 : 0;
}

/* samples_ms: numbers, null entries (NaN samples) skipped. */
static int read_samples(parser *p, const char *where, const cJSON *samples, nnb_cmp_phase *ph) {
    if (!samples || cJSON_IsNull(samples))
        return 0;
    if (!cJSON_IsArray(samples))
        return fail(p, "%s.samples_ms: expected an array of numbers, got %s", where, json_type_name(samples));
    int n = cJSON_GetArraySize(samples);
    ph->samples = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    if (!ph->samples)
        return fail(p, "%s.samples_ms: out of memory for %d samples", where, n);
    int i = 0;
    for (const cJSON *s = samples->child; s; s = s->next, i++) {
        char at[640];
        snprintf(at, sizeof at, "%s.samples_ms[%d]", where, i);
        if (cJSON_IsNull(s))
            continue;
        if (!cJSON_IsNumber(s))
            return fail(p, "%s: expected a number of ms or null, got %s", at, json_type_name(s));
        int zero = check_time(p, at, s->valuedouble);
        if (zero < 0)
            return -1;
        ph->zero_time |= zero;
        ph->samples[ph->sample_count++] = s->valuedouble;
    }
    return 0;
}

static int read_full_phase(parser *p, const char *runner_where, const cJSON *runner, int phase, nnb_cmp_phase *ph) {
    const char *key = nnb_cmp_phase_name(phase);
    const cJSON *obj = cJSON_GetObjectItemCaseSensitive(runner, key);
    if (!obj || cJSON_IsNull(obj))
        return 0; /* never ran, or no backward */
    char where[600];
    snprintf(where, sizeof where, "%s.%s", runner_where, key);
    if (!cJSON_IsObject(obj))
        return fail(p, "%s: expected a phase object or null, got %s", where, json_type_name(obj));
    double median_ms;
    int zero_median = 0;
    if (optional_time(p, where, obj, "median_ms", &median_ms, &zero_median) ||
        read_samples(p, where, cJSON_GetObjectItemCaseSensitive(obj, "samples_ms"), ph))
        return -1;
    ph->present = 1;
    ph->zero_time |= zero_median && ph->sample_count == 0; /* median_ms counts only without samples */
    if (ph->zero_time) {                                   /* no ratio, no bootstrap: the phase stays, without a time */
        free(ph->samples);
        ph->samples = NULL;
        ph->sample_count = 0;
        return 0;
    }
    /* The median of what is here, so the time and the bootstrap see the same samples. */
    ph->time_ms = ph->sample_count ? nnb_median_of(ph->samples, ph->sample_count) : median_ms;
    return 0;
}

static const char *required_string(const cJSON *obj, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

static int read_full_runner(parser *p, const char *group, int index, const cJSON *obj) {
    char where[512];
    snprintf(where, sizeof where, "groups.%s[%d]", group, index);
    if (!cJSON_IsObject(obj))
        return fail(p, "%s: expected a runner object, got %s", where, json_type_name(obj));
    const char *name = required_string(obj, "name"), *status = required_string(obj, "status");
    if (!name || !name[0])
        return fail(p, "%s: expected \"name\": a non-empty string", where);
    snprintf(where, sizeof where, "groups.%s[%d] (\"%s\")", group, index, name);
    if (!status)
        return fail(p, "%s: expected \"status\": a string such as \"ok\"", where);
    if (find_runner(p->out, group, name))
        return fail(p, "%s: duplicate runner \"%s\" in group %s", where, name, group);
    nnb_cmp_runner *r = add_runner(p, group, name, status);
    if (!r)
        return fail(p, "out of memory");
    if (strcmp(status, "ok") != 0)
        return 0; /* failed, skipped, check_failed: no usable times */
    for (int ph = 0; ph < NNB_CMP_PHASES; ph++)
        if (read_full_phase(p, where, obj, ph, &r->phase[ph]))
            return -1;
    return 0;
}

static int read_full_json(parser *p, const cJSON *root) {
    const cJSON *schema = cJSON_GetObjectItemCaseSensitive(root, "schema");
    if (!cJSON_IsString(schema) || strcmp(schema->valuestring, "nnbench-results") != 0)
        return fail(p,
                    "\"schema\" is %s%s%s, expected \"nnbench-results\" (nnbench full JSON, docs/json-schema.md), "
                    "\"nnbench-sweep\" or \"nnbench-serve\"",
                    cJSON_IsString(schema) ? "\"" : json_type_name(schema),
                    cJSON_IsString(schema) ? schema->valuestring : "", cJSON_IsString(schema) ? "\"" : "");
    p->out->kind = NNB_CMP_FULL_JSON;
    const cJSON *groups = cJSON_GetObjectItemCaseSensitive(root, "groups");
    if (!cJSON_IsObject(groups))
        return fail(p,
                    "nnbench full JSON needs \"groups\": an object of group name -> array of runners "
                    "(docs/json-schema.md); it is %s",
                    json_type_name(groups));
    for (const cJSON *g = groups->child; g; g = g->next) {
        if (!cJSON_IsArray(g))
            return fail(p, "groups.%s: expected an array of runner objects, got %s", g->string, json_type_name(g));
        if (key_seen_before(groups->child, g))
            return fail(p, "groups: duplicate group \"%s\"", g->string);
        int i = 0;
        for (const cJSON *r = g->child; r; r = r->next, i++)
            if (read_full_runner(p, g->string, i, r))
                return -1;
    }
    return 0;
}

/* ---- fastrnns OSS JSON ------------------------------------------------------------------- */

/* OSS keys of the nnbench groups (reporting/names.c has the driver's copy). */
static const struct {
    const char *group, *oss_key;
} GROUP_KEYS[] = {{"rnns", "lstm"}, {"cnns", "resnet"}, {"vl_rnns", "vl_lstm"}};

static const char *group_of_oss_key(const char *key) {
    for (size_t i = 0; i < sizeof GROUP_KEYS / sizeof GROUP_KEYS[0]; i++)
        if (strcmp(GROUP_KEYS[i].oss_key, key) == 0)
            return GROUP_KEYS[i].group;
    return key; /* a group nnbench-compare does not know: named by its key */
}

static const char OSS_SHAPE[] =
    "expected nnbench full JSON (\"schema\": \"nnbench-results\"), a sweep or serve file, or fastrnns OSS JSON "
    "({\"lstm\": {\"<runner>\": <mean ms>, ...}, \"lstm-backward\": {...}, ...})";

static int read_oss_value(parser *p, const char *key, const char *group, int phase, const cJSON *v) {
    if (!v->string[0])
        return fail(p, "\"%s\": a runner with an empty name", key);
    double ms = NAN;
    int zero = 0;
    if (cJSON_IsNumber(v)) {
        char at[600];
        snprintf(at, sizeof at, "\"%s\".\"%s\"", key, v->string);
        ms = v->valuedouble;
        if ((zero = check_time(p, at, ms)) < 0)
            return -1;
    } else if (!cJSON_IsNull(v)) { /* nnbench writes a NaN mean as null */
        return fail(p, "\"%s\".\"%s\": expected a mean in ms (a number) or null, got %s", key, v->string,
                    json_type_name(v));
    }
    nnb_cmp_runner *r = find_runner(p->out, group, v->string);
    if (!r && !(r = add_runner(p, group, v->string, "ok")))
        return fail(p, "out of memory");
    if (r->phase[phase].present)
        return fail(p, "\"%s\": duplicate runner \"%s\"", key, v->string);
    r->phase[phase].present = 1;
    r->phase[phase].zero_time = zero;
    r->phase[phase].time_ms = zero ? NAN : ms;
    return 0;
}

static int read_oss_json(parser *p, const cJSON *root) {
    p->out->kind = NNB_CMP_OSS_JSON;
    if (!root->child)
        return fail(p, "an empty JSON object: %s", OSS_SHAPE);
    if (cJSON_GetObjectItemCaseSensitive(root, "groups"))
        return fail(p, "has \"groups\" but no \"schema\": \"nnbench-results\": %s", OSS_SHAPE);
    for (const cJSON *k = root->child; k; k = k->next) {
        if (!cJSON_IsObject(k))
            return fail(p, "\"%s\" is %s: %s", k->string, json_type_name(k), OSS_SHAPE);
        if (key_seen_before(root->child, k))
            return fail(p, "duplicate key \"%s\"", k->string);
        size_t len = strlen(k->string), suffix = strlen("-backward");
        int backward = len >= suffix && strcmp(k->string + len - suffix, "-backward") == 0;
        char group_key[512];
        snprintf(group_key, sizeof group_key, "%.*s", (int)(backward ? len - suffix : len), k->string);
        if (!group_key[0])
            return fail(p, "key \"%s\" names no group", k->string);
        const char *group = group_of_oss_key(group_key);
        for (const cJSON *v = k->child; v; v = v->next)
            if (read_oss_value(p, k->string, group, backward ? NNB_CMP_BACKWARD : NNB_CMP_FORWARD, v))
                return -1;
    }
    return 0;
}

/* ---- Entry points ------------------------------------------------------------------------- */

void nnb_cmp_file_free(nnb_cmp_file *f) {
    if (!f)
        return;
    for (int i = 0; i < f->runner_count; i++) {
        nnb_cmp_runner *r = &f->runners[i];
        free(r->point);
        free(r->group);
        free(r->name);
        free(r->status);
        for (int ph = 0; ph < NNB_CMP_PHASES; ph++)
            free(r->phase[ph].samples);
    }
    free(f->runners);
    free(f->path);
    nnb_cmp_config_free(f);
    nnb_cmp_serve_free(f);
    memset(f, 0, sizeof *f);
}

/* Sweep and serve files have their own readers; full JSON brings its configuration. */
static int read_any(parser *p, const cJSON *root) {
    const char *schema = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "schema"));
    if (schema && strcmp(schema, "nnbench-sweep") == 0)
        return nnb_cmp_read_sweep(root, p->name, p->out, p->err, p->err_len);
    if (schema && strcmp(schema, "nnbench-serve") == 0)
        return nnb_cmp_read_serve(root, p->name, p->out, p->err, p->err_len);
    if (!cJSON_GetObjectItemCaseSensitive(root, "schema"))
        return read_oss_json(p, root);
    return read_full_json(p, root) || nnb_cmp_read_config(root, p->out, p->err, p->err_len) ? -1 : 0;
}

int nnb_cmp_read_full_root(const cJSON *root, const char *name, nnb_cmp_file *out, char *err, size_t err_len) {
    memset(out, 0, sizeof *out);
    parser p = {name, out, 0, err, err_len};
    int rc = cJSON_IsObject(root) ? read_full_json(&p, root)
                                  : fail(&p, "expected nnbench full JSON (an object), got %s", json_type_name(root));
    if (rc)
        nnb_cmp_file_free(out);
    return rc;
}

void nnb_cmp_errorf(char *err, size_t err_len, const char *fmt, ...) {
    char what[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    format_error(err, err_len, "%s", what);
}

char *nnb_cmp_strdup(const char *s) { return copy_string(s); }

const char *nnb_cmp_json_type(const cJSON *j) { return json_type_name(j); }

/* text is NUL-terminated at text[len], as cJSON needs. */
static int parse_terminated(const char *text, size_t len, const char *name, nnb_cmp_file *out, char *err,
                            size_t err_len) {
    memset(out, 0, sizeof *out);
    cJSON *root = nnb_cmp_parse_json(name, text, len, err, err_len);
    parser p = {name, out, 0, err, err_len};
    int rc = -1;
    if (root && !cJSON_IsObject(root))
        fail(&p, "the JSON value is %s: %s", json_type_name(root), OSS_SHAPE);
    else if (root)
        rc = read_any(&p, root);
    if (rc == 0 && !(out->path = copy_string(name)))
        rc = fail(&p, "out of memory");
    cJSON_Delete(root);
    if (rc)
        nnb_cmp_file_free(out);
    return rc;
}

int nnb_cmp_parse(const char *text, size_t len, const char *name, nnb_cmp_file *out, char *err, size_t err_len) {
    memset(out, 0, sizeof *out);
    char *copy = malloc(len + 1);
    if (!copy) {
        format_error(err, err_len, "%s: out of memory", name);
        return -1;
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    int rc = parse_terminated(copy, len, name, out, err, err_len);
    free(copy);
    return rc;
}

int nnb_cmp_load(const char *path, nnb_cmp_file *out, char *err, size_t err_len) {
    memset(out, 0, sizeof *out);
    char *text = NULL;
    size_t len = 0;
    if (read_file(path, &text, &len, err, err_len))
        return -1;
    int rc = parse_terminated(text, len, path, out, err, err_len);
    free(text);
    return rc;
}
