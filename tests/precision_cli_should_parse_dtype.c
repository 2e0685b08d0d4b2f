#define _GNU_SOURCE
/* --dtype on the command line (bench/cli*.c, bench/precision.c): the four values, both spellings of the flag,
 * refused values with the spelling that works, the deprecated --tf32 as --dtype tf32, --ab sides and sweep
 * axes that set it. Parsed in process: nnb_cli_parse, nnb_cli_parse_variant, nnb_cli_axis_flag. */
#include "cli.h"
#include "precision.h"
#include "test_support.h"

#include <stdlib.h>
#include <string.h>

static nnb_options opts;
static char err[1024];

/* Parses "nnbench ARGS..." (at most 8 words) into opts; the parser's return value. */
static int parse(const char *a1, const char *a2, const char *a3) {
    static char words[4][128];
    char *argv[5] = {words[0]};
    int argc = 1;
    snprintf(words[0], sizeof words[0], "nnbench");
    const char *given[3] = {a1, a2, a3};
    for (int i = 0; i < 3 && given[i]; i++) {
        snprintf(words[argc], sizeof words[argc], "%s", given[i]);
        argv[argc] = words[argc];
        argc++;
    }
    err[0] = 0;
    return nnb_cli_parse(argc, argv, &opts, err, sizeof err);
}

static void expect_dtype(const char *a1, const char *a2, int precision, int allow_tf32) {
    int rc = parse(a1, a2, NULL);
    CHECK_MSG(rc == 0, "'%s %s' refused: %s", a1, a2 ? a2 : "", err);
    CHECK_MSG(opts.config.precision == precision && opts.config.allow_tf32 == allow_tf32,
              "'%s %s': precision %d allow_tf32 %d, expected %d %d", a1, a2 ? a2 : "", opts.config.precision,
              opts.config.allow_tf32, precision, allow_tf32);
}

static void expect_refused(const char *value, const char *expected) {
    CHECK_MSG(parse("--dtype", value, NULL) != 0, "--dtype %s accepted", value);
    CHECK_MSG(strstr(err, expected) != NULL, "--dtype %s: expected \"%s\" in: %s", value, expected, err);
    CHECK_MSG(strstr(err, "(valid: fp32, tf32, bf16, fp16)") != NULL, "--dtype %s: valid values not listed: %s", value,
              err);
}

