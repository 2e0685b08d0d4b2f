/* benchdnn-style convolution descriptors: parse, deduce, check, print (conv_desc.h). */
#include "conv_desc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Keys in canonical order; the spatial ones come in (d, h, w) triples. */
enum {
    K_G,
    K_MB,
    K_IC,
    K_OC,
    K_I,
    K_O = K_I + 3,
    K_K = K_O + 3,
    K_S = K_K + 3,
    K_P = K_S + 3,
    K_D = K_P + 3,
    K_COUNT = K_D + 3
};
static const char *const KEYS[K_COUNT] = {"g",  "mb", "ic", "oc", "id", "ih", "iw", "od", "oh", "ow", "kd",
                                          "kh", "kw", "sd", "sh", "sw", "pd", "ph", "pw", "dd", "dh", "dw"};
#define KEY_LIST "g mb ic oc id ih iw od oh ow kd kh kw sd sh sw pd ph pw dd dh dw, then n\"name\""
#define EXAMPLE "mb32ic64ih56oc64oh56kh3ph1"

typedef struct parse_state {
    const char *text;
    int64_t v[K_COUNT];
    int given[K_COUNT];
    size_t pos[K_COUNT]; /* 1-based character of each given key */
    size_t name_pos;
    char name[NNB_CONV_DESC_NAME_MAX];
    char *err;
    size_t err_len;
} parse_state;

static int fail(parse_state *s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, s->err_len, fmt, ap);
    va_end(ap);
    return -1;
}

static int is_lower(char c) { return c >= 'a' && c <= 'z'; }
static int is_alpha(char c) { return is_lower(c) || (c >= 'A' && c <= 'Z'); }
static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int key_index(const char *k, size_t len) {
    for (int i = 0; i < K_COUNT; i++)
        if (strlen(KEYS[i]) == len && !strncmp(KEYS[i], k, len))
            return i;
    return -1;
}

/* n"TEXT" or nTEXT (to the end). at points at the 'n'. */
static int parse_name(parse_state *s, size_t at) {
    const char *t = s->text;
    size_t start = at + 1, end;
    s->name_pos = at + 1;
    if (t[start] == '"') {
        const char *close = strchr(t + start + 1, '"');
        if (!close)
            return fail(s, "the name at character %zu has no closing quote (write n\"NAME\")", at + 1);
        end = (size_t)(close - t);
        start++;
        if (t[end + 1])
            return fail(s, "unexpected text '%s' at character %zu after the name (the name comes last)", t + end + 1,
                        end + 2);
    } else {
        end = strlen(t);
        if (strchr(t + start, '"'))
            return fail(s, "the name at character %zu has a stray quote (write n\"NAME\")", at + 1);
    }
    if (end == start)
        return fail(s, "the name at character %zu is empty (write n\"NAME\" or leave it out)", at + 1);
    if (end - start >= NNB_CONV_DESC_NAME_MAX)
        return fail(s, "the name at character %zu is longer than %d characters", at + 1, NNB_CONV_DESC_NAME_MAX - 1);
    for (size_t i = start; i < end; i++)
        if ((unsigned char)t[i] < 0x20 || t[i] == ' ')
            return fail(s, "the name at character %zu has a space or control character at character %zu", at + 1,
                        i + 1);
    memcpy(s->name, t + start, end - start);
    s->name[end - start] = 0;
    return 0;
}

/* KEY NUMBER at position i; *next gets the position after the number. */
static int parse_entry(parse_state *s, size_t i, size_t *next) {
    const char *t = s->text;
    size_t k = i;
    while (is_alpha(t[k]))
        k++;
    if (k == i)
        return fail(s, "unexpected '%c' at character %zu (expected a key such as ih, or n\"name\"; keys: %s)", t[i],
                    i + 1, KEY_LIST);
    int key = key_index(t + i, k - i);
    if (key < 0)
        return fail(s, "unknown key '%.*s' at character %zu (keys: %s)", (int)(k - i), t + i, i + 1, KEY_LIST);
    if (s->given[key])
        return fail(s, "key '%s' given twice (characters %zu and %zu)", KEYS[key], s->pos[key], i + 1);
    size_t d = k;
    int64_t x = 0;
    for (; is_digit(t[d]); d++) {
        int digit = t[d] - '0';
        if (x > (INT64_MAX - digit) / 10)
            return fail(s, "key '%s' at character %zu: %.*s overflows int64", KEYS[key], i + 1,
                        (int)strspn(t + k, "0123456789"), t + k);
        x = x * 10 + digit;
    }
    if (d == k)
        return fail(s, "key '%s' at character %zu has no number (e.g. %s%s)", KEYS[key], i + 1, KEYS[key],
                    key >= K_P ? "1" : "3");
    if (x > NNB_CONV_DESC_MAX_VALUE)
        return fail(s, "key '%s' at character %zu: %lld is too large (at most %lld)", KEYS[key], i + 1, (long long)x,
                    NNB_CONV_DESC_MAX_VALUE);
    if (x == 0 && key < K_P)
        return fail(s, "key '%s' at character %zu: 0 is not a positive size", KEYS[key], i + 1);
    s->v[key] = x, s->given[key] = 1, s->pos[key] = i + 1;
    *next = d;
    return 0;
}

