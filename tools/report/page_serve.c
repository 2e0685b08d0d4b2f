/* A serve run (nnbench serve --json-out, docs/serving.md): the summary, the measured requests' latency CDF
 * and histogram, the batch-size histogram, and per request the time queued against the time computing.
 * requests[i] = [arrival, compute start, compute end, response, batch, samples] in ms; the first
 * config.warmup_requests are the warm-up, not measured. */
#include "report_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DRAWN 400 /* points per chart: more are thinned evenly */

static void key_values(FILE *f, const cJSON *obj) {
    const cJSON *v;
    fputs("<table>", f);
    cJSON_ArrayForEach(v, obj) {
        if (cJSON_IsObject(v) || cJSON_IsArray(v))
            continue;
        fputs("<tr><th class=\"l\">", f);
        nnb_html_text(f, v->string);
        fputs("</th><td class=\"l\">", f);
        if (cJSON_IsString(v))
            nnb_html_text(f, v->valuestring);
        else if (cJSON_IsNumber(v))
            fprintf(f, "%.6g", v->valuedouble);
        else
            fputs(cJSON_IsTrue(v) ? "true" : cJSON_IsFalse(v) ? "false" : "-", f);
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

typedef struct request_times {
    double *latency, *queue, *compute, *respond;
    int n;
} request_times;

static int measured_requests(const cJSON *root, request_times *t) {
    const cJSON *reqs = cJSON_GetObjectItemCaseSensitive(root, "requests"), *r;
    double warm = nnb_json_num(cJSON_GetObjectItemCaseSensitive(root, "config"), "warmup_requests");
    int skip = isfinite(warm) ? (int)warm : 0, size = cJSON_GetArraySize(reqs), i = 0;
    memset(t, 0, sizeof *t);
    if (size <= 0)
        return 0;
    t->latency = malloc((size_t)size * sizeof(double));
    t->queue = malloc((size_t)size * sizeof(double));
    t->compute = malloc((size_t)size * sizeof(double));
    t->respond = malloc((size_t)size * sizeof(double));
    if (!t->latency || !t->queue || !t->compute || !t->respond)
        return -1;
    cJSON_ArrayForEach(r, reqs) {
        double v[4];
        int ok = cJSON_GetArraySize(r) >= 4;
        for (int k = 0; ok && k < 4; k++) {
            const cJSON *x = cJSON_GetArrayItem(r, k);
            ok = cJSON_IsNumber(x) && isfinite(x->valuedouble);
            v[k] = ok ? x->valuedouble : 0;
        }
        if (i++ < skip || !ok)
            continue;
        t->latency[t->n] = v[3] - v[0];
        t->queue[t->n] = v[1] - v[0];
        t->compute[t->n] = v[2] - v[1];
        t->respond[t->n] = v[3] - v[2];
        t->n++;
    }
    return 0;
}

static void latency_charts(nnb_page *pg, const request_times *t) {
    double *sorted = malloc((size_t)t->n * sizeof *sorted);
    if (!sorted)
        return;
    memcpy(sorted, t->latency, (size_t)t->n * sizeof *sorted);
    nnb_median(sorted, t->n); /* sorts */
    cJSON *cdf = nnb_chart_config("scatter", "latency ms (response - arrival)", "fraction of requests");
    cJSON *ds = nnb_chart_dataset(cdf, "measured requests"), *data = cJSON_GetObjectItem(ds, "data");
    cJSON_AddBoolToObject(ds, "showLine", 1);
    cJSON_AddNumberToObject(ds, "pointRadius", 0);
    int step = t->n > MAX_DRAWN ? t->n / MAX_DRAWN : 1;
    for (int i = 0; i < t->n; i += step)
        cJSON_AddItemToArray(data, nnb_xy(sorted[i], (i + 1.0) / t->n));
    if ((t->n - 1) % step)
        cJSON_AddItemToArray(data, nnb_xy(sorted[t->n - 1], 1.0));
    nnb_page_chart(pg, "latency CDF", cdf);
    cJSON *hist = nnb_chart_config("bar", "latency ms", "requests");
    cJSON *x = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(hist, "options"), "scales"), "x");
    cJSON_AddStringToObject(x, "type", "linear");
    nnb_hist_dataset(hist, "measured requests", sorted, t->n, sorted[0], sorted[t->n - 1], 30);
    nnb_page_chart(pg, "latency histogram", hist);
    free(sorted);
}

