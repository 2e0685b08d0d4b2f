/*
 * nnbench history add/list/show/export through the binary on the fixtures of tests/data/history: the runs
 * added (counted here from the fixtures), a second add recognised, list and show agreeing with the
 * fixtures' numbers, export -> add into a new store -> export giving the same bytes, and bad input (a
 * store in a missing folder, an unknown or truncated file among good ones, a bad --date) refused with a
 * message naming it, a non-zero exit and the store as it was.
 */
#define _GNU_SOURCE
#include "test_support.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char bin[1024], data[1024], tmp[64], store[128];
static char out[1 << 20], err[65536];

#define run(...) nnb_test_runf(out, sizeof out, err, sizeof err, __VA_ARGS__)

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)n + 1);
    *len = text ? fread(text, 1, (size_t)n, f) : 0;
    fclose(f);
    if (text)
        text[*len] = '\0';
    return text;
}

static void spit(const char *path, const char *text, size_t len) {
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(text, 1, len, f) == len);
    if (f)
        fclose(f);
}

/* Runs (phases that ran) of the runners with status ok in an nnbench full JSON document. */
static int nnbench_runs(const cJSON *doc) {
    int n = 0;
    for (const cJSON *g = cJSON_GetObjectItem(doc, "groups")->child; g; g = g->next)
        for (const cJSON *r = g->child; r; r = r->next)
            if (!strcmp(cJSON_GetObjectItem(r, "status")->valuestring, "ok"))
                n += cJSON_IsObject(cJSON_GetObjectItem(r, "forward")) +
                     cJSON_IsObject(cJSON_GetObjectItem(r, "backward"));
    return n;
}

static char *export_now(const char *which) {
    int rc = run("%s history export --store %s", bin, which);
    CHECK_MSG(rc == 0, "export %s: exit %d (%s)", which, rc, err);
    return strdup(out);
}

static void add_and_list(void) {
    char path[1200];
    snprintf(path, sizeof path, "%s/history/nnbench.json", data);
    cJSON *doc = nnb_test_read_json(path);
    int runs = nnbench_runs(doc);
    int rc = run("%s history add --store %s %s/history/nnbench.json %s/history/serve.json", bin, store, data, data);
    CHECK_MSG(rc == 0, "add: exit %d (%s)", rc, err);
    char expected[256];
    snprintf(expected, sizeof expected, "nnbench.json: added %d runs (%d series)\n", runs, runs);
    CHECK_STR_CONTAINS(out, expected);
    CHECK_STR_CONTAINS(out, "serve.json: added 3 runs (3 series)\n");
    rc = run("%s history add --store=%s --unit s --label nightly %s/history/fastrnns_cpu.oss.json "
             "%s/history/sweep.json %s/history/pytest_benchmark_foreign.json",
             bin, store, data, data, data);
    CHECK_MSG(rc == 0, "add (three more formats): exit %d (%s)", rc, err);
    CHECK_STR_CONTAINS(err, "no date in the file: using its modification time"); /* the OSS file */
    CHECK(!strstr(err, "give --unit s"));
    rc = run("%s history add --store %s %s/history/nnbench.json", bin, store, data);
    CHECK_MSG(rc == 0, "second add: exit %d (%s)", rc, err);
    CHECK_STR_CONTAINS(out, "nnbench.json: already in the store (same content)");

    /* list --json: one series per run of the nnbench file, the sweep's two repeats in one series. */
    rc = run("%s history list --store %s --json", bin, store);
    cJSON *list = cJSON_Parse(out);
    CHECK_MSG(rc == 0 && cJSON_IsArray(list), "list --json: exit %d, %s", rc, err);
    int total = 0, aten_fwd = 0;
    char key[64] = "";
    for (const cJSON *s = list ? list->child : NULL; s; s = s->next) {
        total += cJSON_GetObjectItem(s, "runs")->valueint;
        const cJSON *config = cJSON_GetObjectItem(s, "config");
        if (!strcmp(cJSON_GetObjectItem(s, "runner")->valuestring, "spin") && cJSON_GetObjectItem(config, "seqLength"))
            CHECK(cJSON_GetObjectItem(s, "runs")->valueint == 2);
        if (!strcmp(cJSON_GetObjectItem(s, "runner")->valuestring, "aten") &&
            !strcmp(cJSON_GetObjectItem(s, "phase")->valuestring, "forward") &&
            cJSON_GetObjectItem(config, "hidden_size")) {
            aten_fwd++;
            snprintf(key, sizeof key, "%s", cJSON_GetObjectItem(s, "key")->valuestring);
        }
    }
    CHECK_MSG(total == runs + 3 + 8 + 8 + 2, "list: %d runs in all", total);
    CHECK(aten_fwd == 1);
    cJSON_Delete(list);
    rc = run("%s history list --store %s --series serve", bin, store);
    CHECK(rc == 0 && strstr(out, "p99") && strstr(out, "throughput") && !strstr(out, "aten"));

    /* show: the fixture's median, date and commit. */
    const cJSON *aten = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "groups"), "rnns"), 0);
    double median = cJSON_GetObjectItem(cJSON_GetObjectItem(aten, "forward"), "median_ms")->valuedouble;
    rc = run("%s history show --store %s %s --json", bin, store, key);
    cJSON *show = cJSON_Parse(out);
    const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(show, "runs"), 0);
    CHECK_MSG(rc == 0 && first, "show --json %s: exit %d (%s)", key, rc, err);
    CHECK(first && cJSON_GetObjectItem(first, "value")->valuedouble == median);
    CHECK(first && !strcmp(cJSON_GetObjectItem(first, "date")->valuestring, "2026-12-06T06:06:17Z"));
    CHECK(first && cJSON_GetObjectItem(first, "samples")->valueint ==
                       cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(aten, "forward"), "samples_ms")));
    cJSON_Delete(show);
    rc = run("%s history show --store %s %s", bin, store, key);
    char line[128];
    snprintf(line, sizeof line, "2026-12-06T06:06:17Z  8b32ae8       -             %14.6g", median);
    CHECK_MSG(rc == 0 && strstr(out, line), "show %s: no line '%s' in:\n%s", key, line, out);
    rc = run("%s history show --store %s spin", bin, store);
    CHECK(rc == 2 && strstr(err, "'spin' matches 4 series; give one key"));
    rc = run("%s history show --store %s no-such-series", bin, store);
    CHECK(rc == 2 && strstr(err, "no series matches 'no-such-series'"));
    cJSON_Delete(doc);
}

