/* nnbench serve's command line (serve.h): its own flags mixed with nnbench's, and the hooks of
 * nnbench sweep --serve. */
#define _GNU_SOURCE
#include "serve.h"

#include "cmdline.h"
#include "exit_codes.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- command line ------------------------------------------------------------------------------- */

typedef struct serve_flag {
    const char *name;
    char kind; /* i int, d double, s string, 0 switch */
    const char *help;
} serve_flag;

static const serve_flag serve_flags[] = {
    {"--runner", 's', "NAME: the runner to serve (it needs the inference entry, ABI 1.2)"},
    {"--mode", 's', "closed|poisson|offline: the load (default closed)"},
    {"--requests", 'i', "N: measured requests (default 200)"},
    {"--warmup-requests", 'i', "N: requests before them, not counted (default 10)"},
    {"--batch-size", 'i', "N: samples per request (default 1)"},
    {"--concurrency", 'i', "N: closed: requests outstanding (default 1)"},
    {"--qps", 'd', "R: poisson: requests per second"},
    {"--max-batch", 'i', "N: samples per batch at most (default: --batch-size, i.e. no batching)"},
    {"--max-batch-delay-ms", 'd', "MS: how long a worker collects after the first request (default 0)"},
    {"--workers", 'i', "N: worker threads, each with its own model (default 1)"},
    {"--min-duration", 'd', "S: valid only if the measured window lasts this long (default 0)"},
    {"--latency-target-ms", 'd', "MS: valid only if p99 latency is at most this"},
    {"--serve-time-limit", 'd', "S: stop the serving after S seconds and call the run invalid (default 600)"},
    {"--max-time", 'd', "S: deprecated spelling of --serve-time-limit"},
    {"--weights", 's', "DIR: serve these parameters (.npy files as --dump writes them, torchvision names)"},
    {"--csv", 's', "FILE: append one row per run (header once)"},
    {"--json-out", 's', "FILE: everything, every request (atomically)"},
    {"--idle-spin-us", 'd', "US: an idle worker polls the queue this long before it sleeps (default 0)"},
    {"--generator-spin-us", 'd', "US: poisson: the generator polls the last US before each arrival (default 2000)"},
    {"--no-warm", 0, "do not run every batch size 1..--max-batch once per worker before measuring"},
    {"--quiet", 0, "no table on stderr"},
};

/* The serve flag arg names (any spelling, "=value" ignored), or NULL. */
static const serve_flag *find_serve_flag(const char *arg) {
    char name[64];
    nnb_cmd_flag_spelling(arg, name, sizeof name);
    for (size_t i = 0; i < sizeof serve_flags / sizeof *serve_flags; i++)
        if (!strcmp(name, serve_flags[i].name))
            return &serve_flags[i];
    return NULL;
}

/* Old spellings still accepted: the flag they now are, with a note once per process. */
static const serve_flag *renamed(const serve_flag *f) {
    static int noted;
    if (!f || strcmp(f->name, "--max-time"))
        return f;
    if (!noted++)
        nnb_cmd_note_deprecated("nnbench serve", "--max-time", "--serve-time-limit");
    return find_serve_flag("--serve-time-limit");
}

/* Neither a serve flag nor an nnbench one: the closest of both in the message. */
static int unknown_flag(const char *arg, char *err, size_t err_len) {
    const char *names[256];
    size_t n = nnb_cli_flag_names(names, sizeof names / sizeof *names);
    for (size_t i = 0; i < sizeof serve_flags / sizeof *serve_flags && n < sizeof names / sizeof *names; i++)
        names[n++] = serve_flags[i].name;
    nnb_serve_fail(err, err_len, "unknown flag '%.*s' (see nnbench serve --help)", (int)strcspn(arg, "="), arg);
    nnb_cmd_append_suggestion(err, err_len, arg, names, n);
    return -1;
}