static void batch_chart(nnb_page *pg, const cJSON *summary) {
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(summary, "batch_histogram"), *b;
    if (cJSON_GetArraySize(h) == 0)
        return;
    cJSON *cfg = nnb_chart_config("bar", "samples per batch", "batches"), *labels = cJSON_CreateArray();
    cJSON *data = cJSON_GetObjectItem(nnb_chart_dataset(cfg, "batches"), "data");
    cJSON_ArrayForEach(b, h) {
        cJSON_AddItemToArray(labels, cJSON_CreateString(b->string));
        cJSON_AddItemToArray(data, cJSON_CreateNumber(cJSON_IsNumber(b) ? b->valuedouble : 0));
    }
    cJSON_AddItemToObject(cJSON_GetObjectItem(cfg, "data"), "labels", labels);
    nnb_page_chart(pg, "batch sizes", cfg);
}

/* Stacked per request: queued (arrival to compute start), computing, and answering (compute end to
 * response). */
static void queue_chart(nnb_page *pg, const request_times *t) {
    cJSON *cfg = nnb_chart_config("bar", "measured request", "ms"), *labels = cJSON_CreateArray();
    cJSON *scales = cJSON_GetObjectItem(cJSON_GetObjectItem(cfg, "options"), "scales");
    cJSON_AddBoolToObject(cJSON_GetObjectItem(scales, "x"), "stacked", 1);
    cJSON_AddBoolToObject(cJSON_GetObjectItem(scales, "y"), "stacked", 1);
    const double *parts[3] = {t->queue, t->compute, t->respond};
    const char *names[3] = {"queued", "computing", "answering"};
    cJSON *data[3];
    for (int k = 0; k < 3; k++)
        data[k] = cJSON_GetObjectItem(nnb_chart_dataset(cfg, names[k]), "data");
    int step = t->n > MAX_DRAWN ? t->n / MAX_DRAWN : 1;
    for (int i = 0; i < t->n; i += step) {
        char label[32];
        snprintf(label, sizeof label, "%d", i);
        cJSON_AddItemToArray(labels, cJSON_CreateString(label));
        for (int k = 0; k < 3; k++)
            cJSON_AddItemToArray(data[k], cJSON_CreateNumber(parts[k][i]));
    }
    cJSON_AddItemToObject(cJSON_GetObjectItem(cfg, "data"), "labels", labels);
    nnb_page_chart(pg, "queueing vs compute, per measured request", cfg);
}

int nnb_page_serve(const cJSON *root, const char *src, const char *path, char *err, size_t err_len) {
    nnb_page pg;
    char title[512];
    snprintf(title, sizeof title, "serve run: %s", src);
    if (nnb_page_begin(&pg, path, title, 1, err, err_len))
        return -1;
    const cJSON *summary = cJSON_GetObjectItemCaseSensitive(root, "summary");
    const cJSON *lat = cJSON_GetObjectItemCaseSensitive(summary, "latency_ms");
    fputs("<p>verdict: <b>", pg.f);
    nnb_html_text(pg.f, nnb_json_str(summary, "verdict"));
    fputs("</b>; p50 ", pg.f);
    nnb_html_num(pg.f, nnb_json_num(lat, "p50"), 4);
    fputs(" ms, p99 ", pg.f);
    nnb_html_num(pg.f, nnb_json_num(lat, "p99"), 4);
    fputs(" ms, throughput ", pg.f);
    nnb_html_num(pg.f, nnb_json_num(summary, "whole_samples_per_s"), 1);
    fputs(" samples/s; queue mean ", pg.f);
    nnb_html_num(pg.f, nnb_json_num(summary, "queue_mean_ms"), 4);
    fputs(" ms, compute mean ", pg.f);
    nnb_html_num(pg.f, nnb_json_num(summary, "compute_mean_ms"), 4);
    fputs(" ms</p>\n", pg.f);
    request_times t;
    if (measured_requests(root, &t) == 0 && t.n > 0) {
        latency_charts(&pg, &t);
        queue_chart(&pg, &t);
    }
    batch_chart(&pg, summary);
    static const char *const parts[] = {"context", "config", "summary", "runner_info"};
    for (int i = 0; i < 4; i++) {
        fprintf(pg.f, "<h2>%s</h2>\n", parts[i]);
        key_values(pg.f, cJSON_GetObjectItemCaseSensitive(root, parts[i]));
    }
    free(t.latency), free(t.queue), free(t.compute), free(t.respond);
    return nnb_page_end(&pg, path, err, err_len);
}
