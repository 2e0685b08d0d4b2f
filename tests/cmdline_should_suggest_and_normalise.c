/* cmdline/: did-you-mean by edit distance, flag spellings, help recognition, the output-path rule.
 * Expected suggestions are the words a person meant (hand-picked typos of each kind: a dropped, doubled,
 * swapped or wrong letter, another case, another separator) and what must NOT be suggested. */
#define _GNU_SOURCE
#include "cmdline.h"
#include "exit_codes.h"
#include "test_support.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define N(a) (sizeof(a) / sizeof *(a))

static void check_suggest(const char *word, const char *const *cand, size_t n, const char *want) {
    const char *got = nnb_cmd_suggest(word, cand, n);
    if (!want)
        CHECK_MSG(got == NULL, "suggest('%s') = '%s', want nothing", word, got ? got : "(null)");
    else
        CHECK_MSG(got && !strcmp(got, want), "suggest('%s') = '%s', want '%s'", word, got ? got : "(null)", want);
}

static void suggestions(void) {
    static const char *const commands[] = {"sweep", "merge", "serve", "compare", "help"};
    static const char *const flags[] = {"--seqLength", "--hiddenSize", "--inputSize", "--nloops", "--warmup",
                                        "--max-batch", "--fail-above", "--json-out",  "--rnns",   "--cnns"};
    static const char *const runners[] = {"jit", "jit_premul", "jit_premul_bias", "jit_simple", "cudnn", "resnet18"};
    check_suggest("swep", commands, N(commands), "sweep");          /* dropped letter */
    check_suggest("sewrve", commands, N(commands), "serve");        /* extra letter */
    check_suggest("mrege", commands, N(commands), "merge");         /* adjacent swap: one edit */
    check_suggest("compair", commands, N(commands), "compare");     /* two edits in a 7-letter word */
    check_suggest("--hiddensize", flags, N(flags), "--hiddenSize"); /* case only */
    check_suggest("--nloop", flags, N(flags), "--nloops");
    check_suggest("--max_batchh", flags, N(flags), "--max-batch"); /* separator and a doubled letter */
    check_suggest("hidden_size", flags, N(flags), "--hiddenSize"); /* no dashes, underscore for case */
    check_suggest("--fail-abov", flags, N(flags), "--fail-above");
    check_suggest("jit_premull", runners, N(runners), "jit_premul");
    check_suggest("JIT-SIMPEL", runners, N(runners), "jit_simple");
    /* Too far: nothing, rather than a random flag. */
    check_suggest("--frobnicate", flags, N(flags), NULL);
    check_suggest("xyz", commands, N(commands), NULL);
    check_suggest("ab", (const char *const[]){"cd"}, 1, NULL); /* 2 letters: only an exact match is close */
    check_suggest("", commands, N(commands), NULL);
    check_suggest("lstm", runners, N(runners), NULL); /* "jit" is 3 edits from "lstm": too far for 4 letters */
    /* Ties go to the first candidate; NULL candidates are skipped. */
    check_suggest("cnn", (const char *const[]){NULL, "cnns", "cnn2"}, 3, "cnns");

    char msg[128] = "unknown command 'swep'";
    CHECK(nnb_cmd_append_suggestion(msg, sizeof msg, "swep", commands, N(commands)) == 1);
    CHECK(!strcmp(msg, "unknown command 'swep'; did you mean 'sweep'?"));
    char same[64] = "unknown flag '--qqq'";
    CHECK(nnb_cmd_append_suggestion(same, sizeof same, "--qqq", flags, N(flags)) == 0);
    CHECK(!strcmp(same, "unknown flag '--qqq'"));
    char tiny[24] = "unknown command 'swep'"; /* no room: truncated, still terminated */
    nnb_cmd_append_suggestion(tiny, sizeof tiny, "swep", commands, N(commands));
    CHECK(strlen(tiny) < sizeof tiny);
}