static void serve_help(void) {
    printf("usage: nnbench serve --runner NAME [serve flags] [nnbench flags: sizes, --device, --threads, --seed, "
           "--runner-path ...]\n\nserve flags (dash and underscore spellings are equivalent; -h is --help):\n");
    for (size_t i = 0; i < sizeof serve_flags / sizeof *serve_flags; i++) {
        /* "N: text" -> metavar N, help text */
        const char *h = serve_flags[i].help, *colon = strstr(h, ": ");
        int has_meta = serve_flags[i].kind && colon && !memchr(h, ' ', (size_t)(colon - h));
        char meta[32] = "";
        if (has_meta)
            snprintf(meta, sizeof meta, "%.*s", (int)(colon - h), h);
        else if (serve_flags[i].kind)
            snprintf(meta, sizeof meta, "NAME");
        nnb_cmd_print_flag(stdout, 28, serve_flags[i].name, meta, has_meta ? colon + 2 : h);
    }
    printf("\nThe batch size of the model is --max-batch (do not give --miniBatch or --cnn-batch). --threads is\n"
           "split among the workers. Exit status: 0 valid run; 1 invalid (verdict says why) or a runner error;\n"
           "2 bad command line or a runner that cannot serve; 3 the runner cannot serve on this machine;\n"
           "130 interrupted. See docs/serving.md and docs/exit-codes.md.\n");
}

int nnb_serve_fail(char *err, size_t err_len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
    return -1;
}

static int set_int(const char *flag, const char *v, int lo, int hi, int *out, char *err, size_t err_len) {
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (!*v || *end || errno || x < lo || x > hi)
        return nnb_serve_fail(err, err_len, "%s: '%s' is not an integer in %d..%d", flag, v, lo, hi);
    *out = (int)x;
    return 0;
}

static int set_double(const char *flag, const char *v, double lo, double hi, double *out, char *err, size_t err_len) {
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (!*v || *end || errno || !(x >= lo && x <= hi))
        return nnb_serve_fail(err, err_len, "%s: '%s' is not a number in %g..%g", flag, v, lo, hi);
    *out = x;
    return 0;
}

static int apply_serve_flag(nnb_serve_options *o, const char *f, const char *v, char *err, size_t err_len) {
    if (!strcmp(f, "--runner"))
        return *v ? (o->runner = v, 0) : nnb_serve_fail(err, err_len, "--runner: empty name");
    if (!strcmp(f, "--mode")) {
        if (!strcmp(v, "closed"))
            return o->mode = NNB_SERVE_CLOSED, 0;
        if (!strcmp(v, "poisson"))
            return o->mode = NNB_SERVE_POISSON, 0;
        if (!strcmp(v, "offline"))
            return o->mode = NNB_SERVE_OFFLINE, 0;
        return nnb_serve_fail(err, err_len, "--mode: '%s' is not one of closed, poisson, offline", v);
    }
    if (!strcmp(f, "--requests"))
        return set_int(f, v, 1, 10000000, &o->requests, err, err_len);
    if (!strcmp(f, "--warmup-requests"))
        return set_int(f, v, 0, 1000000, &o->warmup_requests, err, err_len);
    if (!strcmp(f, "--batch-size"))
        return set_int(f, v, 1, 1 << 20, &o->batch_size, err, err_len);
    if (!strcmp(f, "--concurrency"))
        return set_int(f, v, 1, 1 << 20, &o->concurrency, err, err_len);
    if (!strcmp(f, "--qps"))
        return set_double(f, v, 1e-3, 1e7, &o->qps, err, err_len);
    if (!strcmp(f, "--max-batch"))
        return set_int(f, v, 1, 1 << 20, &o->max_batch, err, err_len);
    if (!strcmp(f, "--max-batch-delay-ms"))
        return set_double(f, v, 0, 60000, &o->max_delay_ms, err, err_len);
    if (!strcmp(f, "--workers"))
        return set_int(f, v, 1, 256, &o->workers, err, err_len);
    if (!strcmp(f, "--min-duration"))
        return set_double(f, v, 0, 1e6, &o->min_duration_s, err, err_len);
    if (!strcmp(f, "--latency-target-ms"))
        return set_double(f, v, 1e-6, 1e9, &o->latency_target_ms, err, err_len);
    if (!strcmp(f, "--serve-time-limit"))
        return set_double(f, v, 1e-3, 1e7, &o->max_time_s, err, err_len);
    if (!strcmp(f, "--weights"))
        return *v ? (o->weights_dir = v, 0) : nnb_serve_fail(err, err_len, "--weights: empty directory name");
    if (!strcmp(f, "--csv"))
        return *v ? (o->csv_path = v, 0) : nnb_serve_fail(err, err_len, "--csv: empty file name");
    if (!strcmp(f, "--idle-spin-us"))
        return set_double(f, v, 0, 1e6, &o->idle_spin_us, err, err_len);
    if (!strcmp(f, "--generator-spin-us"))
        return set_double(f, v, 0, 1e6, &o->generator_spin_us, err, err_len);
    if (!strcmp(f, "--json-out"))
        return *v ? (o->json_path = v, 0) : nnb_serve_fail(err, err_len, "--json-out: empty file name");
    return nnb_serve_fail(err, err_len, "internal: unhandled %s", f);
}

