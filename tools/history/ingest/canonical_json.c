/* Canonical JSON: object keys sorted (byte order), no blanks, numbers in their shortest exact form. The
 * same settings give the same text whatever order a writer used, so a series key is stable. */
#include "ingest_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct text {
    char *data;
    size_t len, cap;
    int failed;
} text;

static void put(text *t, const char *s, size_t n) {
    if (t->failed)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = (t->cap ? t->cap * 2 : 256) + n;
        char *grown = realloc(t->data, cap);
        if (!grown) {
            t->failed = 1;
            return;
        }
        t->data = grown, t->cap = cap;
    }
    memcpy(t->data + t->len, s, n);
    t->len += n;
    t->data[t->len] = '\0';
}
static void puts_text(text *t, const char *s) { put(t, s, strlen(s)); }

/* Integers as integers; others with the fewest digits that read back exactly; NaN/inf as null. */
static void put_number(text *t, double x) {
    char buf[40];
    if (!isfinite(x))
        snprintf(buf, sizeof buf, "null");
    else if (x == floor(x) && fabs(x) < 9007199254740992.0)
        snprintf(buf, sizeof buf, "%.0f", x);
    else
        for (int digits = 15; digits <= 17; digits++) {
            snprintf(buf, sizeof buf, "%.*g", digits, x);
            if (strtod(buf, NULL) == x)
                break;
        }
    puts_text(t, buf);
}

static void put_string(text *t, const char *s) {
    put(t, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        if (*p == '"' || *p == '\\')
            snprintf(esc, sizeof esc, "\\%c", *p);
        else if (*p < 0x20)
            snprintf(esc, sizeof esc, "\\u%04x", *p);
        else
            esc[0] = (char)*p, esc[1] = '\0';
        puts_text(t, esc);
    }
    put(t, "\"", 1);
}

static int by_key(const void *a, const void *b) {
    return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

static void put_item(text *t, const cJSON *item);

static void put_object(text *t, const cJSON *obj) {
    int n = cJSON_GetArraySize(obj), i = 0;
    const cJSON **members = malloc(sizeof *members * (size_t)(n ? n : 1));
    if (!members) {
        t->failed = 1;
        return;
    }
    for (const cJSON *m = obj->child; m; m = m->next)
        members[i++] = m;
    qsort(members, (size_t)n, sizeof *members, by_key);
    put(t, "{", 1);
    for (i = 0; i < n; i++) {
        if (i)
            put(t, ",", 1);
        put_string(t, members[i]->string);
        put(t, ":", 1);
        put_item(t, members[i]);
    }
    put(t, "}", 1);
    free(members);
}

static void put_item(text *t, const cJSON *item) {
    if (cJSON_IsObject(item))
        put_object(t, item);
    else if (cJSON_IsArray(item)) {
        put(t, "[", 1);
        for (const cJSON *e = item->child; e; e = e->next) {
            put_item(t, e);
            if (e->next)
                put(t, ",", 1);
        }
        put(t, "]", 1);
    } else if (cJSON_IsString(item))
        put_string(t, item->valuestring);
    else if (cJSON_IsNumber(item))
        put_number(t, item->valuedouble);
    else if (cJSON_IsBool(item))
        puts_text(t, cJSON_IsTrue(item) ? "true" : "false");
    else
        puts_text(t, "null");
}

char *nnb_canonical_json(const cJSON *item) {
    text t = {0};
    put_item(&t, item);
    if (t.failed) {
        free(t.data);
        return NULL;
    }
    return t.data;
}
