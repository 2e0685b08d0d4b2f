/* One self-contained page: escaped HTML, the charts' JSON, Chart.js inlined, the page script. */
#define _GNU_SOURCE
#include "report_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

extern const char nnb_report_script[]; /* report_script.c */

static char *library_text;
static size_t library_len;

const char *nnb_report_library(char *err, size_t err_len) {
    if (library_text)
        return library_text;
    FILE *f = fopen(NNB_CHARTJS_PATH, "rb");
    if (!f) {
        snprintf(err, err_len, "the charting library %s is missing (install libjs-chart.js: tools/install-deps.sh)",
                 NNB_CHARTJS_PATH);
        return NULL;
    }
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (len + 1 == cap) {
            char *bigger = realloc(buf, cap *= 2);
            if (!bigger)
                free(buf);
            buf = bigger;
        }
    }
    fclose(f);
    if (!buf || len == 0) {
        free(buf);
        snprintf(err, err_len, "%s: empty or unreadable (reinstall libjs-chart.js: tools/install-deps.sh)",
                 NNB_CHARTJS_PATH);
        return NULL;
    }
    buf[len] = 0;
    library_len = len;
    if (strcasestr(buf, "</script")) { /* would end the inline <script> early */
        free(buf);
        snprintf(err, err_len, "%s: holds \"</script\" and cannot be inlined", NNB_CHARTJS_PATH);
        return NULL;
    }
    return library_text = buf;
}

int nnb_report_write_library(const char *dir, char *err, size_t err_len) {
    const char *lib = nnb_report_library(err, err_len);
    if (!lib)
        return -1;
    char path[4200], tmp[4210];
    snprintf(path, sizeof path, "%s/%s", dir, NNB_REPORT_LIBRARY_FILE);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return snprintf(err, err_len, "%s: cannot write (%s)", tmp, strerror(errno)), -1;
    int bad = fwrite(lib, 1, library_len, f) != library_len;
    if (fclose(f) != 0 || bad || rename(tmp, path) != 0) {
        remove(tmp);
        return snprintf(err, err_len, "%s: write failed", path), -1;
    }
    return 0;
}

void nnb_html_text(FILE *f, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

void nnb_html_num(FILE *f, double v, int decimals) {
    if (isfinite(v))
        fprintf(f, "%.*f", decimals, v);
    else
        fputs("-", f);
}

static const char style[] =
    "body{font-family:sans-serif;margin:1.5em;color:#222;max-width:1100px}"
    "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:2px 8px;"
    "text-align:right}th{background:#f0f0f0}td.l,th.l{text-align:left}"
    ".spark{position:relative;height:36px;width:160px}.chart{position:relative;height:320px;width:100%;max-width:"
    "1000px;margin-bottom:1.5em}"
    "#nnb-errors{color:#b00;font-weight:bold}.slower,.regressed{color:#b00}.faster{color:#070}"
    "pre{background:#f6f6f6;padding:.5em;overflow:auto}";

/* Catches every script error into #nnb-errors before anything else runs (the browser test reads it). */
static const char error_catcher[] =
    "window.nnbErrors=[];window.onerror=function(m,s,l){window.nnbErrors.push(m+' (line '+l+')');"
    "var e=document.getElementById('nnb-errors');if(e)e.textContent=window.nnbErrors.join('; ');};";

int nnb_page_begin(nnb_page *p, const char *path, const char *title, int link_index, char *err, size_t err_len) {
    memset(p, 0, sizeof *p);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    p->f = fopen(tmp, "w");
    if (!p->f) {
        snprintf(err, err_len, "%s: cannot write (%s)", tmp, strerror(errno));
        return -1;
    }
    p->charts = cJSON_CreateArray();
    fprintf(p->f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
    nnb_html_text(p->f, title);
    fprintf(p->f, "</title><style>%s</style><script>%s</script></head><body>\n", style, error_catcher);
    if (link_index)
        fputs("<p><a href=\"index.html\">&larr; index</a></p>\n", p->f);
    fputs("<h1>", p->f);
    nnb_html_text(p->f, title);
    fputs("</h1>\n<div id=\"nnb-errors\"></div>\n", p->f);
    return 0;
}

void nnb_page_chart(nnb_page *p, const char *title, cJSON *config) {
    int id = p->next_id++;
    cJSON *c = cJSON_CreateObject();
    cJSON_AddNumberToObject(c, "id", id);
    cJSON_AddItemToObject(c, "config", config);
    cJSON_AddItemToArray(p->charts, c);
    fputs("<h3>", p->f);
    nnb_html_text(p->f, title);
    fprintf(p->f, "</h3>\n<div class=\"chart\"><canvas id=\"nnb-chart-%d\" class=\"nnb-chart\"></canvas></div>\n", id);
}

/* JSON inside <script type="application/json">: <, > and & as \u escapes (only strings hold them), so no
 * text from a file can close the element. */
static void write_json_data(FILE *f, const cJSON *v) {
    char *s = cJSON_PrintUnformatted(v);
    for (const char *c = s; c && *c; c++) {
        if (*c == '<' || *c == '>' || *c == '&')
            fprintf(f, "\\u%04x", (unsigned)*c);
        else
            fputc(*c, f);
    }
    free(s);
}

void nnb_page_abort(nnb_page *p, const char *path) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (p->f)
        fclose(p->f);
    p->f = NULL;
    remove(tmp);
    cJSON_Delete(p->charts);
    p->charts = NULL;
}

int nnb_page_end(nnb_page *p, const char *path, char *err, size_t err_len) {
    const char *lib = nnb_report_library(err, err_len);
    if (!lib) {
        nnb_page_abort(p, path);
        return -1;
    }
    FILE *f = p->f;
    fprintf(f, "<p id=\"nnb-status\" data-charts=\"%d\">charts: %d</p>\n", p->next_id, p->next_id);
    fputs("<script id=\"nnb-charts\" type=\"application/json\">", f);
    write_json_data(f, p->charts);
    if (p->library_src) {
        fputs("</script>\n<!-- Chart.js, a copy of " NNB_CHARTJS_PATH " next to this page -->\n<script src=\"", f);
        nnb_html_text(f, p->library_src);
        fputs("\"></script>\n", f);
    } else {
        fputs("</script>\n<!-- Chart.js, inlined from " NNB_CHARTJS_PATH " -->\n<script>\n", f);
        fputs(lib, f);
        fputs("\n</script>\n", f);
    }
    fprintf(f, "<script>\n%s</script>\n</body></html>\n", nnb_report_script);
    cJSON_Delete(p->charts);
    p->charts = NULL;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        p->f = NULL;
        remove(tmp);
        snprintf(err, err_len, "%s: write failed", path);
        return -1;
    }
    p->f = NULL;
    if (rename(tmp, path) != 0) {
        remove(tmp);
        snprintf(err, err_len, "%s: cannot write (%s)", path, strerror(errno));
        return -1;
    }
    return 0;
}