static int tokenize(parse_state *s) {
    const char *t = s->text;
    size_t i = 0;
    while (t[i] == '_')
        i++;
    if (!t[i])
        return fail(s, "empty descriptor (e.g. %s)", EXAMPLE);
    while (t[i]) {
        if (t[i] == '_') {
            i++;
            continue;
        }
        if (t[i] == 'n') /* no key starts with n: the name */
            return parse_name(s, i);
        if (parse_entry(s, i, &i))
            return -1;
    }
    return 0;
}

static int any_given(const parse_state *s, int first) {
    return s->given[first] | s->given[first + 1] | s->given[first + 2];
}

/* Fill the missing members of triple first (d, h, w) by the rules of conv_desc.h; def when none is given. */
static void fill_triple(parse_state *s, int first, int three_d, int64_t def) {
    int64_t *v = &s->v[first];
    const int *g = &s->given[first];
    int d = 0, h = 1, w = 2;
    if (!g[h] && !g[w]) {
        v[h] = v[w] = three_d && g[d] ? v[d] : def;
    } else {
        v[h] = g[h] ? v[h] : v[w];
        v[w] = g[w] ? v[w] : v[h];
    }
    if (!g[d])
        v[d] = three_d && (g[h] || g[w]) ? v[h] : def;
    if (!three_d)
        v[d] = def;
}

/* Where a triple's member came from, for messages: the key given, else the one it was deduced from. */
static const char *origin(const parse_state *s, int key) {
    static char buf[4][48];
    static int next;
    char *b = buf[next++ % 4];
    int first = key - (key - K_I) % 3;
    if (s->given[key])
        snprintf(b, sizeof buf[0], "key '%s' at character %zu", KEYS[key], s->pos[key]);
    else
        for (int m = first; m < first + 3; m++)
            if (s->given[m]) {
                snprintf(b, sizeof buf[0], "'%s' from key '%s' at character %zu", KEYS[key], KEYS[m], s->pos[m]);
                return b;
            }
    if (!s->given[key])
        snprintf(b, sizeof buf[0], "'%s' by default", KEYS[key]);
    return b;
}

/* One spatial dimension a (0 d, 1 h, 2 w): deduce the input or the output or the padding, then check. */
static int deduce_dim(parse_state *s, int a, int have_i, int have_o, int have_p) {
    int64_t *i = &s->v[K_I + a], *o = &s->v[K_O + a], k = s->v[K_K + a], st = s->v[K_S + a], *p = &s->v[K_P + a];
    int64_t dl = s->v[K_D + a];
    int64_t span = (k - 1) * (dl + 1) + 1; /* the kernel's extent with dilation; values <= 2^31 keep this in int64 */
    if (!have_i) {
        *i = (*o - 1) * st - 2 * *p + span;
        if (*i < 1)
            return fail(s, "%s deduced from %s=%lld, %s=%lld, %s=%lld, %s=%lld, %s=%lld is %lld, not positive: give %s",
                        KEYS[K_I + a], KEYS[K_O + a], (long long)*o, KEYS[K_K + a], (long long)k, KEYS[K_S + a],
                        (long long)st, KEYS[K_P + a], (long long)*p, KEYS[K_D + a], (long long)dl, (long long)*i,
                        KEYS[K_I + a]);
        return 0;
    }
    if (have_o && !have_p) {
        int64_t twice = (*o - 1) * st - *i + span;
        *p = twice > 0 ? twice / 2 : 0;
    }
    int64_t room = *i + 2 * *p - span;
    if (room < 0)
        return fail(s, "%s=%lld with %s=%lld spans %lld, more than %s=%lld padded by %s=%lld on each side (%s)",
                    KEYS[K_K + a], (long long)k, KEYS[K_D + a], (long long)dl, (long long)span, KEYS[K_I + a],
                    (long long)*i, KEYS[K_P + a], (long long)*p, origin(s, K_K + a));
    int64_t want = room / st + 1;
    if (have_o && *o != want)
        return fail(s, "%s=%lld but %s=%lld %s=%lld %s=%lld %s=%lld %s=%lld give %lld (%s)", KEYS[K_O + a],
                    (long long)*o, KEYS[K_I + a], (long long)*i, KEYS[K_K + a], (long long)k, KEYS[K_S + a],
                    (long long)st, KEYS[K_P + a], (long long)*p, KEYS[K_D + a], (long long)dl, (long long)want,
                    origin(s, K_O + a));
    *o = want;
    return 0;
}

