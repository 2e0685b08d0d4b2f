/* What the format readers share (ingest.c): a builder that owns every string and array it hands out. */
#ifndef NNB_INGEST_INTERNAL_H
#define NNB_INGEST_INTERNAL_H

#include "ingest.h"

#include <cjson/cJSON.h>

typedef struct ingest_builder {
    const char *path;
    const nnb_ingest_options *opt;
    char *err;
    size_t err_len;
    void **owned; /* every allocation, freed together */
    int owned_count, owned_cap;
    nnb_store_run *runs; /* the file being built */
    int run_count, run_cap;
    nnb_store_file *files;
    int file_count, file_cap;
    /* What the reader found in the file (NULL when absent); ingest.c applies the options over them. */
    const char *file_commit, *file_date;
    cJSON *provenance; /* owned by the builder until the file is finished */
    char notes[1024];
} ingest_builder;

/* -1, with "PATH: message" in the builder's err. */
int ib_fail(ingest_builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ib_note(ingest_builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A copy owned by the builder (NULL for NULL; NULL with err set when out of memory is reported by add_run). */
const char *ib_strdup(ingest_builder *b, const char *s);
/* Canonical JSON (sorted keys, no blanks) of item, owned by the builder. */
const char *ib_canonical(ingest_builder *b, const cJSON *item);
/* Adds one run to the file being built; samples (n may be 0) are copied. 0 or -1. */
int ib_add_run(ingest_builder *b, const char *machine, const char *runner, const char *phase, const char *config,
               const char *unit, int higher_is_better, double value, const double *samples, int n);

/* The first document read gives the file's commit (context.git_sha), date and provenance {what: context}. */
void ib_keep_provenance(ingest_builder *b, const cJSON *context, const char *what);

/* Canonical JSON text of item, malloc'ed (NULL when out of memory). */
char *nnb_canonical_json(const cJSON *item);

/* A string member or NULL (also for null and empty strings). */
const char *ib_string(const cJSON *obj, const char *key);

/* A series' precision (--dtype) in its config key: `precision` (the runner's own when given, else the run's)
 * for tf32, bf16 and fp16; none for fp32, so fp32 series recorded before nnbench had --dtype go on. */
void ib_key_precision(cJSON *config, const char *runner_precision);

/* The readers: runs of root into the builder, and file_commit/file_date/provenance where the file has them.
 * extra_config (may be NULL): an object merged into every run's config (a sweep point's settings). */
int ingest_nnbench(ingest_builder *b, const cJSON *root, const cJSON *extra_config);
int ingest_serve(ingest_builder *b, const cJSON *root, const cJSON *extra_config);
int ingest_sweep(ingest_builder *b, const cJSON *root);
int ingest_fastrnns_oss(ingest_builder *b, const cJSON *root);
int ingest_pytest_benchmark(ingest_builder *b, const cJSON *root);
/* An export: each of its files is finished here (ib_finish_file), keeping its own sha256, commit, date. */
int ingest_export(ingest_builder *b, const cJSON *root);
int ib_finish_file(ingest_builder *b, const char *sha256, const char *format, const char *commit, const char *date,
                   const char *label, const char *provenance);

/* Is root a fastrnns OSS document ({"group": {"runner": number, ...}, ...})? */
int ingest_is_fastrnns_oss(const cJSON *root);

#define NNB_EXPORT_SCHEMA "nnbench-history-export"

#endif
