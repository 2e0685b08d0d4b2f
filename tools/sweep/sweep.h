/*
 * nnbench sweep / nnbench merge: many nnbench runs over a grid of settings, each in a fresh process,
 * sharded deterministically, merged into one results file with summaries and a plot (docs/sweeps.md).
 *
 * The pieces, each usable on its own (the tests call them directly):
 *   - a grid: axes (--axis NAME=V1,V2,...) as a cartesian product or zipped, times an optional shape set
 *     (--shapes FILE, one point per line: tools/sweep/shapes/README.md);
 *   - sharding: point k belongs to shard k mod n, so n shards hold every point exactly once;
 *   - a runner of points: each point x repeat is `nnbench <common args> <point's flags> --json-out F` in a
 *     fresh process; the shard's file holds every run's full JSON with the point's values added;
 *   - a merge of shard files, refusing mismatched sweeps and duplicate points, naming missing shards and
 *     failed runs; summaries over repeats (CSV, markdown, SVG);
 *   - Slurm: an `sbatch --array` job of the shards and a merge job that depends on it.
 *
 * Ownership: every structure here owns its strings and arrays; release with the matching _free function.
 * Errors: functions returning int give 0 on success, else non-zero with a one-line message in err.
 */
#ifndef NNB_SWEEP_H
#define NNB_SWEEP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NNB_SWEEP_MAX_AXES 16
#define NNB_SWEEP_MAX_KEYS 24 /* settings of one point: shape keys and axes */
#define NNB_SWEEP_MAX_POINTS 100000

/* What the sweep needs to know of nnbench's command line, given by the dispatcher (cmd/nnbench.c). */
typedef struct nnb_sweep_hooks {
    /* Canonical spelling of a flag a point may set ("hiddenSize" -> "--hiddenSize"); 0, or -1 with err. */
    int (*axis_flag)(const char *name, char *canonical, size_t cap, char *err, size_t err_len);
    /* May this flag be among the common arguments? 0, or -1 with err. */
    int (*base_flag)(const char *flag, char *err, size_t err_len);
    /* Parse a whole nnbench argv (argv[0] is ignored) as a run would, sizes included; 0, or -1 with err. */
    int (*check_argv)(int argc, char **argv, char *err, size_t err_len);
    const char *self_exe; /* absolute path of the nnbench binary that runs the points */
    /* The same three for --serve sweeps, whose points are `nnbench serve` runs (NULL: no --serve). */
    int (*serve_axis_flag)(const char *name, char *canonical, size_t cap, char *err, size_t err_len);
    int (*serve_base_flag)(const char *flag, char *err, size_t err_len);
    int (*serve_check_argv)(int argc, char **argv, char *err, size_t err_len);
    /* The flags of nnbench and of nnbench serve (canonical spellings, static strings): an argument that is
     * neither the sweep's nor theirs is refused up front with the closest of all (NULL: left to check_argv). */
    size_t (*flag_names)(const char **out, size_t cap);
    size_t (*serve_flag_names)(const char **out, size_t cap);
} nnb_sweep_hooks;

/* One setting of a point: "--hiddenSize" = "512", shown as "hiddenSize". */
typedef struct nnb_sweep_setting {
    char *flag;  /* canonical flag, "--hiddenSize" */
    char *key;   /* as written in the axis or shape file, "hiddenSize" */
    char *value; /* "512" */
} nnb_sweep_setting;

typedef struct nnb_sweep_point {
    int index;   /* position in the whole grid, 0-based */
    char *label; /* "hiddenSize=512 miniBatch=32", or the shape's name */
    char *model; /* the shape's model for the roll-up; NULL without a shape set */
    long count;  /* the shape's multiplicity (1 without a shape set) */
    int setting_count;
    nnb_sweep_setting settings[NNB_SWEEP_MAX_KEYS];
} nnb_sweep_point;

typedef struct nnb_sweep_axis {
    char *flag, *key;
    int value_count;
    char **values;
} nnb_sweep_axis;

/* A shape set file: one line a point. */
typedef struct nnb_shape_set {
    char *path;
    uint64_t content_hash; /* FNV-1a of the bytes: the same file under another path is the same sweep */
    char *group;           /* "# group: rnns" of the file's header: the nnbench group of its shapes; NULL: none */
    int count;
    nnb_sweep_point *shapes; /* index = line order; label = name= or the settings */
} nnb_shape_set;

/* Parse a shape set file (format: tools/sweep/shapes/README.md). Every line's keys are checked with
 * hooks->axis_flag; errors name path:line and the offending token. */
