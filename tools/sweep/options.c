/* nnbench sweep's command line: its own flags mixed with the common nnbench flags of every run. */
#define _GNU_SOURCE
#include "sweep.h"
#include "sweep_internal.h"

#include "cmdline.h"
#include "exit_codes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { USAGE = NNB_EXIT_USAGE }; /* cmdline/exit_codes.h */

typedef struct sweep_flag {
    const char *name;
    int takes_value;
    const char *help;
} sweep_flag;

static const sweep_flag sweep_flags[] = {
    {"--axis", 1,
     "NAME=V1,V2,...: an nnbench flag and its values (repeatable), e.g. hiddenSize=256,512, dtype=fp32,bf16"},
    {"--zip", 0, "advance the axes together (all of one length) instead of their cartesian product"},
    {"--serve", 0, "every point is an `nnbench serve` run: axes and common flags are serve's (docs/serving.md)"},
    {"--shapes", 1, "FILE: a shape set, one point per line (tools/sweep/shapes/), times the axes"},
    {"--repeat", 1, "N: fresh nnbench processes per point (default 1)"},
    {"--shard", 1, "I/N: run only the points k with k mod N = I (0 <= I < N)"},
    {"--out", 1, "DIR: where the results go (default sweep-results): sweep.json, .csv, .md, .svg"},
    {"--plot-x", 1, "NAME: the axis along the plot's x (default: the first numeric axis)"},
    {"--plot-y", 1, "time|gflops: the plot's y (default time)"},
    {"--plot-phase", 1, "total|forward|backward: the phase plotted (default total)"},
    {"--beside", 1, "FILE: nnbench --json-out results (e.g. the resnet50 runner) set beside the per-model roll-up"},
    {"--run-timeout", 1, "S: kill and report a run that takes longer than S seconds"},
    {"--progress", 1, "auto (default: a live line on a terminal, lines otherwise), always (lines) or never"},
    {"--list-points", 0, "print this shard's points and their nnbench flags, run nothing"},
    {"--slurm", 0, "submit the shards as an sbatch --array job and a merge job that depends on it"},
    {"--shards", 1, "N: --slurm: number of array tasks (default 4)"},
    {"--sbatch", 1, "CMD: --slurm: the sbatch program (default sbatch)"},
    {"--sbatch-arg", 1, "ARG: --slurm: one more #SBATCH option for both jobs, e.g. --partition=debug (repeatable)"},
    {"--merge-after", 1, "ok|any: merge when every shard succeeded (ok, default) or whatever finished (any)"},
    {"--help", 0, "this help"},
};

static const sweep_flag *find_sweep_flag(const char *arg) {
    for (size_t i = 0; i < sizeof sweep_flags / sizeof *sweep_flags; i++)
        if (nnb_cmd_flag_is(arg, sweep_flags[i].name))
            return &sweep_flags[i];
    return NULL;
}

/* An argument that is no flag of the sweep's nor of its runs': refused with the closest of all. */
static int unknown_flag(const char *arg, const nnb_sweep_hooks *h, char *err, size_t err_len) {
    const char *names[320];
    size_t n = h->flag_names ? h->flag_names(names, 256) : 0;
    for (size_t i = 0; i < n; i++)
        if (nnb_cmd_flag_is(arg, names[i]))
            return 0;
    if (!h->flag_names)
        return 0;
    for (size_t i = 0; i < sizeof sweep_flags / sizeof *sweep_flags; i++)
        names[n++] = sweep_flags[i].name;
    nnb_sweep_fail(err, err_len, "unknown flag '%.*s' (see nnbench sweep --help)", (int)strcspn(arg, "="), arg);
    nnb_cmd_append_suggestion(err, err_len, arg, names, n);
    return -1;
}

static void print_help(void) {
    printf("usage: nnbench sweep [sweep flags] [nnbench flags common to every run]\n"
           "       nnbench merge [--out DIR] [--plot-x NAME] [--plot-y time|gflops] FILE_OR_DIR...\n\n"
           "sweep flags (dash and underscore spellings are equivalent; -h is --help):\n");
    for (size_t i = 0; i < sizeof sweep_flags / sizeof *sweep_flags; i++) {
        const char *h = sweep_flags[i].help, *colon = strstr(h, ": ");
        int has_meta = sweep_flags[i].takes_value && colon && !memchr(h, ' ', (size_t)(colon - h));
        char meta[32] = "";
        if (has_meta)
            snprintf(meta, sizeof meta, "%.*s", (int)(colon - h), h);
        nnb_cmd_print_flag(stdout, 36, sweep_flags[i].name, meta, has_meta ? colon + 2 : h);
    }
    printf("\nEvery other flag is passed to each run (see nnbench --help). Each point x repeat is one fresh\n"
           "`nnbench` process. --out folders are created when missing. Exit status: 0 every run succeeded;\n"
           "1 a run failed (results still written); 2 bad command line or output folder; 130 interrupted.\n"
           "See docs/sweeps.md and docs/exit-codes.md.\n");
}

