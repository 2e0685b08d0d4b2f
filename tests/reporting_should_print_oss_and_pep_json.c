/*
 * fastrnns' --print-json outputs. The expected OSS line and PEP lines were
 * printed by fastrnns' print_json_oss_format / print_json_pep_format (Python
 * json.dumps, str(float)) for the fixture's numbers; they are also parsed back
 * with cJSON. The repr table was printed by Python's repr() (bit patterns of the
 * doubles, so nothing is lost in a decimal literal).
 */
#define _GNU_SOURCE
#include "report.h"
#include "results_fixture.h"
#include "test_support.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *OSS_LINE =
    "{\"lstm\": {\"py\": 11.5, \"jit_forward_only_long_name\": 3.25, \"jit_premul\": 3.100000025}, "
    "\"lstm-backward\": {\"py\": 20.125, \"jit_premul\": 8.0}, \"vl_lstm\": {\"vl_py\": 30.0}, "
    "\"vl_lstm-backward\": {\"vl_py\": 60.5}}\n";

/* metric and value of every PEP line, in order (Python's output for the fixture). */
static const char *PEP[][2] = {
    {"lstm-py", "10.0"},
    {"lstm-py", "12.5"},
    {"lstm-py", "11.0"},
    {"lstm-py", "12.5"},
    {"lstm-jit_forward_only_long_name", "3.0"},
    {"lstm-jit_forward_only_long_name", "3.5"},
    {"lstm-jit_forward_only_long_name", "3.25"},
    {"lstm-jit_forward_only_long_name", "3.25"},
    {"lstm-jit_premul", "0.1"},
    {"lstm-jit_premul", "0.30000000000000004"},
    {"lstm-jit_premul", "1e-07"},
    {"lstm-jit_premul", "12.0"},
    {"lstm-backward-py", "20.0"},
    {"lstm-backward-py", "20.25"},
    {"lstm-backward-py", "20.125"},
    {"lstm-backward-py", "20.125"},
    {"lstm-backward-jit_premul", "8.0"},
    {"lstm-backward-jit_premul", "8.0"},
    {"lstm-backward-jit_premul", "8.0"},
    {"lstm-backward-jit_premul", "8.0"},
    {"vl_lstm-vl_py", "29.5"},
    {"vl_lstm-vl_py", "30.5"},
    {"vl_lstm-vl_py", "30.0"},
    {"vl_lstm-vl_py", "30.0"},
    {"vl_lstm-backward-vl_py", "60.5"},
    {"vl_lstm-backward-vl_py", "60.5"},
    {"vl_lstm-backward-vl_py", "60.5"},
    {"vl_lstm-backward-vl_py", "60.5"},
};

