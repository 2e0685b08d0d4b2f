/*
 * Ingest of every format (tools/history/ingest): the runs, values, samples and series keys read from the
 * fixtures of tests/data/history, checked against the same numbers read here with cJSON; the SHA-256
 * against known vectors and sha256sum; unknown, damaged and truncated files refused with messages naming
 * the file.
 */
#define _GNU_SOURCE
#include "test_support.h"

#include "ingest.h"
#include "ingest_internal.h"
#include "sha256.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char data[1024];

static const char *fixture(const char *name) {
    static char path[1200];
    snprintf(path, sizeof path, "%s/history/%s", data, name);
    return path;
}

static nnb_ingest_result *ingest(const char *name, const nnb_ingest_options *opt) {
    nnb_ingest_result *r = NULL;
    char err[1024] = "";
    int rc = nnb_ingest_file(fixture(name), opt, &r, err, sizeof err);
    CHECK_MSG(rc == 0 && r, "%s: %s", name, err);
    return r;
}

/* The run of runner/phase (the first one), or NULL. */
static const nnb_store_run *find_run(const nnb_store_file *f, const char *runner, const char *phase) {
    for (int i = 0; i < f->run_count; i++)
        if (!strcmp(f->runs[i].runner, runner) && !strcmp(f->runs[i].phase, phase))
            return &f->runs[i];
    return NULL;
}