static int parse_positive(const char *flag, const char *v, long lo, long hi, long *out, char *err, size_t err_len) {
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (!*v || *end || errno || x < lo || x > hi)
        return nnb_sweep_fail(err, err_len, "%s: '%s' is not an integer in %ld..%ld", flag, v, lo, hi);
    *out = x;
    return 0;
}

static int one_of(const char *flag, const char *v, const char *a, const char *b, const char *c, char *err,
                  size_t err_len) {
    if (!strcmp(v, a) || !strcmp(v, b) || (c && !strcmp(v, c)))
        return 0;
    return nnb_sweep_fail(err, err_len, "%s: '%s' is not one of %s, %s%s%s", flag, v, a, b, c ? ", " : "", c ? c : "");
}

static int apply_sweep_flag(nnb_sweep_options *o, const sweep_flag *f, const char *v, const nnb_sweep_hooks *h,
                            const char **shapes_path, char *err, size_t err_len) {
    const char *n = f->name;
    long x = 0;
    if (!strcmp(n, "--axis"))
        return nnb_sweep_grid_add_axis(&o->grid, v, h, err, err_len);
    if (!strcmp(n, "--zip"))
        return o->grid.zip = 1, 0;
    if (!strcmp(n, "--serve"))
        return o->serve = 1, 0; /* (its hooks were chosen before the loop) */
    if (!strcmp(n, "--shapes")) {
        if (*shapes_path)
            return nnb_sweep_fail(err, err_len, "--shapes given twice");
        return *shapes_path = v, 0;
    }
    if (!strcmp(n, "--repeat")) {
        if (parse_positive(n, v, 1, 1000, &x, err, err_len))
            return -1;
        return o->repeat = (int)x, 0;
    }
    if (!strcmp(n, "--shard"))
        return nnb_sweep_parse_shard(v, &o->shard_index, &o->shard_count, err, err_len);
    if (!strcmp(n, "--out"))
        return *v ? (o->out_dir = v, 0) : nnb_sweep_fail(err, err_len, "--out: empty directory name");
    if (!strcmp(n, "--plot-x"))
        return o->plot_x = v, 0;
    if (!strcmp(n, "--plot-y"))
        return o->plot_y = v, one_of(n, v, "time", "gflops", NULL, err, err_len);
    if (!strcmp(n, "--beside"))
        return *v ? (o->beside = v, 0) : nnb_sweep_fail(err, err_len, "--beside: empty file name");
    if (!strcmp(n, "--plot-phase"))
        return o->plot_phase = v, one_of(n, v, "total", "forward", "backward", err, err_len);
    if (!strcmp(n, "--run-timeout")) {
        char *end;
        errno = 0;
        double s = strtod(v, &end);
        if (!*v || *end || errno || !(s > 0) || s > 1e7)
            return nnb_sweep_fail(err, err_len, "--run-timeout: '%s' is not a positive number of seconds", v);
        return o->run_timeout_s = s, 0;
    }
    if (!strcmp(n, "--progress"))
        return o->progress = v, one_of(n, v, "auto", "always", "never", err, err_len);
    if (!strcmp(n, "--list-points"))
        return o->list_points = 1, 0;
    if (!strcmp(n, "--slurm"))
        return o->slurm = 1, 0;
    if (!strcmp(n, "--shards")) {
        if (parse_positive(n, v, 1, 10000, &x, err, err_len))
            return -1;
        return o->slurm_shards = (int)x, 0;
    }
    if (!strcmp(n, "--sbatch"))
        return *v ? (o->sbatch = v, 0) : nnb_sweep_fail(err, err_len, "--sbatch: empty command");
    if (!strcmp(n, "--sbatch-arg")) {
        if (strncmp(v, "--", 2) || strchr(v, '\n'))
            return nnb_sweep_fail(err, err_len, "--sbatch-arg '%s': expected one sbatch option such as --time=10:00",
                                  v);
        char **grown = realloc(o->sbatch_args, (size_t)(o->sbatch_arg_count + 1) * sizeof *grown);
        if (!grown)
            return nnb_sweep_fail(err, err_len, "out of memory");
        o->sbatch_args = grown;
        return o->sbatch_args[o->sbatch_arg_count++] = (char *)v, 0;
    }
    if (!strcmp(n, "--merge-after"))
        return o->merge_after = v, one_of(n, v, "ok", "any", NULL, err, err_len);
    return nnb_sweep_fail(err, err_len, "internal: unhandled flag %s", n);
}