static void export_round_trip(void) {
    char *first = export_now(store), path[256], second_store[256];
    snprintf(path, sizeof path, "%s/out/export.json", tmp);
    int rc = run("%s history export --store %s --out %s", bin, store, path);
    CHECK_MSG(rc == 0, "export --out in a missing folder: exit %d (%s)", rc, err);
    snprintf(second_store, sizeof second_store, "%s/second.sqlite", tmp);
    rc = run("%s history add --store %s %s", bin, second_store, path);
    CHECK_MSG(rc == 0 && strstr(out, "from 5 files (0 already in the store)"), "add the export: exit %d (%s%s)", rc, out, err);
    rc = run("%s history add --store %s %s", bin, second_store, path);
    CHECK_STR_CONTAINS(out, "already in the store (same content)");
    char *second = export_now(second_store);
    CHECK_MSG(first && second && !strcmp(first, second), "export -> add -> export differs");
    CHECK(first && strstr(first, "\"schema\":\t\"nnbench-history-export\""));
    free(first), free(second);
}

static void bad_input_leaves_the_store(void) {
    char *before = export_now(store), fresh[256], cut[256];
    /* A new good file (another date: other bytes) with an unknown and a truncated one: none is added. */
    size_t len;
    char src[1200];
    snprintf(src, sizeof src, "%s/history/nnbench.json", data);
    char *text = slurp(src, &len);
    char *date = text ? strstr(text, "2026-12-06T06:06:17Z") : NULL;
    CHECK(date != NULL);
    if (date)
        date[9] = '7';
    snprintf(fresh, sizeof fresh, "%s/fresh.json", tmp);
    spit(fresh, text, len);
    snprintf(cut, sizeof cut, "%s/cut.json", tmp);
    spit(cut, text, len / 3);
    free(text);
    int rc = run("%s history add --store %s %s %s/history/unknown.json", bin, store, fresh, data);
    CHECK_MSG(rc == 2, "unknown format: exit %d", rc);
    CHECK_STR_CONTAINS(err, "unknown.json: unknown format: not one of");
    CHECK_STR_CONTAINS(err, "nothing was added (1 of 2 files could not be read)");
    rc = run("%s history add --store %s %s %s", bin, store, fresh, cut);
    CHECK_MSG(rc == 2, "truncated file: exit %d", rc);
    CHECK_STR_CONTAINS(err, "cut.json: not valid JSON (damaged or truncated?");
    rc = run("%s history add --store %s --date yesterday %s", bin, store, fresh);
    CHECK(rc == 2 && strstr(err, "--date: 'yesterday' is not an ISO-8601 date"));
    rc = run("%s history add --store %s --unit us %s", bin, store, fresh);
    CHECK(rc == 2 && strstr(err, "--unit: 'us' is not a unit (s or ms)"));
    rc = run("%s history add --stor %s %s", bin, store, fresh);
    CHECK(rc == 2 && strstr(err, "unknown flag '--stor' (see --help); did you mean '--store'?"));
    rc = run("%s history add --store %s", bin, store);
    CHECK(rc == 2 && strstr(err, "no file given"));
    char *after = export_now(store);
    CHECK_MSG(before && after && !strcmp(before, after), "the store changed after refused adds");
    free(before), free(after);
    /* A store in a missing folder: refused, nothing created. */
    rc = run("%s history add --store %s/no/such/dir/s.sqlite %s", bin, tmp, fresh);
    CHECK_MSG(rc == 2 && err[0], "store in a missing folder: exit %d (%s)", rc, err);
    CHECK_STR_CONTAINS(err, "/no/such/dir");
    char missing[256];
    snprintf(missing, sizeof missing, "%s/no", tmp);
    struct stat st;
    CHECK(stat(missing, &st) != 0);
    /* The fresh file alone is added, with the date it names. */
    rc = run("%s history add --store %s %s", bin, store, fresh);
    CHECK_MSG(rc == 0 && strstr(out, "fresh.json: added"), "fresh: exit %d (%s)", rc, err);
    rc = run("%s history list --store %s --series aten", bin, store);
    CHECK_STR_CONTAINS(out, "2026-12-07T06:06:17Z");
}

int main(void) {
    snprintf(bin, sizeof bin, "%s", nnb_test_env("NNBENCH_BIN"));
    snprintf(data, sizeof data, "%s", nnb_test_env("NNBENCH_TEST_DATA"));
    snprintf(tmp, sizeof tmp, "/tmp/nnb_history_XXXXXX");
    if (!mkdtemp(tmp))
        return 1;
    snprintf(store, sizeof store, "%s/store.sqlite", tmp);
    add_and_list();
    export_round_trip();
    bad_input_leaves_the_store();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    CHECK(system(cmd) == 0);
    return nnb_test_finish();
}
