/*
 * `nnbench [flags]`, the driver run (nnb_driver_main, called by cmd/nnbench.c): discover runner plugins,
 * time each selected runner's forward and backward, and report as fastrnns does (table on stderr,
 * OSS/PEP JSON on stdout) plus full JSON results.
 */
#define _GNU_SOURCE
#include "cmdline.h"
#include "driver.h"
#include "exit_codes.h"
#include "precision.h"
#include "progress.h"
#include "report.h"
#include "run_peak.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef NNB_VERSION
#define NNB_VERSION "0.0.0"
#endif
#ifndef NNB_MISSING_BACKENDS
#define NNB_MISSING_BACKENDS ""
#endif

/* The shared codes (cmdline/exit_codes.h); NNB_EXIT_REGRESSION comes from --ab --fail-above (ab.c). */
enum {
    EXIT_RUNNER_FAILED = NNB_EXIT_FAILED,
    EXIT_USAGE = NNB_EXIT_USAGE,
    EXIT_NOTHING_RAN = NNB_EXIT_NOTHING_RAN,
    EXIT_INTERRUPTED = NNB_EXIT_INTERRUPTED
};

static void load_plugins(const nnb_options *o, nnb_registry *reg) {
    char dirs[32][1024];
    int n = nnb_runner_dirs(o, dirs, 32);
    nnb_registry_init(reg);
    for (int i = 0; i < n; i++)
        nnb_registry_load_dir(reg, dirs[i]);
    for (int i = 0; i < reg->diag_count; i++)
        fprintf(stderr, "nnbench: %s\n", reg->diags[i].message);
    if (reg->out_of_memory)
        fprintf(stderr, "nnbench: out of memory while loading plugins; some runners are missing\n");
}

static int check_runner_paths(const nnb_options *o, char *err, size_t err_len) {
    for (int i = 0; i < o->runner_path_count; i++) {
        struct stat st;
        if (stat(o->runner_paths[i], &st) != 0 || !S_ISDIR(st.st_mode)) {
            snprintf(err, err_len, "--runner-path: '%s' is not a directory", o->runner_paths[i]);
            return -1;
        }
    }
    return 0;
}

/* The run's device, with one note on stderr when CUDA cannot be used. Unless the run is on the cpu, the
 * probe runs (and is cached) before any runner, so no process forks it while holding a CUDA context. */
static const char *pick_device(const nnb_options *o) {
    char reason[300];
    if (o->device && !strcmp(o->device, NNB_DEVICE_CPU))
        return o->device;
    int cuda = nnb_cuda_usable_probe(reason, sizeof reason);
    if (o->device) {
        if (!cuda)
            fprintf(stderr, "nnbench: --device cuda: %s; every cuda runner is skipped\n", reason);
        return o->device;
    }
    if (cuda) {
        fprintf(stderr, "nnbench: --device not given; using cuda\n");
        return NNB_DEVICE_CUDA;
    }
    fprintf(stderr, "nnbench: --device not given; using cpu (cuda: %s)\n", reason);
    return NNB_DEVICE_CPU;
}

/* What a runner can do, for --list: "yes"/"-" for backward and serving (the ABI 1.2 infer entry), and the
 * reference --check compares it with ("reference" for a reference itself). */
static void capabilities(const nnb_runner_desc *d, char *check, size_t len) {
    if (d->reference)
        snprintf(check, len, "%s", d->reference);
    else
        snprintf(check, len, "%s", d->flags & NNB_FLAG_REFERENCE ? "reference" : "-");
}

static void print_notes(const nnb_runner_desc *d) {
    char notes[160] = "";
    size_t used = 0;
    if (d->flags & NNB_FLAG_SINGLE_LAYER)
        used += (size_t)snprintf(notes + used, sizeof notes - used, "single-layer by definition; ");
    if (d->flags & NNB_FLAG_HIDDEN)
        used += (size_t)snprintf(notes + used, sizeof notes - used, "runs only when named; ");
    if (used >= 2 && used < sizeof notes)
        notes[used - 2] = 0; /* drop the last "; " */
    printf("    %s%s%s%s\n", d->description ? d->description : "", notes[0] ? "  [" : "", notes, notes[0] ? "]" : "");
}