/* Python repr() of doubles given by their bits. */
static const struct {
    uint64_t bits;
    const char *repr;
} REPRS[] = {
    {0x3fb999999999999aull, "0.1"},
    {0x3e7ad7f29abcaf48ull, "1e-07"},
    {0x4028000000000000ull, "12.0"},
    {0x4341c37937e08000ull, "1e+16"},
    {0x430c6bf526340000ull, "1000000000000000.0"},
    {0x4132d68700000000ull, "1234567.0"},
    {0x3f1a36e2eb1c432dull, "0.0001"},
    {0x3ee4f8b588e368f1ull, "1e-05"},
    {0x437b69b4ba630f35ull, "1.2345678901234568e+17"},
    {0xc004000000000000ull, "-2.5"},
    {0x0000000000000001ull, "5e-324"},
    {0x7fefffffffffffffull, "1.7976931348623157e+308"},
    {0x4059000000000000ull, "100.0"},
    {0x0010000000000000ull, "2.2250738585072014e-308"},
    {0x4340000000000000ull, "9007199254740992.0"},
    {0x3fd3333333333334ull, "0.30000000000000004"},
    {0x3fd5555555555555ull, "0.3333333333333333"},
    {0x3f1179ec9cbd821eull, "6.666666666666667e-05"},
    {0x405edd2f1a9fbe77ull, "123.456"},
    {0xbdc35eaab6212b3aull, "-3.523344703336752e-11"},
    {0xbc7840866287d623ull, "-2.103530071536531e-17"},
    {0xc3084ddef4084e94ull, "-855127426664914.5"},
    {0xc3a687c24e4cc06cull, "-8.117399161206349e+17"},
    {0xc2a01474aee3f3baull, "-8840021504505.863"},
    {0xbcf9b29caf76a750ull, "-5.706036383286766e-15"},
    {0xbca32015990dbd9aull, "-1.3270863267522833e-16"},
    {0xc3326d500317442bull, "-5186739997459499.0"},
    {0xc34ad0f093da1577ull, "-1.5096162171497198e+16"},
    {0xbedf8eca971eb7a8ull, "-7.523960777007089e-06"},
    {0x438d0139409a679eull, "2.612518314634741e+17"},
    {0x4373e1dc83f9547bull, "8.954178849140114e+16"},
    {0x3c73b9796e532c97ull, "1.7108284528077355e-17"},
    {0x3c65f6a0bc1468f6ull, "9.525102111858403e-18"},
    {0x3d73efeb9677794aull, "1.1332979587418528e-12"},
    {0xbdc721f8dd0d6e81ull, "-4.207814273366475e-11"},
    {0x433ce8b82ee73253ull, "8137177106428499.0"},
    {0xbe3073877b651b2bull, "-3.830363517961313e-09"},
    {0xc371a0bbecb15844ull, "-7.938885751128173e+16"},
    {0x40a5b489ebfb5aeaull, "2778.2693785236816"},
    {0xbccd02185ade0b0dull, "-8.051388480105332e-16"},
    {0x43e6550d8a0757dfull, "1.287365862667734e+19"},
    {0xc300b6dd278c1817ull, "-588082574361346.9"},
    {0xbff72ba368e92d68ull, "-1.4481538866119426"},
};

static double from_bits(uint64_t bits) {
    double x;
    memcpy(&x, &bits, sizeof x);
    return x;
}

static char *capture(int (*report)(FILE *, const nnb_run_results *), const nnb_run_results *res, int *rc) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return strdup("");
    *rc = report(f, res);
    fclose(f);
    return text;
}

static void check_repr(void) {
    char buf[64];
    for (size_t i = 0; i < sizeof REPRS / sizeof REPRS[0]; i++) {
        double x = from_bits(REPRS[i].bits);
        nnb_format_double_repr(buf, sizeof buf, x);
        CHECK_MSG(strcmp(buf, REPRS[i].repr) == 0, "repr of %.17g: got %s, want %s", x, buf, REPRS[i].repr);
    }
    nnb_format_double_repr(buf, sizeof buf, 0.0);
    CHECK(strcmp(buf, "0.0") == 0);
    nnb_format_double_repr(buf, sizeof buf, -0.0);
    CHECK(strcmp(buf, "-0.0") == 0);
    nnb_format_double_repr(buf, sizeof buf, NAN);
    CHECK(strcmp(buf, "nan") == 0);
    nnb_format_double_repr(buf, sizeof buf, -INFINITY);
    CHECK(strcmp(buf, "-inf") == 0);

    // Property over many doubles (a fixed LCG over bit patterns): reads back exactly and reads as a float.
    uint64_t state = 0x9E3779B97F4A7C15ull;
    int bad = 0;
    for (int i = 0; i < 20000; i++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        double x = from_bits(state);
        if (!isfinite(x))
            continue;
        nnb_format_double_repr(buf, sizeof buf, x);
        if (strtod(buf, NULL) != x || !strpbrk(buf, ".e"))
            bad++;
    }
    CHECK_MSG(bad == 0, "%d doubles did not round-trip through their repr", bad);
}

