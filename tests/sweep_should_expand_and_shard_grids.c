/* nnbench sweep's grid: cartesian products and zipped axes in a fixed order, shape sets times axes, every
 * point in exactly one of n shards, the shipped shape sets parse, and bad axes, shard specs and shape files
 * are rejected with a message naming the problem (file:line for shape files). */
#define _GNU_SOURCE
#include "cli.h"
#include "sweep.h"
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const nnb_sweep_hooks hooks = {.axis_flag = nnb_cli_axis_flag,
                                      .base_flag = nnb_cli_sweep_base_flag,
                                      .check_argv = nnb_cli_check_run_argv,
                                      .self_exe = "/bin/false"};
static char err[1024];

/* Parse a sweep command line given as one string (tokens split at spaces). */
static int parse(const char *line, nnb_sweep_options *o) {
    static char buf[4096];
    static char *argv[128];
    int argc = 0;
    snprintf(buf, sizeof buf, "%s", line);
    for (char *save = NULL, *t = strtok_r(buf, " ", &save); t && argc < 127; t = strtok_r(NULL, " ", &save))
        argv[argc++] = t;
    err[0] = 0;
    return nnb_sweep_parse(argc, argv, &hooks, o, err, sizeof err);
}

static const char *value_of(const nnb_sweep_point *p, const char *flag) {
    for (int i = 0; i < p->setting_count; i++)
        if (!strcmp(p->settings[i].flag, flag))
            return p->settings[i].value;
    return NULL;
}

static void rejects(const char *line, const char *needle) {
    nnb_sweep_options o;
    int rc = parse(line, &o);
    CHECK_MSG(rc == 2, "'%s' should be rejected (rc %d)", line, rc);
    CHECK_STR_CONTAINS(err, needle);
    nnb_sweep_options_free(&o);
}

static void product_is_ordered_last_axis_fastest(void) {
    nnb_sweep_options o;
    CHECK(parse("--axis hiddenSize=256,512,1024 --axis miniBatch=1,32 --rnns py", &o) == 0);
    CHECK(o.grid.point_count == 6);
    static const char *const h[] = {"256", "256", "512", "512", "1024", "1024"};
    static const char *const b[] = {"1", "32", "1", "32", "1", "32"};
    for (int k = 0; k < o.grid.point_count && k < 6; k++) {
        const nnb_sweep_point *p = &o.grid.points[k];
        CHECK(p->index == k);
        CHECK_MSG(!strcmp(value_of(p, "--hiddenSize"), h[k]) && !strcmp(value_of(p, "--miniBatch"), b[k]),
                  "point %d: %s", k, p->label);
        CHECK(p->count == 1 && p->model == NULL);
    }
    CHECK(!strcmp(o.grid.points[3].label, "hiddenSize=512 miniBatch=32"));
    nnb_sweep_options_free(&o);

    CHECK(parse("--axis --hiddenSize=64,128 --axis cnn_batch=1,2 --axis fuser=te,none,old", &o) == 0); /* spellings */
    CHECK(o.grid.point_count == 12 && !strcmp(o.grid.axes[0].flag, "--hiddenSize"));
    CHECK(!strcmp(o.grid.axes[1].flag, "--cnn-batch") && !strcmp(o.grid.axes[1].key, "cnn_batch"));
    nnb_sweep_options_free(&o);
}

static void zip_pairs_values(void) {
    nnb_sweep_options o;
    CHECK(parse("--zip --axis hiddenSize=256,512,1024 --axis inputSize=128,256,512", &o) == 0);
    CHECK(o.grid.point_count == 3);
    for (int k = 0; k < 3 && k < o.grid.point_count; k++)
        CHECK(atoi(value_of(&o.grid.points[k], "--hiddenSize")) ==
              2 * atoi(value_of(&o.grid.points[k], "--inputSize")));
    nnb_sweep_options_free(&o);
    rejects("--zip --axis hiddenSize=256,512 --axis inputSize=1,2,3", "--zip: axis inputSize has 3 values");
}

