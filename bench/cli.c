#define _GNU_SOURCE
#include "cli.h"
#include "cli_internal.h"

#include "cmdline.h"
#include "config.h"
#include "precision.h"
#include "progress.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Values above this are absurd for any size flag (and keep products far from overflow in int64). */
#define NNB_MAX_DIM (1LL << 30)

static const flag_spec flags[] = {
    {"--seqLength", ARG_INT, "sequence length T (default 100)"},
    {"--numLayers", ARG_INT, "LSTM layers L (default 1)"},
    {"--inputSize", ARG_INT, "input size I (default 512)"},
    {"--hiddenSize", ARG_INT, "hidden size H (default 512)"},
    {"--miniBatch", ARG_INT, "batch size B (default 64)"},
    {"--warmup", ARG_INT, "discarded iterations (default 10)"},
    {"--nloops", ARG_INT, "measured iterations (default 100)"},
    {"--device", ARG_STR, "cpu or cuda (default: cuda if a usable device exists, else cpu)"},
    {"--variable-lstms", ARG_NONE, "also benchmark the variable-length LSTMs (group vl_rnns)"},
    {"--sep", ARG_STR, "table column separator (default ' ')"},
    {"--print-json", ARG_OPT_JSON,
     "oss (default when bare), pep or pytest-benchmark: machine-readable results on stdout"},
    {"--rnns", ARG_LIST, "LSTM runners to run (default: every rnns runner of the device)"},
    {"--cnns", ARG_LIST, "CNN runners to run (default: every cnns runner of the device)"},
    {"--convs", ARG_LIST, "convolution runners to run (group convs; needs --conv; docs/convs.md)"},
    {"--conv", ARG_STR, "convs: the problem, benchdnn's descriptor, e.g. mb32ic64ih56oc64oh56kh3ph1"},
    {"--conv-batch", ARG_INT, "convs: minibatch N in place of the descriptor's mb (default: its mb, else 2)"},
    {"--conv-no-bias", ARG_NONE, "convs: no bias (forward without b, backward without db)"},
    {"--conv-dir", ARG_STR, "convs: fwd, bwd_d, bwd_w or all (default): the forward and which backward parts"},
    {"--conv-algo", ARG_STR, "convs: algorithm: auto (default), find, direct, winograd or a library's name"},
    {"--group", ARG_LIST, "groups to run: rnns, cnns, vl_rnns, convs (default: cnns rnns; convs alone with --conv)"},
    {"--fuser", ARG_STR, "pointwise fusion: te (default), old, none"},
    {"--executor", ARG_STR, "CUDA executor: eager (default) or graph"},
    {"--cuda-device", ARG_INT, "CUDA device ordinal N (default 0; as CUDA numbers them, see CUDA_VISIBLE_DEVICES)"},
    {"--cuda-pointwise-loop-level", ARG_INT, "CUDA fused kernels: elements per thread"},
    {"--cuda-pointwise-block-count", ARG_INT, "CUDA fused kernels: cap on the grid size"},
    {"--cuda-pointwise-block-size", ARG_INT, "CUDA fused kernels: threads per block"},
    {"--cnn-batch", ARG_INT, "CNN batch N (default 32)"},
    {"--image-size", ARG_INT, "CNN image size, pixels a side (default 224)"},
    {"--seed", ARG_U64, "seed of every input, weight, gradient and mask (default 0)"},
    {"--threads", ARG_INT, "CPU threads for OpenMP and BLAS (default: all cores)"},
    {"--dtype", ARG_STR,
     "precision the runners compute in: fp32 (default), tf32 (CUDA tensor-op math), bf16, fp16 (docs/precision.md)"},
    {"--tf32", ARG_NONE, "deprecated spelling of --dtype tf32"},
    {"--json-out", ARG_STR, "write full results (docs/json-schema.md) to FILE, atomically"},
    {"--check", ARG_NONE, "check each runner against its reference before timing"},
    {"--dump", ARG_STR, "write each runner's inputs, parameters, outputs and gradients as .npy to DIR/<runner>/"},
    {"--profile", ARG_NONE, "run a few iterations without statistics (for nsys / ncu)"},
    {"--list", ARG_NONE, "list discovered runners and whether they can run here"},
    {"--runner-path", ARG_STR, "also load runner plugins from DIR (repeatable)"},
    {"--stats", ARG_STR, "table statistics: mean (fastrnns' columns, default) or robust (medians, 95% intervals)"},
    {"--measure-peak", ARG_NONE,
     "measure this CPU's peak per precision first; the robust table shows % of the run's precision's"},
    {"--min-time", ARG_NUM, "adaptive stopping: measure at least S seconds (default 0.5 when adaptive)"},
    {"--max-noise", ARG_NUM, "adaptive stopping: until each median's 95% interval is within +-P% (default 0.5)"},
    {"--min-samples", ARG_INT, "adaptive stopping and --ab: at least N samples / rounds (default 10)"},
    {"--timeout", ARG_NUM, "adaptive stopping: stop anyway after S seconds per runner (default 15)"},
    {"--ab", ARG_LIST, "paired interleaved comparison of two runners or variants (NAME@--flag=value, NAME@VAR=VALUE)"},
    {"--noise-threshold", ARG_NUM,
     "--ab: an interval within +-P% is 'same', one wholly beyond it faster/slower (default 1)"},
    {"--ab-max-time", ARG_NUM, "--ab: stop after S seconds of rounds if not settled (default 60)"},
    {"--max-time", ARG_NUM, "deprecated spelling of --ab-max-time"},
    {"--fail-above", ARG_NUM, "--ab: exit 4 when the B/A ratio's 95% interval lies above R (e.g. 1.05)"},
    {"--ab-phase", ARG_STR, "--ab: the phase the verdict follows: total (default), forward, backward"},
    {"--isolate", ARG_NONE, "run each runner in its own process (default when more than one runner runs)"},
    {"--no-isolate", ARG_NONE, "run every runner in this process (for profilers and debuggers)"},
    {"--runner-timeout", ARG_NUM, "isolated runs: a runner taking longer than S seconds is killed and reported"},
    {"--progress", ARG_STR,
     "auto (default: a line per runner, a live line on a terminal), always (the live line), never (fastrnns' stderr)"},
    {"--ab-any-group", ARG_NONE, "--ab: allow A and B of different groups (e.g. an LSTM against a CNN)"},
    {"--help", ARG_NONE, "this help (also -h)"},
    {"--version", ARG_NONE, "print the version"},
};

