/*
 * Parsing the text of a result file as JSON: one value and nothing else, with
 * syntax errors located by line and column and a cut-off file called so.
 */
#include "compare_internal.h"

#include <stdint.h>
#include <string.h>

/* ---- JSON syntax errors ---------------------------------------------------------- */

static int is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* 1-based line and column (in bytes) of text[offset]. */
static void line_and_column(const char *text, size_t offset, int *line, int *column) {
    *line = 1;
    size_t line_start = 0;
    for (size_t i = 0; i < offset; i++)
        if (text[i] == '\n')
            (*line)++, line_start = i + 1;
    *column = (int)(offset - line_start) + 1;
}

/* Scan of the whole text outside strings: open brackets at the end, and where
 * a string that never closes starts (len when every string closes). */
typedef struct json_end {
    long open_brackets;
    size_t open_string;
} json_end;

static json_end scan_end(const char *text, size_t len) {
    json_end e = {0, len};
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (e.open_string < len) {
            if (c == '\\')
                i++;
            else if (c == '"')
                e.open_string = len;
        } else if (c == '"') {
            e.open_string = i;
        } else if (c == '{' || c == '[') {
            e.open_brackets++;
        } else if (c == '}' || c == ']') {
            e.open_brackets--;
        }
    }
    return e;
}

/* Whether cJSON failed on the last token because the text stops in it: a string
 * that never closes, or the start of true/false/null. */
static int stops_in_last_token(const char *text, size_t len, size_t offset, json_end e) {
    if (e.open_string <= offset)
        return 1;
    static const char *const literals[] = {"true", "false", "null"};
    size_t rest = len - offset;
    for (int i = 0; i < 3; i++)
        if (rest < strlen(literals[i]) && strncmp(text + offset, literals[i], rest) == 0)
            return 1;
    return 0;
}

/* The few bytes at text[offset] for a message, non-printable ones as '?'. */
static void snippet_at(const char *text, size_t len, size_t offset, char *out, size_t out_len) {
    size_t n = 0;
    for (size_t i = offset; i < len && text[i] != '\n' && n + 1 < out_len && n < 16; i++)
        out[n++] = (unsigned char)text[i] < 0x20 || text[i] == 0x7f ? '?' : text[i];
    out[n] = '\0';
}

static void describe_syntax_error(const char *name, const char *text, size_t len, size_t offset, char *err,
                                  size_t err_len) {
    int line, column;
    json_end e = scan_end(text, len);
    int at_end = offset >= len || stops_in_last_token(text, len, offset, e);
    if (!at_end) {
        char near[20];
        snippet_at(text, len, offset, near, sizeof near);
        line_and_column(text, offset, &line, &column);
        nnb_cmp_errorf(err, err_len, "%s:%d:%d: invalid JSON near '%s'", name, line, column, near);
        return;
    }
    /* Point just after the last character that is not white space: where the text stops. */
    size_t end = len;
    while (end > 0 && is_json_space(text[end - 1]))
        end--;
    line_and_column(text, end, &line, &column);
    if (offset < len || e.open_brackets > 0 || e.open_string < len)
        nnb_cmp_errorf(err, err_len, "%s:%d:%d: invalid JSON (truncated?)", name, line, column);
    else
        nnb_cmp_errorf(err, err_len, "%s:%d:%d: invalid JSON (the parser gave up at the end of the input)", name, line,
                       column);
}

cJSON *nnb_cmp_parse_json(const char *name, const char *text, size_t len, char *err, size_t err_len) {
    const char *nul = memchr(text, '\0', len);
    if (nul) {
        int line, column;
        line_and_column(text, (size_t)(nul - text), &line, &column);
        nnb_cmp_errorf(err, err_len, "%s:%d:%d: NUL byte: not a JSON text file", name, line, column);
        return NULL;
    }
    size_t first = 0;
    while (first < len && is_json_space(text[first]))
        first++;
    if (first == len) {
        nnb_cmp_errorf(err, err_len, "%s: only white space, expected nnbench full JSON or fastrnns OSS JSON", name);
        return NULL;
    }
    if (strncmp(text + first, "Caffe2Observer", 14) == 0) {
        nnb_cmp_errorf(err, err_len,
                       "%s: AI-PEP lines (--print-json pep), expected nnbench full JSON (--json-out) or "
                       "fastrnns OSS JSON (--print-json oss)",
                       name);
        return NULL;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &end, 0);
    if (!root) {
        size_t offset = end && end >= text ? (size_t)(end - text) : len;
        describe_syntax_error(name, text, len, offset, err, err_len);
        return NULL;
    }
    size_t rest = end ? (size_t)(end - text) : len;
    while (rest < len && is_json_space(text[rest]))
        rest++;
    if (rest < len) {
        int line, column;
        line_and_column(text, rest, &line, &column);
        nnb_cmp_errorf(err, err_len, "%s:%d:%d: unexpected text after the JSON value", name, line, column);
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}
