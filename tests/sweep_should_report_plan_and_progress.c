#define _GNU_SOURCE
/* What nnbench sweep says before and while it runs, and which runs a shape set makes:
 *   - progress: "[i/N] <run>: running" before each run, its status and the time left after it (the mean
 *     time per run so far x the runs left, checked against numbers fed in), whole lines when stderr is not a
 *     terminal, one live line (\r) on a terminal, nothing but failures with --progress never;
 *   - a shape set's "# group:" is added as --group unless the command line chooses a group, and the plan
 *     line says so; the shipped LSTM sets are rnns, ResNet-50 cnns; a sweep over one runs that group only;
 *   - more shards than points: --shards N (Slurm) and --shard I/N warn, naming the counts and the shard
 *     count to use, an empty shard says it is empty, and its merge does not count the empty shards missing;
 *   - a merge missing points says so in sweep.md, its roll-up (sweep.md and sweep-rollup.csv) and on the plot;
 *   - the plot keeps one colour per runner across the other settings, which get line styles, and its
 *     subtitle names what varies and what is fixed. */
#include "cli.h"
#include "sweep.h"
#include "sweep_internal.h"
#include "test_support.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const nnb_sweep_hooks hooks = {.axis_flag = nnb_cli_axis_flag,
                                      .base_flag = nnb_cli_sweep_base_flag,
                                      .check_argv = nnb_cli_check_run_argv,
                                      .self_exe = "/bin/false"};
static char err[1024], root[256], bin[1024], plugins[1024];
static char out[1 << 16], errout[1 << 17];

#define sh(...) nnb_test_runf(out, sizeof out, errout, sizeof errout, __VA_ARGS__)

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