static void check_oss(const nnb_run_results *res) {
    int rc = -1;
    char *line = capture(nnb_report_oss, res, &rc);
    CHECK(rc == 0);
    CHECK_MSG(strcmp(line, OSS_LINE) == 0, "OSS line\n got: %s\nwant: %s", line, OSS_LINE);

    cJSON *root = cJSON_Parse(line);
    CHECK_MSG(root != NULL, "OSS line does not parse: %s", line);
    const char *keys[] = {"lstm", "lstm-backward", "vl_lstm", "vl_lstm-backward"};
    int k = 0;
    for (cJSON *g = root ? root->child : NULL; g; g = g->next, k++)
        CHECK_MSG(k < 4 && strcmp(g->string, keys[k]) == 0, "group key %d is %s", k, g->string);
    CHECK(k == 4);
    cJSON *lstm = cJSON_GetObjectItemCaseSensitive(root, "lstm");
    cJSON *lstm_bwd = cJSON_GetObjectItemCaseSensitive(root, "lstm-backward");
    cJSON *vl = cJSON_GetObjectItemCaseSensitive(root, "vl_lstm");
    CHECK(cJSON_GetArraySize(lstm) == 3 && cJSON_GetArraySize(lstm_bwd) == 2 && cJSON_GetArraySize(vl) == 1);
    CHECK(cJSON_GetObjectItemCaseSensitive(lstm, "py")->valuedouble == res->groups[0].runners[0].fwd.mean);
    CHECK(cJSON_GetObjectItemCaseSensitive(lstm_bwd, "py")->valuedouble == res->groups[0].runners[0].bwd.mean);
    CHECK(cJSON_GetObjectItemCaseSensitive(lstm, "jit_premul")->valuedouble == res->groups[0].runners[3].fwd.mean);
    CHECK(cJSON_GetObjectItemCaseSensitive(lstm, "jit_forward_only_long_name") != NULL);
    CHECK(cJSON_GetObjectItemCaseSensitive(lstm_bwd, "jit_forward_only_long_name") == NULL); // forward-only
    CHECK(cJSON_GetObjectItemCaseSensitive(lstm, "cudnn") == NULL);                          // failed
    CHECK(cJSON_GetObjectItemCaseSensitive(vl, "vl_bad") == NULL);                           // check failed
    CHECK(cJSON_GetObjectItemCaseSensitive(vl, "vl_cudnn") == NULL);                         // skipped
    cJSON_Delete(root);
    free(line);
}

static void check_pep(const nnb_run_results *res) {
    int rc = -1;
    char *text = capture(nnb_report_pep, res, &rc);
    CHECK(rc == 0);
    const int want_lines = (int)(sizeof PEP / sizeof PEP[0]);
    int n = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"), n++) {
        const char *prefix = "Caffe2Observer ";
        CHECK_MSG(strncmp(line, prefix, strlen(prefix)) == 0, "PEP line without prefix: %s", line);
        if (n >= want_lines)
            continue;
        char want[256];
        snprintf(want, sizeof want,
                 "Caffe2Observer {\"type\": \"NET\", \"metric\": \"%s\", \"unit\": \"ms\", \"value\": \"%s\"}",
                 PEP[n][0], PEP[n][1]);
        CHECK_MSG(strcmp(line, want) == 0, "PEP line %d\n got: %s\nwant: %s", n, line, want);
        cJSON *o = cJSON_Parse(line + strlen(prefix));
        CHECK_MSG(o != NULL, "PEP JSON does not parse: %s", line);
        const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "type"));
        const char *metric = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "metric"));
        const char *unit = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "unit"));
        const char *value = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "value"));
        CHECK(type && strcmp(type, "NET") == 0);
        CHECK(metric && strcmp(metric, PEP[n][0]) == 0);
        CHECK(unit && strcmp(unit, "ms") == 0);
        CHECK(value && strcmp(value, PEP[n][1]) == 0);
        cJSON_Delete(o);
    }
    CHECK_MSG(n == want_lines, "PEP printed %d lines, want %d (one per ok sample)", n, want_lines);
    free(text);
}

int main(void) {
    nnb_run_results res;
    fixture_results(&res);
    check_repr();
    check_oss(&res);
    check_pep(&res);

    // A group without any ok runner still has both keys, empty, as json.dumps({}) prints them.
    res.groups[1].count = 0;
    int rc = -1;
    char *line = capture(nnb_report_oss, &res, &rc);
    CHECK_STR_CONTAINS(line, "\"vl_lstm\": {}, \"vl_lstm-backward\": {}}");
    free(line);
    return nnb_test_finish();
}