static void spellings(void) {
    char out[64];
    nnb_cmd_flag_spelling("--max_batch=3", out, sizeof out);
    CHECK(!strcmp(out, "--max-batch"));
    nnb_cmd_flag_spelling("--print_json", out, sizeof out);
    CHECK(!strcmp(out, "--print-json"));
    nnb_cmd_flag_spelling("--hiddenSize", out, sizeof out); /* camelCase kept */
    CHECK(!strcmp(out, "--hiddenSize"));
    nnb_cmd_flag_spelling("--a_b=c_d", out, sizeof out); /* the value is not touched (not even copied) */
    CHECK(!strcmp(out, "--a-b"));
    nnb_cmd_flag_spelling("--max_batch_delay_ms", out, 8); /* truncated to the buffer */
    CHECK(!strcmp(out, "--max-b"));
    CHECK(nnb_cmd_flag_is("--max_batch_delay_ms=2", "--max-batch-delay-ms"));
    CHECK(!nnb_cmd_flag_is("--max_batch", "--max-batch-delay-ms"));
    CHECK(nnb_cmd_is_help("-h") && nnb_cmd_is_help("--help"));
    CHECK(!nnb_cmd_is_help("-help") && !nnb_cmd_is_help("--helpme") && !nnb_cmd_is_help("help"));
}

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void output_paths(void) {
    char root[] = "/tmp/nnb_cmdline_XXXXXX", path[256], err[512];
    CHECK(mkdtemp(root) != NULL);
    snprintf(path, sizeof path, "%s/a/b/out.json", root);
    CHECK(nnb_cmd_prepare_output("--json-out", path, 0, err, sizeof err) == 0);
    snprintf(path, sizeof path, "%s/a/b", root);
    CHECK_MSG(is_dir(path), "the missing parents of a file are created");
    snprintf(path, sizeof path, "%s/a/b/out.json", root);
    CHECK_MSG(access(path, F_OK) != 0, "the file itself is not created");
    snprintf(path, sizeof path, "%s/d1/d2", root);
    CHECK(nnb_cmd_prepare_output("--out", path, 1, err, sizeof err) == 0 && is_dir(path));
    /* A folder where a file is expected: refused, the flag and the fix named. */
    CHECK(nnb_cmd_prepare_output("--csv", path, 0, err, sizeof err) == -1);
    CHECK_STR_CONTAINS(err, "--csv: '");
    CHECK_STR_CONTAINS(err, "is a folder; give a file name");
    /* A file where a folder is expected, and a file in the middle of a path. */
    snprintf(path, sizeof path, "%s/f", root);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f)
        fclose(f);
    CHECK(nnb_cmd_prepare_output("--dump", path, 1, err, sizeof err) == -1);
    CHECK_STR_CONTAINS(err, "--dump: '");
    CHECK_STR_CONTAINS(err, "is a file; give a folder");
    snprintf(path, sizeof path, "%s/f/x.json", root);
    CHECK(nnb_cmd_prepare_output("--json-out", path, 0, err, sizeof err) == -1);
    CHECK_STR_CONTAINS(err, "--json-out: '");
    CHECK_STR_CONTAINS(err, "is a file, not a folder (give a path in a folder you can write to)");
    /* A folder that cannot be made (as root too: /proc takes no new entries): the flag, the folder, why. */
    CHECK(nnb_cmd_prepare_output("--dump", "/proc/nnb_cmdline/x", 1, err, sizeof err) == -1);
    CHECK_STR_CONTAINS(err, "--dump: cannot create folder '/proc/nnb_cmdline': ");
    CHECK(nnb_cmd_prepare_output("--json-out", "", 0, err, sizeof err) == -1);
    CHECK_STR_CONTAINS(err, "--json-out: empty file name");
    /* An existing file is fine (it is replaced or appended to by its writer). */
    snprintf(path, sizeof path, "%s/f", root);
    CHECK(nnb_cmd_prepare_output("--csv", path, 0, err, sizeof err) == 0);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    CHECK(system(cmd) == 0);
}

int main(void) {
    suggestions();
    spellings();
    output_paths();
    /* The shared exit codes are the documented numbers (docs/exit-codes.md). */
    CHECK(NNB_EXIT_OK == 0 && NNB_EXIT_FAILED == 1 && NNB_EXIT_USAGE == 2 && NNB_EXIT_NOTHING_RAN == 3);
    CHECK(NNB_EXIT_REGRESSION == 4 && NNB_EXIT_SKIPPED == 77 && NNB_EXIT_INTERRUPTED == 130);
    return nnb_test_finish();
}
