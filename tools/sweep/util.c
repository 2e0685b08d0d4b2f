/* Small helpers of the sweep: messages, strings, files, hashes, time. */
#define _GNU_SOURCE
#include "sweep_internal.h"

#include "report.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int nnb_sweep_fail(char *err, size_t err_len, const char *fmt, ...) {
    if (err && err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

char *nnb_sweep_strdup(const char *s) { return s ? strdup(s) : NULL; }

uint64_t nnb_sweep_hash(uint64_t h, const void *data, size_t len) {
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

char *nnb_sweep_read_file(const char *path, size_t *len, char *err, size_t err_len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        nnb_sweep_fail(err, err_len, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1)
            break;
        if (cap > ((size_t)1 << 30)) { /* 1 GiB: no sweep file is that large */
            free(buf);
            buf = NULL;
            break;
        }
        char *grown = realloc(buf, cap * 2);
        if (!grown) {
            free(buf);
            buf = NULL;
        }
        buf = grown;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        nnb_sweep_fail(err, err_len, "%s: %s", path, bad ? "read error" : "too large or out of memory");
        return NULL;
    }
    buf[n] = 0;
    if (len)
        *len = n;
    return buf;
}

char *nnb_sweep_settings_label(const nnb_sweep_setting *s, int n) {
    size_t cap = 1;
    for (int i = 0; i < n; i++)
        cap += strlen(s[i].key) + strlen(s[i].value) + 2;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t used = 0;
    out[0] = 0;
    for (int i = 0; i < n; i++)
        used += (size_t)snprintf(out + used, cap - used, "%s%s=%s", i ? " " : "", s[i].key, s[i].value);
    return out;
}

int nnb_sweep_make_dir(const char *dir, char *err, size_t err_len) {
    struct stat st;
    if (stat(dir, &st) == 0)
        return S_ISDIR(st.st_mode) ? 0 : nnb_sweep_fail(err, err_len, "'%s' exists and is not a directory", dir);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return nnb_sweep_fail(err, err_len, "cannot create directory '%s': %s", dir, strerror(errno));
    return 0;
}

void nnb_sweep_utc_now(char *buf, size_t len) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int nnb_sweep_write_json(const char *path, const cJSON *doc, char *err, size_t err_len) {
    char *text = cJSON_Print(doc);
    if (!text)
        return nnb_sweep_fail(err, err_len, "cannot write '%s': out of memory", path);
    size_t n = strlen(text);
    char *with_newline = realloc(text, n + 1);
    if (!with_newline) {
        free(text);
        return nnb_sweep_fail(err, err_len, "cannot write '%s': out of memory", path);
    }
    with_newline[n] = '\n';
    int rc = nnb_write_file_atomic(path, with_newline, n + 1, err, err_len);
    free(with_newline);
    return rc;
}

void nnb_sweep_shard_name(char *buf, size_t len, int i, int n) { snprintf(buf, len, "shard-%d-of-%d.json", i, n); }
