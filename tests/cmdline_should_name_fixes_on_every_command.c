/*
 * The command-line layer applied everywhere, through the real binaries: nnbench, its subcommands sweep,
 * merge, serve, compare, history add/list/show/export, and nnbench-compare.
 *   - each takes -h and --help (exit 0, usage on stdout, nothing on stderr), and its help uses the metavar
 *     convention (never VALUE or X);
 *   - each flag its help lists is recognised by its parser in its dashed and its underscore spelling: the
 *     flag followed by two unknown flags fails on the second (or on the first as the flag's value), never
 *     with the flag itself unknown, and both spellings fail identically;
 *   - typical mistakes get the fix named and exit 2;
 *   - output paths in missing folders are created (--json-out, --csv, --dump, --out).
 */
#define _GNU_SOURCE
#include "test_support.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char bin[1024], compare_bin[1100], good[1024], tmp[64];
static char out[65536], err[65536];

#define run(...) nnb_test_runf(out, sizeof out, err, sizeof err, __VA_ARGS__)

static const char *const commands[] = {"",
                                       "sweep",
                                       "merge",
                                       "serve",
                                       "compare",
                                       "history add",
                                       "history list",
                                       "history show",
                                       "history export",
                                       "history changes",
                                       "report",
                                       NULL /* nnbench-compare */};
#define COMMANDS (sizeof commands / sizeof *commands)

static const char *program(size_t c, char *buf, size_t cap) {
    if (commands[c])
        snprintf(buf, cap, "%s %s", bin, commands[c]);
    else
        snprintf(buf, cap, "%s", compare_bin);
    return buf;
}

