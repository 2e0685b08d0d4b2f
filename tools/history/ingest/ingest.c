/* Reading a result file: the bytes, their SHA-256, the format from the content, then the format's reader;
 * the commit and date from the options over the file's own (its mtime as the last resort, noted). */
#define _GNU_SOURCE
#include "ingest_internal.h"
#include "sha256.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

const char NNB_INGEST_FORMATS[] =
    "nnbench full JSON (--json-out), sweep.json, serve JSON (nnbench serve --json-out), fastrnns OSS JSON "
    "(--print-json oss), pytest-benchmark JSON, history export";

/* ---- The builder ------------------------------------------------------------------------------------ */

int ib_fail(ingest_builder *b, const char *fmt, ...) {
    if (b->err && b->err_len) {
        int n = snprintf(b->err, b->err_len, "%s: ", b->path);
        va_list ap;
        va_start(ap, fmt);
        if (n >= 0 && (size_t)n < b->err_len)
            vsnprintf(b->err + n, b->err_len - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void ib_note(ingest_builder *b, const char *fmt, ...) {
    size_t used = strlen(b->notes);
    if (used + 2 >= sizeof b->notes)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->notes + used, sizeof b->notes - used - 1, fmt, ap);
    va_end(ap);
    strcat(b->notes, "\n");
}

static void *own(ingest_builder *b, void *p) {
    if (!p)
        return NULL;
    if (b->owned_count == b->owned_cap) {
        int cap = b->owned_cap ? 2 * b->owned_cap : 64;
        void **grown = realloc(b->owned, sizeof *grown * (size_t)cap);
        if (!grown) {
            free(p);
            return NULL;
        }
        b->owned = grown, b->owned_cap = cap;
    }
    return b->owned[b->owned_count++] = p;
}

const char *ib_strdup(ingest_builder *b, const char *s) { return s ? own(b, strdup(s)) : NULL; }

const char *ib_canonical(ingest_builder *b, const cJSON *item) { return own(b, nnb_canonical_json(item)); }

const char *ib_string(const cJSON *obj, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

int ib_add_run(ingest_builder *b, const char *machine, const char *runner, const char *phase, const char *config,
               const char *unit, int higher_is_better, double value, const double *samples, int n) {
    if (b->run_count == b->run_cap) {
        int cap = b->run_cap ? 2 * b->run_cap : 16;
        nnb_store_run *grown = realloc(b->runs, sizeof *grown * (size_t)cap);
        if (!grown)
            return ib_fail(b, "out of memory");
        b->runs = grown, b->run_cap = cap;
    }
    double *copy = NULL;
    if (n > 0 && !(copy = own(b, malloc(sizeof *copy * (size_t)n))))
        return ib_fail(b, "out of memory");
    if (n > 0)
        memcpy(copy, samples, sizeof *copy * (size_t)n);
    nnb_store_run *r = &b->runs[b->run_count++];
    *r = (nnb_store_run){ib_strdup(b, machine),
                         ib_strdup(b, runner),
                         ib_strdup(b, phase),
                         ib_strdup(b, config),
                         ib_strdup(b, unit),
                         higher_is_better,
                         value,
                         copy,
                         n};
    if (!r->machine || !r->runner || !r->phase || !r->config || !r->unit)
        return ib_fail(b, "out of memory");
    return 0;
}

int ib_finish_file(ingest_builder *b, const char *sha256, const char *format, const char *commit, const char *date,
                   const char *label, const char *provenance) {
    if (b->file_count == b->file_cap) {
        int cap = b->file_cap ? 2 * b->file_cap : 4;
        nnb_store_file *grown = realloc(b->files, sizeof *grown * (size_t)cap);
        if (!grown)
            return ib_fail(b, "out of memory");
        b->files = grown, b->file_cap = cap;
    }
    nnb_store_run *runs = b->runs;
    if (runs && !own(b, runs))
        return ib_fail(b, "out of memory");
    b->files[b->file_count++] =
        (nnb_store_file){ib_strdup(b, sha256), ib_strdup(b, b->path), ib_strdup(b, format),     ib_strdup(b, commit),
                         ib_strdup(b, date),   ib_strdup(b, label),   ib_strdup(b, provenance), runs,
                         b->run_count};
    b->runs = NULL, b->run_count = b->run_cap = 0;
    return 0;
}

/* ---- Dates -------------------------------------------------------------------------------------------- */

int nnb_ingest_normalize_date(const char *text, char out[21]) {
    int y, mo, d, h = 0, mi = 0, s = 0, used = 0;
    if (!text || sscanf(text, "%4d-%2d-%2d%n", &y, &mo, &d, &used) != 3 || used != 10)
        return -1;
    const char *p = text + used;
    if (*p == 'T' || *p == ' ') {
        int n = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &h, &mi, &n) != 2 || n != 5)
            return -1;
        p += 1 + n;
        if (*p == ':') {
            if (sscanf(p + 1, "%2d%n", &s, &n) != 1 || n != 2)
                return -1;
            p += 1 + n;
            if (*p == '.' || *p == ',')
                for (p++; *p >= '0' && *p <= '9'; p++)
                    ;
        }
    }
    long offset = 0;
    if (*p == 'Z')
        p++;
    else if (*p == '+' || *p == '-') {
        int oh, om = 0, n = 0;
        if (sscanf(p + 1, "%2d%n", &oh, &n) != 1 || n != 2)
            return -1;
        const char *q = p + 3;
        if (*q == ':')
            q++;
        if (*q && (sscanf(q, "%2d%n", &om, &n) != 1 || n != 2))
            return -1;
        offset = (*p == '-' ? -1 : 1) * (oh * 3600L + om * 60L);
        p = *q ? q + 2 : q;
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = s};
    time_t local = timegm(&tm), t = local - offset;
    struct tm check, utc;
    if (!gmtime_r(&local, &check) || check.tm_mday != d || !gmtime_r(&t, &utc)) /* 2026-02-31 rolls over */
        return -1;
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return 0;
}

/* ---- Detection and the whole ------------------------------------------------------------------------- */

typedef int (*reader)(ingest_builder *b, const cJSON *root);
static int read_nnbench(ingest_builder *b, const cJSON *root) { return ingest_nnbench(b, root, NULL); }
static int read_serve(ingest_builder *b, const cJSON *root) { return ingest_serve(b, root, NULL); }

static const char *detect(const cJSON *root, reader *read) {
    const char *schema = ib_string(root, "schema");
    static const struct {
        const char *schema, *format;
        reader read;
    } schemas[] = {{"nnbench-results", "nnbench", read_nnbench},
                   {"nnbench-sweep", "sweep", ingest_sweep},
                   {"nnbench-serve", "serve", read_serve},
                   {NNB_EXPORT_SCHEMA, "history-export", ingest_export}};
    for (size_t i = 0; schema && i < sizeof schemas / sizeof *schemas; i++)
        if (!strcmp(schema, schemas[i].schema))
            return *read = schemas[i].read, schemas[i].format;
    if (cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(root, "benchmarks")) &&
        cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(root, "machine_info")))
        return *read = ingest_pytest_benchmark, "pytest-benchmark";
    if (!schema && ingest_is_fastrnns_oss(root))
        return *read = ingest_fastrnns_oss, "fastrnns-oss";
    return NULL;
}

