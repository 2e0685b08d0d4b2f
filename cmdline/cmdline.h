/*
 * The one command-line layer of every nnbench command (a leaf: libc only).
 *
 *  - spellings: "--max_batch" and "--max-batch" are the same flag: underscores after the leading dashes
 *    become dashes, camelCase is kept ("--hiddenSize");
 *  - -h and --help ask for help everywhere;
 *  - "did you mean": the closest candidate by edit distance (Damerau-Levenshtein, adjacent swaps count
 *    one), ignoring case, leading dashes and dash/underscore differences;
 *  - one help layout: "  --flag METAVAR   text", metavars FILE, DIR, N (integer), S (seconds),
 *    MS (milliseconds), NAME, R (a rate or ratio);
 *  - one output-path rule: missing parent folders are created (mkdir -p); a directory where a file is
 *    expected, or a file where a directory is, is refused with the flag named and the fix.
 *
 * Errors: functions returning int give 0 on success, -1 with a one-line message in err (NUL-terminated,
 * truncated to err_len). No function keeps a pointer to its arguments but nnb_cmd_suggest, whose result
 * points into candidates.
 */
#ifndef NNB_CMDLINE_H
#define NNB_CMDLINE_H

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The closest of candidates[n] to word, or NULL when none is close enough: the allowed distance grows
 * with the word's length (0 for 1-2 characters, 1 up to 5, 2 up to 8, then 3). NULL candidates are
 * skipped; ties go to the first. */
const char *nnb_cmd_suggest(const char *word, const char *const *candidates, size_t n);

/* Append "; did you mean 'X'?" to msg (a NUL-terminated string in a buffer of cap bytes) when
 * nnb_cmd_suggest finds X, with prefix before X (e.g. "--" for flags named without dashes, or "").
 * Returns 1 when a suggestion was appended, else 0 (msg unchanged). */
int nnb_cmd_append_suggestion(char *msg, size_t cap, const char *word, const char *const *candidates, size_t n);

/* The canonical spelling of a flag argument: "--max_batch=3" -> "--max-batch" (the part before '=';
 * underscores after the leading dashes become dashes; case kept). out gets at most cap-1 characters. */
void nnb_cmd_flag_spelling(const char *arg, char *out, size_t cap);

/* Is arg (case kept, the part before '=') the flag `canonical` in any spelling? */
int nnb_cmd_flag_is(const char *arg, const char *canonical);

/* Is arg -h or --help? */
int nnb_cmd_is_help(const char *arg);

/* One line of a help listing: "  --flag METAVAR   help" with the left part padded to width. */
void nnb_cmd_print_flag(FILE *f, int width, const char *flag, const char *metavar, const char *help);

/* One line on stderr: "PROG: note: OLD is deprecated, use NEW (OLD still works for now)". */
void nnb_cmd_note_deprecated(const char *prog, const char *old_flag, const char *new_flag);

/* mkdir -p dir: 0, or -1 with err naming the folder that could not be made and why. */
int nnb_cmd_make_dirs(const char *dir, char *err, size_t err_len);

/* The output path of flag (e.g. "--csv"). is_dir 0: path is a file to write; its missing parent folders
 * are created; a path that is a directory is refused. is_dir 1: path is a directory, created with its
 * parents; a path that is a file is refused. 0, or -1 with err naming the flag, the path and the fix. */
int nnb_cmd_prepare_output(const char *flag, const char *path, int is_dir, char *err, size_t err_len);

#ifdef __cplusplus
}
#endif
#endif