/* Every point in exactly one shard, shards balanced to within one point, for many n. */
static void shards_cover_every_point_once(void) {
    nnb_sweep_options o;
    CHECK(parse("--axis hiddenSize=1,2,3,4,5,6,7 --axis miniBatch=1,2,3", &o) == 0);
    CHECK(o.grid.point_count == 21);
    for (int n = 1; n <= 25; n++) {
        int seen[21] = {0}, min = 1 << 30, max = 0;
        for (int i = 0; i < n; i++) {
            int size = 0;
            for (int k = 0; k < o.grid.point_count; k++)
                if (nnb_sweep_in_shard(k, i, n))
                    seen[k]++, size++;
            min = size < min ? size : min;
            max = size > max ? size : max;
        }
        int once = 1;
        for (int k = 0; k < 21; k++)
            once &= seen[k] == 1;
        CHECK_MSG(once, "n=%d: every point in exactly one shard", n);
        CHECK_MSG(max - min <= 1, "n=%d: shard sizes %d..%d", n, min, max);
    }
    nnb_sweep_options_free(&o);

    int i, n;
    CHECK(nnb_sweep_parse_shard("3/4", &i, &n, err, sizeof err) == 0 && i == 3 && n == 4);
    const char *bad[] = {"4/4", "-1/4", "0/0", "1", "a/b", "1/4x", "/4", "0/10001"};
    for (size_t b = 0; b < sizeof bad / sizeof *bad; b++) {
        CHECK_MSG(nnb_sweep_parse_shard(bad[b], &i, &n, err, sizeof err) != 0, "--shard %s rejected", bad[b]);
        CHECK_STR_CONTAINS(err, "--shard");
    }
}

static char *write_temp(const char *text) {
    static char paths[16][64];
    static int next;
    char *p = paths[next++ % 16];
    snprintf(p, 64, "/tmp/nnb_shapes_XXXXXX");
    int fd = mkstemp(p);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        CHECK_MSG(0, "cannot write %s", p);
    close(fd);
    return p;
}

static void shapes_times_axes(void) {
    const char *path = write_temp("# two shapes\n\nmodel=m1 count=3 name=small hiddenSize=64 inputSize=32 # a\n"
                                  "model=m2 hiddenSize=128 inputSize=64 seqLength=7\n");
    char line[512];
    snprintf(line, sizeof line, "--shapes %s --axis miniBatch=1,8", path);
    nnb_sweep_options o;
    CHECK(parse(line, &o) == 0);
    CHECK(o.grid.point_count == 4);
    if (o.grid.point_count == 4) {
        CHECK(!strcmp(o.grid.points[0].model, "m1") && o.grid.points[0].count == 3);
        CHECK(!strcmp(o.grid.points[1].label, "small miniBatch=8"));
        CHECK(!strcmp(value_of(&o.grid.points[1], "--inputSize"), "32"));
        CHECK(!strcmp(o.grid.points[2].model, "m2") && o.grid.points[2].count == 1);
        CHECK(!strcmp(value_of(&o.grid.points[3], "--seqLength"), "7"));
        CHECK(!strcmp(o.grid.points[2].label, "hiddenSize=128 inputSize=64 seqLength=7 miniBatch=1"));
    }
    uint64_t id = o.id;
    nnb_sweep_options_free(&o);
    /* The id follows what the points are, not where the output goes. */
    snprintf(line, sizeof line, "--shapes %s --axis miniBatch=1,8 --out elsewhere --shard 1/2", path);
    CHECK(parse(line, &o) == 0 && o.id == id);
    nnb_sweep_options_free(&o);
    snprintf(line, sizeof line, "--shapes %s --axis miniBatch=1,8 --nloops 3", path);
    CHECK(parse(line, &o) == 0 && o.id != id);
    nnb_sweep_options_free(&o);

    snprintf(line, sizeof line, "--shapes %s --axis hiddenSize=1,2", path);
    rejects(line, "the shape set");
}

static void shape_file_rejects(const char *text, const char *needle) {
    char line[256];
    snprintf(line, sizeof line, "--shapes %s", write_temp(text));
    rejects(line, needle);
}

static void bad_shape_files(void) {
    shape_file_rejects("model=m hiddenSize=64\nhiddenSize=32\n", ":2: no model=");
    shape_file_rejects("\n\nmodel=m hiddenSize\n", ":3: 'hiddenSize' is not key=value");
    shape_file_rejects("model=m warpSize=32\n", ":1: 'warpSize' is not an nnbench flag");
    shape_file_rejects("model=m count=0 hiddenSize=3\n", ":1: count '0' is not a positive integer");
    shape_file_rejects("model=m hiddenSize=3 hiddenSize=4\n", ":1: --hiddenSize set twice");
    shape_file_rejects("model=m check=1\n", "--check takes no value");
    shape_file_rejects("model=m json-out=x\n", "--json-out is set by the sweep");
    shape_file_rejects("model=m hiddenSize=$(rm)\n", "may not contain");
    shape_file_rejects("# nothing\n\n", "no shapes in the file");
    shape_file_rejects("model=m\n", ":1: no settings");
    shape_file_rejects("model=m hiddenSize=abc\n", "--hiddenSize: 'abc' is not an integer");
    rejects("--shapes /nonexistent/x.shapes", "/nonexistent/x.shapes");
}

