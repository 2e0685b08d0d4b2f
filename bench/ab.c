/*
 * --ab A B: a paired, interleaved comparison of two runners (or two variants
 * of one runner) in one process. Both are created from the same seed, so they
 * see the same inputs; rounds run A B B A, which cancels a linear drift of the
 * machine's speed within a round; each round gives one ratio B / A per phase
 * (the mean of B's two iterations over the mean of A's two). The verdict comes
 * from the distribution-free interval of the median per-round ratio
 * (robust_stats.h) and measuring stops as soon as that interval settles.
 */
#define _POSIX_C_SOURCE 200809L
#include "cmdline.h"
#include "driver.h"
#include "exit_codes.h"

#include "progress.h"
#include "robust_stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rounds stop here even unsettled (a runner of microseconds would otherwise fill memory). */
#define NNB_AB_MAX_ROUNDS 100000

typedef struct ab_side {
    nnb_variant variant;
    const nnb_loaded_runner *lr;
    nnb_run_env env; /* the run's environment with this side's config */
    void *model;
    nnb_runner_result *res;
    char name[300]; /* how results name this side: its spec, plus " (A)"/" (B)" when both specs are equal */
} ab_side;

/* One --ab per process: the results point into these until nnb_ab_free. */
static ab_side sides[2];
static nnb_ab_result ab;

static int usage(char *err, size_t err_len, const char *msg) {
    snprintf(err, err_len, "%s", msg);
    return NNB_EXIT_USAGE;
}

/* Resolve a spec to a runner of the run's device. 0, or the exit status with err. */
static int resolve_side(nnb_run_env *env, const char *device, const char *spec, ab_side *s, char *err, size_t err_len) {
    char msg[768];
    if (nnb_cli_parse_variant(spec, env->opts, &s->variant, err, err_len))
        return NNB_EXIT_USAGE;
    s->lr = nnb_registry_find_on(env->reg, s->variant.runner, device);
    if (!s->lr) {
        const nnb_loaded_runner *other = nnb_registry_find(env->reg, s->variant.runner);
        if (other)
            snprintf(msg, sizeof msg, "--ab: runner '%s' runs on %s, not on %s (--device)", s->variant.runner,
                     other->desc->device, device);
        else
            snprintf(msg, sizeof msg, "--ab: unknown runner '%s' (see --list)", s->variant.runner);
        if (!other) {
            const char *names[512];
            size_t n = 0;
            for (int i = 0; i < env->reg->count && n < sizeof names / sizeof *names; i++)
                names[n++] = env->reg->runners[i].desc->name;
            nnb_cmd_append_suggestion(msg, sizeof msg, s->variant.runner, names, n);
        }
        return usage(err, err_len, msg);
    }
    s->env = *env;
    s->env.config = s->variant.config;
    s->env.config.cuda_stream = env->config.cuda_stream;
    return 0;
}

/* create() with the side's VAR=VALUE settings in the environment, restored afterwards. */
static void create_side(ab_side *s) {
    const nnb_variant *v = &s->variant;
    char *saved[NNB_MAX_VARIANT_ENV] = {0};
    for (int i = 0; i < v->env_count; i++) {
        const char *old = getenv(v->env_name[i]);
        saved[i] = old ? strdup(old) : NULL;
        setenv(v->env_name[i], v->env_value[i], 1);
    }
    s->model = nnb_create_model(&s->env, s->lr->desc, s->res);
    for (int i = v->env_count - 1; i >= 0; i--) {
        if (saved[i])
            setenv(v->env_name[i], saved[i], 1);
        else
            unsetenv(v->env_name[i]);
        free(saved[i]);
    }
}

static int fail_side(ab_side *s, const char *err) {
    s->res->status = NNB_RUN_FAILED;
    snprintf(s->res->error, sizeof s->res->error, "%s", err);
    return -1;
}

/* One iteration of a side; measured ones keep their samples. */
static int iterate(ab_side *s, int measured, double *fwd_ms, double *bwd_ms) {
    char err[512] = "";
    const nnb_runner_desc *d = s->lr->desc;
    if (nnb_timed_passes(&s->env, d, s->model, fwd_ms, bwd_ms, err, sizeof err) ||
        nnb_finish_iteration(&s->env, d, NULL, s->model, err, sizeof err))
        return fail_side(s, err);
    if (measured &&
        (nnb_push_sample(&s->res->fwd, *fwd_ms) || (s->res->has_backward && nnb_push_sample(&s->res->bwd, *bwd_ms))))
        return fail_side(s, "out of memory for samples");
    return 0;
}