static int deduce(parse_state *s, int three_d) {
    if (!s->given[K_IC])
        return fail(s, "ic (input channels) is missing (e.g. %s)", EXAMPLE);
    if (!s->given[K_OC])
        return fail(s, "oc (output channels) is missing (e.g. %s)", EXAMPLE);
    if (!any_given(s, K_K))
        return fail(s, "the kernel size is missing: give kh (kw takes it too) (e.g. %s)", EXAMPLE);
    int have_i = any_given(s, K_I), have_o = any_given(s, K_O), have_p = any_given(s, K_P);
    if (!have_i && !have_o)
        return fail(s, "the input size is missing: give ih (iw takes it too) or the output size oh (e.g. %s)", EXAMPLE);
    fill_triple(s, K_K, three_d, 1);
    fill_triple(s, K_S, three_d, 1);
    fill_triple(s, K_P, three_d, 0);
    fill_triple(s, K_D, three_d, 0);
    fill_triple(s, K_I, three_d, 1);
    fill_triple(s, K_O, three_d, 1);
    for (int a = three_d ? 0 : 1; a < 3; a++)
        if (deduce_dim(s, a, have_i, have_o, have_p))
            return -1;
    if (!s->given[K_G])
        s->v[K_G] = 1;
    if (!s->given[K_MB])
        s->v[K_MB] = NNB_CONV_DESC_DEFAULT_MB;
    const char *const ch[2] = {"ic", "oc"};
    for (int c = 0; c < 2; c++)
        if (s->v[K_IC + c] % s->v[K_G])
            return fail(s, "%s=%lld is not divisible by g=%lld (key '%s' at character %zu)", ch[c],
                        (long long)s->v[K_IC + c], (long long)s->v[K_G], ch[c], s->pos[K_IC + c]);
    return 0;
}

/* a * b * ... within limit, else -1. */
static int64_t product(const int64_t *f, int n, int64_t limit) {
    int64_t r = 1;
    for (int i = 0; i < n; i++)
        if (f[i] <= 0 || r > limit / f[i])
            return -1;
        else
            r *= f[i];
    return r;
}

/* Each tensor's bytes (with room for doubles) must fit in int64 and size_t. */
static int check_sizes(const nnb_conv_desc *d, char *err, size_t err_len) {
    const int64_t limit = (int64_t)((SIZE_MAX / 8 < (uint64_t)INT64_MAX / 8) ? SIZE_MAX / 8 : INT64_MAX / 8);
    const int64_t x[] = {d->mb, d->ic, d->id, d->ih, d->iw}, w[] = {d->oc, d->ic / d->g, d->kd, d->kh, d->kw},
                  y[] = {d->mb, d->oc, d->od, d->oh, d->ow};
    const int64_t *t[3] = {x, w, y};
    const char *what[3] = {"x (mb*ic*id*ih*iw)", "w (oc*ic/g*kd*kh*kw)", "y (mb*oc*od*oh*ow)"};
    for (int i = 0; i < 3; i++)
        if (product(t[i], 5, limit) < 0) {
            snprintf(err, err_len, "the tensor %s has too many elements: its size overflows (at most %lld elements)",
                     what[i], (long long)limit);
            return -1;
        }
    return 0;
}

static void copy_out(const parse_state *s, int three_d, nnb_conv_desc *d) {
    memset(d, 0, sizeof *d);
    d->ndims = three_d ? 5 : 4;
    int64_t *dst[K_COUNT] = {&d->g,  &d->mb, &d->ic, &d->oc, &d->id, &d->ih, &d->iw, &d->od, &d->oh, &d->ow, &d->kd,
                             &d->kh, &d->kw, &d->sd, &d->sh, &d->sw, &d->pd, &d->ph, &d->pw, &d->dd, &d->dh, &d->dw};
    for (int k = 0; k < K_COUNT; k++)
        *dst[k] = s->v[k];
    d->mb_given = s->given[K_MB];
    memcpy(d->name, s->name, sizeof d->name);
}