static void print_list(const nnb_registry *reg, const nnb_config *cfg) {
    char cuda_reason[280] = "";
    int cuda = nnb_cuda_usable_probe(cuda_reason, sizeof cuda_reason), cuda_listed = 0;
    for (int i = 0; i < reg->count; i++)
        cuda_listed |= !strcmp(reg->runners[i].desc->device, NNB_DEVICE_CUDA);
    if (!cuda && cuda_listed) /* once, not on every cuda runner's line */
        printf("cuda: %s: the cuda runners below cannot run here\n\n", cuda_reason);
    printf("%-22s %-8s %-6s %-8s %-5s %-14s %-20s %-34s %s\n", "name", "group", "device", "backward", "serve", "check",
           "dtypes", "status", "plugin");
    for (int i = 0; i < reg->count; i++) {
        const nnb_runner_desc *d = reg->runners[i].desc;
        char status[480] = "ok", reason[480] = "", check[64], dtypes[64];
        if (!strcmp(d->device, NNB_DEVICE_CUDA) && !cuda)
            snprintf(status, sizeof status, "no cuda (see above)");
        else if (cfg->precision != NNB_PRECISION_FP32 && nnb_precision_refusal(d, cfg, reason, sizeof reason))
            snprintf(status, sizeof status, "%s",
                     reason + strlen(d->name) + strlen(d->device) + 5); /* "NAME (DEV): " */
        else if (d->available && !d->available(cfg, reason, sizeof reason))
            snprintf(status, sizeof status, "%s", reason);
        capabilities(d, check, sizeof check);
        nnb_precision_list(d, strcmp(d->device, NNB_DEVICE_CUDA) || cuda ? cfg : NULL, dtypes, sizeof dtypes);
        printf("%-22s %-8s %-6s %-8s %-5s %-14s %-20s %-34s %s\n", d->name, d->group, d->device,
               d->backward ? "yes" : "-", d->infer ? "yes" : "-", check, dtypes, status, reg->runners[i].plugin_path);
        print_notes(d);
    }
    printf("\nbackward: times a backward pass (else forward-only); serve: has the inference entry (ABI 1.2) that\n"
           "nnbench serve needs; check: the runner --check compares it with; dtypes: the precisions it computes in\n"
           "(--dtype, docs/precision.md), * where this machine cannot run it (--dtype X --list says why)\n");
    if (NNB_MISSING_BACKENDS[0])
        printf("\nnot built: %s\n", NNB_MISSING_BACKENDS);
    if (reg->diag_count)
        printf("\n%d plugin(s) could not be loaded (see stderr)\n", reg->diag_count);
}

static void free_results(nnb_run_results *res) {
    nnb_ab_free(res);
    for (int g = 0; g < res->group_count; g++) {
        for (int i = 0; i < res->groups[g].count; i++) {
            nnb_runner_result *r = &res->groups[g].runners[i];
            free(r->fwd.samples_ms);
            free(r->bwd.samples_ms);
            for (int p = 0; p < r->part_count; p++)
                free(r->parts[p].samples_ms);
            free(r->runner_info_json);
            free(r->checks);
        }
        free(res->groups[g].runners);
    }
}

/* --isolate by default when more than one runner runs, or a --runner-timeout asks for it. */
static int isolation_wanted(const nnb_options *o, const nnb_selection *sel, int nsel) {
    int runners = 0;
    for (int g = 0; g < nsel; g++)
        runners += sel[g].count;
    return o->isolate == 1 || (o->isolate < 0 && (runners > 1 || o->runner_timeout_s > 0));
}

static void run_one(nnb_run_env *env, const nnb_loaded_runner *lr, nnb_runner_result *r, int isolated) {
    if (nnb_stop_requested()) {
        nnb_result_init(r, lr);
        r->precision = env->config.precision;
        nnb_mark_interrupted(r, "before it started");
    } else if (isolated) {
        nnb_run_runner_isolated(env, lr, r, env->opts->runner_timeout_s);
    } else {
        nnb_run_runner(env, lr, r);
    }
}

/* What --progress says a runner will do: "warmup 10, loops 100", or how adaptive stopping decides. */
static void progress_plan(const nnb_options *o, char *plan, size_t len) {
    const nnb_adaptive *a = &o->adaptive;
    if (o->profile)
        snprintf(plan, len, "profile, 3 iterations");
    else if (a->enabled)
        snprintf(plan, len,
                 "warmup %d, then adaptive stopping (at least %d samples and %g s, until the medians' 95%% "
                 "intervals are within +-%g%%, at most %g s)",
                 o->warmup, a->min_samples, a->min_time_s, 100 * a->max_noise, a->timeout_s);
    else
        snprintf(plan, len, "warmup %d, loops %d", o->warmup, o->nloops);
}