/* A B B A. Each side's round value per phase is the mean of its two iterations. */
static int run_round(nnb_ab_round *r) {
    static const int order[4] = {0, 1, 1, 0};
    double sum[2][NNB_AB_PHASES] = {{0}};
    for (int k = 0; k < 4; k++) {
        double f, b;
        if (iterate(&sides[order[k]], 1, &f, &b))
            return -1;
        sum[order[k]][NNB_AB_FORWARD] += f;
        sum[order[k]][NNB_AB_BACKWARD] += b;
        sum[order[k]][NNB_AB_TOTAL] += f + b;
    }
    for (int p = 0; p < NNB_AB_PHASES; p++)
        r->a_ms[p] = sum[0][p] / 2, r->b_ms[p] = sum[1][p] / 2;
    return 0;
}

static int grow_rounds(int *cap) {
    if (ab.rounds < *cap)
        return 0;
    int next = *cap ? 2 * *cap : 64;
    nnb_ab_round *grown = realloc(ab.samples, sizeof *grown * (size_t)next);
    if (!grown)
        return -1;
    ab.samples = grown, *cap = next;
    return 0;
}

/* The paired summary of phase p over the rounds so far. */
static void summarise(int p) {
    int n = ab.rounds;
    double *a = malloc(sizeof(double) * (size_t)(n ? n : 1)), *b = malloc(sizeof(double) * (size_t)(n ? n : 1));
    if (a && b) {
        for (int i = 0; i < n; i++)
            a[i] = ab.samples[i].a_ms[p], b[i] = ab.samples[i].b_ms[p];
        if (nnb_paired_ratio(a, b, n, NNB_CONFIDENCE, ab.noise_threshold, &ab.summary[p]))
            ab.summary[p].verdict = NNB_VERDICT_UNDECIDED;
        ab.a_median_ms[p] = nnb_median_of(a, n);
        ab.b_median_ms[p] = nnb_median_of(b, n);
    }
    free(a);
    free(b);
}

/* Evaluate the stopping rule every round at first, then as the count grows by 2% (each look sorts). */
static int rounds_done(double t0_ms, int *next_look) {
    if (nnb_stop_requested()) {
        ab.stop_reason = "interrupted";
        return 1;
    }
    if (ab.rounds >= NNB_AB_MAX_ROUNDS) {
        ab.stop_reason = "round cap";
        return 1;
    }
    if ((nnb_cpu_now_ms() - t0_ms) >= ab.max_time_s * 1e3) {
        ab.stop_reason = "max-time";
        return 1;
    }
    if (ab.rounds < ab.min_samples || ab.rounds < *next_look)
        return 0;
    *next_look = ab.rounds + 1 + ab.rounds / 50;
    summarise(ab.phase);
    if (nnb_ratio_settled(&ab.summary[ab.phase])) {
        ab.stop_reason = "settled";
        return 1;
    }
    return 0;
}

/* --progress: rounds so far, the verdict's interval as of the last look, the time left to --max-time. */
static void report_progress(double t0_ms) {
    char text[224], left[32];
    const nnb_ratio_summary *s = &ab.summary[ab.phase];
    nnb_progress_duration(ab.max_time_s - (nnb_cpu_now_ms() - t0_ms) / 1e3, left, sizeof left);
    if (ab.rounds >= ab.min_samples && s->hi > 0)
        snprintf(text, sizeof text, "%d rounds, B/A in [%.4f, %.4f] %s, at most %s left", ab.rounds, s->lo, s->hi,
                 nnb_verdict_name(s->verdict), left); /* short: a live line is cut to the terminal's width */
    else
        snprintf(text, sizeof text, "%d rounds (a verdict from %d on), at most %s left", ab.rounds, ab.min_samples,
                 left);
    nnb_progress_status("nnbench: --ab", text, 0);
}

static int measure(void) {
    int cap = 0, next_look = 0;
    double t0 = nnb_cpu_now_ms();
    for (;;) {
        if (grow_rounds(&cap)) {
            fail_side(&sides[0], "out of memory for rounds");
            return -1;
        }
        if (run_round(&ab.samples[ab.rounds]))
            return -1;
        ab.rounds++;
        if (rounds_done(t0, &next_look))
            break;
        report_progress(t0);
    }
    nnb_progress_clear();
    ab.elapsed_s = (nnb_cpu_now_ms() - t0) / 1e3;
    for (int p = 0; p < (ab.has_backward ? NNB_AB_PHASES : 1); p++)
        summarise(p);
    const nnb_ratio_summary *s = &ab.summary[ab.phase];
    ab.fail_above_hit = ab.fail_above > 0 && s->lo > ab.fail_above;
    return 0;
}