cJSON *nnb_chart_config(const char *type, const char *x_title, const char *y_title) {
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "type", type);
    cJSON *data = cJSON_AddObjectToObject(c, "data");
    cJSON_AddArrayToObject(data, "datasets");
    cJSON *scales = cJSON_AddObjectToObject(cJSON_AddObjectToObject(c, "options"), "scales");
    const char *titles[2] = {x_title, y_title}, *axes[2] = {"x", "y"};
    for (int a = 0; a < 2; a++) {
        cJSON *axis = cJSON_AddObjectToObject(scales, axes[a]);
        if (titles[a]) {
            cJSON *t = cJSON_AddObjectToObject(axis, "title");
            cJSON_AddBoolToObject(t, "display", 1);
            cJSON_AddStringToObject(t, "text", titles[a]);
        }
    }
    return c;
}

cJSON *nnb_chart_dataset(cJSON *config, const char *label) {
    cJSON *ds = cJSON_CreateObject();
    cJSON_AddStringToObject(ds, "label", label ? label : "");
    cJSON_AddArrayToObject(ds, "data");
    cJSON_AddItemToArray(cJSON_GetObjectItem(cJSON_GetObjectItem(config, "data"), "datasets"), ds);
    return ds;
}

void nnb_chart_labels(cJSON *config, const char *const *labels, int n) {
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(labels[i] ? labels[i] : ""));
    cJSON_AddItemToObject(cJSON_GetObjectItem(config, "data"), "labels", arr);
}

cJSON *nnb_xy(double x, double y) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "x", x);
    cJSON_AddNumberToObject(o, "y", y);
    return o;
}

/* Bars at bin centres on a linear x axis (a histogram), so several datasets share one axis. */
void nnb_hist_dataset(cJSON *config, const char *label, const double *v, int n, double lo, double hi, int bins) {
    cJSON *ds = nnb_chart_dataset(config, label);
    int *count = calloc((size_t)bins, sizeof *count);
    double width = hi > lo ? (hi - lo) / bins : 1.0;
    for (int i = 0; count && i < n; i++) {
        int b = (int)((v[i] - lo) / width);
        b = b < 0 ? 0 : b >= bins ? bins - 1 : b;
        count[b]++;
    }
    cJSON *data = cJSON_GetObjectItem(ds, "data");
    for (int b = 0; count && b < bins; b++)
        cJSON_AddItemToArray(data, nnb_xy(lo + (b + 0.5) * width, count[b]));
    cJSON_AddNumberToObject(ds, "barPercentage", 1.0);
    cJSON_AddNumberToObject(ds, "categoryPercentage", 1.0);
    free(count);
}

double nnb_json_num(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

const char *nnb_json_str(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

double *nnb_json_numbers(const cJSON *arr, int *n) {
    *n = 0;
    int size = cJSON_GetArraySize(arr);
    double *v = size > 0 ? malloc((size_t)size * sizeof *v) : NULL;
    const cJSON *item;
    cJSON_ArrayForEach(item, arr) {
        if (v && cJSON_IsNumber(item) && isfinite(item->valuedouble))
            v[(*n)++] = item->valuedouble;
    }
    if (*n == 0) {
        free(v);
        v = NULL;
    }
    return v;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double nnb_median(double *v, int n) {
    if (n <= 0)
        return NAN;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