/* --measure-peak: every precision's peak, measured once before the runners (run_peak.h). */
static nnb_measured_peaks measured_peaks;

static void run_groups(nnb_run_env *env, nnb_selection *sel, int nsel, nnb_run_results *res, int table) {
    const int isolated = isolation_wanted(env->opts, sel, nsel);
    int total = 0;
    for (int g = 0; g < nsel; g++)
        total += sel[g].count;
    char plan[256];
    progress_plan(env->opts, plan, sizeof plan);
    nnb_progress_start(env->opts->progress, total);
    for (int g = 0; g < nsel; g++) {
        nnb_group_result *gr = &res->groups[res->group_count++];
        gr->group = sel[g].group;
        gr->runners = calloc((size_t)(sel[g].count ? sel[g].count : 1), sizeof *gr->runners);
        if (!gr->runners) {
            fprintf(stderr, "nnbench: out of memory\n");
            exit(EXIT_RUNNER_FAILED);
        }
        const double peak = nnb_run_peak(&measured_peaks, env->config.precision, NULL).gflops; /* the run's precision */
        if (table && !strcmp(gr->group, NNB_GROUP_CONVS) && env->opts->config.conv) /* the row names are runners' */
            fprintf(stderr, "convolution %s%s (--conv-dir %s)\n", env->opts->conv_canonical,
                    env->opts->conv_problem.has_bias ? "" : " without bias", nnb_conv_dir_name(env->config.conv_dirs));
        if (table && env->opts->stats_robust)
            nnb_table_begin_robust(stderr, gr->group, env->opts->sep, peak > 0);
        else if (table)
            nnb_table_begin(stderr, gr->group, env->opts->sep);
        for (int i = 0; i < sel[g].count; i++) {
            nnb_runner_result *r = &gr->runners[gr->count++];
            if (!nnb_stop_requested()) /* an interrupted run starts no more runners: nothing to announce */
                nnb_progress_runner_begin(sel[g].runners[i]->desc->name, plan);
            run_one(env, sel[g].runners[i], r, isolated);
            r->peak = nnb_run_peak(&measured_peaks, env->config.precision, r->runner_info_json);
            /* the mean for the time left counts the runners that ran to their end */
            nnb_progress_runner_end(r->status != NNB_RUN_SKIPPED && r->status != NNB_RUN_INTERRUPTED);
            if (table && env->opts->stats_robust) {
                nnb_table_row_robust(stderr, r, env->opts->sep, r->peak.gflops);
                nnb_print_amx_share(stderr, r);
            } else if (table)
                nnb_table_row(stderr, r, env->opts->sep);
            else if (r->status != NNB_RUN_OK)
                fprintf(stderr, "nnbench: %s (%s): %s: %s\n", r->name, r->group, nnb_run_status_name(r->status),
                        r->error);
            if (r->stop_reason)
                fprintf(stderr, "nnbench: %s: %d samples, stopped: %s (noise %.3g%%, max %.3g%%)\n", r->name,
                        r->fwd.count, r->stop_reason, 100 * r->noise, 100 * env->opts->adaptive.max_noise);
        }
        if (table)
            nnb_table_end(stderr);
    }
}

static int exit_status(const nnb_run_results *res) {
    int ran = 0, failed = 0;
    for (int g = 0; g < res->group_count; g++)
        for (int i = 0; i < res->groups[g].count; i++) {
            nnb_run_status s = res->groups[g].runners[i].status;
            ran += s == NNB_RUN_OK;
            failed += s == NNB_RUN_FAILED || s == NNB_RUN_CHECK_FAILED;
            if (s == NNB_RUN_INTERRUPTED)
                return EXIT_INTERRUPTED;
        }
    if (failed)
        return EXIT_RUNNER_FAILED;
    return ran ? 0 : EXIT_NOTHING_RAN;
}

static void note_blas(const char *tuned_core) {
    const char *best = nnb_cpu_best_openblas_core();
    const char *env = getenv("OPENBLAS_CORETYPE");
    if (tuned_core)
        return;
    if (best && env && strcmp(best, env))
        fprintf(stderr, "nnbench: note: OPENBLAS_CORETYPE=%s is set; this CPU supports %s kernels\n", env, best);
}