static void release(ingest_builder *b) {
    for (int i = 0; i < b->owned_count; i++)
        free(b->owned[i]);
    free(b->owned);
    free(b->runs);
    free(b->files);
    cJSON_Delete(b->provenance);
}

void nnb_ingest_free(nnb_ingest_result *r) {
    if (!r)
        return;
    ingest_builder *b = r->owned;
    if (b) {
        release(b);
        free(b);
    }
    free(r);
}

/* The one file of a single-file format: commit and date by precedence, provenance with the sha256. */
static int finish_single(ingest_builder *b, const char *sha, const char *format, long long mtime) {
    const char *commit = b->opt->commit ? b->opt->commit : b->file_commit;
    char date[21];
    const char *given = b->opt->date ? b->opt->date : b->file_date;
    if (given && nnb_ingest_normalize_date(given, date))
        return ib_fail(b, "the date '%s' is not ISO-8601 (give --date YYYY-MM-DDTHH:MM:SSZ)", given);
    if (!given) {
        time_t t = (time_t)mtime;
        struct tm utc;
        gmtime_r(&t, &utc);
        strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &utc);
        ib_note(b, "%s: no date in the file: using its modification time %s (give --date to set it)", b->path, date);
    }
    if (!b->provenance)
        b->provenance = cJSON_CreateObject();
    cJSON_DeleteItemFromObjectCaseSensitive(b->provenance, "sha256");
    cJSON_AddStringToObject(b->provenance, "sha256", sha);
    const char *prov = ib_canonical(b, b->provenance);
    if (!prov)
        return ib_fail(b, "out of memory");
    if (b->run_count == 0)
        return ib_fail(b, "no measured run in the file (every runner failed or was skipped?): nothing to add");
    return ib_finish_file(b, sha, format, commit, date, b->opt->label, prov);
}

