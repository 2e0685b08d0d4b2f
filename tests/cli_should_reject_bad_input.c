/* Every bad flag or value: one-line error naming the flag and value, exit 2,
 * and an existing results file left untouched. */
#include "test_support.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char bin[1024], good[1024], results[256];
static const char precious[] = "{\"precious\": true}\n";

static void write_precious(void) {
    FILE *f = fopen(results, "w");
    fputs(precious, f);
    fclose(f);
}

static int precious_intact(void) {
    char buf[256] = "";
    FILE *f = fopen(results, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return !strcmp(buf, precious);
}

/* Runs nnbench with args (plus --json-out to the precious file) and checks the error. */
static void expect_rejected(const char *args, const char *expected) {
    char cmd[4096], out[8192], err[8192];
    write_precious();
    snprintf(cmd, sizeof cmd, "%s --device cpu --runner-path %s --json-out %s %s", bin, good, results, args);
    int rc = nnb_test_run(cmd, out, sizeof out, err, sizeof err);
    CHECK_MSG(rc == 2, "'%s': exit %d, expected 2 (stderr: %s)", args, rc, err);
    CHECK_MSG(strstr(err, expected) != NULL, "'%s': expected \"%s\" in: %s", args, expected, err);
    CHECK_MSG(strchr(err, '\n') == strrchr(err, '\n') || strstr(err, "note:"), "'%s': more than one line: %s", args,
              err);
    CHECK_MSG(out[0] == 0, "'%s': wrote to stdout: %s", args, out);
    CHECK_MSG(precious_intact(), "'%s': results file was modified", args);
}

int main(void) {
    snprintf(bin, sizeof bin, "%s", nnb_test_env("NNBENCH_BIN"));
    snprintf(good, sizeof good, "%s/good", nnb_test_env("NNBENCH_TEST_PLUGIN_DIR"));
    snprintf(results, sizeof results, "/tmp/nnb-cli-test-%ld.json", (long)getpid());

    expect_rejected("--seqLength 0", "--seqLength: 0 is out of range");
    expect_rejected("--hiddenSize -5", "--hiddenSize: -5 is out of range");
    expect_rejected("--miniBatch abc", "--miniBatch: 'abc' is not an integer");
    expect_rejected("--inputSize 12x", "--inputSize: '12x' is not an integer");
    expect_rejected("--inputSize 99999999999999999999", "--inputSize");
    expect_rejected("--numLayers 0", "--numLayers: 0 is out of range");
    expect_rejected("--seqLength 1000000000 --hiddenSize 1000000000", "overflow size_t");
    expect_rejected("--seqLength 100000 --miniBatch 100000", "more than this machine's");
    expect_rejected("--cnn-batch 100000", "--cnn-batch 100000");
    expect_rejected("--nloops 0", "--nloops: 0 is out of range");
    expect_rejected("--warmup -1", "--warmup: -1 is out of range");
    expect_rejected("--threads 0", "--threads: 0 is out of range");
    expect_rejected("--seed -1", "--seed: '-1' is not a non-negative");
    expect_rejected("--seqLength", "--seqLength needs a value");
    expect_rejected("--frobnicate", "unknown flag '--frobnicate'");
    expect_rejected("stray", "unexpected argument 'stray'");
    expect_rejected("--device tpu", "--device: unknown device 'tpu' (valid: cpu, cuda)");
    expect_rejected("--fuser fast", "--fuser: unknown fuser 'fast' (valid: te, old, none)");
    expect_rejected("--executor jit", "--executor: unknown executor 'jit'");
    expect_rejected("--print-json=xml", "--print-json: unknown format 'xml'");
    expect_rejected("--group rnns foo", "--group: unknown group 'foo'");
    expect_rejected("--rnns nosuch", "--rnns: unknown runner 'nosuch' (known rnns runners on cpu:");
    expect_rejected("--rnns fake_cuda", "runner 'fake_cuda' has no cpu version");
    expect_rejected("--cnns empty", "--cnns: 'empty' is an rnns runner: use --rnns empty");
    expect_rejected("--cuda-pointwise-block-size 0", "--cuda-pointwise-block-size: 0 is out of range");
    expect_rejected("--cuda-pointwise-block-size 2048", "--cuda-pointwise-block-size: 2048 is out of range");
    expect_rejected("--cuda-device -1", "--cuda-device: -1 is out of range (0..1023)");
    expect_rejected("--cuda-device gpu1", "--cuda-device: 'gpu1' is not an integer");
    expect_rejected("--runner-path /nonexistent/plugins", "--runner-path: '/nonexistent/plugins' is not a directory");
    expect_rejected("--check=yes", "--check takes no value");
    expect_rejected("--dump /proc/nnb/a/b --rnns empty", "--dump: cannot create folder '/proc/nnb'");
    /* --ab and its settings */
    expect_rejected("--ab empty", "--ab: needs exactly two runners A B (got fewer)");
    expect_rejected("--ab empty empty empty", "--ab: needs exactly two runners A B (got more)");
    expect_rejected("--ab empty nosuch", "--ab: unknown runner 'nosuch' (see --list)");
    expect_rejected("--progress sometimes", "--progress: unknown mode 'sometimes' (valid: auto, always, never)");
    expect_rejected("--rnns empty --ab-any-group", "--ab-any-group needs --ab A B");
    expect_rejected("--ab empty fake_cuda", "--ab: runner 'fake_cuda' runs on cuda, not on cpu");
    expect_rejected("--ab empty empty@--bogus=1",
                    "--ab: 'empty@--bogus=1': '--bogus=1' is not a flag a variant can set");
    expect_rejected("--ab empty empty@--json-out=x", "is not a flag a variant can set");
    expect_rejected("--ab empty empty@--fuser=fast", "--ab: 'empty@--fuser=fast': --fuser: unknown fuser 'fast'");
    expect_rejected("--ab empty empty@--seqLength=0", "--ab: 'empty@--seqLength=0': --seqLength: 0 is out of range");
    expect_rejected("--ab empty empty@--fuser", "--ab: 'empty@--fuser': --fuser needs a value");
    expect_rejected("--ab empty empty@--tf32=1", "--ab: 'empty@--tf32=1': --tf32 takes no value");
    expect_rejected("--ab empty empty@NOVALUE", "'NOVALUE' is neither --flag=value nor VAR=VALUE");
    expect_rejected("--ab empty empty@1X=2", "'1X=2' is neither --flag=value nor VAR=VALUE");
    expect_rejected("--ab empty @--fuser=old", "--ab: '@--fuser=old' does not start with a runner name");
    expect_rejected("--ab empty empty --rnns empty", "--ab names its two runners itself; --rnns does not apply");
    expect_rejected("--ab empty empty --nloops 5", "--nloops does not apply");
    expect_rejected("--ab empty empty --print-json", "--print-json does not apply");
    expect_rejected("--ab empty empty --min-time 1", "--min-time does not apply");
    expect_rejected("--ab empty empty_fwd --ab-phase backward", "--ab-phase: a side is forward-only");
    expect_rejected("--noise-threshold 1", "--noise-threshold needs --ab A B");
    expect_rejected("--fail-above 1.05", "--fail-above needs --ab A B");
    expect_rejected("--ab empty empty --noise-threshold 0", "--noise-threshold: 0% is out of range");
    expect_rejected("--ab empty empty --noise-threshold 100%", "--noise-threshold: 100% is out of range");
    expect_rejected("--ab empty empty --noise-threshold abc", "--noise-threshold: 'abc' is not a number");
    expect_rejected("--ab empty empty --ab-max-time 0", "--ab-max-time: 0 is out of range");
    expect_rejected("--ab empty empty --max-time nan", "--ab-max-time: 'nan' is not a number"); /* the old name */
    expect_rejected("--ab empty empty --fail-above 0", "--fail-above: 0 is out of range");
    expect_rejected("--ab empty empty --fail-above -1", "--fail-above: -1 is out of range");
    expect_rejected("--ab empty empty --fail-above x", "--fail-above: 'x' is not a number");
    expect_rejected("--ab empty empty --ab-phase sideways", "--ab-phase: unknown phase 'sideways'");
    expect_rejected("--ab empty empty --min-samples 0", "--min-samples: 0 is out of range");
    /* adaptive stopping and statistics */
    expect_rejected("--min-time -1", "--min-time: -1 is out of range");
    expect_rejected("--max-noise 0", "--max-noise: 0% is out of range");
    expect_rejected("--max-noise 1e999", "--max-noise: '1e999' is not a number");
    expect_rejected("--timeout 0", "--timeout: 0 is out of range");
    expect_rejected("--min-samples 5 --nloops 20", "--nloops is a fixed count");
    expect_rejected("--min-time 1 --profile", "--profile runs a fixed few iterations");
    expect_rejected("--stats fancy", "--stats: unknown statistics 'fancy' (valid: mean, robust)");
    /* isolation */
    expect_rejected("--isolate --no-isolate", "--isolate and --no-isolate contradict each other");
    expect_rejected("--no-isolate --runner-timeout 5", "--runner-timeout needs isolation");
    expect_rejected("--runner-timeout 0", "--runner-timeout: 0 is out of range");
    expect_rejected("--runner-timeout soon", "--runner-timeout: 'soon' is not a number");
    expect_rejected("--ab empty empty --isolate",
                    "--ab runs both sides in one process, interleaved; --isolate does not apply");
    expect_rejected("--ab empty empty --runner-timeout 3", "--runner-timeout does not apply");

    /* Output paths: checked before anything runs; the existing file survives. */
    char cmd[4096], err[8192];
    /* (A missing folder is created: cmdline_should_name_fixes_on_every_command.) */
    snprintf(cmd, sizeof cmd, "%s --runner-path %s --rnns empty --json-out /proc/version/dir/out.json", bin, good);
    CHECK(nnb_test_run(cmd, NULL, 0, err, sizeof err) == 2);
    CHECK_STR_CONTAINS(err, "--json-out: '/proc/version' is a file, not a folder");
    snprintf(cmd, sizeof cmd, "%s --runner-path %s --rnns empty --json-out /tmp", bin, good);
    CHECK(nnb_test_run(cmd, NULL, 0, err, sizeof err) == 2);
    CHECK_STR_CONTAINS(err, "/tmp");
    write_precious();
    snprintf(cmd, sizeof cmd, "%s --runner-path %s --rnns empty --dump %s", bin, good, results);
    CHECK(nnb_test_run(cmd, NULL, 0, err, sizeof err) == 2);
    CHECK_STR_CONTAINS(err, "is a file; give a folder");
    CHECK(precious_intact());

    /* Good spellings are accepted: underscore forms and --flag=value. */
    snprintf(cmd, sizeof cmd,
             "%s --device cpu --runner-path %s --rnns=empty --group rnns --print_json=oss "
             "--cuda_pointwise_block_size 128 --nloops=2 --warmup 0",
             bin, good);
    char out[8192];
    int rc = nnb_test_run(cmd, out, sizeof out, err, sizeof err);
    CHECK_MSG(rc == 0 || rc == 1, "underscore spellings rejected (exit %d): %s", rc, err);
    CHECK_STR_CONTAINS(out, "\"empty\"");
    unlink(results);
    return nnb_test_finish();
}