/* Does the common argument list set flag (canonical)? */
static int base_sets(const nnb_sweep_options *o, const char *flag, const nnb_sweep_hooks *h) {
    for (int i = 0; i < o->base_argc; i++) {
        const char *a = o->base_argv[i];
        char canon[64], msg[8], name[80];
        if (strncmp(a, "--", 2))
            continue;
        snprintf(name, sizeof name, "%.*s", (int)strcspn(a, "="), a);
        if (!h->axis_flag(name, canon, sizeof canon, msg, sizeof msg) && !strcmp(canon, flag))
            return 1;
    }
    return 0;
}

/* The whole argv of point p's runs (argv[0] = exe), malloc'd strings; NULL when out of memory. */
char **nnb_sweep_point_argv(const nnb_sweep_options *o, const nnb_sweep_point *p, const char *exe, int *argc) {
    int n = 1 + o->base_argc + 2 * p->setting_count;
    char **argv = calloc((size_t)n + 6, sizeof *argv); /* + serve + --progress never + --json-out FILE + NULL */
    if (!argv)
        return NULL;
    int k = 0, ok = (argv[k++] = nnb_sweep_strdup(exe)) != NULL;
    for (int i = 0; i < o->base_argc; i++)
        ok &= (argv[k++] = nnb_sweep_strdup(o->base_argv[i])) != NULL;
    for (int i = 0; i < p->setting_count; i++) {
        ok &= (argv[k++] = nnb_sweep_strdup(p->settings[i].flag)) != NULL;
        ok &= (argv[k++] = nnb_sweep_strdup(p->settings[i].value)) != NULL;
    }
    *argc = k;
    if (!ok) {
        nnb_sweep_argv_free(argv);
        return NULL;
    }
    return argv;
}

void nnb_sweep_argv_free(char **argv) {
    for (int i = 0; argv && argv[i]; i++)
        free(argv[i]);
    free(argv);
}

/* Every point's whole command line parses as nnbench would parse it: bad values fail here, before any run. */
static int check_points(const nnb_sweep_options *o, const nnb_sweep_hooks *h, char *err, size_t err_len) {
    nnb_sweep_point none;
    memset(&none, 0, sizeof none);
    int argc;
    char **argv = nnb_sweep_point_argv(o, &none, "nnbench", &argc), msg[512];
    int bad = argv ? h->check_argv(argc, argv, msg, sizeof msg) : -1;
    nnb_sweep_argv_free(argv);
    if (bad) /* the common arguments alone: "--nloops needs a value", not a complaint about a point */
        return nnb_sweep_fail(err, err_len, "common arguments: %s", argv ? msg : "out of memory");
    for (int a = 0; a < o->grid.axis_count; a++)
        if (base_sets(o, o->grid.axes[a].flag, h))
            return nnb_sweep_fail(err, err_len, "%s is both an axis and a common argument", o->grid.axes[a].flag);
    for (int s = 0; s < o->grid.shapes.count; s++)
        for (int i = 0; i < o->grid.shapes.shapes[s].setting_count; i++)
            if (base_sets(o, o->grid.shapes.shapes[s].settings[i].flag, h))
                return nnb_sweep_fail(err, err_len, "%s is set by the shape set %s and also as a common argument",
                                      o->grid.shapes.shapes[s].settings[i].flag, o->grid.shapes.path);
    for (int k = 0; k < o->grid.point_count; k++) {
        int argc;
        char **argv = nnb_sweep_point_argv(o, &o->grid.points[k], "nnbench", &argc);
        if (!argv)
            return nnb_sweep_fail(err, err_len, "out of memory");
        int rc = h->check_argv(argc, argv, msg, sizeof msg);
        nnb_sweep_argv_free(argv);
        if (rc)
            return nnb_sweep_fail(err, err_len, "point %d (%s): %s", k, o->grid.points[k].label, msg);
    }
    return 0;
}

static void hash_string(uint64_t *h, const char *s) { *h = nnb_sweep_hash(*h, s, strlen(s) + 1); }

/* Everything that decides which runs the points are: the same id means the same sweep. */
static uint64_t sweep_id(const nnb_sweep_options *o) {
    uint64_t h = NNB_SWEEP_HASH_INIT;
    char buf[64];
    for (int i = 0; i < o->base_argc; i++)
        hash_string(&h, o->base_argv[i]);
    hash_string(&h, "|axes");
    for (int a = 0; a < o->grid.axis_count; a++) {
        hash_string(&h, o->grid.axes[a].flag);
        for (int v = 0; v < o->grid.axes[a].value_count; v++)
            hash_string(&h, o->grid.axes[a].values[v]);
        hash_string(&h, "|");
    }
    snprintf(buf, sizeof buf, "zip %d repeat %d serve %d shapes %llx %d", o->grid.zip, o->repeat, o->serve,
             (unsigned long long)o->grid.shapes.content_hash, o->grid.shapes.count);
    hash_string(&h, buf);
    return h;
}

