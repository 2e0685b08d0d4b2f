/* Spellings, help lines and "did you mean" (cmdline.h). */
#include "cmdline.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define NNB_CMD_WORD_MAX 64 /* longer words are compared by their first 63 characters */

/* The form words are compared in: no leading dashes, lower case, '_' as '-'. */
static size_t comparable(const char *s, char *out) {
    while (*s == '-')
        s++;
    size_t n = 0;
    for (; s[n] && s[n] != '=' && n + 1 < NNB_CMD_WORD_MAX; n++)
        out[n] = s[n] == '_' ? '-' : (char)tolower((unsigned char)s[n]);
    out[n] = 0;
    return n;
}

static size_t min3(size_t a, size_t b, size_t c) {
    size_t m = a < b ? a : b;
    return m < c ? m : c;
}

/* Optimal-string-alignment distance: insertions, deletions, substitutions, adjacent swaps. */
static size_t edit_distance(const char *a, size_t la, const char *b, size_t lb) {
    static size_t d[NNB_CMD_WORD_MAX][NNB_CMD_WORD_MAX]; /* single-threaded command-line parsing */
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            d[i][j] = min3(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < d[i][j])
                d[i][j] = d[i - 2][j - 2] + 1;
        }
    return d[la][lb];
}

static size_t allowed_distance(size_t len) { return len <= 2 ? 0 : len <= 5 ? 1 : len <= 8 ? 2 : 3; }

const char *nnb_cmd_suggest(const char *word, const char *const *candidates, size_t n) {
    char w[NNB_CMD_WORD_MAX], c[NNB_CMD_WORD_MAX];
    size_t lw = comparable(word ? word : "", w), best_d = allowed_distance(lw) + 1;
    const char *best = NULL;
    if (!lw)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (!candidates[i])
            continue;
        size_t lc = comparable(candidates[i], c);
        size_t dist = edit_distance(w, lw, c, lc);
        if (dist < best_d && dist < lc) { /* never "replace everything" */
            best_d = dist;
            best = candidates[i];
        }
    }
    return best;
}

int nnb_cmd_append_suggestion(char *msg, size_t cap, const char *word, const char *const *candidates, size_t n) {
    const char *s = nnb_cmd_suggest(word, candidates, n);
    size_t used = strlen(msg);
    if (!s || used >= cap)
        return 0;
    snprintf(msg + used, cap - used, "; did you mean '%s'?", s);
    return 1;
}

void nnb_cmd_flag_spelling(const char *arg, char *out, size_t cap) {
    size_t dashes = strspn(arg, "-"), i = 0;
    if (!cap)
        return;
    for (; arg[i] && arg[i] != '=' && i + 1 < cap; i++)
        out[i] = (i >= dashes && arg[i] == '_') ? '-' : arg[i];
    out[i] = 0;
}

int nnb_cmd_flag_is(const char *arg, const char *canonical) {
    char name[128];
    nnb_cmd_flag_spelling(arg, name, sizeof name);
    return !strcmp(name, canonical);
}

int nnb_cmd_is_help(const char *arg) { return !strcmp(arg, "-h") || !strcmp(arg, "--help"); }

void nnb_cmd_print_flag(FILE *f, int width, const char *flag, const char *metavar, const char *help) {
    char left[128];
    snprintf(left, sizeof left, "%s%s%s", flag, metavar && *metavar ? " " : "", metavar ? metavar : "");
    fprintf(f, "  %-*s %s\n", width, left, help);
}

void nnb_cmd_note_deprecated(const char *prog, const char *old_flag, const char *new_flag) {
    fprintf(stderr, "%s: note: %s is deprecated, use %s (%s still works for now)\n", prog, old_flag, new_flag,
            old_flag);
}