_Static_assert(sizeof flags / sizeof *flags <= sizeof((nnb_options *)0)->flag_given, "flag_given too small");

const flag_spec *nnb_cli_flags(size_t *count) {
    *count = sizeof flags / sizeof *flags;
    return flags;
}

/* "--print_json" -> "--print-json"; camelCase names are kept. */
static void canonical_name(const char *arg, char *out, size_t cap) { nnb_cmd_flag_spelling(arg, out, cap); }

/* Old spellings still accepted: the flag they now are (a note says so once per process). */
static const char *renamed(const char *name, int note) {
    static int noted;
    if (strcmp(name, "--max-time"))
        return name;
    if (note && !noted++)
        nnb_cmd_note_deprecated("nnbench", "--max-time", "--ab-max-time");
    return "--ab-max-time";
}

/* "unknown flag '--x' (see --help); did you mean '--y'?" */
static int unknown_flag(const char *arg, char *err, size_t err_len) {
    const char *names[sizeof flags / sizeof *flags];
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++)
        names[i] = flags[i].name;
    snprintf(err, err_len, "unknown flag '%.*s' (see --help)", (int)strcspn(arg, "="), arg);
    nnb_cmd_append_suggestion(err, err_len, arg, names, sizeof flags / sizeof *flags);
    return -1;
}

static const flag_spec *find_flag(const char *name) {
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++)
        if (!strcmp(flags[i].name, name))
            return &flags[i];
    return NULL;
}