static void sha256_known_vectors(void) {
    char hex[65];
    nnb_sha256_hex("", 0, hex);
    CHECK_STR_CONTAINS(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    nnb_sha256_hex("abc", 3, hex);
    CHECK_STR_CONTAINS(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"; /* 56 bytes: padding spills */
    nnb_sha256_hex(two_blocks, strlen(two_blocks), hex);
    CHECK_STR_CONTAINS(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    char *million = malloc(1000000);
    memset(million, 'a', 1000000);
    nnb_sha256_hex(million, 1000000, hex);
    free(million);
    CHECK_STR_CONTAINS(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* sha256sum's digest of a fixture (an independent implementation). */
static void sha256sum(const char *name, char hex[65]) {
    char cmd[1400], out[256] = "", err[256];
    snprintf(cmd, sizeof cmd, "sha256sum '%s'", fixture(name));
    nnb_test_run(cmd, out, sizeof out, err, sizeof err);
    snprintf(hex, 65, "%.64s", out);
}

static void nnbench_full_json(void) {
    nnb_ingest_result *r = ingest("nnbench.json", NULL);
    if (!r)
        return;
    cJSON *doc = nnb_test_read_json(fixture("nnbench.json"));
    const cJSON *runners = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "groups"), "rnns");
    CHECK(r->file_count == 1 && !strcmp(r->format, "nnbench"));
    const nnb_store_file *f = &r->files[0];
    int expected = 0;
    for (const cJSON *run = runners->child; run; run = run->next) {
        const char *name = cJSON_GetObjectItem(run, "name")->valuestring;
        for (int backward = 0; backward <= 1; backward++) {
            const cJSON *phase = cJSON_GetObjectItem(run, backward ? "backward" : "forward");
            if (!cJSON_IsObject(phase))
                continue;
            expected++;
            const nnb_store_run *got = find_run(f, name, backward ? "backward" : "forward");
            CHECK_MSG(got != NULL, "nnbench.json: no run for %s", name);
            if (!got)
                continue;
            CHECK(got->value == cJSON_GetObjectItem(phase, "median_ms")->valuedouble);
            const cJSON *samples = cJSON_GetObjectItem(phase, "samples_ms");
            CHECK(got->sample_count == cJSON_GetArraySize(samples));
            CHECK(got->sample_count > 0 && got->samples[got->sample_count - 1] ==
                                               cJSON_GetArrayItem(samples, got->sample_count - 1)->valuedouble);
            CHECK(!strcmp(got->unit, "ms") && !got->higher_is_better);
        }
    }
    CHECK_MSG(f->run_count == expected, "nnbench.json: %d runs, expected %d", f->run_count, expected);
    /* Keys: canonical (sorted, no blanks); seed, nloops and warmup are not part of the config. */
    CHECK_STR_CONTAINS(f->runs[0].machine, "{\"blas\":\"OpenBLAS 0.3.21");
    CHECK_STR_CONTAINS(f->runs[0].machine, "\"cpu_model\":\"Intel(R) Xeon(R) Processor\",\"cuda_runtime\":\"13.0\"");
    CHECK_STR_CONTAINS(f->runs[0].machine, "\"threads\":2}");
    CHECK(!strstr(f->runs[0].machine, "host") && !strstr(f->runs[0].machine, "null"));
    CHECK_STR_CONTAINS(f->runs[0].config, "\"group\":\"rnns\",\"hidden_size\":8,\"image_size\":224");
    CHECK(!strstr(f->runs[0].config, "seed") && !strstr(f->runs[0].config, "nloops") &&
          !strstr(f->runs[0].config, "warmup"));
    const cJSON *context = cJSON_GetObjectItem(doc, "context");
    CHECK(!strcmp(f->date, cJSON_GetObjectItem(context, "date")->valuestring));
    CHECK(!strcmp(f->commit, cJSON_GetObjectItem(context, "git_sha")->valuestring));
    char hex[65];
    sha256sum("nnbench.json", hex);
    CHECK_MSG(!strcmp(f->sha256, hex), "sha256 %s, sha256sum %s", f->sha256, hex);
    CHECK_STR_CONTAINS(f->provenance, hex);
    double median0 = f->runs[0].value;
    cJSON_Delete(doc);
    nnb_ingest_free(r);

    /* --commit, --date and --label win over the file's own; --unit does not apply (noted). */
    nnb_ingest_options opt = {"abc1234", "2026-01-02T03:04:05+01:00", "nightly", "s"};
    r = ingest("nnbench.json", &opt);
    if (r) {
        CHECK_STR_CONTAINS(r->notes, "--unit applies to fastrnns OSS JSON only");
        CHECK(r->files[0].runs[0].value == median0);
        CHECK(!strcmp(r->files[0].commit, "abc1234") && !strcmp(r->files[0].label, "nightly"));
        CHECK_MSG(!strcmp(r->files[0].date, "2026-01-02T02:04:05Z"), "date %s", r->files[0].date);
    }
    nnb_ingest_free(r);
}

static void sweep_points_in_config(void) {
    nnb_ingest_result *r = ingest("sweep.json", NULL);
    if (!r)
        return;
    cJSON *doc = nnb_test_read_json(fixture("sweep.json"));
    const nnb_store_file *f = &r->files[0];
    int expected = 0, seen400 = 0;
    for (const cJSON *p = cJSON_GetObjectItem(doc, "points")->child; p; p = p->next)
        for (const cJSON *run = cJSON_GetObjectItem(p, "runs")->child; run; run = run->next) {
            const cJSON *spin = cJSON_GetArrayItem(
                cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(run, "results"), "groups"), "rnns"), 0);
            double median = cJSON_GetObjectItem(cJSON_GetObjectItem(spin, "forward"), "median_ms")->valuedouble;
            const char *setting = cJSON_GetObjectItem(cJSON_GetObjectItem(p, "settings"), "seqLength")->valuestring;
            expected += 1 + cJSON_IsObject(cJSON_GetObjectItem(spin, "backward"));
            char tag[64];
            snprintf(tag, sizeof tag, "\"seqLength\":\"%s\"", setting);
            int found = 0;
            for (int i = 0; i < f->run_count; i++)
                found |= f->runs[i].value == median && strstr(f->runs[i].config, tag) != NULL;
            CHECK_MSG(found, "sweep.json: no run with median %g tagged %s", median, tag);
            seen400 |= !strcmp(setting, "400");
        }
    CHECK(seen400);
    CHECK_MSG(f->run_count == expected, "sweep.json: %d runs, expected %d", f->run_count, expected);
    CHECK(!strcmp(r->format, "sweep") && f->date != NULL);
    cJSON_Delete(doc);
    nnb_ingest_free(r);
}

static void serve_latencies_and_throughput(void) {
    nnb_ingest_result *r = ingest("serve.json", NULL);
    if (!r)
        return;
    cJSON *doc = nnb_test_read_json(fixture("serve.json"));
    const nnb_store_file *f = &r->files[0];
    const cJSON *summary = cJSON_GetObjectItem(doc, "summary"), *latency = cJSON_GetObjectItem(summary, "latency_ms");
    int warmup = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "config"), "warmup_requests")->valueint;
    const nnb_store_run *p50 = find_run(f, "jit", "p50"), *p99 = find_run(f, "jit", "p99");
    const nnb_store_run *tp = find_run(f, "jit", "throughput");
    CHECK(p50 && p99 && tp && f->run_count == 3);
    if (!p50 || !p99 || !tp)
        return;
    CHECK(p50->value == cJSON_GetObjectItem(latency, "p50")->valuedouble);
    CHECK(p99->value == cJSON_GetObjectItem(latency, "p99")->valuedouble && !p99->higher_is_better);
    double requests = cJSON_GetObjectItem(summary, "measured_requests")->valuedouble;
    CHECK_NEAR(tp->value, requests / cJSON_GetObjectItem(summary, "duration_s")->valuedouble, 1e-9 * tp->value);
    CHECK(tp->higher_is_better && !strcmp(tp->unit, "req/s") && tp->sample_count == 0);
    /* The samples: response - arrival of each request after the warm-up ones. */
    int i = 0, n = 0;
    for (const cJSON *row = cJSON_GetObjectItem(doc, "requests")->child; row; row = row->next, i++) {
        if (i < warmup)
            continue;
        double latency_ms = cJSON_GetArrayItem(row, 3)->valuedouble - cJSON_GetArrayItem(row, 0)->valuedouble;
        CHECK(n < p50->sample_count && p50->samples[n] == latency_ms);
        n++;
    }
    CHECK_MSG(p50->sample_count == n && n == (int)requests, "serve: %d samples, %d measured", p50->sample_count, n);
    CHECK_STR_CONTAINS(p50->config, "\"group\":\"serve\"");
    CHECK(!strstr(p50->config, "\"requests\"") && !strstr(p50->config, "seed"));
    cJSON_Delete(doc);
    nnb_ingest_free(r);
}

