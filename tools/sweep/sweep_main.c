/* nnbench sweep: parse, then list the points, run them (one shard or all), or hand them to Slurm. */
#define _GNU_SOURCE
#include "sweep_internal.h"

#include "cmdline.h"
#include "exit_codes.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { USAGE = NNB_EXIT_USAGE }; /* cmdline/exit_codes.h */

static void list_points(const nnb_sweep_options *o) {
    for (int k = 0; k < o->grid.point_count; k++) {
        const nnb_sweep_point *p = &o->grid.points[k];
        if (!nnb_sweep_in_shard(k, o->shard_index, o->shard_count))
            continue;
        printf("%d\t%d/%d\t%s\t", k, o->shard_index, o->shard_count, p->label);
        for (int i = 0; i < p->setting_count; i++)
            printf("%s%s %s", i ? " " : "", p->settings[i].flag, p->settings[i].value);
        printf("\n");
    }
}

static int run_and_report(const nnb_sweep_options *o, const nnb_sweep_hooks *h) {
    char err[1024];
    cJSON *doc = NULL;
    int rc = nnb_sweep_run_shard(o, h, &doc, err, sizeof err);
    if (rc == USAGE) {
        fprintf(stderr, "nnbench sweep: %s\n", err);
        return rc;
    }
    if (o->shard_count > 1) {
        fprintf(stderr, "nnbench sweep: merge the %d shard files with: nnbench merge %s\n", o->shard_count, o->out_dir);
        cJSON_Delete(doc);
        return rc;
    }
    cJSON *merged = NULL;
    const char *name = "this sweep", *reason = NULL;
    int mrc = nnb_sweep_merge_docs(&doc, &name, &reason, 1, &merged, err, sizeof err);
    nnb_sweep_output_options oo = {o->out_dir, o->plot_x, o->plot_y, o->plot_phase, o->beside};
    if (mrc == USAGE || nnb_sweep_write_outputs(merged, &oo, err, sizeof err)) {
        fprintf(stderr, "nnbench sweep: %s\n", err);
        rc = USAGE;
    } else {
        fprintf(stderr, "nnbench sweep: wrote %s/sweep.json, sweep.csv, sweep.md, sweep.svg%s\n", o->out_dir,
                o->grid.shapes.count ? ", sweep-rollup.csv" : "");
    }
    cJSON_Delete(doc);
    cJSON_Delete(merged);
    return rc;
}

int nnb_sweep_main(int argc, char **argv, const nnb_sweep_hooks *hooks) {
    static nnb_sweep_options o;
    char err[1024];
    int rc = nnb_sweep_parse(argc, argv, hooks, &o, err, sizeof err);
    if (!rc && !o.list_points) {
        nnb_sweep_print_plan(stderr, &o);
        nnb_sweep_warn_empty_shards(stderr, &o);
    }
    if (rc) {
        fprintf(stderr, "nnbench sweep: %s\n", err);
    } else if (o.list_points) {
        list_points(&o);
    } else if (o.slurm) {
        rc = nnb_sweep_submit_slurm(&o, hooks, argc, argv, err, sizeof err);
        if (rc)
            fprintf(stderr, "nnbench sweep: %s\n", err);
    } else {
        rc = run_and_report(&o, hooks);
    }
    nnb_sweep_options_free(&o);
    return rc;
}

/* ---- Slurm ---------------------------------------------------------------------------- */

/* Single-quoted for sh: 'it'\''s'. */
static void put_quoted(FILE *f, const char *s) {
    fputc('\'', f);
    for (; *s; s++)
        if (*s == '\'')
            fputs("'\\''", f);
        else
            fputc(*s, f);
    fputc('\'', f);
}

/* Sweep flags that belong to the submission, not to the shards it starts. */
static int submission_flag(const char *arg, int *takes_value) {
    static const char *const with_value[] = {"--shards", "--sbatch", "--sbatch-arg", "--merge-after", "--out"};
    *takes_value = arg[strcspn(arg, "=")] != '=';
    if (nnb_cmd_flag_is(arg, "--slurm"))
        return *takes_value = 0, 1;
    for (size_t i = 0; i < sizeof with_value / sizeof *with_value; i++)
        if (nnb_cmd_flag_is(arg, with_value[i]))
            return 1;
    return 0;
}

