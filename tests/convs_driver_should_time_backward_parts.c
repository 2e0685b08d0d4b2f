#define _GNU_SOURCE
/*
 * The convs group in the driver (issue 21), end to end through the nnbench binary with the counting test runner
 * fake_conv (tests/plugins/fake_conv_runner.c): --conv reaches create() deduced and checked, --conv-dir decides
 * which backward parts run, each part is called once per iteration (warm-up included) and timed on its own over
 * the measured ones, the full JSON and the table carry them, in-process and isolated, and the flags' errors.
 */
#include "test_support.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char bin[1024], plugins[1024], tmp[256], out[1 << 16], err[1 << 16];

#define DESC "mb4ic8ih10oc6kh3ph1n\\\"net:conv1\\\""

/* nnbench with the fake plugin only, its call counts into tmp/counts. */
static int nnbench(const char *args) {
    return nnb_test_runf(out, sizeof out, err, sizeof err,
                         "rm -f %s/counts; NNB_FAKE_CONV_COUNTS=%s/counts %s --runner-path %s --threads 1 %s", tmp, tmp,
                         bin, plugins, args);
}

/* nnbench serve, likewise. */
static int serve(const char *args) {
    return nnb_test_runf(out, sizeof out, err, sizeof err,
                         "rm -f %s/counts; NNB_FAKE_CONV_COUNTS=%s/counts %s serve --runner-path %s --threads 1 %s",
                         tmp, tmp, bin, plugins, args);
}

/* "name count" from the counts file written by destroy(); -1 when absent. */
static long calls(const char *name) {
    char path[512], key[64];
    long n, found = -1;
    snprintf(path, sizeof path, "%s/counts", tmp);
    FILE *f = fopen(path, "r");
    while (f && fscanf(f, "%63s %ld", key, &n) == 2)
        if (!strcmp(key, name))
            found = n;
    if (f)
        fclose(f);
    return found;
}

static cJSON *runner_of(cJSON *doc) {
    cJSON *convs = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "groups"), "convs"), *r;
    cJSON_ArrayForEach(r,
                       convs) if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(r, "name")), "fake_conv")) return r;
    return NULL;
}

static int samples(cJSON *runner, const char *phase) {
    cJSON *p = cJSON_GetObjectItem(runner, phase);
    return cJSON_IsObject(p) ? cJSON_GetArraySize(cJSON_GetObjectItem(p, "samples_ms")) : -1;
}

static double info_number(cJSON *runner, const char *key) {
    cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(runner, "runner_info"), key);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static void every_part_each_iteration(const char *isolation) {
    char args[1024], json[512];
    snprintf(json, sizeof json, "%s/all.json", tmp);
    snprintf(args, sizeof args, "--convs fake_conv --conv " DESC " --warmup 3 --nloops 7 %s --json-out %s", isolation,
             json);
    CHECK_MSG(nnbench(args) == 0, "%s: %s", args, err);
    { /* destroy() writes the counts, in nnbench or in its isolated child */
        CHECK_MSG(calls("forward") == 10 && calls("backward") == 10, "forward %ld backward %ld", calls("forward"),
                  calls("backward"));
        CHECK_MSG(calls("part0") == 10 && calls("part1") == 10, "parts %ld %ld", calls("part0"), calls("part1"));
        /* setup before the whole backward and before the parts; zero_grad after each */
        CHECK_MSG(calls("backward_setup") == 20 && calls("zero_grad") == 20, "setup %ld zero_grad %ld",
                  calls("backward_setup"), calls("zero_grad"));
    }
    cJSON *doc = nnb_test_read_json(json);
    cJSON *r = runner_of(doc);
    CHECK_MSG(r != NULL, "%s: a convs runner in the JSON", isolation);
    CHECK(samples(r, "forward") == 7 && samples(r, "backward") == 7);
    CHECK_MSG(samples(r, "bwd_data") == 7 && samples(r, "bwd_weights") == 7, "%s: part samples %d %d", isolation,
              samples(r, "bwd_data"), samples(r, "bwd_weights"));
    cJSON *names = cJSON_GetObjectItem(r, "backward_parts");
    CHECK(cJSON_GetArraySize(names) == 2 && !strcmp(cJSON_GetArrayItem(names, 0)->valuestring, "bwd_data") &&
          !strcmp(cJSON_GetArrayItem(names, 1)->valuestring, "bwd_weights"));
    /* the problem the runner was given, deduced from the descriptor */
    CHECK(info_number(r, "mb") == 4 && info_number(r, "ic") == 8 && info_number(r, "oc") == 6);
    CHECK(info_number(r, "ih") == 10 && info_number(r, "iw") == 10 && info_number(r, "oh") == 10);
    CHECK(info_number(r, "ph") == 1 && info_number(r, "sh") == 1 && info_number(r, "has_bias") == 1);
    CHECK(info_number(r, "dirs") == NNB_CONV_DIR_ALL && info_number(r, "ndims") == 4);
    cJSON *conv = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "config"), "conv");
    cJSON *descriptor = cJSON_GetObjectItem(conv, "descriptor");
    CHECK_MSG(cJSON_IsString(descriptor) && !strcmp(descriptor->valuestring, "mb4ic8ih10oc6oh10kh3ph1n\"net:conv1\""),
              "canonical descriptor in the JSON: %s", cJSON_IsString(descriptor) ? descriptor->valuestring : "none");
    CHECK(!strcmp(cJSON_GetObjectItem(conv, "name")->valuestring, "net:conv1"));
    CHECK(!strcmp(cJSON_GetObjectItem(conv, "dir")->valuestring, "all"));
    cJSON_Delete(doc);
}