static int usage_error(const char *msg) {
    fprintf(stderr, "nnbench: %s\n", msg);
    return EXIT_USAGE;
}

static void fill_results_config(const nnb_options *o, nnb_run_results *res) {
    res->config = o->config;
    res->conv_descriptor = o->config.conv ? o->conv_canonical : NULL;
    res->warmup = o->profile ? 0 : o->warmup;
    res->nloops = o->profile ? 3 : o->nloops;
    res->adaptive = o->adaptive;
    res->fuser = o->config.fuser;
    res->executor = o->config.executor ? o->config.executor : "eager";
}

static int report(const nnb_options *o, const nnb_run_results *res, int rc) {
    char err[1024];
    if (o->profile)
        fprintf(stderr, "nnbench: profiled %d iterations per runner (no statistics)\n", res->nloops);
    else if (o->print_json == NNB_JSON_OSS)
        nnb_report_oss(stdout, res);
    else if (o->print_json == NNB_JSON_PEP)
        nnb_report_pep(stdout, res);
    else if (o->print_json == NNB_JSON_PYTEST)
        nnb_report_pytest_benchmark(stdout, res);
    if (o->json_out && nnb_report_json_write(o->json_out, res, err, sizeof err)) {
        fprintf(stderr, "nnbench: %s\n", err);
        rc = EXIT_USAGE;
    }
    return rc;
}

/* Everything after the plugins are loaded; the caller frees the registry on every path. */
static int run(nnb_options *o, nnb_registry *reg, const char *tuned_core) {
    char err[1024];
    if (o->list) {
        print_list(reg, &o->config);
        return 0;
    }
    const char *device = pick_device(o);
    nnb_selection sel[4];
    int nsel = o->ab.given ? 0 : nnb_select(o, reg, device, sel, 4, err, sizeof err);
    if (nsel < 0)
        return usage_error(err);
    if (o->dump_dir && nnb_cmd_prepare_output("--dump", o->dump_dir, 1, err, sizeof err))
        return usage_error(err);
    note_blas(tuned_core);

    static nnb_run_results res;
    fill_results_config(o, &res);
    nnb_run_env env = {.opts = o, .reg = reg, .config = o->config};
    if (o->measure_peak) /* each precision's peak, or why not; the table's % is of the run's precision's */
        nnb_measure_peaks(o->config.threads, &measured_peaks, stderr), env.fma_peak_gflops = measured_peaks.gflops[0];
    nnb_install_stop_handlers();
    int rc;
    if (o->ab.given) {
        rc = nnb_run_ab(&env, device, &res, err, sizeof err);
    } else {
        run_groups(&env, sel, nsel, &res, !o->print_json && !o->profile);
        rc = exit_status(&res);
    }
    if (rc == EXIT_USAGE) { /* a bad --ab spec: nothing ran, nothing is written */
        usage_error(err);
    } else {
        if (nnb_stop_requested()) {
            res.interrupted = 1;
            rc = EXIT_INTERRUPTED;
        }
        nnb_context_collect(&res.context, o->config.threads, device);
        nnb_probe_loaded_libraries(&res.context);
        nnb_cuda_fill_context(&res.context, o->config.cuda_device);
        nnb_peaks_to_context(&measured_peaks, &res.context);
        rc = report(o, &res, rc);
    }
    nnb_cuda_timer_destroy(env.cuda_timer);
    free_results(&res);
    return rc;
}

int nnb_driver_main(int argc, char **argv) {
    static nnb_options o;
    char err[1024];
    if (nnb_cli_parse(argc, argv, &o, err, sizeof err))
        return usage_error(err);
    if (o.help)
        return nnb_cli_print_help(stdout), 0;
    if (o.version)
        return printf("nnbench %s (plugin ABI %d.%d)\n", NNB_VERSION, NNB_ABI_MAJOR, NNB_ABI_MINOR), 0;
    if (check_runner_paths(&o, err, sizeof err) || nnb_cli_check_sizes(&o, err, sizeof err))
        return usage_error(err);
    if (o.json_out && (nnb_cmd_prepare_output("--json-out", o.json_out, 0, err, sizeof err) ||
                       nnb_output_path_check(o.json_out, err, sizeof err)))
        return usage_error(err);

    const char *tuned_core = nnb_tune_blas_env();
    static nnb_registry reg;
    load_plugins(&o, &reg);
    int rc = run(&o, &reg, tuned_core);
    nnb_registry_free(&reg);
    return rc;
}
