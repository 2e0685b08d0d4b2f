#define _GNU_SOURCE
/* nnbench serve's table (stderr) and its --json-out show the same figures: every number of every table
 * line is parsed and compared with the JSON field it stands for, within half a unit of the table's last
 * printed digit; "-" in the table stands for null in the JSON. Also the batch histogram, and that each
 * line shows exactly the figures expected (a figure printed twice through one buffer shows up here as a
 * mismatch: "peak RSS" once repeated the CPU utilisation). Runs the spin runner (known service time). */
#include "test_support.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char out[1 << 16], err[1 << 16];

static const cJSON *get(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }

/* The table line starting with "  <label>" (NULL when missing). */
static const char *table_line(const char *label, char *line, size_t cap) {
    char key[64];
    snprintf(key, sizeof key, "\n  %s", label);
    const char *p = strstr(err, key);
    if (!p)
        return NULL;
    p += 3;
    size_t n = strcspn(p, "\n");
    snprintf(line, cap, "%.*s", (int)(n < cap ? n : cap - 1), p);
    return line;
}

/* A figure of the table: a token that is a number or "-", once stripped of "(" and trailing ",;)%". Its
 * tolerance is half a unit of its last printed digit. */
typedef struct figure {
    double value; /* NAN for "-" */
    double half_unit;
} figure;

static int parse_figure(const char *tok, figure *f) {
    char t[64];
    snprintf(t, sizeof t, "%s", tok[0] == '(' ? tok + 1 : tok);
    for (size_t n = strlen(t); n > 0 && strchr(",;)%", t[n - 1]); n--)
        t[n - 1] = 0;
    if (!strcmp(t, "-")) {
        f->value = NAN, f->half_unit = 0;
        return 1;
    }
    char *end;
    f->value = strtod(t, &end);
    if (!t[0] || *end || !(isdigit((unsigned char)t[0]) || t[0] == '-'))
        return 0;
    const char *dot = strchr(t, '.'), *e = strpbrk(t, "eE");
    int decimals = dot ? (int)((e ? e : t + strlen(t)) - dot - 1) : 0;
    int exponent = e ? atoi(e + 1) : 0;
    f->half_unit = 0.5 * pow(10, exponent - decimals);
    return 1;
}

/* Every figure of the line after its label, compared in order with the JSON fields named in keys. */
static void line_matches(const char *label, const cJSON *obj, const char *const *keys, int nkeys) {
    char line[1024];
    if (!table_line(label, line, sizeof line)) {
        CHECK_MSG(0, "table has no line '%s': %s", label, err);
        return;
    }
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(line + strlen(label), " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        figure f;
        if (!parse_figure(tok, &f))
            continue;
        if (n >= nkeys) {
            CHECK_MSG(0, "'%s': more figures than the %d expected (extra '%s')", label, nkeys, tok);
            return;
        }
        const char *k = keys[n++];
        const cJSON *j = strchr(k, '/') ? get(get(obj, "latency_ms"), strchr(k, '/') + 1) : get(obj, k);
        if (!j && !strncmp(k, "config.", 7))
            j = get(get(obj, "__config"), k + 7);
        if (isnan(f.value)) {
            char shown[64] = "missing"; /* on the stack: the message is formatted whether or not it fails */
            if (j && !cJSON_PrintPreallocated((cJSON *)j, shown, sizeof shown, 0))
                snprintf(shown, sizeof shown, "(longer than %zu characters)", sizeof shown);
            CHECK_MSG(cJSON_IsNull(j), "'%s' %s: table '-', JSON %s", label, k, shown);
            continue;
        }
        double want = cJSON_GetNumberValue(j);
        CHECK_MSG(cJSON_IsNumber(j) && fabs(f.value - want) <= f.half_unit * (1 + 1e-9), "'%s' %s: table %s, JSON %.9g",
                  label, k, tok, want);
    }
    CHECK_MSG(n == nkeys, "'%s': %d figures, %d expected", label, n, nkeys);
}