static void fastrnns_oss_units(void) {
    cJSON *doc = nnb_test_read_json(fixture("fastrnns_cpu.oss.json"));
    double py_s = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "lstm-backward"), "py")->valuedouble;
    nnb_ingest_options seconds = {NULL, NULL, NULL, "s"};
    nnb_ingest_result *r = ingest("fastrnns_cpu.oss.json", &seconds);
    if (r) {
        const nnb_store_run *py = find_run(&r->files[0], "py", "backward");
        CHECK(py && py->value == py_s * 1000 && py->sample_count == 0);
        CHECK(r->files[0].run_count == 8 && !strcmp(r->format, "fastrnns-oss"));
        CHECK(py && !strcmp(py->machine, "{\"unknown\":true}"));
        CHECK_STR_CONTAINS(py ? py->config : "", "{\"group\":\"rnns\",\"statistic\":\"mean\"}");
        CHECK_STR_CONTAINS(r->notes, "modification time"); /* no date in an OSS file */
        CHECK(!strstr(r->notes, "--unit s"));
    }
    nnb_ingest_free(r);
    r = ingest("fastrnns_cpu.oss.json", NULL); /* no unit: ms, with a note */
    if (r) {
        const nnb_store_run *py = find_run(&r->files[0], "py", "backward");
        CHECK(py && py->value == py_s);
        CHECK_STR_CONTAINS(r->notes, "give --unit s");
    }
    nnb_ingest_free(r);
    cJSON_Delete(doc);
}

