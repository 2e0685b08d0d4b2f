/*
 * Reading result files into the store's model (store.h: a file of runs, each run one point of a series
 * keyed by machine + runner + phase + config). docs/history.md says what is read from each format.
 *
 * Formats, detected from the content: nnbench (full JSON, --json-out), sweep (sweep.json), serve (nnbench
 * serve --json-out), fastrnns-oss (--print-json oss), pytest-benchmark (pytest-benchmark --benchmark-json,
 * nnbench --print-json pytest-benchmark) and history-export (`nnbench history export`, which becomes the
 * files it was made from).
 *
 * Ownership: nnb_ingest_file allocates *out; every string and array in it is owned by it and freed by
 * nnb_ingest_free. Errors: -1 with a one-line message naming the file, the problem and the fix.
 */
#ifndef NNB_INGEST_H
#define NNB_INGEST_H

#include "store.h"

#include <stddef.h>

typedef struct nnb_ingest_options {
    const char *commit; /* overrides the file's own; NULL: the file's (may stay NULL) */
    const char *date;   /* ISO-8601, overrides the file's own; NULL: the file's, else its mtime (noted) */
    const char *label;  /* NULL: none */
    const char *unit;   /* fastrnns OSS times: "s" or "ms"; NULL: ms, with a note */
} nnb_ingest_options;

typedef struct nnb_ingest_result {
    const char *format;    /* the format detected */
    nnb_store_file *files; /* one, or an export's files */
    int file_count;
    char notes[1024]; /* lines worth showing ("no date in the file: its mtime ..."), "" when none */
    void *owned;      /* private: what nnb_ingest_free releases */
} nnb_ingest_result;

/* The names of the formats, comma-separated (for messages). */
extern const char NNB_INGEST_FORMATS[];

/* Reads path (whole) and parses it. 0, or -1 with err. */
int nnb_ingest_file(const char *path, const nnb_ingest_options *opt, nnb_ingest_result **out, char *err,
                    size_t err_len);
/* The same from text already read (len bytes); mtime is used when the text has no date and none is given. */
int nnb_ingest_text(const char *path, const char *text, size_t len, long long mtime, const nnb_ingest_options *opt,
                    nnb_ingest_result **out, char *err, size_t err_len);
void nnb_ingest_free(nnb_ingest_result *r);

/* An ISO-8601 date or date-time ("2026-12-06", "2026-12-06T05:58:23Z", "...T05:58:23.5+02:00", a space for
 * the T; no zone means UTC) as "YYYY-MM-DDTHH:MM:SSZ" in UTC. 0, or -1 when text is not such a date. */
int nnb_ingest_normalize_date(const char *text, char out[21]);

#endif