static void directions(void) {
    char args[1024], json[512];
    snprintf(json, sizeof json, "%s/dir.json", tmp);
    snprintf(args, sizeof args,
             "--convs fake_conv --conv " DESC " --conv-dir bwd_w --warmup 1 --nloops 4 --no-isolate "
             "--json-out %s",
             json);
    CHECK_MSG(nnbench(args) == 0, "%s", err);
    CHECK(calls("part0") == 5 && calls("part1") == 0 && calls("backward") == 5);
    cJSON *doc = nnb_test_read_json(json);
    cJSON *r = runner_of(doc);
    CHECK(samples(r, "bwd_weights") == 4 && cJSON_GetObjectItem(r, "bwd_data") == NULL);
    CHECK(info_number(r, "dirs") == (NNB_CONV_DIR_FWD | NNB_CONV_DIR_BWD_W));
    cJSON_Delete(doc);

    snprintf(args, sizeof args,
             "--convs fake_conv --conv " DESC " --conv-dir fwd --warmup 1 --nloops 4 --no-isolate "
             "--json-out %s",
             json);
    CHECK_MSG(nnbench(args) == 0, "%s", err);
    CHECK_MSG(calls("forward") == 5 && calls("backward") == 0 && calls("backward_setup") == 0 && calls("part0") == 0 &&
                  calls("zero_grad") == 0,
              "--conv-dir fwd calls the forward only");
    doc = nnb_test_read_json(json);
    r = runner_of(doc);
    CHECK(cJSON_IsFalse(cJSON_GetObjectItem(r, "has_backward")) && cJSON_IsNull(cJSON_GetObjectItem(r, "backward")));
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(r, "backward_parts")) == 0);
    cJSON_Delete(doc);
}

static void batch_bias_algo_and_table(void) {
    char args[1024], json[512];
    snprintf(json, sizeof json, "%s/batch.json", tmp);
    /* --conv alone selects the convs group */
    snprintf(args, sizeof args,
             "--conv " DESC " --conv-batch 16 --conv-no-bias --conv-algo winograd --warmup 0 "
             "--nloops 2 --no-isolate --json-out %s",
             json);
    CHECK_MSG(nnbench(args) == 0, "%s", err);
    cJSON *doc = nnb_test_read_json(json);
    cJSON *groups = cJSON_GetObjectItem(doc, "groups");
    CHECK_MSG(cJSON_GetArraySize(groups) == 1 && cJSON_GetObjectItem(groups, "convs"), "only the convs group runs");
    cJSON *r = runner_of(doc);
    CHECK(info_number(r, "mb") == 16 && info_number(r, "has_bias") == 0);
    cJSON *algo = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "runner_info"), "algo");
    CHECK(cJSON_IsString(algo) && !strcmp(algo->valuestring, "winograd"));
    cJSON_Delete(doc);
    CHECK_STR_CONTAINS(err, "Benchmarking convolutions...");
    CHECK_STR_CONTAINS(err, "convolution mb16ic8ih10oc6oh10kh3ph1n\"net:conv1\" without bias (--conv-dir all)");
    CHECK_STR_CONTAINS(err, "      - bwd_data");
    CHECK_STR_CONTAINS(err, "   - bwd_weights");
    CHECK(nnbench("--group convs --conv " DESC " --warmup 0 --nloops 2 --stats robust") == 0);
    CHECK_STR_CONTAINS(err, "      - bwd_data");
}

