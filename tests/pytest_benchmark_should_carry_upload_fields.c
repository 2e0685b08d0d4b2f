/*
 * nnbench --print-json pytest-benchmark: every field PyTorch's benchmarks/upload_scribe.py reads is there
 * with the type it needs (machine_info.{node, processor, release}, commit_info.{id, branch, time, dirty},
 * datetime, benchmarks[].{group, name, fullname, stats.{stddev, rounds, min, median, max, mean}}), the
 * numbers are the run's own (its --json-out samples, ms -> s), and `nnbench history add` takes the output.
 */
#define _GNU_SOURCE
#include "test_support.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char bin[1024], tmp[64];
static char out[1 << 20], err[65536];

#define run(...) nnb_test_runf(out, sizeof out, err, sizeof err, __VA_ARGS__)

static int has(const cJSON *obj, const char *key, cJSON_bool (*is)(const cJSON *)) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    int ok = v && is(v);
    CHECK_MSG(ok, "%s missing or of the wrong type", key);
    return ok;
}
static cJSON_bool is_any(const cJSON *v) { return v != NULL; }
static cJSON_bool is_string_or_null(const cJSON *v) { return cJSON_IsString(v) || cJSON_IsNull(v); }

/* The full JSON's phase statistics of runner/phase. */
static const cJSON *full_phase(const cJSON *full, const char *runner, const char *phase) {
    for (const cJSON *g = cJSON_GetObjectItem(full, "groups")->child; g; g = g->next)
        for (const cJSON *r = g->child; r; r = r->next)
            if (!strcmp(cJSON_GetObjectItem(r, "name")->valuestring, runner))
                return cJSON_GetObjectItem(r, phase);
    return NULL;
}

static void same_seconds(const cJSON *stats, const char *key, const cJSON *phase, const char *ms_key) {
    double s = cJSON_GetObjectItem(stats, key)->valuedouble, ms = cJSON_GetObjectItem(phase, ms_key)->valuedouble;
    CHECK_MSG(fabs(s * 1e3 - ms) <= 1e-12 * fabs(ms), "%s: %.17g s vs %.17g ms", key, s, ms);
}

static void check_benchmark(const cJSON *b, const cJSON *full) {
    if (!has(b, "group", cJSON_IsString) || !has(b, "name", cJSON_IsString) || !has(b, "fullname", cJSON_IsString) ||
        !has(b, "params", cJSON_IsObject) || !has(b, "stats", cJSON_IsObject))
        return;
    const cJSON *params = cJSON_GetObjectItem(b, "params"), *stats = cJSON_GetObjectItem(b, "stats");
    const char *runner = cJSON_GetObjectItem(params, "runner")->valuestring;
    const char *phase = cJSON_GetObjectItem(params, "phase")->valuestring;
    char name[128];
    snprintf(name, sizeof name, "test_%s[%s]", phase, runner);
    CHECK(!strcmp(cJSON_GetObjectItem(b, "name")->valuestring, name));
    CHECK(cJSON_GetObjectItem(params, "seq_length")->valueint == 3 &&
          cJSON_GetObjectItem(params, "hidden_size")->valueint == 5);
    const char *fields[] = {"min", "max", "mean", "stddev", "median", "rounds"};
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
        has(stats, fields[i], cJSON_IsNumber);
    const cJSON *ph = full_phase(full, runner, phase);
    CHECK_MSG(cJSON_IsObject(ph), "%s %s not in the full JSON", runner, phase);
    if (!cJSON_IsObject(ph))
        return;
    same_seconds(stats, "median", ph, "median_ms");
    same_seconds(stats, "mean", ph, "mean_ms");
    same_seconds(stats, "min", ph, "min_ms");
    same_seconds(stats, "max", ph, "max_ms");
    same_seconds(stats, "stddev", ph, "std_ms");
    const cJSON *data = cJSON_GetObjectItem(stats, "data"), *samples = cJSON_GetObjectItem(ph, "samples_ms");
    int n = cJSON_GetArraySize(samples);
    double rounds = cJSON_GetObjectItem(stats, "rounds")->valuedouble;
    CHECK(rounds == n && rounds == (int)rounds && cJSON_GetArraySize(data) == n && n == 3);
    for (int i = 0; i < n && i < cJSON_GetArraySize(data); i++)
        CHECK(fabs(cJSON_GetArrayItem(data, i)->valuedouble * 1e3 - cJSON_GetArrayItem(samples, i)->valuedouble) <=
              1e-12 * cJSON_GetArrayItem(samples, i)->valuedouble);
}