static int check_combinations(const nnb_sweep_options *o, int argc, char **argv, char *err, size_t err_len) {
    int slurm_only = o->slurm_shards || o->sbatch || o->sbatch_arg_count || o->merge_after;
    if (slurm_only && !o->slurm)
        return nnb_sweep_fail(err, err_len, "--shards, --sbatch, --sbatch-arg and --merge-after go with --slurm");
    if (o->slurm && o->shard_count > 1)
        return nnb_sweep_fail(err, err_len, "--slurm chooses the shards itself (--shards N); drop --shard");
    (void)argc;
    (void)argv;
    return 0;
}

int nnb_sweep_parse(int argc, char **argv, const nnb_sweep_hooks *hooks, nnb_sweep_options *o, char *err,
                    size_t err_len) {
    memset(o, 0, sizeof *o);
    o->repeat = 1;
    o->shard_count = 1;
    o->out_dir = "sweep-results";
    o->base_argv = calloc((size_t)argc + 1, sizeof *o->base_argv);
    if (!o->base_argv)
        return nnb_sweep_fail(err, err_len, "out of memory"), USAGE;
    const char *shapes_path = NULL;
    nnb_sweep_hooks serve_hooks;
    for (int i = 0; i < argc; i++) /* --serve changes what every other flag means: look for it first */
        if (!strcmp(argv[i], "--serve")) {
            if (!hooks->serve_axis_flag)
                return nnb_sweep_fail(err, err_len, "--serve: this nnbench cannot serve"), USAGE;
            serve_hooks = *hooks;
            serve_hooks.axis_flag = hooks->serve_axis_flag;
            serve_hooks.base_flag = hooks->serve_base_flag;
            serve_hooks.check_argv = hooks->serve_check_argv;
            serve_hooks.flag_names = hooks->serve_flag_names;
            hooks = &serve_hooks;
        }
    int after_flag = 0; /* the previous token was a common flag: a bare token is its value */
    for (int i = 0; i < argc; i++) {
        const char *arg = !strcmp(argv[i], "-h") ? "--help" : argv[i];
        const sweep_flag *f = !strncmp(arg, "--", 2) ? find_sweep_flag(arg) : NULL;
        if (!f) {
            if (!strncmp(arg, "--", 2)) {
                char name[80];
                snprintf(name, sizeof name, "%.*s", (int)strcspn(arg, "="), arg);
                if (unknown_flag(name, hooks, err, err_len) || hooks->base_flag(name, err, err_len))
                    return USAGE;
            } else if (!after_flag) {
                return nnb_sweep_fail(err, err_len, "unexpected argument '%s' (see nnbench sweep --help)", arg), USAGE;
            }
            if (!strncmp(arg, "--", 2)) /* bare tokens after a flag are its values (--rnns jit py) */
                after_flag = !strchr(arg, '=');
            o->base_argv[o->base_argc++] = argv[i];
            continue;
        }
        after_flag = 0;
        if (!strcmp(f->name, "--help")) {
            print_help();
            exit(NNB_EXIT_OK);
        }
        const char *eq = strchr(arg, '=');
        const char *v = NULL;
        if (f->takes_value) {
            v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v)
                return nnb_sweep_fail(err, err_len, "%s needs a value", f->name), USAGE;
        } else if (eq) {
            return nnb_sweep_fail(err, err_len, "%s takes no value (got '%s')", f->name, eq + 1), USAGE;
        }
        if (apply_sweep_flag(o, f, v, hooks, &shapes_path, err, err_len))
            return USAGE;
    }
    if (check_combinations(o, argc, argv, err, err_len))
        return USAGE;
    if (shapes_path && (nnb_shape_set_load(shapes_path, hooks, &o->grid.shapes, err, err_len) ||
                        nnb_sweep_apply_shape_group(o, err, err_len)))
        return USAGE;
    if (nnb_sweep_grid_expand(&o->grid, err, err_len) || check_points(o, hooks, err, err_len))
        return USAGE;
    if (o->plot_x) {
        int known = 0;
        for (int k = 0; k < o->grid.point_count && !known; k++)
            for (int s = 0; s < o->grid.points[k].setting_count; s++)
                known |= !strcmp(o->grid.points[k].settings[s].key, o->plot_x);
        if (!known)
            return nnb_sweep_fail(err, err_len, "--plot-x %s: no point sets it (give an axis or shape key)", o->plot_x),
                   USAGE;
    }
    if (o->slurm && !o->slurm_shards)
        o->slurm_shards = 4;
    if (o->slurm && !o->sbatch)
        o->sbatch = "sbatch";
    o->id = sweep_id(o);
    return 0;
}

void nnb_sweep_options_free(nnb_sweep_options *o) {
    nnb_sweep_grid_free(&o->grid);
    free(o->base_argv);
    free(o->sbatch_args);
    memset(o, 0, sizeof *o);
}