int nnb_ingest_text(const char *path, const char *text, size_t len, long long mtime, const nnb_ingest_options *opt,
                    nnb_ingest_result **out, char *err, size_t err_len) {
    static const nnb_ingest_options none = {0};
    *out = NULL;
    ingest_builder *b = calloc(1, sizeof *b);
    nnb_ingest_result *r = calloc(1, sizeof *r);
    if (!b || !r) {
        free(b), free(r);
        snprintf(err, err_len, "%s: out of memory", path);
        return -1;
    }
    *b = (ingest_builder){.path = path, .opt = opt ? opt : &none, .err = err, .err_len = err_len};
    r->owned = b;
    int rc = -1;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    reader read = NULL;
    if (!root) {
        size_t at = end ? (size_t)(end - text) : 0;
        if (len == 0)
            ib_fail(b, "the file is empty (formats: %s)", NNB_INGEST_FORMATS);
        else
            ib_fail(b, "not valid JSON (damaged or truncated? the text stops making sense at byte %zu of %zu)", at,
                    len);
    } else if (!(r->format = detect(root, &read))) {
        ib_fail(b, "unknown format: not one of %s (docs/history.md)", NNB_INGEST_FORMATS);
    } else if (read(b, root) == 0) {
        if (b->opt->unit && read != ingest_fastrnns_oss)
            ib_note(b, "%s: --unit applies to fastrnns OSS JSON only: this %s file's times carry their unit", path,
                    r->format);
        char sha[65];
        nnb_sha256_hex(text, len, sha);
        rc = read == ingest_export ? 0 : finish_single(b, sha, r->format, mtime);
    }
    cJSON_Delete(root);
    r->files = b->files, r->file_count = b->file_count;
    snprintf(r->notes, sizeof r->notes, "%s", b->notes);
    if (rc) {
        nnb_ingest_free(r);
        return -1;
    }
    *out = r;
    return 0;
}

int nnb_ingest_file(const char *path, const nnb_ingest_options *opt, nnb_ingest_result **out, char *err,
                    size_t err_len) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0) {
        snprintf(err, err_len, "%s: cannot read: %s", path, strerror(errno));
        if (f)
            fclose(f);
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        fclose(f);
        snprintf(err, err_len, "%s: is a folder (give the result files in it)", path);
        return -1;
    }
    char *text = malloc((size_t)st.st_size + 1);
    size_t len = text ? fread(text, 1, (size_t)st.st_size, f) : 0;
    int bad = !text || ferror(f);
    fclose(f);
    if (bad) {
        free(text);
        snprintf(err, err_len, "%s: cannot read: %s", path, text ? "read error" : "out of memory");
        return -1;
    }
    int rc = nnb_ingest_text(path, text, len, (long long)st.st_mtime, opt, out, err, err_len);
    free(text);
    return rc;
}