static void ab_on_a_conv(void) {
    CHECK_MSG(nnbench("--ab fake_conv fake_conv --conv " DESC " --warmup 1 --min-samples 6 --ab-max-time 2") == 0,
              "--ab: %s", err);
    CHECK_STR_CONTAINS(err, "fake_conv");
    /* a variant may change the algorithm or the direction, not the problem */
    CHECK_MSG(nnbench("--ab fake_conv fake_conv@--conv-algo=winograd --conv " DESC
                      " --warmup 1 --min-samples 6 --ab-max-time 2") == 0,
              "--ab with --conv-algo: %s", err);
    CHECK(nnbench("--ab fake_conv fake_conv@--conv=mb2ic3ih5oc3kh3 --conv " DESC) == 2);
    CHECK_STR_CONTAINS(err, "is not a flag a variant can set");
}

/* serve: the inference entry on a convolution whose minibatch is serve's --max-batch. */
static void serve_a_conv(void) {
    CHECK_MSG(serve("--device cpu --runner fake_conv --conv " DESC " --requests 20 --warmup-requests 5 "
                    "--max-batch 3 --quiet") == 0,
              "serve: %s", err);
    CHECK_MSG(calls("mb") == 3 && calls("infer") >= 25, "served with mb %ld, %ld infer calls", calls("mb"),
              calls("infer"));
    CHECK(serve("--device cpu --runner fake_conv --requests 5") == 2);
    CHECK_STR_CONTAINS(err, "the convs group needs a convolution problem: give --conv DESC");
}

/* A convs shape-set sweep with --beside: the roll-up (count-weighted sum) beside a whole run, as its share. */
static void sweep_beside(void) {
    char whole[512], shapes[512], args[4096], rollup[512], md[512];
    snprintf(whole, sizeof whole, "%s/whole.json", tmp);
    snprintf(shapes, sizeof shapes, "%s/mini.shapes", tmp);
    FILE *f = fopen(shapes, "w");
    if (!f)
        return;
    fputs("# nnbench shape set v1\n# group: convs\nmodel=m count=2 name=a conv=mb4ic8ih10oc6kh3ph1\n"
          "model=m count=1 name=b conv=mb4ic8ih10oc6kh1\n",
          f);
    fclose(f);
    snprintf(args, sizeof args, "--convs fake_conv --conv " DESC " --warmup 0 --nloops 5 --json-out %s", whole);
    CHECK_MSG(nnbench(args) == 0, "%s", err);
    snprintf(args, sizeof args,
             "sweep --shapes %s --convs fake_conv --runner-path %s --warmup 0 --nloops 3 --out %s/sw --beside %s "
             "--progress never",
             shapes, plugins, tmp, whole);
    CHECK_MSG(nnb_test_runf(out, sizeof out, err, sizeof err, "%s %s", bin, args) == 0, "sweep --beside: %s", err);
    /* the expected share from the two files the sweep and the run wrote */
    snprintf(rollup, sizeof rollup, "%s/sw/sweep-rollup.csv", tmp);
    char line[512] = "", model[64] = "";
    double fwd = 0, bwd = 0, tot = 0;
    f = fopen(rollup, "r");
    if (f && fgets(line, sizeof line, f) && fgets(line, sizeof line, f))
        sscanf(line, "%63[^,],fake_conv,2,2,true,%lf,%lf,%lf", model, &fwd, &bwd, &tot);
    if (f)
        fclose(f);
    cJSON *doc = nnb_test_read_json(whole);
    cJSON *r = runner_of(doc);
    double whole_fwd = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "forward"), "median_ms")->valuedouble;
    cJSON_Delete(doc);
    CHECK_MSG(!strcmp(model, "m") && fwd > 0 && whole_fwd > 0, "roll-up line '%s'", line);
    char want[256];
    snprintf(want, sizeof want, "| m | fake_conv | fake_conv (batch 4) | %.1f%% |", 100 * fwd / whole_fwd);
    snprintf(md, sizeof md, "cat %s/sw/sweep.md", tmp);
    CHECK(nnb_test_run(md, out, sizeof out, NULL, 0) == 0);
    CHECK_STR_CONTAINS(out, "Beside the roll-up, whole runs from");
    CHECK_STR_CONTAINS(out, want);
    /* --conv as a sweep axis: each point's problem is checked before anything runs */
    CHECK(nnb_test_runf(out, sizeof out, err, sizeof err,
                        "%s sweep --axis conv=mb2ic3ih8oc4kh3,mb2ic3ih8oc4kh1sh2 --convs fake_conv --runner-path %s "
                        "--list-points",
                        bin, plugins) == 0);
    CHECK_STR_CONTAINS(out, "--conv mb2ic3ih8oc4kh1sh2");
    CHECK(nnb_test_runf(out, sizeof out, err, sizeof err,
                        "%s sweep --axis conv=mb2ic3ih8oc4kh3,mb2ic3ih8oc4kh9 --convs fake_conv --runner-path %s "
                        "--list-points",
                        bin, plugins) == 2);
    CHECK_STR_CONTAINS(err, "point 1 (conv=mb2ic3ih8oc4kh9): --conv 'mb2ic3ih8oc4kh9': kh=9 with dh=0 spans 9");
    CHECK(nnb_test_runf(out, sizeof out, err, sizeof err, "%s merge --out %s/sw2 %s/sw --beside %s/nothing.json", bin,
                        tmp, tmp, tmp) == 2);
}