int main(void) {
    /* The default, the four values, every spelling of the flag. */
    CHECK(parse(NULL, NULL, NULL) == 0 && opts.config.precision == NNB_PRECISION_FP32 && !opts.config.allow_tf32);
    expect_dtype("--dtype", "fp32", NNB_PRECISION_FP32, 0);
    expect_dtype("--dtype", "tf32", NNB_PRECISION_TF32, 1);
    expect_dtype("--dtype", "bf16", NNB_PRECISION_BF16, 0);
    expect_dtype("--dtype", "fp16", NNB_PRECISION_FP16, 0);
    expect_dtype("--dtype=bf16", NULL, NNB_PRECISION_BF16, 0);
    expect_dtype("--dtype=fp16", NULL, NNB_PRECISION_FP16, 0);
    CHECK(nnb_cli_given(&opts, "--dtype"));

    /* The deprecated switch: tf32 as --dtype tf32 says; with --dtype as well, refused. */
    expect_dtype("--tf32", NULL, NNB_PRECISION_TF32, 1);
    CHECK(parse("--tf32", "--dtype=bf16", NULL) != 0);
    CHECK_STR_CONTAINS(err, "--tf32 is the old spelling of --dtype tf32; give --dtype only");
    CHECK(parse("--dtype=tf32", "--tf32", NULL) != 0);

    /* Friendly names and other spellings: refused, with the value that works. */
    expect_refused("bfloat16", "unknown dtype 'bfloat16'");
    expect_refused("bfloat16", "did you mean 'bf16'?");
    expect_refused("BF16", "did you mean 'bf16'?");
    expect_refused("half", "did you mean 'fp16'?");
    expect_refused("float16", "did you mean 'fp16'?");
    expect_refused("float32", "did you mean 'fp32'?");
    expect_refused("float", "did you mean 'fp32'?");
    expect_refused("torch.bfloat16", "did you mean 'bf16'?");
    expect_refused("tensorfloat32", "did you mean 'tf32'?");
    expect_refused("bf61", "did you mean 'bf16'?"); /* a typo: the edit-distance suggestion */
    expect_refused("int8", "unknown dtype 'int8'");
    CHECK_MSG(strstr(err, "did you mean") == NULL, "int8 should get no suggestion: %s", err);
    CHECK(parse("--dtype", NULL, NULL) != 0);
    CHECK_STR_CONTAINS(err, "--dtype needs a value");
    CHECK(parse("--dtype", "", NULL) != 0);

    /* The parser's own function, directly. */
    int p = -1;
    CHECK(nnb_precision_parse("fp16", &p, err, sizeof err) == 0 && p == NNB_PRECISION_FP16);
    CHECK(nnb_precision_parse("Half", &p, err, sizeof err) == -1);
    CHECK_STR_CONTAINS(err, "--dtype: unknown dtype 'Half' (valid: fp32, tf32, bf16, fp16); did you mean 'fp16'?");

    /* --ab sides: each its own dtype, over the run's. */
    CHECK(parse("--dtype", "bf16", NULL) == 0);
    static nnb_variant a, b, c;
    CHECK(nnb_cli_parse_variant("jit_premul@--dtype=fp32", &opts, &a, err, sizeof err) == 0);
    CHECK(a.config.precision == NNB_PRECISION_FP32 && !strcmp(a.runner, "jit_premul"));
    CHECK(nnb_cli_parse_variant("jit_premul", &opts, &b, err, sizeof err) == 0);
    CHECK(b.config.precision == NNB_PRECISION_BF16);
    CHECK(nnb_cli_parse_variant("cudnn@--dtype=tf32", &opts, &c, err, sizeof err) == 0);
    CHECK(c.config.precision == NNB_PRECISION_TF32 && c.config.allow_tf32 == 1);
    CHECK(nnb_cli_parse_variant("cudnn@--dtype=bfloat16", &opts, &c, err, sizeof err) == -1);
    CHECK_STR_CONTAINS(err, "did you mean 'bf16'?");
    CHECK(nnb_cli_parse_variant("cudnn@--dtype", &opts, &c, err, sizeof err) == -1);
    CHECK_STR_CONTAINS(err, "--dtype needs a value");

    /* A sweep axis (any spelling) and a value a serve run passes through. */
    char canon[64];
    CHECK(nnb_cli_axis_flag("dtype", canon, sizeof canon, err, sizeof err) == 0 && !strcmp(canon, "--dtype"));
    CHECK(nnb_cli_axis_flag("--dtype", canon, sizeof canon, err, sizeof err) == 0 && !strcmp(canon, "--dtype"));
    CHECK(nnb_cli_axis_flag("dtpye", canon, sizeof canon, err, sizeof err) == -1);
    CHECK_STR_CONTAINS(err, "did you mean 'dtype'?");
    CHECK(nnb_cli_is_flag("--dtype=bf16"));
    char *run_ok[] = {"nnbench", "--dtype", "fp16", NULL}, *run_bad[] = {"nnbench", "--dtype", "half", NULL};
    CHECK(nnb_cli_check_run_argv(3, run_ok, err, sizeof err) == 0);
    CHECK(nnb_cli_check_run_argv(3, run_bad, err, sizeof err) == -1);
    CHECK_STR_CONTAINS(err, "did you mean 'fp16'?");

    /* The help names it with its values. */
    char path[] = "/tmp/nnb-dtype-help-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w+") : NULL;
    CHECK(f != NULL);
    if (f) {
        nnb_cli_print_help(f);
        rewind(f);
        char help[16384];
        size_t n = fread(help, 1, sizeof help - 1, f);
        help[n] = 0;
        fclose(f);
        CHECK_STR_CONTAINS(help, "--dtype fp32|tf32|bf16|fp16");
        CHECK_STR_CONTAINS(help, "--tf32");
        CHECK_STR_CONTAINS(help, "deprecated spelling of --dtype tf32");
    }
    remove(path);
    return nnb_test_finish();
}