static int check_serve_combinations(nnb_serve_options *o, char **given, char *err, size_t err_len) {
    if (!o->runner)
        return nnb_serve_fail(err, err_len, "--runner NAME is required (see nnbench serve --help)");
    if (o->mode == NNB_SERVE_POISSON && o->qps <= 0)
        return nnb_serve_fail(err, err_len, "--mode poisson needs --qps R");
    if (o->mode != NNB_SERVE_POISSON && o->qps > 0)
        return nnb_serve_fail(err, err_len, "--qps goes with --mode poisson");
    if (o->mode != NNB_SERVE_CLOSED && given[0])
        return nnb_serve_fail(err, err_len, "--concurrency goes with --mode closed");
    if (!o->max_batch)
        o->max_batch = o->batch_size;
    if (o->batch_size > o->max_batch)
        return nnb_serve_fail(err, err_len,
                              "--batch-size %d is larger than --max-batch %d: no batch could hold a request",
                              o->batch_size, o->max_batch);
    for (const char *const *f =
             (const char *const[]){"--miniBatch", "--cnn-batch", "--nloops", "--warmup", "--json-out", "--print-json",
                                   "--ab", "--list", "--dump", "--check", "--profile", NULL};
         *f; f++)
        if (nnb_cli_given(&o->run, *f))
            return nnb_serve_fail(
                err, err_len, "%s does not apply to nnbench serve%s", *f,
                !strcmp(*f, "--miniBatch") || !strcmp(*f, "--cnn-batch") ? " (the model's batch is --max-batch)" : "");
    return 0;
}

