/* Internals shared by the sweep's files (not installed, not for runners). */
#ifndef NNB_SWEEP_INTERNAL_H
#define NNB_SWEEP_INTERNAL_H

#include "sweep.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct cJSON;

#define NNB_SWEEP_SCHEMA "nnbench-sweep"
#define NNB_SWEEP_SCHEMA_VERSION 1
#define NNB_SWEEP_HASH_INIT 0xcbf29ce484222325ULL

/* printf into err; returns -1. */
int nnb_sweep_fail(char *err, size_t err_len, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
char *nnb_sweep_strdup(const char *s);
/* FNV-1a over len bytes, continuing from h. */
uint64_t nnb_sweep_hash(uint64_t h, const void *data, size_t len);
/* A whole file, NUL-terminated (malloc'd), or NULL with err naming path. */
char *nnb_sweep_read_file(const char *path, size_t *len, char *err, size_t err_len);
/* "key=value key=value" of n settings (malloc'd), or NULL. */
char *nnb_sweep_settings_label(const nnb_sweep_setting *s, int n);
/* mkdir -p of one level below an existing parent; 0 or -1 with err. */
int nnb_sweep_make_dir(const char *dir, char *err, size_t err_len);
/* The current UTC time as ISO 8601 ("2026-12-03T13:34:16Z"). */
void nnb_sweep_utc_now(char *buf, size_t len);
/* Write a cJSON document (cJSON_Print plus newline) atomically; 0 or -1 with err. */
int nnb_sweep_write_json(const char *path, const struct cJSON *doc, char *err, size_t err_len);
/* The file name of shard i of n: "shard-<i>-of-<n>.json". */
void nnb_sweep_shard_name(char *buf, size_t len, int i, int n);

/* The whole argv of point p's runs (argv[0] = exe, NULL-terminated, room for two more entries), malloc'd;
 * NULL when out of memory. Release with nnb_sweep_argv_free. */
char **nnb_sweep_point_argv(const nnb_sweep_options *o, const nnb_sweep_point *p, const char *exe, int *argc);
void nnb_sweep_argv_free(char **argv);

/* The sweep's configuration as JSON ("sweep" object of every shard file). */
struct cJSON *nnb_sweep_config_json(const nnb_sweep_options *o, const char *self_exe);

/* Run this shard's points (o->shard_index of o->shard_count) into OUT/shard file; returns the shard document
 * (caller deletes) in *doc; exit status as nnb_sweep_main's (0, 1, 130), or 2 with err when the output
 * cannot be written. */
int nnb_sweep_run_shard(const nnb_sweep_options *o, const nnb_sweep_hooks *h, struct cJSON **doc, char *err,
                        size_t err_len);

/* Options of the merged outputs. */
typedef struct nnb_sweep_output_options {
    const char *out_dir;
    const char *plot_x, *plot_y, *plot_phase;
    const char *beside; /* --beside FILE: an nnbench full JSON whose runs the roll-up is set beside; NULL: none */
} nnb_sweep_output_options;

/* Merge shard documents (each owned by the caller; names[i] says where docs[i] came from, NULL doc: the
 * file could not be read, reason in missing_reason[i]) into one merged document (*merged, caller deletes).
 * 0: complete; 1: incomplete (missing shards or points, failed runs), named on stderr and in the document;
 * 2: documents that do not belong together, or duplicate points, with err (nothing merged). */
int nnb_sweep_merge_docs(struct cJSON *const *docs, const char *const *names, const char *const *missing_reason,
                         int count, struct cJSON **merged, char *err, size_t err_len);

/* OUT/sweep.json, OUT/sweep.csv, OUT/sweep.md and OUT/sweep.svg from a merged document; 0 or -1 with err. */
int nnb_sweep_write_outputs(const struct cJSON *merged, const nnb_sweep_output_options *oo, char *err, size_t err_len);

/* --slurm: write OUT/slurm/shards.sbatch and OUT/slurm/merge.sbatch and submit them; exit status. */
int nnb_sweep_submit_slurm(const nnb_sweep_options *o, const nnb_sweep_hooks *h, int argc, char **argv, char *err,
                           size_t err_len);

/* ---- what the sweep says on stderr (progress.c) ---- */

/* "nnbench sweep: 22 points x 1 repeat; shard 0/4 runs 6 of them (6 runs); group rnns only, as FILE
 * declares (give --group to choose)". */
void nnb_sweep_print_plan(FILE *f, const nnb_sweep_options *o);
/* Warns (and returns 1) when there are more shards (--shard I/N, or --slurm --shards N) than points, naming
 * the counts, whether this shard is empty, and the shard count to use instead. */
int nnb_sweep_warn_empty_shards(FILE *f, const nnb_sweep_options *o);

enum { NNB_PROGRESS_NONE, NNB_PROGRESS_LINES, NNB_PROGRESS_LIVE };

typedef struct nnb_sweep_progress {
    FILE *out;
    int style;       /* NNB_PROGRESS_* */
    int total, done; /* runs */
    double spent_s;  /* wall time of the runs done */
    int open;        /* a live line waits for its newline */
} nnb_sweep_progress;

/* mode: "auto" (or NULL: a live line when is_tty, else whole lines), "always" (whole lines) or "never". */
void nnb_sweep_progress_init(nnb_sweep_progress *p, FILE *out, const char *mode, int is_tty, int total);
/* Before a run: "[i/N] <what>: running". */
void nnb_sweep_progress_start(nnb_sweep_progress *p, const char *what);
/* After it: "[i/N] <what>: <status>, <wall> s, about <eta> left[: <error>]" (error NULL: it succeeded). With
 * "never" only a failure is written, without the [i/N]. */
void nnb_sweep_progress_done(nnb_sweep_progress *p, const char *what, const char *status, double wall_s,
                             const char *error);
/* Ends a live line. */
void nnb_sweep_progress_end(nnb_sweep_progress *p);

#endif