static void pytest_benchmark_seconds_to_ms(void) {
    nnb_ingest_result *r = ingest("pytest_benchmark_foreign.json", NULL);
    if (!r)
        return;
    const nnb_store_file *f = &r->files[0];
    const nnb_store_run *fwd = find_run(f, "test_forward[jit]", "time");
    const nnb_store_run *bwd = find_run(f, "test_backward[jit]", "time");
    CHECK(fwd && bwd && f->run_count == 2 && !strcmp(r->format, "pytest-benchmark"));
    if (fwd && bwd) {
        CHECK_NEAR(fwd->value, 2.4, 1e-12);
        CHECK(fwd->sample_count == 5 && fabs(fwd->samples[4] - 2.9) < 1e-12);
        CHECK(bwd->sample_count == 0 && fabs(bwd->value - 5.5) < 1e-12);
        CHECK(!strstr(fwd->machine, "ci-runner-7")); /* the host is provenance, not the key */
        CHECK_STR_CONTAINS(fwd->machine, "\"brand_raw\":\"Intel(R) Xeon(R) Processor\"");
        CHECK_STR_CONTAINS(fwd->config, "\"executor\":\"profiling\"");
        CHECK_STR_CONTAINS(fwd->config, "\"fullname\":\"benchmarks/fastrnns/test_bench.py::");
    }
    CHECK(!strcmp(f->commit, "0123456789abcdef0123456789abcdef01234567"));
    CHECK_MSG(!strcmp(f->date, "2026-12-05T21:14:03Z"), "date %s", f->date);
    nnb_ingest_free(r);
}

/* nnbench's own pytest-benchmark output: runner and phase from params, the group as nnbench names it. */
static void pytest_benchmark_of_nnbench(void) {
    cJSON *doc = nnb_test_read_json(fixture("pytest_benchmark_nnbench.json"));
    nnb_ingest_result *r = ingest("pytest_benchmark_nnbench.json", NULL);
    if (!r || !doc)
        return;
    int n = 0;
    for (const cJSON *b = cJSON_GetObjectItem(doc, "benchmarks")->child; b; b = b->next, n++) {
        const cJSON *params = cJSON_GetObjectItem(b, "params"), *stats = cJSON_GetObjectItem(b, "stats");
        const nnb_store_run *run = find_run(&r->files[0], cJSON_GetObjectItem(params, "runner")->valuestring,
                                            cJSON_GetObjectItem(params, "phase")->valuestring);
        CHECK(run && run->value == cJSON_GetObjectItem(stats, "median")->valuedouble * 1000);
        CHECK(run && run->sample_count == cJSON_GetObjectItem(stats, "rounds")->valueint);
        CHECK(run && strstr(run->config, "\"group\":\"rnns\"") && !strstr(run->config, "net_name"));
    }
    CHECK(n == 2 && r->files[0].run_count == 2);
    nnb_ingest_free(r);
    cJSON_Delete(doc);
}

static void refuse(const char *path, const char *text, size_t len, const char *expected) {
    nnb_ingest_result *r = NULL;
    char err[1024] = "";
    int rc = nnb_ingest_text(path, text, len, 0, NULL, &r, err, sizeof err);
    CHECK_MSG(rc == -1 && r == NULL, "%s: accepted", path);
    CHECK_MSG(!strncmp(err, path, strlen(path)), "%s: the message does not name the file: %s", path, err);
    CHECK_STR_CONTAINS(err, expected);
}