int nnb_serve_parse(int argc, char **argv, nnb_serve_options *o, char *err, size_t err_len) {
    memset(o, 0, sizeof *o);
    o->requests = 200;
    o->warmup_requests = 10;
    o->batch_size = 1;
    o->concurrency = 1;
    o->workers = 1;
    o->max_time_s = 600;
    o->idle_spin_us = 0;
    o->generator_spin_us = 2000;
    char **rest = calloc((size_t)argc + 2, sizeof *rest);
    if (!rest)
        return nnb_serve_fail(err, err_len, "out of memory");
    int nrest = 0;
    rest[nrest++] = "nnbench";
    char *given[1] = {NULL}; /* --concurrency */
    int rc = 0;
    for (int i = 0; i < argc && !rc; i++) {
        const char *arg = argv[i];
        if (nnb_cmd_is_help(arg)) {
            serve_help();
            free(rest);
            exit(NNB_EXIT_OK);
        }
        size_t len = strcspn(arg, "=");
        const serve_flag *f = !strncmp(arg, "--", 2) ? renamed(find_serve_flag(arg)) : NULL;
        if (!f && !strncmp(arg, "--", 2) && !nnb_cli_is_flag(arg)) {
            rc = unknown_flag(arg, err, err_len);
            continue;
        }
        if (!f) {
            rest[nrest++] = argv[i]; /* nnbench's own flags (and their values), checked by its parser */
            continue;
        }
        const char *v = arg[len] == '=' ? arg + len + 1 : NULL;
        if (!f->kind) {
            rc = v ? nnb_serve_fail(err, err_len, "%s takes no value", f->name) : 0;
            if (!strcmp(f->name, "--quiet"))
                o->quiet = 1;
            else
                o->no_warm = 1;
            continue;
        }
        if (!v && (v = i + 1 < argc ? argv[++i] : NULL) == NULL) {
            rc = nnb_serve_fail(err, err_len, "%s needs a value", f->name);
            continue;
        }
        if (!strcmp(f->name, "--concurrency"))
            given[0] = (char *)f->name;
        rc = apply_serve_flag(o, f->name, v, err, err_len);
    }
    if (!rc)
        rc = nnb_cli_parse(nrest, rest, &o->run, err, err_len);
    free(rest);
    if (!rc)
        rc = check_serve_combinations(o, given, err, err_len);
    return rc;
}

/* ---- for nnbench sweep --serve ------------------------------------------------------------------ */

int nnb_serve_axis_flag(const char *name, char *canonical, size_t cap, char *err, size_t err_len) {
    char dashed[80];
    snprintf(dashed, sizeof dashed, "%s%s", strncmp(name, "--", 2) ? "--" : "", name);
    const serve_flag *f = renamed(find_serve_flag(dashed));
    if (!f && nnb_cli_is_flag(dashed))
        return nnb_cli_axis_flag(name, canonical, cap, err, err_len); /* sizes, --threads, --fuser, ... */
    if (!f) {
        const char *names[256];
        size_t n = nnb_serve_flag_names(names, sizeof names / sizeof *names);
        for (size_t i = 0; i < n; i++)
            names[i] += 2; /* axes are written without dashes */
        nnb_serve_fail(err, err_len, "'%s' is not a flag of nnbench serve (see nnbench serve --help)", name);
        nnb_cmd_append_suggestion(err, err_len, name, names, n);
        return -1;
    }
    if (!f->kind || !strcmp(f->name, "--json-out") || !strcmp(f->name, "--csv"))
        return nnb_serve_fail(err, err_len, "%s cannot vary along a serve sweep's axis", f->name);
    snprintf(canonical, cap, "%s", f->name);
    return 0;
}

size_t nnb_serve_flag_names(const char **out, size_t cap) {
    size_t n = nnb_cli_flag_names(out, cap);
    for (size_t i = 0; i < sizeof serve_flags / sizeof *serve_flags && n < cap; i++)
        out[n++] = serve_flags[i].name;
    return n;
}

int nnb_serve_base_flag(const char *flag, char *err, size_t err_len) {
    if (find_serve_flag(flag))
        return !nnb_cmd_flag_is(flag, "--json-out") ? 0
                                                    : nnb_serve_fail(err, err_len,
                                                                     "--json-out cannot be given to a sweep: the sweep "
                                                                     "sets each run's outputs itself");
    return nnb_cli_sweep_base_flag(flag, err, err_len);
}

int nnb_serve_check_argv(int argc, char **argv, char *err, size_t err_len) {
    static nnb_serve_options o;
    char **copy = nnb_cli_copy_argv(argc, argv); /* the parser cuts list values in place */
    int rc = copy ? nnb_serve_parse(argc - 1, copy + 1, &o, err, err_len) || nnb_cli_check_sizes(&o.run, err, err_len)
                  : (snprintf(err, err_len, "out of memory"), -1);
    nnb_cli_free_argv(copy);
    return rc ? -1 : 0;
}