int main(void) {
    snprintf(bin, sizeof bin, "%s", nnb_test_env("NNBENCH_BIN"));
    snprintf(tmp, sizeof tmp, "/tmp/nnb_pytest_XXXXXX");
    if (!mkdtemp(tmp))
        return 1;
    int rc = run("%s --device cpu --rnns py,jit --seqLength 3 --miniBatch 2 --inputSize 4 --hiddenSize 5 --warmup 1 "
                 "--nloops 3 --print-json pytest-benchmark --json-out %s/full.json",
                 bin, tmp);
    CHECK_MSG(rc == 0, "nnbench --print-json pytest-benchmark: exit %d (%s)", rc, err);
    cJSON *doc = cJSON_Parse(out);
    char path[256];
    snprintf(path, sizeof path, "%s/full.json", tmp);
    cJSON *full = nnb_test_read_json(path);
    CHECK_MSG(cJSON_IsObject(doc) && full, "stdout is not one JSON document: %.300s", out);
    if (cJSON_IsObject(doc) && full) {
        const cJSON *machine = cJSON_GetObjectItem(doc, "machine_info"),
                    *commit = cJSON_GetObjectItem(doc, "commit_info");
        if (has(doc, "machine_info", cJSON_IsObject)) {
            has(machine, "node", cJSON_IsString);
            has(machine, "processor", cJSON_IsString);
            has(machine, "release", cJSON_IsString);
            const cJSON *context = cJSON_GetObjectItem(full, "context");
            CHECK(!strcmp(cJSON_GetObjectItem(machine, "processor")->valuestring,
                          cJSON_GetObjectItem(context, "cpu_model")->valuestring));
            CHECK(!strcmp(cJSON_GetObjectItem(doc, "datetime")->valuestring,
                          cJSON_GetObjectItem(context, "date")->valuestring));
        }
        if (has(doc, "commit_info", cJSON_IsObject)) {
            has(commit, "id", is_string_or_null);
            has(commit, "branch", is_any);
            has(commit, "time", is_any);
            has(commit, "dirty", is_any);
        }
        has(doc, "datetime", cJSON_IsString);
        has(doc, "version", cJSON_IsString);
        const cJSON *benchmarks = cJSON_GetObjectItem(doc, "benchmarks");
        CHECK_MSG(cJSON_GetArraySize(benchmarks) == 4, "%d benchmarks, expected 4 (py, jit x forward, backward)",
                  cJSON_GetArraySize(benchmarks));
        for (const cJSON *b = benchmarks ? benchmarks->child : NULL; b; b = b->next)
            check_benchmark(b, full);
    }
    /* history add takes it: four series, py forward's value the run's median in ms. */
    char pb[256];
    snprintf(pb, sizeof pb, "%s/pb.json", tmp);
    FILE *f = fopen(pb, "w");
    CHECK(f && fputs(out, f) >= 0);
    if (f)
        fclose(f);
    rc = run("%s history add --store %s/s.sqlite %s", bin, tmp, pb);
    CHECK_MSG(rc == 0 && strstr(out, "pb.json: added 4 runs (4 series)"), "history add: exit %d (%s%s)", rc, out, err);
    rc = run("%s history list --store %s/s.sqlite --json --series py", bin, tmp);
    cJSON *list = cJSON_Parse(out);
    int found = 0;
    for (const cJSON *s = list ? list->child : NULL; s; s = s->next) {
        if (strcmp(cJSON_GetObjectItem(s, "phase")->valuestring, "forward") ||
            strcmp(cJSON_GetObjectItem(s, "runner")->valuestring, "py"))
            continue;
        found = 1;
        CHECK(!strcmp(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "config"), "group")->valuestring, "rnns"));
        rc = run("%s history show --store %s/s.sqlite %s --json", bin, tmp, cJSON_GetObjectItem(s, "key")->valuestring);
        cJSON *show = cJSON_Parse(out);
        double got =
            cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(show, "runs"), 0), "value")->valuedouble;
        double want = cJSON_GetObjectItem(full_phase(full, "py", "forward"), "median_ms")->valuedouble;
        CHECK_MSG(fabs(got - want) <= 1e-12 * want, "history: py forward %.17g, the run's median %.17g", got, want);
        cJSON_Delete(show);
    }
    CHECK(found);
    cJSON_Delete(list);
    cJSON_Delete(doc);
    cJSON_Delete(full);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    CHECK(system(cmd) == 0);
    return nnb_test_finish();
}