/* Everything written to f so far (f rewound), in a static buffer. */
static const char *contents(FILE *f) {
    static char buf[1 << 14];
    fflush(f);
    rewind(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    return buf;
}

static int count(const char *hay, const char *needle) {
    int n = 0;
    for (const char *s = strstr(hay, needle); s; s = strstr(s + 1, needle))
        n++;
    return n;
}

static void progress_lines_say_what_runs_and_the_time_left(void) {
    FILE *f = tmpfile();
    nnb_sweep_progress p;
    nnb_sweep_progress_init(&p, f, "auto", 0, 4); /* not a terminal: whole lines */
    static const double wall[] = {2, 4, 3, 7};
    static const char *const left[] = {"about 6 s left", "about 6 s left", "about 3 s left", "done"};
    for (int i = 0; i < 4; i++) {
        char what[32], want[128];
        snprintf(what, sizeof what, "point %d (h=%d)", i, 64 << i);
        nnb_sweep_progress_start(&p, what);
        nnb_sweep_progress_done(&p, what, i == 2 ? "failed" : "ok", wall[i], i == 2 ? "deliberate" : NULL);
        const char *text = contents(f);
        snprintf(want, sizeof want, "nnbench sweep: [%d/4] point %d (h=%d): running\n", i + 1, i, 64 << i);
        CHECK_STR_CONTAINS(text, want);
        /* mean so far x runs left: 2x3 = 6, 3x2 = 6, 3x1 = 3 */
        snprintf(want, sizeof want, "[%d/4] point %d (h=%d): %s, %.1f s, %s%s\n", i + 1, i, 64 << i,
                 i == 2 ? "failed" : "ok", wall[i], left[i], i == 2 ? ": deliberate" : "");
        CHECK_STR_CONTAINS(text, want);
    }
    nnb_sweep_progress_end(&p);
    const char *text = contents(f);
    CHECK_MSG(count(text, "\n") == 8 && !strchr(text, '\r'), "8 whole lines, no carriage return:\n%s", text);
    fclose(f);

    f = tmpfile();
    nnb_sweep_progress_init(&p, f, "never", 0, 2);
    nnb_sweep_progress_start(&p, "point 0 (a)");
    nnb_sweep_progress_done(&p, "point 0 (a)", "ok", 1, NULL);
    nnb_sweep_progress_start(&p, "point 1 (b)");
    nnb_sweep_progress_done(&p, "point 1 (b)", "crashed", 1, "Segmentation fault");
    nnb_sweep_progress_end(&p);
    text = contents(f);
    CHECK_MSG(!strchr(text, '['), "--progress never: no [i/N]: %s", text);
    CHECK_STR_CONTAINS(text, "point 1 (b): crashed, 1.0 s: Segmentation fault\n"); /* failures still said */
    CHECK_MSG(count(text, "\n") == 1, "one line (the failure): %s", text);
    fclose(f);

    f = tmpfile();
    nnb_sweep_progress_init(&p, f, "auto", 1, 2); /* a terminal: one live line */
    nnb_sweep_progress_start(&p, "point 0 (a)");
    nnb_sweep_progress_done(&p, "point 0 (a)", "ok", 1, NULL);
    text = contents(f);
    CHECK_MSG(strchr(text, '\r') && !strchr(text, '\n'), "live: rewritten with \\r, no newline yet");
    nnb_sweep_progress_start(&p, "point 1 (b)");
    nnb_sweep_progress_done(&p, "point 1 (b)", "ok", 1, NULL);
    nnb_sweep_progress_end(&p);
    text = contents(f);
    CHECK_MSG(count(text, "\n") == 1 && count(text, "\r") == 4, "live: 4 rewrites, one final newline");
    fclose(f);

    f = tmpfile();
    nnb_sweep_progress_init(&p, f, "always", 1, 1); /* lines even on a terminal */
    nnb_sweep_progress_start(&p, "point 0 (a)");
    nnb_sweep_progress_done(&p, "point 0 (a)", "ok", 1, NULL);
    text = contents(f);
    CHECK_MSG(!strchr(text, '\r') && count(text, "\n") == 2, "always: whole lines: %s", text);
    fclose(f);
}

static const char *write_file(const char *name, const char *text) {
    static char path[8][512];
    static int next;
    char *p = path[next++ % 8];
    snprintf(p, 512, "%s/%s", root, name);
    FILE *f = fopen(p, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return p;
}

static int has_arg_pair(const nnb_sweep_options *o, const char *a, const char *b) {
    int n = 0;
    for (int i = 0; i + 1 < o->base_argc; i++)
        n += !strcmp(o->base_argv[i], a) && !strcmp(o->base_argv[i + 1], b);
    return n;
}

static void shape_sets_choose_their_group(void) {
    const char *two = write_file("two.shapes", "# nnbench shape set v1\n# group: rnns\n"
                                               "model=m name=a seqLength=100 inputSize=8 hiddenSize=8\n"
                                               "model=m name=b seqLength=200 inputSize=8 hiddenSize=8\n");
    char line[1024];
    nnb_sweep_options o;
    snprintf(line, sizeof line, "--shapes %s --rnns jit --nloops 3", two);
    CHECK_MSG(parse(line, &o) == 0, "%s", err);
    CHECK_MSG(has_arg_pair(&o, "--group", "rnns") == 1, "--group rnns added to the common arguments");
    CHECK(o.shape_group && !strcmp(o.shape_group, "rnns"));
    FILE *f = tmpfile();
    nnb_sweep_print_plan(f, &o);
    CHECK_STR_CONTAINS(contents(f), "2 points x 1 repeat = 2 runs; group rnns only, as ");
    fclose(f);
    nnb_sweep_options_free(&o);

    snprintf(line, sizeof line, "--shapes %s --group rnns cnns", two); /* the command line chose: kept as is */
    CHECK_MSG(parse(line, &o) == 0, "%s", err);
    CHECK(o.shape_group == NULL && has_arg_pair(&o, "--group", "rnns") == 1 && o.base_argc == 3);
    nnb_sweep_options_free(&o);

    snprintf(line, sizeof line, "--shapes %s",
             write_file("bad.shapes", "# nnbench shape set v1\n# group: lstm\nmodel=m hiddenSize=8\n"));
    CHECK(parse(line, &o) == 2);
    CHECK_STR_CONTAINS(err, "bad.shapes:2: group 'lstm' is not rnns, cnns, vl_rnns or convs");
    nnb_sweep_options_free(&o);

    static const char *const files[] = {"deepbench_lstm_train", "deepbench_lstm_inference", "gnmt", "deepspeech2",
                                        "resnet50"};
    static const char *const groups[] = {"rnns", "rnns", "rnns", "rnns", "cnns"};
    for (int i = 0; i < 5; i++) {
        snprintf(line, sizeof line, "--shapes %s/../../tools/sweep/shapes/%s.shapes --shard 0/4",
                 nnb_test_env("NNBENCH_TEST_DATA"), files[i]);
        CHECK_MSG(parse(line, &o) == 0, "%s: %s", files[i], err);
        CHECK_MSG(has_arg_pair(&o, "--group", groups[i]) == 1, "%s: runs the %s group only", files[i], groups[i]);
        nnb_sweep_options_free(&o);
    }
}

static void more_shards_than_points_warn(void) {
    const char *two = write_file("two.shapes", "# nnbench shape set v1\n# group: rnns\n"
                                               "model=m name=a seqLength=100 inputSize=8 hiddenSize=8\n"
                                               "model=m name=b seqLength=200 inputSize=8 hiddenSize=8\n");
    struct {
        const char *args, *needle; /* NULL: no warning */
    } cases[] = {
        {"--shard 3/4", "shard 3/4 holds no points: the sweep has 2 points, so shards 2..3 are empty"},
        {"--shard 1/8", "8 shards over 2 points: shards 2..7 are empty; use --shard I/2"},
        {"--slurm --shards 8", "--shards 8 over 2 points: shards 2..7 will have nothing to run; use --shards 2"},
        {"--shard 1/2", NULL},
        {"--slurm --shards 2", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char line[1024];
        nnb_sweep_options o;
        snprintf(line, sizeof line, "--shapes %s %s", two, cases[i].args);
        CHECK_MSG(parse(line, &o) == 0, "%s: %s", cases[i].args, err);
        FILE *f = tmpfile();
        int warned = nnb_sweep_warn_empty_shards(f, &o);
        const char *text = contents(f);
        CHECK_MSG(warned == (cases[i].needle != NULL), "%s: warned %d: %s", cases[i].args, warned, text);
        if (cases[i].needle)
            CHECK_STR_CONTAINS(text, cases[i].needle);
        else
            CHECK_MSG(!*text, "%s: nothing to say, said '%s'", cases[i].args, text);
        fclose(f);
        nnb_sweep_options_free(&o);
    }
}

/* Through the binary: [i/N] lines on a non-terminal stderr, none with --progress never; the shape set's group
 * only (no cnns results); an empty shard says so and its merge names no missing points for it. */
static void sweeps_say_so_on_stderr(void) {
    const char *two = write_file("two.shapes", "# nnbench shape set v1\n# group: rnns\n"
                                               "model=m name=a seqLength=100 inputSize=8 hiddenSize=8\n"
                                               "model=m name=b seqLength=200 inputSize=8 hiddenSize=8\n");
    const char *common = "--device cpu --warmup 1 --nloops 3 --threads 1 --rnns spin --runner-path";
    int rc = sh("%s sweep --shapes %s --out %s/run %s %s", bin, two, root, common, plugins);
    CHECK_MSG(rc == 0, "sweep: %d: %s", rc, errout);
    CHECK_STR_CONTAINS(errout, "nnbench sweep: [1/2] point 0 (a) repeat 1/1: running\n");
    CHECK_STR_CONTAINS(errout, "nnbench sweep: [2/2] point 1 (b) repeat 1/1: ok, ");
    CHECK_STR_CONTAINS(errout, "left\n");
    CHECK_STR_CONTAINS(errout, "group rnns only");
    char path[512];
    snprintf(path, sizeof path, "%s/run/sweep.json", root);
    cJSON *doc = nnb_test_read_json(path);
    const cJSON *point, *run;
    int runs = 0, other_groups = 0;
    cJSON_ArrayForEach(point, cJSON_GetObjectItem(doc, "points"))
        cJSON_ArrayForEach(run, cJSON_GetObjectItem(point, "runs")) {
        const cJSON *groups = cJSON_GetObjectItem(cJSON_GetObjectItem(run, "results"), "groups"), *g;
        runs++;
        cJSON_ArrayForEach(g, groups) other_groups += strcmp(g->string, "rnns") != 0;
    }
    CHECK_MSG(runs == 2 && other_groups == 0, "%d runs, %d results of groups other than rnns", runs, other_groups);
    cJSON_Delete(doc);

    rc = sh("%s sweep --shapes %s --out %s/quiet --progress never %s %s", bin, two, root, common, plugins);
    CHECK_MSG(rc == 0 && !strstr(errout, "[1/2]") && !strstr(errout, "running"), "--progress never: %s", errout);

    rc = sh("%s sweep --shapes %s --out %s/sharded --shard 3/4 %s %s", bin, two, root, common, plugins);
    CHECK_MSG(rc == 0, "empty shard: exit 0 (%d)", rc);
    CHECK_STR_CONTAINS(errout, "shard 3/4 holds no points");
    rc =
        sh("%s sweep --shapes %s --out %s/sharded --shard 0/4 --progress never %s %s", bin, two, root, common, plugins);
    rc =
        sh("%s sweep --shapes %s --out %s/sharded --shard 1/4 --progress never %s %s", bin, two, root, common, plugins);
    rc = sh("%s merge %s/sharded", bin, root);
    CHECK_MSG(rc == 0, "shards 0, 1 and 3 of 4 over 2 points merge complete (%d): %s", rc, errout);
    CHECK_STR_CONTAINS(errout, "shard 2/4 holds no points (the sweep has 2); its file is not needed");
}

static char *slurp(const char *dir, const char *name) {
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    static char buf[4][1 << 18];
    static int next;
    char *b = buf[next++ % 4];
    size_t n = f ? fread(b, 1, sizeof buf[0] - 1, f) : 0;
    b[n] = 0;
    if (f)
        fclose(f);
    return b;
}

static void partial_merges_say_so(void) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/half", root);
    const char *two = write_file("two.shapes", "# nnbench shape set v1\n# group: rnns\n"
                                               "model=m name=a seqLength=100 inputSize=8 hiddenSize=8\n"
                                               "model=m name=b seqLength=200 inputSize=8 hiddenSize=8\n");
    int rc = sh("%s sweep --shapes %s --out %s --shard 0/2 --progress never --device cpu --warmup 1 --nloops 3 "
                "--rnns spin --runner-path %s",
                bin, two, dir, plugins);
    CHECK_MSG(rc == 0, "shard 0/2: %d: %s", rc, errout);
    rc = sh("%s merge %s", bin, dir);
    CHECK_MSG(rc == 1, "a merge missing shard 1/2: exit 1 (%d)", rc);
    CHECK_STR_CONTAINS(slurp(dir, "sweep.md"), "**incomplete: partial: 1 of 2 points**");
    CHECK_STR_CONTAINS(slurp(dir, "sweep.md"), "| m | spin | 1 of 2 (**partial**) |");
    CHECK_STR_CONTAINS(
        slurp(dir, "sweep-rollup.csv"),
        "model,runner,shapes_measured,shapes_expected,complete,forward_ms,backward_ms,total_ms\nm,spin,1,2,"
        "false,");
    const char *svg = slurp(dir, "sweep.svg");
    CHECK_STR_CONTAINS(svg, "<text class=\"warning\"");
    CHECK_STR_CONTAINS(svg, ">partial: 1 of 2 points</text>");
}

/* The legend's line colour and dash of series i ("" when it has none). */
static void legend_style(const char *svg, int i, char *colour, char *dash) {
    char tag[64];
    snprintf(tag, sizeof tag, "<g class=\"legend-entry\" data-series=\"%d\">", i);
    const char *e = strstr(svg, tag), *line = e ? strstr(e, "<line ") : NULL, *gt = line ? strchr(line, '>') : NULL;
    colour[0] = dash[0] = 0;
    if (!gt)
        return;
    const char *c = strstr(line, " stroke=\""), *d = strstr(line, " stroke-dasharray=\"");
    if (c && c < gt)
        snprintf(colour, 16, "%.7s", c + 9);
    if (d && d < gt)
        snprintf(dash, 16, "%.*s", (int)strcspn(d + 19, "\""), d + 19);
}

static void plots_colour_by_runner(void) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/styles", root);
    int rc = sh("%s sweep --out %s --axis seqLength=100,200 --axis inputSize=8,16 --progress never --device cpu "
                "--group rnns --warmup 1 --nloops 3 --rnns spin,empty --runner-path %s",
                bin, dir, plugins);
    CHECK_MSG(rc == 0, "sweep: %d: %s", rc, errout);
    const char *svg = slurp(dir, "sweep.svg");
    CHECK_STR_CONTAINS(svg, ">nnbench sweep: total time against seqLength</text>");
    CHECK_STR_CONTAINS(svg, ">varies: seqLength (x axis), runner (colour), inputSize (line style)</text>");
    CHECK_STR_CONTAINS(svg, ">fixed: --device cpu --group rnns --warmup 1 --nloops 3; sweep ");
    char names[4][64], col[4][16], dash[4][16];
    int n = 0;
    for (const char *e = strstr(svg, "class=\"legend-name\""); e && n < 4; e = strstr(e + 1, "class=\"legend-name\"")) {
        const char *gt = strchr(e, '>');
        snprintf(names[n], sizeof names[n], "%.*s", (int)strcspn(gt + 1, "<"), gt + 1);
        legend_style(svg, n, col[n], dash[n]);
        n++;
    }
    CHECK_MSG(n == 4, "4 series (2 runners x 2 inputSizes): %d", n);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            int same_runner = !strncmp(names[i], names[j], strcspn(names[i], " ")),
                same_setting = !strcmp(strchr(names[i], ' ') ? strchr(names[i], ' ') : "",
                                       strchr(names[j], ' ') ? strchr(names[j], ' ') : "");
            CHECK_MSG((strcmp(col[i], col[j]) == 0) == same_runner, "'%s' %s and '%s' %s: colour by runner", names[i],
                      col[i], names[j], col[j]);
            CHECK_MSG((strcmp(dash[i], dash[j]) == 0) == same_setting, "'%s' '%s' and '%s' '%s': dash by setting",
                      names[i], dash[i], names[j], dash[j]);
        }
}

int main(void) {
    snprintf(bin, sizeof bin, "%s", nnb_test_env("NNBENCH_BIN"));
    snprintf(plugins, sizeof plugins, "%s/good", nnb_test_env("NNBENCH_TEST_PLUGIN_DIR"));
    snprintf(root, sizeof root, "/tmp/nnb_sweep_plan_XXXXXX");
    if (!mkdtemp(root))
        return fprintf(stderr, "mkdtemp failed\n"), 1;
    progress_lines_say_what_runs_and_the_time_left();
    shape_sets_choose_their_group();
    more_shards_than_points_warn();
    sweeps_say_so_on_stderr();
    partial_merges_say_so();
    plots_colour_by_runner();
    if (!nnb_test_failed)
        sh("rm -rf %s", root);
    else
        fprintf(stderr, "kept %s\n", root);
    return nnb_test_finish();
}