static void bad_axes_and_flags(void) {
    rejects("--rnns py", "nothing to sweep");
    rejects("--axis hiddenSize", "expected NAME=V1,V2");
    rejects("--axis =1,2", "expected NAME=V1,V2");
    rejects("--axis warpSize=1,2", "'warpSize' is not an nnbench flag");
    rejects("--axis check=1,2", "--check takes no value");
    rejects("--axis json-out=a,b", "--json-out is set by the sweep");
    rejects("--axis hiddenSize=1,1", "value '1' given twice");
    rejects("--axis hiddenSize=1,,2", "empty value");
    rejects("--axis hiddenSize=1,2 --axis --hiddenSize=3", "already has an axis");
    rejects("--axis cnn-batch=1,2 --axis cnn_batch=3", "already has an axis");
    rejects("--axis hiddenSize=64,abc", "point 1 (hiddenSize=abc): --hiddenSize: 'abc' is not an integer");
    rejects("--axis hiddenSize=64,0", "hiddenSize=0");
    rejects("--axis miniBatch=1,2 --miniBatch 4", "--miniBatch is both an axis and a common argument");
    rejects("--axis miniBatch=1,2 --json-out x.json", "--json-out cannot be given to a sweep");
    rejects("--axis miniBatch=1,2 --nloops", "common arguments: --nloops needs a value");
    rejects("--axis miniBatch=1,2 --bogus", "unknown flag '--bogus'");
    rejects("--axis miniBatch=1,2 stray", "unexpected argument 'stray'");
    rejects("--axis miniBatch=1,2 --repeat 0", "--repeat: '0'");
    rejects("--axis miniBatch=1,2 --shard 2/2", "--shard '2/2'");
    rejects("--axis miniBatch=1,2 --plot-y speed", "--plot-y: 'speed'");
    rejects("--axis miniBatch=1,2 --plot-x hiddenSize", "--plot-x hiddenSize: no point sets it");
    rejects("--axis miniBatch=1,2 --shards 4", "go with --slurm");
    rejects("--axis miniBatch=1,2 --slurm --shard 0/2", "drop --shard");
    rejects("--axis miniBatch=1,2 --run-timeout -1", "--run-timeout");
    rejects("--axis miniBatch=1,2 --zip=1", "--zip takes no value");
    nnb_sweep_options o;
    CHECK(parse("--axis miniBatch=1,2 --rnns py jit --nloops=3 --threads 1", &o) == 0); /* values of common flags */
    CHECK(o.base_argc == 6);
    nnb_sweep_options_free(&o);
}

/* The shape sets shipped in tools/sweep/shapes parse, name a model on every line, and are real LSTM or
 * ResNet points (every setting passes nnbench's own checks). */
static void shipped_shape_sets_parse(void) {
    static const char *const files[] = {"deepbench_lstm_train", "deepbench_lstm_inference", "gnmt", "deepspeech2",
                                        "resnet50"};
    static const int min_shapes[] = {20, 10, 2, 2, 3};
    for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
        char line[512];
        snprintf(line, sizeof line, "--shapes %s/../../tools/sweep/shapes/%s.shapes", nnb_test_env("NNBENCH_TEST_DATA"),
                 files[f]);
        nnb_sweep_options o;
        int rc = parse(line, &o);
        CHECK_MSG(rc == 0, "%s: %s", files[f], err);
        CHECK_MSG(o.grid.point_count >= min_shapes[f], "%s: %d shapes", files[f], o.grid.point_count);
        for (int k = 0; k < o.grid.point_count; k++)
            CHECK(o.grid.points[k].model && o.grid.points[k].count >= 1);
        nnb_sweep_options_free(&o);
    }
}

int main(void) {
    product_is_ordered_last_axis_fastest();
    zip_pairs_values();
    shards_cover_every_point_once();
    shapes_times_axes();
    bad_shape_files();
    bad_axes_and_flags();
    shipped_shape_sets_parse();
    return nnb_test_finish();
}