int nnb_conv_desc_parse(const char *text, nnb_conv_desc *out, char *err, size_t err_len) {
    parse_state s;
    memset(&s, 0, sizeof s);
    s.text = text ? text : "", s.err = err, s.err_len = err_len;
    if (tokenize(&s))
        return -1;
    int three_d = 0;
    for (int t = K_I; t < K_COUNT; t += 3)
        three_d |= s.given[t];
    nnb_conv_desc d;
    if (deduce(&s, three_d))
        return -1;
    copy_out(&s, three_d, &d);
    if (check_sizes(&d, err, err_len))
        return -1;
    *out = d;
    return 0;
}

int nnb_conv_desc_set_mb(nnb_conv_desc *d, int64_t mb, char *err, size_t err_len) {
    if (mb < 1 || mb > NNB_CONV_DESC_MAX_VALUE) {
        snprintf(err, err_len, "minibatch %lld is out of range (1..%lld)", (long long)mb, NNB_CONV_DESC_MAX_VALUE);
        return -1;
    }
    nnb_conv_desc t = *d;
    t.mb = mb;
    if (check_sizes(&t, err, err_len))
        return -1;
    *d = t;
    return 0;
}

typedef struct out_buf {
    char *buf;
    size_t cap, len;
} out_buf;

static void put(out_buf *o, const char *key, int64_t v) {
    int n = snprintf(o->len < o->cap ? o->buf + o->len : NULL, o->len < o->cap ? o->cap - o->len : 0, "%s%lld", key,
                     (long long)v);
    o->len += n > 0 ? (size_t)n : 0;
}

/* The members of triple (v[0], v[1], v[2]) = (d, h, w) that parsing needs back (the inverse of fill_triple). */
static void put_triple(out_buf *o, const char *letter, const int64_t *v, int three_d, int64_t def, int omit_default) {
    char k[3][4];
    snprintf(k[0], sizeof k[0], "%sd", letter);
    snprintf(k[1], sizeof k[1], "%sh", letter);
    snprintf(k[2], sizeof k[2], "%sw", letter);
    if (!three_d) {
        if (omit_default && v[1] == def && v[2] == def)
            return;
        put(o, k[1], v[1]);
        if (v[2] != v[1])
            put(o, k[2], v[2]);
        return;
    }
    if (omit_default && v[0] == def && v[1] == def && v[2] == def)
        return;
    put(o, k[0], v[0]);
    if (v[1] != v[0] || v[2] != v[1])
        put(o, k[1], v[1]);
    if (v[2] != v[1])
        put(o, k[2], v[2]);
}

size_t nnb_conv_desc_format(const nnb_conv_desc *d, char *buf, size_t cap) {
    out_buf o = {buf, cap, 0};
    if (cap)
        buf[0] = 0;
    int three_d = d->ndims == 5;
    if (d->g != 1)
        put(&o, "g", d->g);
    put(&o, "mb", d->mb);
    put(&o, "ic", d->ic);
    put_triple(&o, "i", &d->id, three_d, 1, 0);
    put(&o, "oc", d->oc);
    put_triple(&o, "o", &d->od, three_d, 1, 0);
    put_triple(&o, "k", &d->kd, three_d, 1, 0);
    put_triple(&o, "s", &d->sd, three_d, 1, 1);
    /* the padding is always written when not zero: deduction from sizes is the parser's convenience only */
    put_triple(&o, "p", &d->pd, three_d, 0, 1);
    put_triple(&o, "d", &d->dd, three_d, 0, 1);
    if (d->name[0]) {
        int n = snprintf(o.len < cap ? buf + o.len : NULL, o.len < cap ? cap - o.len : 0, "n\"%s\"", d->name);
        o.len += n > 0 ? (size_t)n : 0;
    }
    return o.len;
}

int64_t nnb_conv_desc_x_count(const nnb_conv_desc *d) { return d->mb * d->ic * d->id * d->ih * d->iw; }
int64_t nnb_conv_desc_w_count(const nnb_conv_desc *d) { return d->oc * (d->ic / d->g) * d->kd * d->kh * d->kw; }
int64_t nnb_conv_desc_y_count(const nnb_conv_desc *d) { return d->mb * d->oc * d->od * d->oh * d->ow; }
double nnb_conv_desc_macs(const nnb_conv_desc *d) {
    return (double)nnb_conv_desc_y_count(d) * (double)(d->ic / d->g) * (double)(d->kd * d->kh * d->kw);
}
