/*
 * Fuzz target: nnbench's command line (bench/cli.c).
 *
 * The input is cut into argv words at NUL and newline bytes (at most MAX_WORDS
 * words of at most MAX_WORD bytes; longer ones are cut), parsed with
 * nnb_cli_parse as nnbench's main() does, then, when that succeeds,
 * nnb_cli_check_sizes and, for --ab, nnb_cli_parse_variant on both specs.
 * The whole input (up to its first NUL) is also parsed as one --ab runner spec
 * against the default options. Nothing here may crash, hang or leak, and an
 * error must come with a message.
 *
 * Built with libFuzzer by tests/fuzz/CMakeLists.txt, and without it (entry
 * point renamed) by tests/fuzz.cmake for fuzz_regressions_should_not_crash.
 */
#include "cli.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORDS 128
#define MAX_WORD 512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Large; like main()'s, static. */
static nnb_options opts, defaults;
static nnb_variant variant;
static int have_defaults;

static void expect_message(int rc, const char *err, const char *what) {
    if (rc != 0 && !err[0]) {
        fprintf(stderr, "fuzz_cli: %s failed without a message\n", what);
        abort();
    }
}

static void parse_spec(const char *spec, const nnb_options *base) {
    char err[1024] = "";
    int rc = nnb_cli_parse_variant(spec, base, &variant, err, sizeof err);
    expect_message(rc, err, "nnb_cli_parse_variant");
    if (rc == 0 && (!variant.runner || !variant.runner[0] || variant.env_count > NNB_MAX_VARIANT_ENV)) {
        fprintf(stderr, "fuzz_cli: nnb_cli_parse_variant accepted '%s' without a runner name\n", spec);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[1024] = "";
    if (!have_defaults) {
        char prog[] = "nnbench", *argv0[] = {prog, NULL};
        if (nnb_cli_parse(1, argv0, &defaults, err, sizeof err)) {
            fprintf(stderr, "fuzz_cli: no flags rejected: %s\n", err);
            abort();
        }
        have_defaults = 1;
    }

    /* The words: a private, writable copy (the parser cuts --rnns a,b in place). */
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char prog[] = "nnbench";
    char *argv[MAX_WORDS + 2] = {prog};
    int argc = 1;
    for (size_t i = 0; i < size && argc <= MAX_WORDS;) {
        size_t end = i;
        while (end < size && text[end] != '\0' && text[end] != '\n')
            end++;
        if (end - i > MAX_WORD)
            text[i + MAX_WORD] = '\0';
        text[end] = '\0'; /* end == size: the terminator already there */
        argv[argc++] = &text[i];
        i = end + 1;
    }
    argv[argc] = NULL;

    int rc = nnb_cli_parse(argc, argv, &opts, err, sizeof err);
    expect_message(rc, err, "nnb_cli_parse");
    if (rc == 0) {
        err[0] = '\0';
        expect_message(nnb_cli_check_sizes(&opts, err, sizeof err), err, "nnb_cli_check_sizes");
        if (opts.ab.given) {
            if (opts.ab.count != 2) {
                fprintf(stderr, "fuzz_cli: --ab accepted with %d runners\n", opts.ab.count);
                abort();
            }
            for (int i = 0; i < opts.ab.count; i++)
                parse_spec(opts.ab.names[i], &opts);
        }
        (void)nnb_cli_given(&opts, "--nloops");
    }

    /* The whole input as one runner spec (up to its first NUL: a C string). */
    memcpy(text, data, size);
    text[size] = '\0';
    parse_spec(text, &defaults);

    free(text);
    return 0;
}