int nnb_cli_is_flag(const char *arg) {
    char name[64];
    canonical_name(arg, name, sizeof name);
    return find_flag(renamed(name, 0)) != NULL;
}

size_t nnb_cli_flag_names(const char **out, size_t cap) {
    size_t n = 0;
    for (; n < cap && n < sizeof flags / sizeof *flags; n++)
        out[n] = flags[n].name;
    return n;
}

static int fail(char *err, size_t err_len, const char *fmt, const char *a, const char *b) {
    snprintf(err, err_len, fmt, a, b);
    return -1;
}

static int parse_int(const char *flag, const char *v, long long lo, long long hi, long long *out, char *err,
                     size_t err_len) {
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (!*v || *end || errno == ERANGE)
        return fail(err, err_len, "%s: '%s' is not an integer", flag, v);
    if (x < lo || x > hi) {
        snprintf(err, err_len, "%s: %s is out of range (%lld..%lld)", flag, v, lo, hi);
        return -1;
    }
    *out = x;
    return 0;
}

static int add_names(nnb_name_list *l, const char *flag, char *value, char *err, size_t err_len) {
    /* Space-separated like fastrnns, and commas accepted too. */
    for (char *save = NULL, *tok = strtok_r(value, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (!*tok)
            continue;
        if (l->count == NNB_MAX_NAMES)
            return fail(err, err_len, "%s: too many names (at most 64)%s", flag, "");
        l->names[l->count++] = tok;
    }
    return 0;
}

static int set_int_flag(nnb_options *o, const char *flag, long long x) {
    nnb_config *c = &o->config;
    if (!strcmp(flag, "--seqLength"))
        c->seq_length = x;
    else if (!strcmp(flag, "--numLayers"))
        c->num_layers = x;
    else if (!strcmp(flag, "--inputSize"))
        c->input_size = x;
    else if (!strcmp(flag, "--hiddenSize"))
        c->hidden_size = x;
    else if (!strcmp(flag, "--miniBatch"))
        c->mini_batch = x;
    else if (!strcmp(flag, "--cnn-batch"))
        c->cnn_batch = x;
    else if (!strcmp(flag, "--image-size"))
        c->image_size = x;
    else if (!strcmp(flag, "--warmup"))
        o->warmup = (int)x;
    else if (!strcmp(flag, "--nloops"))
        o->nloops = (int)x;
    else if (!strcmp(flag, "--threads"))
        c->threads = (int)x, o->threads_given = 1;
    else if (!strcmp(flag, "--cuda-pointwise-loop-level"))
        c->cuda_pointwise_loop_level = (int)x;
    else if (!strcmp(flag, "--cuda-pointwise-block-count"))
        c->cuda_pointwise_block_count = (int)x;
    else if (!strcmp(flag, "--cuda-pointwise-block-size"))
        c->cuda_pointwise_block_size = (int)x;
    else if (!strcmp(flag, "--min-samples"))
        o->min_samples = (int)x;
    else if (!strcmp(flag, "--cuda-device"))
        c->cuda_device = (int)x;
    else if (!strcmp(flag, "--conv-batch"))
        o->conv_batch = x;
    else
        return -1;
    return 0;
}

static void int_range(const char *flag, long long *lo, long long *hi) {
    *lo = 1;
    *hi = NNB_MAX_DIM;
    if (!strcmp(flag, "--warmup"))
        *lo = 0, *hi = 1000000;
    else if (!strcmp(flag, "--nloops") || !strcmp(flag, "--min-samples"))
        *hi = 1000000;
    else if (!strcmp(flag, "--threads"))
        *hi = 1024;
    else if (!strcmp(flag, "--numLayers"))
        *hi = 1024;
    else if (!strcmp(flag, "--cuda-pointwise-block-size"))
        *hi = 1024;
    else if (!strcmp(flag, "--cuda-pointwise-loop-level"))
        *hi = 1024;
    else if (!strcmp(flag, "--cuda-pointwise-block-count"))
        *hi = INT_MAX;
    else if (!strcmp(flag, "--cuda-device"))
        *lo = 0, *hi = 1023;
}

static int set_str_flag(nnb_options *o, const char *flag, const char *v, char *err, size_t err_len) {
    if (!strcmp(flag, "--device")) {
        if (strcmp(v, "cpu") && strcmp(v, "cuda"))
            return fail(err, err_len, "%s: unknown device '%s' (valid: cpu, cuda)", flag, v);
        o->device = v;
    } else if (!strcmp(flag, "--sep")) {
        o->sep = v;
    } else if (!strcmp(flag, "--fuser")) {
        if (strcmp(v, "te") && strcmp(v, "old") && strcmp(v, "none"))
            return fail(err, err_len, "%s: unknown fuser '%s' (valid: te, old, none)", flag, v);
        o->config.fuser = v;
    } else if (!strcmp(flag, "--executor")) {
        if (strcmp(v, "eager") && strcmp(v, "graph"))
            return fail(err, err_len, "%s: unknown executor '%s' (valid: eager, graph)", flag, v);
        o->config.executor = v;
    } else if (!strcmp(flag, "--json-out")) {
        if (!*v)
            return fail(err, err_len, "%s: empty file name%s", flag, "");
        o->json_out = v;
    } else if (!strcmp(flag, "--dump")) {
        if (!*v)
            return fail(err, err_len, "%s: empty directory name%s", flag, "");
        o->dump_dir = v;
    } else if (!strcmp(flag, "--stats")) {
        if (strcmp(v, "mean") && strcmp(v, "robust"))
            return fail(err, err_len, "%s: unknown statistics '%s' (valid: mean, robust)", flag, v);
        o->stats_robust = !strcmp(v, "robust");
    } else if (!strcmp(flag, "--ab-phase")) {
        int p = !strcmp(v, "forward")    ? NNB_AB_FORWARD
                : !strcmp(v, "backward") ? NNB_AB_BACKWARD
                : !strcmp(v, "total")    ? NNB_AB_TOTAL
                                         : -1;
        if (p < 0)
            return fail(err, err_len, "%s: unknown phase '%s' (valid: total, forward, backward)", flag, v);
        o->ab_phase = p;
    } else if (!strcmp(flag, "--progress")) {
        int m = !strcmp(v, "auto")     ? NNB_PROGRESS_AUTO
                : !strcmp(v, "always") ? NNB_PROGRESS_ALWAYS
                : !strcmp(v, "never")  ? NNB_PROGRESS_NEVER
                                       : -1;
        if (m < 0)
            return fail(err, err_len, "%s: unknown mode '%s' (valid: auto, always, never)", flag, v);
        o->progress = m;
    } else if (!strcmp(flag, "--dtype")) {
        if (nnb_precision_parse(v, &o->config.precision, err, err_len))
            return -1;
        o->config.allow_tf32 = o->config.precision == NNB_PRECISION_TF32; /* what runners before ABI 1.3 read */
    } else if (!strncmp(flag, "--conv", 6)) {
        return nnb_cli_conv_flag(o, flag, v, err, err_len);
    } else if (!strcmp(flag, "--runner-path")) {
        if (o->runner_path_count == NNB_MAX_RUNNER_PATHS)
            return fail(err, err_len, "%s: given too often (at most 16)%s", flag, "");
        o->runner_paths[o->runner_path_count++] = v;
    } else {
        return -1;
    }
    return 0;
}

static void set_switch(nnb_options *o, const char *flag) {
    if (!strcmp(flag, "--variable-lstms"))
        o->variable_lstms = 1;
    else if (!strcmp(flag, "--tf32")) {
        static int noted;
        if (!noted++)
            nnb_cmd_note_deprecated("nnbench", "--tf32", "--dtype tf32");
        o->config.precision = NNB_PRECISION_TF32;
        o->config.allow_tf32 = 1;
    } else if (!strcmp(flag, "--check"))
        o->check = 1;
    else if (!strcmp(flag, "--profile"))
        o->profile = 1;
    else if (!strcmp(flag, "--list"))
        o->list = 1;
    else if (!strcmp(flag, "--measure-peak"))
        o->measure_peak = 1;
    else if (!strcmp(flag, "--isolate"))
        o->isolate = 1;
    else if (!strcmp(flag, "--no-isolate"))
        o->isolate = 0;
    else if (!strcmp(flag, "--ab-any-group"))
        o->ab_any_group = 1;
    else if (!strcmp(flag, "--conv-no-bias"))
        o->conv_no_bias = 1;
    else if (!strcmp(flag, "--help"))
        o->help = 1;
    else if (!strcmp(flag, "--version"))
        o->version = 1;
}

static nnb_name_list *list_of(nnb_options *o, const char *flag) {
    if (!strcmp(flag, "--rnns"))
        return &o->rnns;
    if (!strcmp(flag, "--cnns"))
        return &o->cnns;
    if (!strcmp(flag, "--ab"))
        return &o->ab;
    if (!strcmp(flag, "--convs"))
        return &o->convs;
    return &o->groups;
}

static int validate_groups(const nnb_name_list *g, char *err, size_t err_len) {
    for (int i = 0; i < g->count; i++) {
        const char *n = g->names[i];
        if (strcmp(n, NNB_GROUP_RNNS) && strcmp(n, NNB_GROUP_CNNS) && strcmp(n, NNB_GROUP_VL_RNNS) &&
            strcmp(n, NNB_GROUP_CONVS))
            return fail(err, err_len, "--group: unknown group '%s' (valid: rnns, cnns, vl_rnns, convs)%s", n, "");
    }
    return 0;
}

static void set_defaults(nnb_options *o) {
    memset(o, 0, sizeof *o);
    nnb_config_defaults(&o->config);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    o->config.threads = cores > 0 ? (int)cores : 1;
    o->warmup = 10;
    o->nloops = 100;
    o->sep = " ";
    o->adaptive = (nnb_adaptive){.min_time_s = 0.5, .max_noise = 0.005, .min_samples = 10, .timeout_s = 15};
    o->min_samples = 10;
    o->noise_threshold = 0.01;
    o->max_time_s = 60;
    o->ab_phase = NNB_AB_TOTAL;
    o->isolate = -1;
}

/* A number flag: seconds, a percentage ("0.5" or "0.5%") or a ratio, each in its range. */
static int set_number_flag(nnb_options *o, const char *flag, const char *v, char *err, size_t err_len) {
    int percent = !strcmp(flag, "--max-noise") || !strcmp(flag, "--noise-threshold");
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (percent && *end == '%')
        end++;
    if (!*v || *end || errno == ERANGE || !isfinite(x))
        return fail(err, err_len, "%s: '%s' is not a number", flag, v);
    if (percent) {
        if (!(x > 0 && x < 100)) {
            snprintf(err, err_len, "%s: %g%% is out of range (a percentage above 0 and below 100)", flag, x);
            return -1;
        }
        if (!strcmp(flag, "--max-noise"))
            o->adaptive.max_noise = x / 100;
        else
            o->noise_threshold = x / 100;
    } else if (!strcmp(flag, "--fail-above")) {
        if (!(x > 0 && x <= 1000))
            return fail(err, err_len, "%s: %s is out of range (a ratio B/A above 0, e.g. 1.05)", flag, v);
        o->fail_above = x;
    } else {
        int zero_ok = !strcmp(flag, "--min-time");
        if (!(zero_ok ? x >= 0 : x > 0) || x > 86400)
            return fail(err, err_len,
                        zero_ok ? "%s: %s is out of range (seconds, 0 to 86400)"
                                : "%s: %s is out of range (seconds, above 0 up to 86400)",
                        flag, v);
        if (!strcmp(flag, "--min-time"))
            o->adaptive.min_time_s = x;
        else if (!strcmp(flag, "--timeout"))
            o->adaptive.timeout_s = x;
        else if (!strcmp(flag, "--runner-timeout"))
            o->runner_timeout_s = x;
        else
            o->max_time_s = x;
    }
    return 0;
}

int nnb_cli_given(const nnb_options *o, const char *flag) {
    const flag_spec *f = find_flag(flag);
    return f && o->flag_given[f - flags];
}

static int first_given(const nnb_options *o, const char *const *names, int count) {
    for (int i = 0; i < count; i++)
        if (nnb_cli_given(o, names[i]))
            return i;
    return -1;
}

/* Flags that contradict each other, once everything is parsed. */
static int validate_modes(nnb_options *o, char *err, size_t err_len) {
    static const char *const adaptive[] = {"--min-time", "--max-noise", "--min-samples", "--timeout"};
    static const char *const ab_only[] = {"--noise-threshold", "--ab-max-time", "--fail-above", "--ab-phase"};
    static const char *const ab_selects[] = {"--rnns", "--cnns", "--group", "--variable-lstms", "--convs"};
    static const char *const ab_excludes[] = {"--min-time",   "--max-noise", "--timeout", "--nloops",
                                              "--print-json", "--profile",   "--stats"};
    int i;
    if (nnb_cli_given(o, "--isolate") && nnb_cli_given(o, "--no-isolate"))
        return fail(err, err_len, "--isolate and --no-isolate contradict each other%s%s", "", "");
    if (nnb_cli_given(o, "--tf32") && nnb_cli_given(o, "--dtype"))
        return fail(err, err_len, "--tf32 is the old spelling of --dtype tf32; give --dtype only%s%s", "", "");
    if (nnb_cli_given(o, "--runner-timeout") && o->isolate == 0)
        return fail(err, err_len,
                    "--runner-timeout needs isolation: only a runner in its own process can be stopped; "
                    "drop --no-isolate%s%s",
                    "", "");
    if (o->ab.given && (nnb_cli_given(o, "--isolate") || nnb_cli_given(o, "--runner-timeout")))
        return fail(err, err_len, "--ab runs both sides in one process, interleaved; %s does not apply%s",
                    nnb_cli_given(o, "--isolate") ? "--isolate" : "--runner-timeout", "");
    if (o->ab.given) {
        if (o->ab.count != 2)
            return fail(err, err_len, "--ab: needs exactly two runners A B (got %s)%s",
                        o->ab.count < 2 ? "fewer" : "more", "");
        if ((i = first_given(o, ab_selects, 5)) >= 0)
            return fail(err, err_len, "--ab names its two runners itself; %s does not apply%s", ab_selects[i], "");
        if ((i = first_given(o, ab_excludes, 7)) >= 0)
            return fail(err, err_len,
                        "--ab stops by --min-samples, --ab-max-time and --noise-threshold and reports a table on "
                        "stderr and --json-out; %s does not apply%s",
                        ab_excludes[i], "");
        return 0;
    }
    if ((i = first_given(o, ab_only, 4)) >= 0)
        return fail(err, err_len, "%s needs --ab A B%s", ab_only[i], "");
    if (o->ab_any_group)
        return fail(err, err_len, "--ab-any-group needs --ab A B%s%s", "", "");
    if (first_given(o, adaptive, 4) >= 0) {
        if (nnb_cli_given(o, "--nloops"))
            return fail(err, err_len,
                        "--nloops is a fixed count; adaptive stopping (--min-time, --max-noise, --min-samples, "
                        "--timeout) decides the count itself: give one or the other%s%s",
                        "", "");
        if (o->profile)
            return fail(err, err_len, "--profile runs a fixed few iterations; adaptive stopping does not apply%s%s", "",
                        "");
        o->adaptive.enabled = 1;
        o->adaptive.min_samples = o->min_samples;
    }
    return 0;
}

/* A flag that takes one value (ARG_STR, ARG_NUM, ARG_U64, ARG_INT). */
static int apply_value(nnb_options *o, const flag_spec *f, const char *v, char *err, size_t err_len) {
    if (f->kind == ARG_STR)
        return set_str_flag(o, f->name, v, err, err_len);
    if (f->kind == ARG_NUM)
        return set_number_flag(o, f->name, v, err, err_len);
    if (f->kind == ARG_U64) {
        char *end;
        errno = 0;
        if (!*v || *v == '-' || (o->config.seed = strtoull(v, &end, 10), *end) || errno == ERANGE)
            return fail(err, err_len, "%s: '%s' is not a non-negative 64-bit integer", f->name, v);
        return 0;
    }
    long long lo, hi, x;
    int_range(f->name, &lo, &hi);
    if (parse_int(f->name, v, lo, hi, &x, err, err_len))
        return -1;
    set_int_flag(o, f->name, x);
    return 0;
}

int nnb_cli_parse(int argc, char **argv, nnb_options *o, char *err, size_t err_len) {
    set_defaults(o);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "-h"))
            arg = "--help";
        if (strncmp(arg, "--", 2) != 0)
            return fail(err, err_len, "unexpected argument '%s' (flags start with --; see --help)%s", arg,
                        i == 1 ? "; commands: sweep, merge, serve, compare, history, report, help" : "");
        char name[64];
        canonical_name(arg, name, sizeof name);
        const flag_spec *f = find_flag(renamed(name, 1));
        if (!f)
            return unknown_flag(arg, err, err_len);
        o->flag_given[f - flags] = 1;
        const char *eq = strchr(arg, '=');
        if (f->kind == ARG_NONE) {
            if (eq)
                return fail(err, err_len, "%s takes no value (got '%s')", f->name, eq + 1);
            set_switch(o, f->name);
            continue;
        }
        if (f->kind == ARG_OPT_JSON) {
            /* Optional value: only a format's name right after a bare flag is taken as its value. */
            const char *v = eq ? eq + 1 : NULL;
            if (!eq && i + 1 < argc &&
                (!strcmp(argv[i + 1], "oss") || !strcmp(argv[i + 1], "pep") ||
                 !strcmp(argv[i + 1], "pytest-benchmark")))
                v = argv[++i];
            if (!v || !strcmp(v, "oss"))
                o->print_json = NNB_JSON_OSS;
            else if (!strcmp(v, "pep"))
                o->print_json = NNB_JSON_PEP;
            else if (!strcmp(v, "pytest-benchmark"))
                o->print_json = NNB_JSON_PYTEST;
            else
                return fail(err, err_len, "%s: unknown format '%s' (valid: oss, pep, pytest-benchmark)", f->name, v);
            continue;
        }
        if (f->kind == ARG_LIST) {
            nnb_name_list *l = list_of(o, f->name);
            l->given = 1;
            if (eq && add_names(l, f->name, (char *)eq + 1, err, err_len))
                return -1;
            while (!eq && i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
                if (add_names(l, f->name, argv[++i], err, err_len))
                    return -1;
            continue;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v)
            return fail(err, err_len, "%s needs a value%s", f->name, "");
        if (apply_value(o, f, v, err, err_len))
            return -1;
    }
    if (validate_groups(&o->groups, err, err_len) || nnb_cli_conv_finish(o, err, err_len))
        return -1;
    return validate_modes(o, err, err_len);
}

/* ---- for the other parts of the command line (cli_internal.h) ------------------------------------ */

const flag_spec *nnb_cli_lookup(const char *arg, int case_blind) {
    char name[64];
    canonical_name(arg, name, sizeof name);
    const flag_spec *f = find_flag(renamed(name, 0));
    for (size_t i = 0; !f && case_blind && i < sizeof flags / sizeof *flags; i++)
        if (!strcasecmp(flags[i].name, name))
            f = &flags[i];
    return f;
}

int nnb_cli_apply(nnb_options *o, const flag_spec *f, const char *v, char *err, size_t err_len) {
    if (f->kind != ARG_NONE)
        return apply_value(o, f, v, err, err_len);
    set_switch(o, f->name);
    return 0;
}