static void histogram_matches(const cJSON *s) {
    char line[1024];
    if (!table_line("batches", line, sizeof line)) {
        CHECK_MSG(0, "no batches line");
        return;
    }
    const cJSON *h = get(s, "batch_histogram");
    int found = 0;
    char *save = NULL;
    for (char *tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *colon = strchr(tok, ':');
        if (!colon)
            continue;
        *colon = 0;
        found++;
        CHECK_MSG(cJSON_GetNumberValue(get(h, tok)) == atof(colon + 1), "batch histogram %s: table %s", tok, colon + 1);
    }
    CHECK_MSG(found == cJSON_GetArraySize(h) && found > 0, "%d histogram cells in the table, %d in the JSON", found,
              cJSON_GetArraySize(h));
}

static void table_and_json_agree(const char *bin, const char *plugins, const char *dir, const char *args) {
    char path[256];
    snprintf(path, sizeof path, "%s/serve.json", dir);
    unlink(path);
    int rc = nnb_test_runf(out, sizeof out, err, sizeof err, "%s serve --device cpu --runner-path %s --json-out %s %s",
                           bin, plugins, path, args);
    cJSON *doc = nnb_test_read_json(path);
    CHECK_MSG(rc == 0 && doc, "serve %s: exit %d: %s", args, rc, err);
    if (!doc)
        return;
    cJSON *s = cJSON_GetObjectItemCaseSensitive(doc, "summary");
    cJSON_AddItemReferenceToObject(s, "__config", cJSON_GetObjectItemCaseSensitive(doc, "config"));
    static const char *const cold[] = {"create_ms", "first_response_ms", "warm_ms"};
    static const char *const requests[] = {
        "measured_requests", "config.warmup_requests", "measured_samples", "duration_s", "answered_once",
        "unanswered",        "answered_more_than_once"};
    static const char *const latency[] = {"latency_ms/p50", "latency_ms/p90",  "latency_ms/p99",
                                          "latency_ms/max", "latency_ms/mean", "latency_ms/min"};
    static const char *const per_request[] = {"queue_mean_ms", "queue_p99_ms", "compute_mean_ms", "compute_p99_ms"};
    static const char *const generator[] = {"generator_lag_p50_ms", "generator_lag_p99_ms", "generator_lag_max_ms"};
    static const char *const batches[] = {"batches", "mean_batch_samples"};
    static const char *const throughput[] = {"whole_samples_per_s", "core_samples_per_s"};
    static const char *const utilisation[] = {"cpu_util_percent", "gpu_util_mean_percent", "gpu_util_max_percent",
                                              "gpu_mem_peak_mib", "peak_rss_mib"};
    line_matches("cold start", s, cold, 3);
    line_matches("requests", s, requests, 7);
    line_matches("latency ms", s, latency, 6);
    line_matches("per request", s, per_request, 4);
    line_matches("generator", s, generator, 3);
    line_matches("batches", s, batches, 2);
    line_matches("throughput", s, throughput, 2);
    line_matches("utilisation", s, utilisation, 5);
    histogram_matches(s);
    /* The figures the bug mixed up really differ here, so agreement is not a coincidence. */
    CHECK_MSG(fabs(cJSON_GetNumberValue(get(s, "cpu_util_percent")) - cJSON_GetNumberValue(get(s, "peak_rss_mib"))) >=
                  1,
              "cpu %% and peak RSS MiB differ by at least one unit");
    cJSON_Delete(doc);
}

int main(void) {
    char bin[1024], plugins[1024], dir[64] = "/tmp/nnb_serve_table_XXXXXX";
    snprintf(bin, sizeof bin, "%s", nnb_test_env("NNBENCH_BIN"));
    snprintf(plugins, sizeof plugins, "%s/good", nnb_test_env("NNBENCH_TEST_PLUGIN_DIR"));
    if (!mkdtemp(dir))
        return 1;
    table_and_json_agree(bin, plugins, dir, "--runner spin --seqLength 300 --inputSize 100 --requests 40");
    table_and_json_agree(bin, plugins, dir,
                         "--runner spin --seqLength 200 --inputSize 50 --mode offline --requests 24 --max-batch 4");
    nnb_test_runf(out, sizeof out, err, sizeof err, "rm -rf %s", dir);
    return nnb_test_finish();
}