typedef struct bad_flags {
    const char *args, *message;
} bad_flags;

static void bad_command_lines(void) {
    static const bad_flags cases[] = {
        {"--convs fake_conv", "the convs group needs a convolution problem: give --conv DESC (benchdnn's descriptor, "
                              "e.g. --conv mb32ic64ih56oc64oh56kh3ph1; docs/convs.md)"},
        {"--group convs", "the convs group needs a convolution problem"},
        {"--conv mb2ic3ih5oc3kh3 --conv-dir sideways",
         "--conv-dir: unknown direction 'sideways' (valid: fwd, bwd_d, bwd_w, all)"},
        {"--conv mb2ic3ih5oc3ox3", "--conv 'mb2ic3ih5oc3ox3': unknown key 'ox' at character 13"},
        {"--conv ic64ih56oc64oh57kh3ph1", "oh=57 but ih=56 kh=3 sh=1 ph=1 dh=0 give 56 (key 'oh' at character 13)"},
        {"--conv mb2ic3ih5oc3kh3 --conv-algo 'a b'", "--conv-algo: 'a b' is not an algorithm name"},
        {"--conv mb2ic3ih5oc3kh3 --conv-batch 0", "--conv-batch: 0 is out of range"},
        {"--conv mb100000ic1000ih1000oc1kh1", "--conv 'mb100000ic1000ih1000oc1oh1000kh1': its tensors (x, w, y and "
                                              "their gradients) need about"},
        {"--group convolutions", "--group: unknown group 'convolutions' (valid: rnns, cnns, vl_rnns, convs)"},
        {"--cnns fake_conv", "--cnns: 'fake_conv' is a convs runner: use --convs fake_conv"},
        {"--conv mb2ic3ih5oc3kh3 --ab fake_conv fake_conv --convs fake_conv", "--convs does not apply"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int rc = nnbench(cases[i].args);
        CHECK_MSG(rc == 2, "%s exits 2 (got %d)", cases[i].args, rc);
        CHECK_STR_CONTAINS(err, cases[i].message);
    }
}

int main(void) {
    snprintf(bin, sizeof bin, "%s", nnb_test_env("NNBENCH_BIN"));
    snprintf(plugins, sizeof plugins, "%s/convs", nnb_test_env("NNBENCH_TEST_PLUGIN_DIR"));
    snprintf(tmp, sizeof tmp, "/tmp/nnb_convs_driver_XXXXXX");
    if (!mkdtemp(tmp))
        return 1;
    every_part_each_iteration("--no-isolate");
    every_part_each_iteration("--isolate");
    directions();
    batch_bias_algo_and_table();
    ab_on_a_conv();
    serve_a_conv();
    sweep_beside();
    bad_command_lines();
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    CHECK(system(cmd) == 0);
    return nnb_test_finish();
}