int nnb_shape_set_load(const char *path, const nnb_sweep_hooks *hooks, nnb_shape_set *out, char *err, size_t err_len);
void nnb_shape_set_free(nnb_shape_set *s);

typedef struct nnb_sweep_grid {
    int axis_count;
    nnb_sweep_axis axes[NNB_SWEEP_MAX_AXES];
    int zip;              /* axes advance together (all the same length) instead of a product */
    nnb_shape_set shapes; /* count 0: none */
    int point_count;
    nnb_sweep_point *points; /* whole grid, in order: shapes outermost, then axes (last axis fastest) */
} nnb_sweep_grid;

/* "--axis" value "NAME=V1,V2,..." added to the grid (before nnb_sweep_grid_expand). */
int nnb_sweep_grid_add_axis(nnb_sweep_grid *g, const char *spec, const nnb_sweep_hooks *hooks, char *err,
                            size_t err_len);
/* Build g->points from the axes and shapes; rejects zipped axes of unequal length, a key set twice
 * (by two axes, or by an axis and the shape set), and grids over NNB_SWEEP_MAX_POINTS. */
int nnb_sweep_grid_expand(nnb_sweep_grid *g, char *err, size_t err_len);
void nnb_sweep_grid_free(nnb_sweep_grid *g);

/* Sharding: is point index k in shard i of n? (k mod n == i). */
static inline int nnb_sweep_in_shard(int k, int shard_index, int shard_count) {
    return shard_count <= 1 || k % shard_count == shard_index;
}
/* "I/N" with 0 <= I < N <= 10000; 0 or -1 with err. */
int nnb_sweep_parse_shard(const char *text, int *index, int *count, char *err, size_t err_len);

/* The whole sweep command line. */
typedef struct nnb_sweep_options {
    nnb_sweep_grid grid;
    int repeat;                   /* fresh processes per point (default 1) */
    int serve;                    /* --serve: every point is an `nnbench serve` run (docs/serving.md) */
    int shard_index, shard_count; /* 0/1: everything */
    const char *out_dir;          /* default "sweep-results" */
    int base_argc;                /* common nnbench arguments of every run */
    char **base_argv;             /* (points into the caller's argv) */
    const char *plot_x;           /* axis key for the plot's x (NULL: the first numeric axis) */
    const char *plot_y;           /* "time" (default) or "gflops" */
    const char *plot_phase;       /* "total" (default), "forward", "backward" */
    const char *beside;           /* --beside FILE: whole runs (nnbench --json-out) beside the roll-up */
    double run_timeout_s;         /* 0: none; a run over this is killed and reported */
    int list_points;              /* print this shard's points and exit */
    int slurm;                    /* write and submit sbatch jobs instead of running */
    int slurm_shards;             /* --shards N for --slurm (default 4) */
    const char *sbatch;           /* sbatch command (default "sbatch") */
    int sbatch_arg_count;
    char **sbatch_args;      /* extra #SBATCH lines: "--partition=debug", "--time=01:00:00" */
    const char *merge_after; /* "ok" (afterok, default) or "any" (afterany) */
    uint64_t id;             /* the sweep's identity: hash of everything that defines its points */
    const char *shape_group; /* the shape set's group, added to the common arguments as --group because the
                                command line chose none (NULL: nothing added) */
    const char *progress;    /* --progress auto (default), always or never: the [i/N] lines on stderr */
} nnb_sweep_options;

/* argv after "sweep": sweep flags and the common nnbench flags, mixed; validates everything (each point's
 * whole argv with hooks->check_argv) before anything runs. 0, or 2 (usage) with err. */
int nnb_sweep_parse(int argc, char **argv, const nnb_sweep_hooks *hooks, nnb_sweep_options *o, char *err,
                    size_t err_len);
void nnb_sweep_options_free(nnb_sweep_options *o);
/* A shape-set sweep runs its set's group only: when the set declares one (# group:), the sweep is not a serve
 * sweep and the common arguments choose no group (--group, --variable-lstms), append "--group <group>" to
 * them and set o->shape_group. 0, or -1 with err (out of memory). Called by nnb_sweep_parse. */
int nnb_sweep_apply_shape_group(nnb_sweep_options *o, char *err, size_t err_len);

/* `nnbench sweep ...` and `nnbench merge ...`: exit status 0 everything ran; 1 some run failed or a shard is
 * missing (what there is, is written, marked incomplete); 2 bad command line, shard mismatch, duplicate point
 * or unwritable output (nothing written); 130 interrupted. */
int nnb_sweep_main(int argc, char **argv, const nnb_sweep_hooks *hooks);
int nnb_merge_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