/* --dump: one more, untimed iteration per side, dumped before its zero_grad. */
static int dump_sides(void) {
    for (int i = 0; i < 2; i++) {
        char err[512] = "";
        double f, b;
        ab_side *s = &sides[i];
        char dir[sizeof s->name];
        snprintf(dir, sizeof dir, "%s", s->name);
        for (char *c = dir; *c; c++)
            *c = *c == '/' || *c == ' ' ? '_' : *c; /* one directory per side, whatever the spec holds */
        if (nnb_timed_passes(&s->env, s->lr->desc, s->model, &f, &b, err, sizeof err) ||
            nnb_finish_iteration(&s->env, s->lr->desc, dir, s->model, err, sizeof err))
            return fail_side(s, err);
    }
    return 0;
}

static void print_table(FILE *f, const char *device) {
    const char *ga = sides[0].res->group, *gb = sides[1].res->group;
    if (!strcmp(ga, gb))
        fprintf(f, "A/B: A = %s, B = %s (%s, %s; rounds A B B A, same seed)\n", sides[0].name, sides[1].name, ga,
                device);
    else
        fprintf(f, "A/B: A = %s (%s), B = %s (%s) (%s; rounds A B B A, same seed)\n", sides[0].name, ga, sides[1].name,
                gb, device);
    int pa = sides[0].res->precision, pb = sides[1].res->precision;
    if (pa != NNB_PRECISION_FP32 || pb != NNB_PRECISION_FP32) /* whether or not the specs say --dtype */
        fprintf(f, "dtype: A %s, B %s\n", nnb_precision_name(pa), nnb_precision_name(pb));
    fprintf(f, "%10s %14s %14s %9s %22s %10s\n", "phase", "A median ms", "B median ms", "B/A", "95% interval",
            "verdict");
    for (int p = 0; p < (ab.has_backward ? NNB_AB_PHASES : 1); p++) {
        const nnb_ratio_summary *s = &ab.summary[p];
        char interval[64];
        snprintf(interval, sizeof interval, "[%.4f, %.4f]", s->lo, s->hi);
        fprintf(f, "%10s %14.4g %14.4g %9.4f %22s %10s%s\n", nnb_ab_phase_name(p), ab.a_median_ms[p], ab.b_median_ms[p],
                s->ratio, interval, nnb_verdict_name(s->verdict), p == ab.phase ? "  <-" : "");
    }
    const nnb_ratio_summary *s = &ab.summary[ab.phase];
    const char *v = nnb_verdict_name(s->verdict);
    if (s->verdict == NNB_VERDICT_FASTER || s->verdict == NNB_VERDICT_SLOWER)
        fprintf(f, "verdict (%s): %s: B is %s than A by %.2f%% (95%% interval %.2f%% to %.2f%%)\n",
                nnb_ab_phase_name(ab.phase), v, v, 100 * fabs(s->ratio - 1), 100 * (s->lo - 1), 100 * (s->hi - 1));
    else
        fprintf(f, "verdict (%s): %s (B/A %.4f, 95%% interval [%.4f, %.4f], noise threshold +-%.3g%%)\n",
                nnb_ab_phase_name(ab.phase), v, s->ratio, s->lo, s->hi, 100 * ab.noise_threshold);
    fprintf(f, "%d rounds in %.1f s, stopped: %s%s\n", ab.rounds, ab.elapsed_s, ab.stop_reason,
            !strcmp(ab.stop_reason, "settled") ? " (interval inside the noise threshold or wholly beyond it)" : "");
    if (ab.fail_above > 0)
        fprintf(f, "--fail-above %.4g: %s\n", ab.fail_above,
                ab.fail_above_hit ? "FAILED, the interval lies above it (exit 4)" : "passed");
    fputc('\n', f);
}

static void name_sides(void) {
    int same = !strcmp(sides[0].variant.spec, sides[1].variant.spec);
    for (int i = 0; i < 2; i++) {
        snprintf(sides[i].name, sizeof sides[i].name, "%s%s", sides[i].variant.spec, same ? (i ? " (B)" : " (A)") : "");
        sides[i].res->name = sides[i].name;
    }
}

static int side_status_exit(void) {
    int skipped = 0;
    for (int i = 0; i < 2; i++) {
        nnb_runner_result *r = sides[i].res;
        if (r->status == NNB_RUN_OK)
            continue;
        fprintf(stderr, "nnbench: --ab %s (%s): %s: %s\n", i ? "B" : "A", r->name, nnb_run_status_name(r->status),
                r->error);
        skipped += r->status == NNB_RUN_SKIPPED;
    }
    int bad = sides[0].res->status != NNB_RUN_OK || sides[1].res->status != NNB_RUN_OK;
    return !bad ? 0 : skipped == 2 ? 3 : 1;
}