static void bad_files_refused(void) {
    nnb_ingest_result *r = NULL;
    char err[1024] = "";
    CHECK(nnb_ingest_file(fixture("unknown.json"), NULL, &r, err, sizeof err) == -1);
    CHECK_STR_CONTAINS(err, "unknown.json: unknown format: not one of nnbench full JSON");
    CHECK_STR_CONTAINS(err, "pytest-benchmark JSON");
    CHECK(nnb_ingest_file(fixture("missing.json"), NULL, &r, err, sizeof err) == -1);
    CHECK_STR_CONTAINS(err, "missing.json: cannot read");
    /* Every fixture cut in half is refused, none half-read. */
    const char *names[] = {"nnbench.json",
                           "sweep.json",
                           "serve.json",
                           "fastrnns_cpu.oss.json",
                           "pytest_benchmark_foreign.json",
                           "pytest_benchmark_nnbench.json"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        FILE *f = fopen(fixture(names[i]), "rb");
        char text[65536];
        size_t len = f ? fread(text, 1, sizeof text, f) : 0;
        if (f)
            fclose(f);
        refuse(names[i], text, len / 2, "not valid JSON (damaged or truncated?");
    }
    refuse("empty.json", "", 0, "the file is empty");
    refuse("binary.dat",
           "\x7f"
           "ELF\x02\x01",
           6, "not valid JSON");
    refuse("list.json", "[1, 2]", 6, "unknown format");
    /* Valid JSON with the schema but the content cut: a clear message, not a crash. */
    refuse("cut.json", "{\"schema\": \"nnbench-results\", \"context\": {}}", 44, "without \"context\", \"config\"");
    refuse("cut_serve.json", "{\"schema\": \"nnbench-serve\"}", 27, "serve JSON without");
    refuse("cut_sweep.json", "{\"schema\": \"nnbench-sweep\", \"sweep\": {}}", 40, "sweep.json without");
}

static void dates_normalised(void) {
    char out[21];
    CHECK(nnb_ingest_normalize_date("2026-12-06", out) == 0 && !strcmp(out, "2026-12-06T00:00:00Z"));
    CHECK(nnb_ingest_normalize_date("2026-12-06 05:58", out) == 0 && !strcmp(out, "2026-12-06T05:58:00Z"));
    CHECK(nnb_ingest_normalize_date("2026-12-06T00:30:00-01:30", out) == 0 && !strcmp(out, "2026-12-06T02:00:00Z"));
    CHECK(nnb_ingest_normalize_date("2026-02-31", out) == -1);
    CHECK(nnb_ingest_normalize_date("2026-02-31T00:00+01:00", out) == -1);
    CHECK(nnb_ingest_normalize_date("yesterday", out) == -1);
    CHECK(nnb_ingest_normalize_date("2026-12-06T05:58:23Zjunk", out) == -1);
}

/* --dtype in series keys: a file from before it, and one saying "fp32", key each runner alike (the fp32 series
 * go on); bf16, the run's or an --ab side's own, keys a series of its own. The fixture, edited with cJSON. */
static char *config_of(const char *path, const char *runner) {
    nnb_ingest_result *r = NULL;
    char err[1024] = "";
    CHECK_MSG(nnb_ingest_file(path, NULL, &r, err, sizeof err) == 0 && r, "%s: %s", path, err);
    const nnb_store_run *run = r ? find_run(&r->files[0], runner, "forward") : NULL;
    char *config = run ? strdup(run->config) : NULL;
    nnb_ingest_free(r);
    return config;
}