/* Every "  --flag" at the start of a help line. */
static int help_flags(const char *help, char flags[][64], int cap) {
    int n = 0;
    for (const char *line = help; line && *line && n < cap; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        const char *p = line + strspn(line, " ");
        if (p == line || strncmp(p, "--", 2))
            continue;
        size_t len = strspn(p, "-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
        snprintf(flags[n++], 64, "%.*s", (int)len, p);
    }
    return n;
}

static void help_everywhere(void) {
    for (size_t c = 0; c < COMMANDS; c++) {
        char prog[1200], first[65536] = "";
        program(c, prog, sizeof prog);
        for (int h = 0; h < 2; h++) {
            const char *flag = h ? "--help" : "-h";
            int rc = run("%s %s", prog, flag);
            CHECK_MSG(rc == 0, "%s %s: exit %d (stderr: %s)", prog, flag, rc, err);
            CHECK_MSG(!strncmp(out, "usage: ", 7), "%s %s: no usage on stdout: %.200s", prog, flag, out);
            CHECK_MSG(err[0] == 0, "%s %s: wrote to stderr: %s", prog, flag, err);
            CHECK_MSG(!strstr(out, " VALUE") && !strstr(out, " X "), "%s %s: VALUE or X metavar in the help", prog,
                      flag);
            if (!h)
                snprintf(first, sizeof first, "%s", out);
            else
                CHECK_MSG(!strcmp(first, out), "%s: -h and --help print different texts", prog);
        }
        if (c >= 1 && commands[c] && !strchr(commands[c], ' ')) { /* nnbench help CMD is CMD --help */
            run("%s help %s", bin, commands[c]);
            CHECK_MSG(!strcmp(first, out), "nnbench help %s differs from nnbench %s --help", commands[c], commands[c]);
        }
    }
}

/* "--max-batch-delay-ms" -> "--max_batch_delay_ms"; 0 when the flag has no inner dash. */
static int underscored(const char *flag, char *buf, size_t cap) {
    snprintf(buf, cap, "%.63s", flag);
    int changed = 0;
    for (char *p = buf + 2; *p; p++)
        if (*p == '-')
            *p = '_', changed = 1;
    return changed;
}

static void both_spellings_of_every_flag(void) {
    for (size_t c = 0; c < COMMANDS; c++) {
        char prog[1200], flags[128][64], alt[64], dashed_err[4096];
        program(c, prog, sizeof prog);
        run("%s --help", prog);
        int n = help_flags(out, flags, 128), tested = 0;
        CHECK_MSG(n >= 3, "%s --help lists %d flags", prog, n);
        for (int i = 0; i < n; i++) {
            if (!strcmp(flags[i], "--help") || !strcmp(flags[i], "--version"))
                continue;
            /* A value flag takes the first as its value; the parser stops at the next one. */
            int rc = run("%s %s --zz-not-a-flag --zz-not-a-flag", prog, flags[i]);
            char unknown[128];
            snprintf(unknown, sizeof unknown, "unknown flag '%.63s'", flags[i]);
            CHECK_MSG(rc == 2, "%s %s: exit %d, expected 2 (stderr: %s)", prog, flags[i], rc, err);
            CHECK_MSG(!strstr(err, unknown), "%s: %s is not recognised: %s", prog, flags[i], err);
            CHECK_MSG(err[0] != 0, "%s %s: no message", prog, flags[i]);
            snprintf(dashed_err, sizeof dashed_err, "%.4000s", err);
            tested++;
            if (!underscored(flags[i], alt, sizeof alt))
                continue;
            rc = run("%s %s --zz-not-a-flag --zz-not-a-flag", prog, alt);
            CHECK_MSG(rc == 2 && !strncmp(err, dashed_err, 4000), "%s: %s and %s differ:\n  %s  %s", prog, flags[i],
                      alt, dashed_err, err);
        }
        CHECK_MSG(tested >= 1, "%s: no flag tested", prog);
    }
}

typedef struct mistake {
    const char *args, *expected;
} mistake;

static void mistakes_name_the_fix(const char *cnn) {
    char rnns_cnn[256], cnn_msg[256];
    snprintf(rnns_cnn, sizeof rnns_cnn, "--device cpu --rnns %s", cnn);
    snprintf(cnn_msg, sizeof cnn_msg, "--rnns: '%s' is a cnns runner: use --cnns %s", cnn, cnn);
    const mistake cases[] = {
        {"swep", "unknown command 'swep'; did you mean 'sweep'? commands: sweep, merge, serve, compare, history, report"},
        {"help swep", "unknown command 'swep'; did you mean 'sweep'?"},
        {"--hiddensize 3", "unknown flag '--hiddensize' (see --help); did you mean '--hiddenSize'?"},
        {"--nloop 3", "unknown flag '--nloop' (see --help); did you mean '--nloops'?"},
        {"--device cpu --rnns jit_premull", "did you mean 'jit_premul'?"},
        {"--device cpu --rnns jit_premull", "--rnns: unknown runner 'jit_premull' (known rnns runners on cpu:"},
        {rnns_cnn, cnn_msg},
        {"--device cpu --cnns jit", "--cnns: 'jit' is an rnns runner: use --rnns jit"},
        {"--device cpu --group rnns --rnns vl_jit", "'vl_jit' is a vl_rnns runner, which --group leaves out"},
        {"serve --device cpu --runner jit_simple",
         "--runner jit_simple: it has no inference entry (ABI 1.2 infer), so it cannot serve; runners that can "
         "serve on cpu: "},
        {"serve --device cpu --runner jitt", "did you mean 'jit'?"},
        {"serve --runner jit --max_batchh 2",
         "unknown flag '--max_batchh' (see nnbench serve --help); did you mean '--max-batch'?"},
        {"sweep --axis hiddensize=1", "'hiddensize' is not an nnbench flag (see nnbench --help); did you mean "
                                      "'hiddenSize'?"},
        {"sweep --serve --runner jit --axis max_batchh=1",
         "'max_batchh' is not a flag of nnbench serve (see nnbench serve --help); did you mean 'max-batch'?"},
        {"sweep --axis hiddenSize=1 --plot_xx hiddenSize", "did you mean '--plot-x'?"},
        {"merge nothere", "'nothere' does not exist (give shard-I-of-N.json files or the folders that hold them)"},
        {"merge --ouut x", "did you mean '--out'?"},
        {"--device cpu --ab jit jit@fuser=old",
         "--ab: 'jit@fuser=old': 'fuser' is the flag --fuser, not an environment variable; write jit@--fuser=old"},
        {"--device cpu --ab jit jit@max_noise=1", "write jit@--max-noise=1"},
        {"--device cpu --ab jit jit@1X=2", "'1X=2' is neither --flag=value nor VAR=VALUE"},
        {"--device cpu --ab jitt jit", "--ab: unknown runner 'jitt' (see --list); did you mean 'jit'?"},
        {"jit", "unexpected argument 'jit' (flags start with --; see --help); commands: sweep, merge, serve"},
        {"serve --runner spin --max-time 0", "note: --max-time is deprecated, use --serve-time-limit"},
        {"serve --runner spin --max_time 0", "--serve-time-limit: '0' is not a number"},
        {"--ab jit jit --max-time 0", "note: --max-time is deprecated, use --ab-max-time"},
        {"compare --fail-abov 1 a b", "unknown flag '--fail-abov' (see --help); did you mean '--fail-above'?"},
        {"history changes --max_pp 0.01", "unknown flag '--max_pp' (see nnbench history changes --help); did you mean "
                                          "'--max-p'?"},
        {"history changes --since yesterday", "--since: 'yesterday' is not a date (YYYY-MM-DD or"},
        {"history add --stor s.sqlite a.json", "unknown flag '--stor' (see --help); did you mean '--store'?"},
        {"history add --unit us a.json", "--unit: 'us' is not a unit (s or ms)"},
        {"history list --serie x", "did you mean '--series'?"},
        {"history show --jsn x", "did you mean '--json'?"},
        {"history export --ouut x", "did you mean '--out'?"},
        {"report --outt x a.json", "unknown flag '--outt' (see nnbench report --help); did you mean '--out'?"},
        {"report a.json", "--out DIR is required"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int rc = run("%s %s", bin, cases[i].args);
        CHECK_MSG(rc == 2, "nnbench %s: exit %d, expected 2 (stderr: %s)", cases[i].args, rc, err);
        CHECK_MSG(strstr(err, cases[i].expected) != NULL, "nnbench %s: expected \"%s\" in: %s", cases[i].args,
                  cases[i].expected, err);
        CHECK_MSG(out[0] == 0, "nnbench %s: wrote to stdout: %s", cases[i].args, out);
    }
    int rc = run("%s --fail-abov 1 a b", compare_bin);
    CHECK_MSG(rc == 2 && strstr(err, "did you mean '--fail-above'?"), "nnbench-compare --fail-abov: %d %s", rc, err);
}

/* --group vl_rnns --rnns vl_jit runs vl_jit and nothing else; so does --rnns vl_jit alone. */
static void one_variable_length_runner(void) {
    const char *const ways[] = {"--group vl_rnns --rnns vl_jit", "--rnns vl_jit", "--variable-lstms --rnns vl_jit"};
    for (size_t w = 0; w < sizeof ways / sizeof *ways; w++) {
        int rc = run("%s --device cpu %s --seqLength 3 --miniBatch 2 --inputSize 4 --hiddenSize 4 --nloops 2 "
                     "--warmup 0 --print-json",
                     bin, ways[w]);
        CHECK_MSG(rc == 0, "%s: exit %d (%s)", ways[w], rc, err);
        CHECK_MSG(strstr(out, "\"vl_jit\"") && !strstr(out, "\"vl_py\"") && !strstr(out, "\"jit\""),
                  "%s: not exactly vl_jit: %s", ways[w], out);
    }
    /* sweep --serve takes serve's flags in either spelling as axes. */
    int rc = run("%s sweep --serve --runner spin --axis max_batch=1,2 --list-points", bin);
    CHECK_MSG(rc == 0 && strstr(out, "--max-batch 2"), "sweep --serve --axis max_batch: exit %d (%s%s)", rc, out, err);
    /* The old spelling of --ab-max-time still works, with a note naming the new one. */
    rc = run("%s --device cpu --runner-path %s --ab empty empty --max-time 0.2 --min-samples 2 --warmup 0", bin, good);
    CHECK_MSG(rc == 0, "--max-time as an alias: exit %d (%s)", rc, err);
    CHECK_STR_CONTAINS(err, "note: --max-time is deprecated, use --ab-max-time");
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static void outputs_in_missing_folders(void) {
    int rc = run("%s --device cpu --runner-path %s --rnns empty --nloops 2 --warmup 0 --json-out %s/j/k/out.json "
                 "--dump %s/d/e",
                 bin, good, tmp, tmp);
    CHECK_MSG(rc == 0, "--json-out/--dump in missing folders: exit %d (%s)", rc, err);
    char path[256];
    snprintf(path, sizeof path, "%s/j/k/out.json", tmp);
    CHECK_MSG(exists(path), "--json-out: %s not written", path);
    snprintf(path, sizeof path, "%s/d/e/empty", tmp);
    CHECK_MSG(exists(path), "--dump: %s not written", path);
    rc = run("%s serve --device cpu --runner-path %s --runner spin --seqLength 1 --requests 2 --warmup-requests 0 "
             "--quiet --csv %s/c/serve.csv --json-out %s/s/serve.json",
             bin, good, tmp, tmp);
    CHECK_MSG(rc == 0, "serve --csv/--json-out in missing folders: exit %d (%s)", rc, err);
    snprintf(path, sizeof path, "%s/c/serve.csv", tmp);
    CHECK_MSG(exists(path), "--csv: %s not written", path);
    rc = run("%s sweep --runner-path %s --rnns empty --nloops 2 --warmup 0 --axis seqLength=1 --out %s/w/x", bin, good,
             tmp);
    CHECK_MSG(rc == 0, "sweep --out in a missing folder: exit %d (%s)", rc, err);
    snprintf(path, sizeof path, "%s/w/x/sweep.json", tmp);
    CHECK_MSG(exists(path), "sweep --out: %s not written", path);
    rc = run("%s merge --out %s/m/n %s/w/x", bin, tmp, tmp);
    CHECK_MSG(rc == 0, "merge --out in a missing folder: exit %d (%s)", rc, err);
    snprintf(path, sizeof path, "%s/m/n/sweep.csv", tmp);
    CHECK_MSG(exists(path), "merge --out: %s not written", path);
}

int main(void) {
    snprintf(bin, sizeof bin, "%s", nnb_test_env("NNBENCH_BIN"));
    snprintf(compare_bin, sizeof compare_bin, "%s-compare", bin);
    snprintf(good, sizeof good, "%s/good", nnb_test_env("NNBENCH_TEST_PLUGIN_DIR"));
    snprintf(tmp, sizeof tmp, "/tmp/nnb_cmdline_XXXXXX");
    if (!mkdtemp(tmp))
        return 1;
    /* resnet18 needs oneDNN; resnet18_ref (a cnns runner too) is always built. */
    run("%s --list --device cpu", bin);
    const char *cnn = strstr(out, "\nresnet18 ") ? "resnet18" : "resnet18_ref";
    help_everywhere();
    both_spellings_of_every_flag();
    mistakes_name_the_fix(cnn);
    one_variable_length_runner();
    outputs_in_missing_folders();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    CHECK(system(cmd) == 0);
    return nnb_test_finish();
}
