/* What a sweep says on stderr before and while it runs: the plan (points, repeats, this shard, the group a
 * shape set chose), warnings about shards with nothing to run, and progress: "[i/N] <run>: running" before
 * each run and, after it, its status and an estimate of the time left (the mean time per run so far times
 * the runs left). --progress auto draws one live line on a terminal (\r) and whole lines otherwise; always
 * writes whole lines even on a terminal; never writes no progress (failures are still reported). */
#define _GNU_SOURCE
#include "sweep_internal.h"

#include <stdio.h>
#include <string.h>

static int runs_of_shard(const nnb_sweep_options *o, int shard, int shards) {
    int n = 0;
    for (int k = 0; k < o->grid.point_count; k++)
        n += nnb_sweep_in_shard(k, shard, shards);
    return n;
}

void nnb_sweep_print_plan(FILE *f, const nnb_sweep_options *o) {
    int points = o->grid.point_count;
    fprintf(f, "nnbench sweep: %d point%s x %d repeat%s", points, points == 1 ? "" : "s", o->repeat,
            o->repeat == 1 ? "" : "s");
    if (o->slurm)
        fprintf(f, " in %d Slurm shard%s", o->slurm_shards, o->slurm_shards == 1 ? "" : "s");
    else if (o->shard_count > 1)
        fprintf(f, "; shard %d/%d runs %d of them (%d runs)", o->shard_index, o->shard_count,
                runs_of_shard(o, o->shard_index, o->shard_count),
                runs_of_shard(o, o->shard_index, o->shard_count) * o->repeat);
    else
        fprintf(f, " = %d runs", points * o->repeat);
    if (o->shape_group)
        fprintf(f, "; group %s only, as %s declares (give --group to choose)", o->shape_group, o->grid.shapes.path);
    fputc('\n', f);
}

int nnb_sweep_warn_empty_shards(FILE *f, const nnb_sweep_options *o) {
    int shards = o->slurm ? o->slurm_shards : o->shard_count, points = o->grid.point_count;
    if (shards <= points)
        return 0;
    if (o->slurm)
        fprintf(f,
                "nnbench sweep: warning: --shards %d over %d point%s: shards %d..%d will have nothing to run; "
                "use --shards %d\n",
                shards, points, points == 1 ? "" : "s", points, shards - 1, points);
    else if (runs_of_shard(o, o->shard_index, o->shard_count) == 0)
        fprintf(f,
                "nnbench sweep: warning: shard %d/%d holds no points: the sweep has %d point%s, so shards %d..%d "
                "are empty (at most %d shards: --shard I/%d); its file is written empty\n",
                o->shard_index, shards, points, points == 1 ? "" : "s", points, shards - 1, points, points);
    else
        fprintf(f, "nnbench sweep: warning: %d shards over %d point%s: shards %d..%d are empty; use --shard I/%d\n",
                shards, points, points == 1 ? "" : "s", points, shards - 1, points);
    return 1;
}

/* ---- progress ---- */

void nnb_sweep_progress_init(nnb_sweep_progress *p, FILE *out, const char *mode, int is_tty, int total) {
    memset(p, 0, sizeof *p);
    p->out = out;
    p->total = total;
    if (mode && !strcmp(mode, "never"))
        p->style = NNB_PROGRESS_NONE;
    else if (mode && !strcmp(mode, "always"))
        p->style = NNB_PROGRESS_LINES;
    else
        p->style = is_tty ? NNB_PROGRESS_LIVE : NNB_PROGRESS_LINES;
}

/* "about 3 min 05 s left" from the mean time of the runs so far. */
static void eta(const nnb_sweep_progress *p, char *buf, size_t len) {
    double left = p->done ? p->spent_s / p->done * (p->total - p->done) : 0;
    long s = (long)(left + 0.5);
    if (p->done >= p->total)
        snprintf(buf, len, "done");
    else if (s < 1)
        snprintf(buf, len, "about 1 s left");
    else if (s < 60)
        snprintf(buf, len, "about %ld s left", s);
    else if (s < 3600)
        snprintf(buf, len, "about %ld min %02ld s left", s / 60, s % 60);
    else
        snprintf(buf, len, "about %ld h %02ld min left", s / 3600, s / 60 % 60);
}

/* Starts a line: a fresh one, or (live) the same one rewritten. */
static void begin_line(nnb_sweep_progress *p) {
    if (p->style == NNB_PROGRESS_LIVE)
        fputs("\r\033[K", p->out);
}

void nnb_sweep_progress_start(nnb_sweep_progress *p, const char *what) {
    if (p->style == NNB_PROGRESS_NONE)
        return;
    begin_line(p);
    fprintf(p->out, "nnbench sweep: [%d/%d] %s: running%s", p->done + 1, p->total, what,
            p->style == NNB_PROGRESS_LIVE ? "" : "\n");
    p->open = p->style == NNB_PROGRESS_LIVE;
    fflush(p->out);
}

void nnb_sweep_progress_done(nnb_sweep_progress *p, const char *what, const char *status, double wall_s,
                             const char *error) {
    p->done++;
    p->spent_s += wall_s;
    if (p->style == NNB_PROGRESS_NONE) {
        if (error) /* not progress: a failure is always reported */
            fprintf(p->out, "nnbench sweep: %s: %s, %.1f s: %s\n", what, status, wall_s, error);
        return;
    }
    char left[64];
    eta(p, left, sizeof left);
    begin_line(p);
    fprintf(p->out, "nnbench sweep: [%d/%d] %s: %s, %.1f s, %s%s%s", p->done, p->total, what, status, wall_s, left,
            error ? ": " : "", error ? error : "");
    /* a failure stays on the screen; a live success is overwritten by the next run */
    p->open = p->style == NNB_PROGRESS_LIVE && !error;
    if (!p->open)
        fputc('\n', p->out);
    fflush(p->out);
}

void nnb_sweep_progress_end(nnb_sweep_progress *p) {
    if (p->open)
        fputc('\n', p->out);
    p->open = 0;
    fflush(p->out);
}