static void write_variant(const char *path, const char *run_precision, const char *py_precision) {
    FILE *in = fopen(fixture("nnbench.json"), "r");
    static char text[1 << 20];
    size_t n = in ? fread(text, 1, sizeof text - 1, in) : 0;
    if (in)
        fclose(in);
    text[n] = 0;
    cJSON *doc = cJSON_Parse(text);
    if (run_precision)
        cJSON_AddStringToObject(cJSON_GetObjectItem(doc, "config"), "precision", run_precision);
    const cJSON *g, *runner;
    cJSON_ArrayForEach(g, cJSON_GetObjectItem(doc, "groups")) {
        cJSON_ArrayForEach(runner, g) {
            const char *name = cJSON_GetObjectItem(runner, "name")->valuestring;
            const char *p = !strcmp(name, "py") && py_precision ? py_precision : run_precision;
            if (p)
                cJSON_AddStringToObject((cJSON *)runner, "precision", p);
        }
    }
    char *out = cJSON_Print(doc);
    FILE *f = fopen(path, "w");
    if (f && out)
        fputs(out, f);
    if (f)
        fclose(f);
    free(out);
    cJSON_Delete(doc);
}

static void precision_in_series_keys(void) {
    char fp32[128], bf16[128], ab[128];
    snprintf(fp32, sizeof fp32, "/tmp/nnb-ingest-fp32-%d.json", (int)getpid());
    snprintf(bf16, sizeof bf16, "/tmp/nnb-ingest-bf16-%d.json", (int)getpid());
    snprintf(ab, sizeof ab, "/tmp/nnb-ingest-ab-%d.json", (int)getpid());
    write_variant(fp32, "fp32", NULL);
    write_variant(bf16, "bf16", NULL);
    write_variant(ab, "fp32", "bf16"); /* --ab py@--dtype=bf16 ...: py's own */
    char *old_py = config_of(fixture("nnbench.json"), "py"), *fp32_py = config_of(fp32, "py");
    char *bf16_py = config_of(bf16, "py"), *ab_py = config_of(ab, "py"), *ab_other = config_of(ab, "jit");
    char *old_other = config_of(fixture("nnbench.json"), "jit");
    CHECK_MSG(old_py && fp32_py && !strcmp(old_py, fp32_py), "fp32 started a new series: %s / %s", old_py, fp32_py);
    CHECK_MSG(old_py && !strstr(old_py, "precision"), "an fp32 key names its precision: %s", old_py);
    CHECK_MSG(bf16_py && strstr(bf16_py, "\"precision\":\"bf16\"") && strcmp(bf16_py, old_py ? old_py : ""),
              "bf16 is not a series of its own: %s", bf16_py ? bf16_py : "(none)");
    CHECK_MSG(ab_py && bf16_py && !strcmp(ab_py, bf16_py), "an --ab side's bf16 keys apart: %s", ab_py);
    CHECK_MSG(ab_other && old_other && !strcmp(ab_other, old_other), "the fp32 side changed series: %s", ab_other);
    free(old_py), free(fp32_py), free(bf16_py), free(ab_py), free(ab_other), free(old_other);
    remove(fp32), remove(bf16), remove(ab);
}

static void canonical_key_ignores_order(void) {
    cJSON *a = cJSON_Parse("{\"b\": 1, \"a\": {\"y\": [1, 2.5], \"x\": \"s\"}}");
    cJSON *b = cJSON_Parse("{\"a\": {\"x\": \"s\", \"y\": [1, 2.5]}, \"b\": 1.0}");
    char *ta = nnb_canonical_json(a), *tb = nnb_canonical_json(b);
    CHECK_MSG(ta && tb && !strcmp(ta, tb) && !strcmp(ta, "{\"a\":{\"x\":\"s\",\"y\":[1,2.5]},\"b\":1}"), "%s / %s", ta,
              tb);
    free(ta), free(tb);
    cJSON_Delete(a), cJSON_Delete(b);
}

int main(void) {
    snprintf(data, sizeof data, "%s", nnb_test_env("NNBENCH_TEST_DATA"));
    sha256_known_vectors();
    dates_normalised();
    canonical_key_ignores_order();
    nnbench_full_json();
    sweep_points_in_config();
    serve_latencies_and_throughput();
    fastrnns_oss_units();
    pytest_benchmark_seconds_to_ms();
    pytest_benchmark_of_nnbench();
    bad_files_refused();
    precision_in_series_keys();
    return nnb_test_finish();
}