/* Sides of different groups (an LSTM against a ResNet) take their sizes from different flags: rarely meant. */
static int check_groups(const nnb_options *o, char *err, size_t err_len) {
    const nnb_runner_desc *a = sides[0].lr->desc, *b = sides[1].lr->desc;
    if (o->ab_any_group || !strcmp(a->group, b->group))
        return 0;
    snprintf(err, err_len,
             "--ab: A '%s' is in group %s and B '%s' in group %s: they take their sizes from different flags; "
             "compare runners of one group, or give --ab-any-group to compare them anyway",
             a->name, a->group, b->name, b->group);
    return 2;
}

static int choose_phase(const nnb_options *o, char *err, size_t err_len) {
    ab.has_backward = nnb_runs_backward(&sides[0].env.config, sides[0].lr->desc) &&
                      nnb_runs_backward(&sides[1].env.config, sides[1].lr->desc);
    ab.phase = o->ab_phase;
    if (ab.has_backward || ab.phase == NNB_AB_FORWARD)
        return 0;
    if (nnb_cli_given(o, "--ab-phase"))
        return usage(err, err_len, "--ab-phase: a side is forward-only; only forward can be compared");
    ab.phase = NNB_AB_FORWARD;
    return 0;
}

int nnb_run_ab(nnb_run_env *env, const char *device, nnb_run_results *res, char *err, size_t err_len) {
    const nnb_options *o = env->opts;
    memset(&ab, 0, sizeof ab);
    memset(sides, 0, sizeof sides);
    int rc;
    for (int i = 0; i < 2; i++)
        if ((rc = resolve_side(env, device, o->ab.names[i], &sides[i], err, err_len)))
            return rc;
    if ((rc = check_groups(o, err, err_len)) || (rc = choose_phase(o, err, err_len)))
        return rc;
    ab.a_spec = sides[0].variant.spec;
    ab.b_spec = sides[1].variant.spec;
    ab.noise_threshold = o->noise_threshold;
    ab.min_samples = o->min_samples;
    ab.max_time_s = o->max_time_s;
    ab.fail_above = o->fail_above;
    ab.stop_reason = "not run";
    res->ab = &ab;

    nnb_group_result *g = &res->groups[res->group_count++];
    g->group = sides[0].lr->desc->group;
    g->runners = calloc(2, sizeof *g->runners);
    if (!g->runners)
        return usage(err, err_len, "out of memory");
    g->count = 2;
    for (int i = 0; i < 2; i++) {
        sides[i].res = &g->runners[i];
        nnb_result_init(sides[i].res, sides[i].lr);
        sides[i].res->has_backward = nnb_runs_backward(&sides[i].env.config, sides[i].lr->desc);
    }
    name_sides();
    for (int i = 0; i < 2; i++) {
        if (nnb_prepare_runner(&sides[i].env, sides[i].lr->desc, sides[i].res) == 0)
            create_side(&sides[i]);
        nnb_print_check(stderr, sides[i].res);
    }
    if ((rc = side_status_exit()))
        goto out;

    char plan[256];
    snprintf(plan, sizeof plan,
             "warmup %d per side, then rounds A B B A until the interval settles (at least %d rounds, at most %g s)",
             o->warmup, o->min_samples, o->max_time_s);
    nnb_progress_start(o->progress, 0);
    nnb_progress_status("nnbench: --ab", plan, 1);
    double f, b;
    for (int it = 0; it < o->warmup; it++)
        for (int i = 0; i < 2; i++)
            if (iterate(&sides[i], 0, &f, &b))
                goto report;
    if (measure() == 0 && o->dump_dir)
        dump_sides();
report:
    nnb_progress_clear();
    for (int i = 0; i < 2; i++) {
        nnb_stats_compute(&sides[i].res->fwd);
        if (sides[i].res->has_backward)
            nnb_stats_compute(&sides[i].res->bwd);
        nnb_describe_runner(sides[i].lr->desc, sides[i].model, sides[i].res);
    }
    if ((rc = side_status_exit()) == 0) {
        print_table(stderr, device);
        rc = ab.fail_above_hit ? NNB_EXIT_REGRESSION : NNB_EXIT_OK;
    }
out:
    for (int i = 0; i < 2; i++) {
        if (sides[i].model)
            sides[i].lr->desc->destroy(sides[i].model);
        nnb_cuda_timer_destroy(sides[i].env.cuda_timer); /* each CUDA side got its own timer and stream */
        sides[i].env.cuda_timer = NULL;
    }
    return rc;
}

void nnb_ab_free(nnb_run_results *res) {
    if (res->ab != &ab)
        return;
    free(ab.samples);
    ab.samples = NULL;
    res->ab = NULL;
}