static int absolute(const char *path, char *out, size_t len, char *err, size_t err_len) {
    if (path[0] == '/') {
        snprintf(out, len, "%s", path);
        return 0;
    }
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return nnb_sweep_fail(err, err_len, "cannot read the current directory: %s", strerror(errno));
    int n = snprintf(out, len, "%s/%s", cwd, path);
    if (n < 0 || (size_t)n >= len)
        return nnb_sweep_fail(err, err_len, "path too long: %s/%s", cwd, path);
    return 0;
}

static void sbatch_header(FILE *f, const nnb_sweep_options *o, const char *job, const char *cwd) {
    /* #SBATCH lines are read by sbatch, not a shell: no quoting (plain_path checked the paths). */
    fprintf(f, "#!/bin/sh\n#SBATCH --job-name=%s-%016llx\n#SBATCH --chdir=%s\n", job, (unsigned long long)o->id, cwd);
    for (int i = 0; i < o->sbatch_arg_count; i++)
        fprintf(f, "#SBATCH %s\n", o->sbatch_args[i]);
}

static int write_shard_script(const char *path, const nnb_sweep_options *o, const nnb_sweep_hooks *h,
                              const char *out_abs, const char *cwd, int argc, char **argv) {
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    sbatch_header(f, o, "nnbench-sweep", cwd);
    fprintf(f, "#SBATCH --array=0-%d\n#SBATCH --output=%s/slurm/shard-%%a.out\n", o->slurm_shards - 1, out_abs);
    fprintf(f, "# Written by nnbench sweep --slurm: array task i runs shard i of %d.\n", o->slurm_shards);
    fprintf(f, "# (A Kubernetes indexed Job runs the same command with JOB_COMPLETION_INDEX: docs/sweeps.md.)\n");
    fputs("exec ", f);
    put_quoted(f, h->self_exe);
    fprintf(f, " sweep --shard \"${SLURM_ARRAY_TASK_ID}/%d\" --out ", o->slurm_shards);
    put_quoted(f, out_abs);
    for (int i = 0; i < argc; i++) {
        int takes_value;
        if (submission_flag(argv[i], &takes_value)) {
            i += takes_value;
            continue;
        }
        fputc(' ', f);
        put_quoted(f, argv[i]);
    }
    fputc('\n', f);
    return fclose(f);
}

static int write_merge_script(const char *path, const nnb_sweep_options *o, const nnb_sweep_hooks *h,
                              const char *out_abs, const char *cwd) {
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    sbatch_header(f, o, "nnbench-merge", cwd);
    fprintf(f, "#SBATCH --output=%s/slurm/merge.out\n", out_abs);
    fprintf(f, "# Written by nnbench sweep --slurm: merges the %d shard files (a missing one is named).\n",
            o->slurm_shards);
    fputs("exec ", f);
    put_quoted(f, h->self_exe);
    fputs(" merge --out ", f);
    put_quoted(f, out_abs);
    const char *plot[][2] = {{"--plot-x", o->plot_x}, {"--plot-y", o->plot_y}, {"--plot-phase", o->plot_phase}};
    for (int i = 0; i < 3; i++)
        if (plot[i][1])
            fprintf(f, " %s ", plot[i][0]), put_quoted(f, plot[i][1]);
    for (int s = 0; s < o->slurm_shards; s++) {
        char name[64], file[4300];
        nnb_sweep_shard_name(name, sizeof name, s, o->slurm_shards);
        snprintf(file, sizeof file, "%s/%s", out_abs, name);
        fputc(' ', f);
        put_quoted(f, file);
    }
    fputc('\n', f);
    return fclose(f);
}

/* Run sbatch with args; its --parsable output's job id ("123" or "123;cluster") into id. */
static int submit(const nnb_sweep_options *o, const char *const *args, char *id, size_t id_len, char *err,
                  size_t err_len) {
    int fds[2];
    if (pipe(fds))
        return nnb_sweep_fail(err, err_len, "pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0)
        return nnb_sweep_fail(err, err_len, "fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        const char *argv[16] = {o->sbatch};
        int n = 1;
        for (int i = 0; args[i] && n < 15; i++)
            argv[n++] = args[i];
        execvp(o->sbatch, (char *const *)argv);
        fprintf(stderr, "nnbench sweep: cannot run %s: %s\n", o->sbatch, strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    char buf[256] = "";
    size_t used = 0;
    for (ssize_t r; used + 1 < sizeof buf && (r = read(fds[0], buf + used, sizeof buf - 1 - used)) != 0;)
        if (r > 0)
            used += (size_t)r;
        else if (errno != EINTR)
            break;
    buf[used] = 0;
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return nnb_sweep_fail(err, err_len, "%s %s failed (exit %d); nothing more was submitted", o->sbatch, args[0],
                              WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    size_t n = strspn(buf, "0123456789");
    if (!n)
        return nnb_sweep_fail(err, err_len, "%s printed no job id ('%s')", o->sbatch, buf);
    snprintf(id, id_len, "%.*s", (int)n, buf);
    return 0;
}

/* A path sbatch can take on an #SBATCH line as it is: no blanks, quotes or '%' (its file-name patterns). */
static int plain_path(const char *what, const char *path, char *err, size_t err_len) {
    if (strpbrk(path, " \t\n'\"%\\"))
        return nnb_sweep_fail(err, err_len,
                              "--slurm: the %s '%s' has a blank, quote, %% or backslash, which "
                              "#SBATCH lines cannot carry; use another directory",
                              what, path);
    return 0;
}

int nnb_sweep_submit_slurm(const nnb_sweep_options *o, const nnb_sweep_hooks *h, int argc, char **argv, char *err,
                           size_t err_len) {
    char out_abs[4096], cwd[4096], slurm_dir[4200], shards[4300], merge[4300];
    if (absolute(o->out_dir, out_abs, sizeof out_abs, err, err_len))
        return USAGE;
    if (!getcwd(cwd, sizeof cwd))
        return nnb_sweep_fail(err, err_len, "cannot read the current directory: %s", strerror(errno)), USAGE;
    snprintf(slurm_dir, sizeof slurm_dir, "%s/slurm", out_abs);
    snprintf(shards, sizeof shards, "%s/shards.sbatch", slurm_dir);
    snprintf(merge, sizeof merge, "%s/merge.sbatch", slurm_dir);
    if (plain_path("current directory", cwd, err, err_len) || plain_path("--out directory", out_abs, err, err_len) ||
        nnb_sweep_make_dir(out_abs, err, err_len) || nnb_sweep_make_dir(slurm_dir, err, err_len))
        return USAGE;
    if (write_shard_script(shards, o, h, out_abs, cwd, argc, argv) || write_merge_script(merge, o, h, out_abs, cwd))
        return nnb_sweep_fail(err, err_len, "cannot write the job scripts in %s: %s", slurm_dir, strerror(errno)),
               USAGE;
    char array_id[64], merge_id[64], dependency[128];
    const char *array_args[] = {"--parsable", shards, NULL};
    if (submit(o, array_args, array_id, sizeof array_id, err, err_len))
        return USAGE;
    snprintf(dependency, sizeof dependency, "--dependency=%s:%s",
             !strcmp(o->merge_after ? o->merge_after : "ok", "any") ? "afterany" : "afterok", array_id);
    const char *merge_args[] = {"--parsable", dependency, "--kill-on-invalid-dep=yes", merge, NULL};
    if (submit(o, merge_args, merge_id, sizeof merge_id, err, err_len))
        return USAGE;
    printf("array_job=%s\nmerge_job=%s\n", array_id, merge_id);
    fprintf(stderr,
            "nnbench sweep: submitted array job %s (%d shards of %d points, %s) and merge job %s (%s); "
            "results: %s/sweep.json\n",
            array_id, o->slurm_shards, o->grid.point_count, shards, merge_id, dependency + 13, out_abs);
    return 0;
}
