/*
 * SVG line plots (svg_plot.h).
 *
 * Layout, in pixels with y down: the title on top, the y label and y tick labels
 * left of the plot area, the x tick labels and x label below it, the legend to
 * its right. There are no font metrics: text widths are estimated (CHAR_EM per
 * character, about DejaVu Sans, the widest common sans-serif), margins are sized
 * from the estimates, and text that would still not fit is squeezed with
 * textLength rather than clipped.
 *
 * Numbers: coordinates are printed from integers (fixed_2), other numbers with
 * snprintf and the locale's decimal point replaced by '.' (dot_decimal); only
 * %s, %d and %c reach sb_printf.
 */
#define _POSIX_C_SOURCE 200809L
#include "svg_plot.h"

#include "report.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__)
#define NNB_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define NNB_PRINTF(f, a)
#endif

enum { MAX_TICKS = 64, PALETTE_SIZE = 10, DASH_COUNT = 4 };

#define CHAR_EM 0.6      /* estimated width of a character, in em */
#define FONT_TICK 12.0   /* tick labels */
#define FONT_LABEL 13.0  /* axis labels */
#define FONT_TITLE 16.0  /* title */
#define FONT_LEGEND 12.0 /* legend, unless rows must shrink */
#define TICK_LEN 5.0     /* tick marks, outside the plot area */
#define PAD_FRACTION 0.05
#define MARKER_R 3.5

/* Okabe & Ito's palette without its yellow, then three of Paul Tol's: readable
 * with the common colour-vision deficiencies, and on white. */
static const char *const palette[PALETTE_SIZE] = {"#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7",
                                                  "#56B4E9", "#882255", "#999933", "#332288", "#000000"};
/* Series 10..19 dashed, 20..29 dotted, ...: stroke-dasharray, NULL for solid. */
static const char *const dashes[DASH_COUNT] = {NULL, "7 4", "2 3", "9 3 2 3"};

static void set_err(char *err, size_t err_len, const char *fmt, ...) NNB_PRINTF(3, 4);
static void set_err(char *err, size_t err_len, const char *fmt, ...) {
    if (!err || err_len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

/* ---- numbers, locale-independent ---- */

typedef struct num {
    char s[48];
} num;

/* Replaces the locale's decimal point in s (as snprintf wrote it) by '.'. */
static void dot_decimal(char *s) {
    char probe[16];
    snprintf(probe, sizeof probe, "%.1f", 1.5); /* "1<point>5" */
    size_t plen = strlen(probe);
    if (plen < 3 || (plen == 3 && probe[1] == '.'))
        return;
    size_t dlen = plen - 2;
    probe[1 + dlen] = '\0';
    char *at = strstr(s, probe + 1);
    if (!at)
        return;
    *at = '.';
    memmove(at + 1, at + dlen, strlen(at + dlen) + 1);
}

/* "%.2f" of a pixel coordinate, from an integer count of hundredths. */
static num fixed_2(double v) {
    num r;
    if (!(fabs(v) < 1e12))
        v = 0; /* not reached: coordinates stay near the canvas */
    long long h = llround(v * 100.0);
    unsigned long long a = h < 0 ? (unsigned long long)(-h) : (unsigned long long)h;
    snprintf(r.s, sizeof r.s, "%s%llu.%02llu", h < 0 ? "-" : "", a / 100, a % 100);
    return r;
}

/* The shortest of "%.15g", "%.16g", "%.17g" that strtod reads back as v. */
static num shortest(double v) {
    num r;
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(r.s, sizeof r.s, "%.*g", prec, v);
        if (strtod(r.s, NULL) == v)
            break;
    }
    dot_decimal(r.s);
    return r;
}

/* Drops trailing zeros after a '.', and the '.' when nothing is left after it. */
static void strip_zeros(char *s) {
    char *dot = strchr(s, '.');
    if (!dot)
        return;
    char *end = s + strlen(s);
    while (end > dot + 1 && end[-1] == '0')
        end--;
    if (end == dot + 1)
        end = dot;
    *end = '\0';
}

/* The labels of a set of ticks share a style: plain decimals, or all in exponent form
 * when one is >= 1e6 or below 1e-4 (other than 0). */
static int exponent_style(const double *v, int n) {
    for (int i = 0; i < n; i++)
        if (fabs(v[i]) >= 1e6 || (v[i] != 0 && fabs(v[i]) < 1e-4))
            return 1;
    return 0;
}

/* A tick value v, a multiple of 10^e, compactly: "0", "0.25", "1500"; in exponent
 * form "1e6", "2.5e-5" (but "1", "2.5" for exponent 0). */
static num tick_label(double v, int e, int exponent_form) {
    num r;
    if (v == 0 || !isfinite(v)) {
        strcpy(r.s, "0");
    } else if (exponent_form) {
        char m[32];
        snprintf(m, sizeof m, "%.14e", v);
        dot_decimal(m);
        char *ex = strchr(m, 'e');
        int exponent = ex ? atoi(ex + 1) : 0;
        if (ex)
            *ex = '\0';
        strip_zeros(m);
        if (exponent)
            snprintf(r.s, sizeof r.s, "%se%d", m, exponent);
        else
            snprintf(r.s, sizeof r.s, "%s", m);
    } else {
        int decimals = e < 0 ? (e < -20 ? 20 : -e) : 0;
        snprintf(r.s, sizeof r.s, "%.*f", decimals, v);
        dot_decimal(r.s);
        strip_zeros(r.s);
    }
    return r;
}

/* 2^k: an integer up to 2^19, a decimal down to 2^-6, else "2^k". */
static num pow2_label(int k) {
    num r;
    if (k >= 0 && k <= 19) {
        snprintf(r.s, sizeof r.s, "%d", 1 << k);
    } else if (k < 0 && k >= -6) {
        snprintf(r.s, sizeof r.s, "%.*f", -k, ldexp(1.0, k));
        dot_decimal(r.s);
    } else {
        snprintf(r.s, sizeof r.s, "2^%d", k);
    }
    return r;
}

/* k x m x 10^e, rounded once (so 3 x 1 x 10^-1 is the double nearest 0.3). */
static double scaled(double k, int m, int e) { return e >= 0 ? k * m * pow(10, e) : k * m / pow(10, -e); }

/* ---- text ---- */

/* Length (1..4) of the valid UTF-8 sequence of an XML character at s, 0 when there is none. */
static int utf8_char_len(const unsigned char *s) {
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    int n;
    unsigned min;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2, min = 0x80;
    else if ((c & 0xF0) == 0xE0)
        n = 3, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, min = 0x10000;
    else
        return 0;
    unsigned cp = c & (0x3Fu >> (n - 1));
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF)
        return 0;
    return n;
}

/* Estimated rendered width of UTF-8 text, in pixels. */
static double text_width(const char *s, double font) {
    size_t chars = 0;
    for (const unsigned char *q = (const unsigned char *)s; *q; q++)
        chars += (*q & 0xC0) != 0x80;
    return (double)chars * font * CHAR_EM;
}

static int has_text(const char *s) { return s && *s; }

/* ---- output buffer ---- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static int sb_reserve(sbuf *b, size_t extra) {
    if (b->oom)
        return -1;
    if (b->len + extra < b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 16384;
    while (cap <= b->len + extra) {
        if (cap > SIZE_MAX / 2) {
            b->oom = 1;
            return -1;
        }
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

static void sb_put(sbuf *b, const char *s, size_t n) {
    if (sb_reserve(b, n) != 0)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

/* Only %s, %d and %c: their output does not depend on the locale. */
static void sb_printf(sbuf *b, const char *fmt, ...) NNB_PRINTF(2, 3);
static void sb_printf(sbuf *b, const char *fmt, ...) {
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    if ((size_t)n < sizeof small) {
        sb_put(b, small, (size_t)n);
        return;
    }
    if (sb_reserve(b, (size_t)n) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Text content or attribute value: XML-escaped, invalid UTF-8 as U+FFFD, control characters as spaces. */
static void sb_text(sbuf *b, const char *text) {
    const unsigned char *s = (const unsigned char *)text;
    while (*s) {
        const char *rep = NULL;
        switch (*s) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&apos;"; break;
        default: break;
        }
        int n = rep ? 1 : *s < 0x20 ? 1 : utf8_char_len(s);
        if (!rep && *s < 0x20)
            rep = " ";
        else if (!rep && n == 0)
            rep = "\xEF\xBF\xBD", n = 1;
        if (rep)
            sb_puts(b, rep);
        else
            sb_put(b, (const char *)s, (size_t)n);
        s += n;
    }
}

/* textLength squeezing text estimated wider than max_w. */
static void sb_fit(sbuf *b, const char *text, double font, double max_w) {
    if (text_width(text, font) > max_w)
        sb_printf(b, " textLength=\"%s\" lengthAdjust=\"spacingAndGlyphs\"", fixed_2(max_w).s);
}

/* ---- axes ---- */

typedef struct axis {
    int base;          /* 0: linear; 2 or 10: logarithmic */
    int categories;    /* > 0: categorical */
    double lo, hi;     /* the range in axis units: the value, its logarithm, or a category index */
    double p_lo, p_hi; /* pixels of lo and hi */
    int ntick;
    double tick[MAX_TICKS]; /* axis units */
    num label[MAX_TICKS];
    double label_w; /* widest tick label, pixels */
} axis;

typedef struct extent {
    double lo, hi;
    int any;
} extent;

static double to_units(const axis *a, double v) { return a->base == 2 ? log2(v) : a->base == 10 ? log10(v) : v; }

static double to_px(const axis *a, double u) { return a->p_lo + (u - a->lo) / (a->hi - a->lo) * (a->p_hi - a->p_lo); }

static double value_px(const axis *a, double v) { return to_px(a, to_units(a, v)); }

static void extend(extent *e, double u) {
    if (!isfinite(u))
        return;
    if (!e->any) {
        e->lo = e->hi = u;
        e->any = 1;
    } else {
        e->lo = fmin(e->lo, u);
        e->hi = fmax(e->hi, u);
    }
}

/* The data range, padded; on a linear axis with hold_zero the range reaches 0
 * when all values are on one side of it, and is not padded past 0. */
static void set_range(axis *a, extent e, int hold_zero) {
    double lo = e.any ? e.lo : 0, hi = e.any ? e.hi : 1;
    int lo_held = 0, hi_held = 0;
    if (hold_zero && !a->base && lo >= 0)
        lo = 0, lo_held = 1;
    else if (hold_zero && !a->base && hi <= 0)
        hi = 0, hi_held = 1;
    double mag = fmax(fabs(lo), fabs(hi));
    if (hi - lo <= mag * 1e-9) { /* one value */
        double d = a->base ? 0.5 : mag > 0 ? mag * 0.1 : 1;
        lo -= lo_held ? 0 : d;
        hi += hi_held ? 0 : d;
    }
    double pad = PAD_FRACTION * (hi - lo);
    a->lo = lo_held ? lo : lo - pad;
    a->hi = hi_held ? hi : hi + pad;
}

/* Smallest m x 10^e >= raw with m in {1, 2, 5}. */
static void nice_ceil(double raw, int *m, int *e) {
    int ex = (int)floor(log10(raw));
    double f = raw / pow(10, ex);
    *m = f <= 1 + 1e-9 ? 1 : f <= 2 + 1e-9 ? 2 : f <= 5 + 1e-9 ? 5 : 10;
    if (*m == 10)
        *m = 1, ex++;
    *e = ex;
}

static void next_nice(int *m, int *e) {
    if (*m == 1)
        *m = 2;
    else if (*m == 2)
        *m = 5;
    else
        *m = 1, (*e)++;
}

/* Labels for ticks of values v[i], multiples of 10^e[i]; the widest label. */
static void label_ticks(axis *a, const double *v, const int *e) {
    int exponent_form = exponent_style(v, a->ntick);
    a->label_w = 0;
    for (int i = 0; i < a->ntick; i++) {
        a->label[i] = tick_label(v[i], e[i], exponent_form);
        a->label_w = fmax(a->label_w, text_width(a->label[i].s, FONT_TICK));
    }
}

/* Ticks every m x 10^e; -1 (a unchanged) when there would be more than MAX_TICKS. */
static int fill_linear(axis *a, int m, int e) {
    double step = scaled(1, m, e);
    double k0 = ceil(a->lo / step - 1e-9), k1 = floor(a->hi / step + 1e-9);
    if (!(step > 0) || !isfinite(step) || !(k1 - k0 < MAX_TICKS))
        return -1;
    int exps[MAX_TICKS];
    a->ntick = 0;
    for (int i = 0; i <= (int)(k1 - k0); i++) {
        a->tick[a->ntick] = scaled(k0 + i, m, e);
        exps[a->ntick++] = e;
    }
    label_ticks(a, a->tick, exps);
    return 0;
}

/* Linear ticks: at least 45 px apart vertically, 60 px (or a label and a gap) horizontally. */
static int roomy_linear(const axis *a, double spacing, int vertical) {
    return spacing >= (vertical ? 45 : fmax(60, a->label_w + 16));
}

/* 1-2-5 ticks, the densest whose labels have room (len: the axis length, px), or the
 * sparsest with two ticks. */
static void linear_ticks(axis *a, double len, int vertical) {
    double range = a->hi - a->lo, densest = range / len * 20;
    int m, e;
    a->ntick = 0;
    if (!(densest > 1e-290 && isfinite(densest))) /* absurd ranges: no ticks */
        return;
    nice_ceil(densest, &m, &e);
    for (int tries = 0; tries < 60; tries++, next_nice(&m, &e)) {
        if (fill_linear(a, m, e) != 0)
            continue;
        if (roomy_linear(a, scaled(1, m, e) / range * len, vertical))
            return;
        int m2 = m, e2 = e;
        next_nice(&m2, &e2);
        axis sparser = *a;
        if (fill_linear(&sparser, m2, e2) != 0 || sparser.ntick < 2)
            return;
    }
}

/* Log ticks. stride > 0: powers base^k for k multiple of stride. stride 0: 1, 2, 5 x 10^k;
 * stride -1: 1..9 x 10^k (base 10 only). -1 (a unchanged) when more than MAX_TICKS.
 * *gap: the smallest distance between ticks, in axis units. */
static int fill_log(axis *a, int stride, double *gap) {
    static const int m125[] = {1, 2, 5}, m19[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    const int *ms = stride == 0 ? m125 : m19;
    int mcount = stride > 0 ? 1 : stride == 0 ? 3 : 9;
    double lo = a->lo - 1e-9, hi = a->hi + 1e-9;
    int step = stride > 0 ? stride : 1;
    double k0 = ceil(floor(lo) / step) * step;
    axis t = *a;
    double vals[MAX_TICKS];
    int exps[MAX_TICKS];
    t.ntick = 0;
    for (double k = k0; k <= hi; k += step) {
        for (int i = 0; i < mcount; i++) {
            double u = k + (stride > 0 ? 0 : log10(ms[i]));
            if (u < lo || u > hi)
                continue;
            if (t.ntick == MAX_TICKS)
                return -1;
            t.tick[t.ntick] = u;
            vals[t.ntick] = a->base == 2 ? 0 : scaled(1, stride > 0 ? 1 : ms[i], (int)k);
            exps[t.ntick++] = (int)k;
        }
    }
    if (a->base == 2) {
        t.label_w = 0;
        for (int i = 0; i < t.ntick; i++) {
            t.label[i] = pow2_label(exps[i]);
            t.label_w = fmax(t.label_w, text_width(t.label[i].s, FONT_TICK));
        }
    } else {
        label_ticks(&t, vals, exps);
    }
    *gap = stride > 0 ? stride : stride == 0 ? log10(2.0) : log10(10.0 / 9);
    *a = t;
    return 0;
}

/* Powers of the base (10: also 1-9 or 1-2-5 x 10^k), the densest set whose labels
 * have room; a range holding fewer than two of any set is widened to whole powers. */
static void log_ticks(axis *a, double len, int vertical) {
    static const int strides[] = {-1, 0, 1, 2, 3, 4, 5, 10, 20, 50, 100, 200, 500, 1000, 2000};
    int nstrides = (int)(sizeof strides / sizeof strides[0]);
    for (int widened = 0; widened < 2; widened++) {
        double ppu = len / (a->hi - a->lo);
        int sparsest = -2; /* the last stride with two ticks or more */
        for (int i = a->base == 10 ? 0 : 2; i < nstrides; i++) {
            axis t = *a;
            double gap;
            if (fill_log(&t, strides[i], &gap) != 0)
                continue;
            if (t.ntick < 2) {
                if (strides[i] > 0)
                    break;
                continue;
            }
            sparsest = strides[i];
            if (gap * ppu >= (vertical ? 2 * FONT_TICK : t.label_w + 14)) {
                *a = t;
                return;
            }
        }
        if (sparsest != -2) {
            double gap;
            fill_log(a, sparsest, &gap);
            return;
        }
        a->lo = floor(a->lo + 1e-9);
        a->hi = fmax(ceil(a->hi - 1e-9), a->lo + 1);
    }
}

static void axis_ticks(axis *a, double len, int vertical) {
    if (a->base)
        log_ticks(a, len, vertical);
    else
        linear_ticks(a, len, vertical);
}

/* ---- validation ---- */

static int check_base(int v, int usual, const char *which, int *base, char *err, size_t err_len) {
    if (v == 0 || v == 2 || v == 10)
        *base = v;
    else if (v == 1)
        *base = usual;
    else {
        set_err(err, err_len, "%s = %d: use 0 (linear), 1 (the usual base), 2 or 10", which, v);
        return -1;
    }
    return 0;
}

/* "series 'name' (index i)" for messages, control characters as '?' (messages are one line). */
static void series_ref(const nnb_plot_series *s, int i, char *buf, size_t len) {
    if (s->name)
        snprintf(buf, len, "series '%.80s' (index %d)", s->name, i);
    else
        snprintf(buf, len, "series %d", i);
    for (char *c = buf; *c; c++)
        if ((unsigned char)*c < 0x20)
            *c = '?';
}

static int check_series(const nnb_plot *p, int i, int xb, int yb, char *err, size_t err_len) {
    const nnb_plot_series *s = &p->series[i];
    char ref[128];
    series_ref(s, i, ref, sizeof ref);
    if (s->n < 0 || s->n > NNB_PLOT_MAX_POINTS) {
        set_err(err, err_len, "%s: %d points (0..%d)", ref, s->n, NNB_PLOT_MAX_POINTS);
        return -1;
    }
    if (s->n > 0 && (!s->x || !s->y)) {
        set_err(err, err_len, "%s: %d points but no %s values", ref, s->n, s->x ? "y" : "x");
        return -1;
    }
    for (int j = 0; j < s->n; j++) {
        double x = s->x[j], y = s->y[j], e = s->y_err ? s->y_err[j] : 0;
        if (p->category_count > 0 && isfinite(x) && (x < 0 || x >= p->category_count || x != floor(x))) {
            set_err(err, err_len, "%s, point %d: x = %s is not a category index 0..%d", ref, j, shortest(x).s,
                    p->category_count - 1);
            return -1;
        }
        const char *axis_name = xb && isfinite(x) && x <= 0 ? "x" : yb && isfinite(y) && y <= 0 ? "y" : NULL;
        if (axis_name) {
            set_err(err, err_len, "%s, point %d: %s = %s on a logarithmic %s axis (values must be > 0)", ref, j,
                    axis_name, shortest(*axis_name == 'x' ? x : y).s, axis_name);
            return -1;
        }
        if (e < 0) {
            set_err(err, err_len, "%s, point %d: y_err = %s is negative", ref, j, shortest(e).s);
            return -1;
        }
    }
    return 0;
}

static int check_plot(const nnb_plot *p, int *xb, int *yb, char *err, size_t err_len) {
    if (!p) {
        set_err(err, err_len, "no plot given");
        return -1;
    }
    if (p->series_count <= 0 || !p->series) {
        set_err(err, err_len, "no series to plot");
        return -1;
    }
    if (p->series_count > NNB_PLOT_MAX_SERIES) {
        set_err(err, err_len, "%d series: at most %d", p->series_count, NNB_PLOT_MAX_SERIES);
        return -1;
    }
    if ((p->width != 0 && (p->width < NNB_PLOT_MIN_SIZE || p->width > NNB_PLOT_MAX_SIZE)) ||
        (p->height != 0 && (p->height < NNB_PLOT_MIN_SIZE || p->height > NNB_PLOT_MAX_SIZE))) {
        set_err(err, err_len, "size %dx%d: width and height must be 0 (default) or %d..%d", p->width, p->height,
                NNB_PLOT_MIN_SIZE, NNB_PLOT_MAX_SIZE);
        return -1;
    }
    if (check_base(p->x_log, 2, "x_log", xb, err, err_len) != 0 ||
        check_base(p->y_log, 10, "y_log", yb, err, err_len) != 0)
        return -1;
    if (p->category_count < 0 || p->category_count > NNB_PLOT_MAX_CATEGORIES) {
        set_err(err, err_len, "%d categories (0..%d)", p->category_count, NNB_PLOT_MAX_CATEGORIES);
        return -1;
    }
    if (p->category_count > 0 && (!p->categories || *xb)) {
        set_err(err, err_len, "%s",
                p->categories ? "a categorical x axis cannot be logarithmic" : "no category labels");
        return -1;
    }
    for (int i = 0; i < p->series_count; i++)
        if (check_series(p, i, *xb, *yb, err, err_len) != 0)
            return -1;
    return 0;
}

/* ---- layout ---- */

typedef struct layout {
    double w, h;
    double left, right, top, bottom; /* plot area edges */
    double xtick_h;                  /* height taken by the x tick labels */
    double legend_text_w, row_h, legend_font;
    double cat_angle; /* rotation of category labels: 0, 35 or 90 degrees */
    double cat_max_w; /* category labels estimated wider are squeezed */
} layout;

static const char *series_name(const nnb_plot_series *s, int i, char *buf, size_t len) {
    if (s->name)
        return s->name;
    snprintf(buf, len, "series %d", i + 1);
    return buf;
}

static const char *category(const nnb_plot *p, int i) { return p->categories[i] ? p->categories[i] : ""; }

static void plan_legend(const nnb_plot *p, layout *L) {
    double widest = 0;
    for (int i = 0; i < p->series_count; i++) {
        char buf[32];
        widest = fmax(widest, text_width(series_name(&p->series[i], i, buf, sizeof buf), FONT_LEGEND));
    }
    L->legend_text_w = fmin(widest, fmax(40, 0.3 * L->w - 52));
    L->right = L->w - (L->legend_text_w + 52) - 28;
}

static void plan_legend_rows(const nnb_plot *p, layout *L) {
    double avail = L->bottom - L->top - 12;
    L->row_h = fmin(20, avail / p->series_count);
    L->legend_font = fmin(FONT_LEGEND, L->row_h * 0.75);
}

/* Category labels: flat when the widest fits its band, else turned 35 degrees
 * (or 90 when bands are narrow); left margin for the first turned label. */
static void plan_categories(const nnb_plot *p, layout *L, double *left_min) {
    double band = (L->right - L->left) / p->category_count, widest = 0;
    for (int i = 0; i < p->category_count; i++)
        widest = fmax(widest, text_width(category(p, i), FONT_TICK));
    L->cat_angle = widest + 8 <= band ? 0 : band >= 1.9 * FONT_TICK ? 35 : 90;
    if (L->cat_angle == 0) {
        L->cat_max_w = band;
        L->xtick_h = FONT_TICK;
        return;
    }
    double rad = L->cat_angle * acos(-1.0) / 180, limit = 0.3 * L->h;
    L->cat_max_w = fmax(20, (limit - FONT_TICK * cos(rad)) / sin(rad));
    double w = fmin(widest, L->cat_max_w);
    L->xtick_h = w * sin(rad) + FONT_TICK * cos(rad);
    double first = fmin(text_width(category(p, 0), FONT_TICK), L->cat_max_w);
    *left_min = first * cos(rad) - band / 2 + 8;
}

static void plan_layout(const nnb_plot *p, axis *x, axis *y, layout *L) {
    L->w = p->width ? p->width : NNB_PLOT_DEFAULT_WIDTH;
    L->h = p->height ? p->height : NNB_PLOT_DEFAULT_HEIGHT;
    L->top = has_text(p->title) ? 48 : 20;
    plan_legend(p, L);
    double xlab = has_text(p->x_label) ? FONT_LABEL + 10 : 0, ylab = has_text(p->y_label) ? FONT_LABEL + 12 : 0;
    double left_min = 0;
    L->xtick_h = FONT_TICK;
    L->cat_angle = 0;
    for (int pass = 0; pass < 3; pass++) {
        L->bottom = L->h - (2 * TICK_LEN + L->xtick_h + xlab + 14);
        y->p_lo = L->bottom;
        y->p_hi = L->top;
        axis_ticks(y, L->bottom - L->top, 1);
        L->left = fmin(fmax(12 + ylab + y->label_w + TICK_LEN + 6, left_min), 0.35 * L->w);
        x->p_lo = L->left;
        x->p_hi = L->right;
        if (x->categories)
            plan_categories(p, L, &left_min);
        else
            axis_ticks(x, L->right - L->left, 0);
    }
    plan_legend_rows(p, L);
}

/* ---- drawing ---- */

static void emit_frame(sbuf *b, const axis *x, const axis *y, const layout *L) {
    sb_puts(b, "<g class=\"grid\" stroke=\"#e8e8e8\" stroke-width=\"1\">\n");
    for (int i = 0; i < y->ntick; i++) {
        num py = fixed_2(to_px(y, y->tick[i]));
        sb_printf(b, "<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\"/>\n", fixed_2(L->left).s, py.s, fixed_2(L->right).s,
                  py.s);
    }
    int nx = x->categories ? x->categories : x->ntick;
    for (int i = 0; i < nx; i++) {
        num px = fixed_2(to_px(x, x->categories ? i : x->tick[i]));
        sb_printf(b, "<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\"/>\n", px.s, fixed_2(L->top).s, px.s,
                  fixed_2(L->bottom).s);
    }
    sb_puts(b, "</g>\n<g class=\"ticks\" stroke=\"#444444\" stroke-width=\"1\">\n");
    for (int i = 0; i < y->ntick; i++) {
        num py = fixed_2(to_px(y, y->tick[i]));
        sb_printf(b, "<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\"/>\n", fixed_2(L->left - TICK_LEN).s, py.s,
                  fixed_2(L->left).s, py.s);
    }
    for (int i = 0; i < nx; i++) {
        num px = fixed_2(to_px(x, x->categories ? i : x->tick[i]));
        sb_printf(b, "<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\"/>\n", px.s, fixed_2(L->bottom).s, px.s,
                  fixed_2(L->bottom + TICK_LEN).s);
    }
    sb_printf(b,
              "</g>\n<rect class=\"plot-area\" x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" fill=\"none\" "
              "stroke=\"#444444\" stroke-width=\"1\"/>\n",
              fixed_2(L->left).s, fixed_2(L->top).s, fixed_2(L->right - L->left).s, fixed_2(L->bottom - L->top).s);
}

static void emit_category_labels(sbuf *b, const nnb_plot *p, const axis *x, const layout *L) {
    for (int i = 0; i < p->category_count; i++) {
        num px = fixed_2(to_px(x, i));
        if (L->cat_angle == 0) {
            sb_printf(b, "<text class=\"xtick\" x=\"%s\" y=\"%s\" text-anchor=\"middle\"", px.s,
                      fixed_2(L->bottom + 2 * TICK_LEN + FONT_TICK * 0.8).s);
        } else {
            num py = fixed_2(L->bottom + 2 * TICK_LEN);
            sb_printf(b,
                      "<text class=\"xtick\" x=\"%s\" y=\"%s\" dy=\"0.35em\" text-anchor=\"end\" "
                      "transform=\"rotate(-%d %s %s)\"",
                      px.s, py.s, (int)L->cat_angle, px.s, py.s);
        }
        sb_fit(b, category(p, i), FONT_TICK, L->cat_max_w);
        sb_puts(b, ">");
        sb_text(b, category(p, i));
        sb_puts(b, "</text>\n");
    }
}

static void emit_tick_labels(sbuf *b, const nnb_plot *p, const axis *x, const axis *y, const layout *L) {
    sb_puts(b, "<g class=\"tick-labels\" font-size=\"12\" fill=\"#222222\">\n");
    for (int i = 0; i < y->ntick; i++)
        sb_printf(b, "<text class=\"ytick\" x=\"%s\" y=\"%s\" dy=\"0.35em\" text-anchor=\"end\">%s</text>\n",
                  fixed_2(L->left - TICK_LEN - 4).s, fixed_2(to_px(y, y->tick[i])).s, y->label[i].s);
    if (x->categories)
        emit_category_labels(b, p, x, L);
    else
        for (int i = 0; i < x->ntick; i++)
            sb_printf(b, "<text class=\"xtick\" x=\"%s\" y=\"%s\" text-anchor=\"middle\">%s</text>\n",
                      fixed_2(to_px(x, x->tick[i])).s, fixed_2(L->bottom + 2 * TICK_LEN + FONT_TICK * 0.8).s,
                      x->label[i].s);
    sb_puts(b, "</g>\n");
}

static void emit_titles(sbuf *b, const nnb_plot *p, const layout *L) {
    double mid = (L->left + L->right) / 2;
    if (has_text(p->title)) {
        double w = text_width(p->title, FONT_TITLE);
        double cx = mid - w / 2 >= 10 && mid + w / 2 <= L->w - 10 ? mid : L->w / 2;
        sb_printf(b,
                  "<text class=\"title\" x=\"%s\" y=\"30\" text-anchor=\"middle\" font-size=\"16\" "
                  "font-weight=\"bold\" fill=\"#111111\"",
                  fixed_2(cx).s);
        sb_fit(b, p->title, FONT_TITLE, L->w - 20);
        sb_puts(b, ">");
        sb_text(b, p->title);
        sb_puts(b, "</text>\n");
    }
    if (has_text(p->x_label)) {
        sb_printf(b,
                  "<text class=\"x-label\" x=\"%s\" y=\"%s\" text-anchor=\"middle\" font-size=\"13\" "
                  "fill=\"#111111\"",
                  fixed_2(mid).s, fixed_2(L->bottom + 2 * TICK_LEN + L->xtick_h + 10 + FONT_LABEL * 0.8).s);
        sb_fit(b, p->x_label, FONT_LABEL, L->w - 20);
        sb_puts(b, ">");
        sb_text(b, p->x_label);
        sb_puts(b, "</text>\n");
    }
    if (has_text(p->y_label)) {
        num px = fixed_2(12 + FONT_LABEL * 0.8), py = fixed_2((L->top + L->bottom) / 2);
        sb_printf(b,
                  "<text class=\"y-label\" x=\"%s\" y=\"%s\" transform=\"rotate(-90 %s %s)\" "
                  "text-anchor=\"middle\" font-size=\"13\" fill=\"#111111\"",
                  px.s, py.s, px.s, py.s);
        sb_fit(b, p->y_label, FONT_LABEL, L->h - 20);
        sb_puts(b, ">");
        sb_text(b, p->y_label);
        sb_puts(b, "</text>\n");
    }
}

static int drawn(const nnb_plot_series *s, int j) { return isfinite(s->x[j]) && isfinite(s->y[j]); }

static double half_width(const nnb_plot_series *s, int j) {
    double e = s->y_err ? s->y_err[j] : 0;
    return isfinite(e) && e > 0 ? e : 0;
}

static void emit_error_bars(sbuf *b, const nnb_plot_series *s, int i, const axis *x, const axis *y) {
    sb_printf(b, "<g stroke=\"%s\" stroke-width=\"1.3\" fill=\"none\">\n", palette[i % PALETTE_SIZE]);
    for (int j = 0; j < s->n; j++) {
        double e = half_width(s, j), top = s->y[j] + e, low = s->y[j] - e;
        if (!drawn(s, j) || e == 0 || !isfinite(top) || !isfinite(low))
            continue;
        double px = to_px(x, to_units(x, s->x[j]));
        double y1 = value_px(y, top), y2 = y->base && low <= 0 ? y->p_lo : value_px(y, low);
        num cx = fixed_2(px), l = fixed_2(px - 4), t = fixed_2(y1), u = fixed_2(y2);
        sb_printf(b, "<line class=\"errbar\" data-series=\"%d\" x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\"/>\n", i, cx.s,
                  t.s, cx.s, u.s);
        if (y->base && low <= 0) /* clipped at the axis: no cap there */
            sb_printf(b, "<path d=\"M%s %sh8\"/>\n", l.s, t.s);
        else
            sb_printf(b, "<path d=\"M%s %sh8M%s %sh8\"/>\n", l.s, t.s, l.s, u.s);
    }
    sb_puts(b, "</g>\n");
}

static void emit_lines(sbuf *b, const nnb_plot_series *s, int i, const axis *x, const axis *y) {
    const char *dash = dashes[(i / PALETTE_SIZE) % DASH_COUNT];
    sb_printf(b, "<g fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-linejoin=\"round\"",
              palette[i % PALETTE_SIZE]);
    if (dash)
        sb_printf(b, " stroke-dasharray=\"%s\"", dash);
    sb_puts(b, ">\n");
    for (int j = 0; j < s->n;) {
        int k = j;
        while (k < s->n && drawn(s, k))
            k++;
        if (k - j >= 2) {
            sb_printf(b, "<polyline class=\"line\" data-series=\"%d\" points=\"", i);
            for (int q = j; q < k; q++)
                sb_printf(b, "%s%s,%s", q > j ? " " : "", fixed_2(value_px(x, s->x[q])).s,
                          fixed_2(value_px(y, s->y[q])).s);
            sb_puts(b, "\"/>\n");
        }
        j = k > j ? k : j + 1;
    }
    sb_puts(b, "</g>\n");
}

static void emit_markers(sbuf *b, const nnb_plot_series *s, int i, const axis *x, const axis *y) {
    sb_printf(b, "<g fill=\"%s\" stroke=\"#ffffff\" stroke-width=\"1\">\n", palette[i % PALETTE_SIZE]);
    for (int j = 0; j < s->n; j++) {
        if (!drawn(s, j))
            continue;
        sb_printf(b,
                  "<circle class=\"point\" data-series=\"%d\" data-x=\"%s\" data-y=\"%s\" cx=\"%s\" cy=\"%s\" "
                  "r=\"3.5\"/>\n",
                  i, shortest(s->x[j]).s, shortest(s->y[j]).s, fixed_2(value_px(x, s->x[j])).s,
                  fixed_2(value_px(y, s->y[j])).s);
        if (s->point_labels && s->point_labels[j] && *s->point_labels[j]) {
            sb_printf(b,
                      "<text class=\"point-label\" data-series=\"%d\" x=\"%s\" y=\"%s\" font-size=\"10\" "
                      "stroke=\"none\">",
                      i, fixed_2(value_px(x, s->x[j]) + 5).s, fixed_2(value_px(y, s->y[j]) - 5).s);
            sb_text(b, s->point_labels[j]);
            sb_puts(b, "</text>\n");
        }
    }
    sb_puts(b, "</g>\n");
}

static void emit_series(sbuf *b, const nnb_plot *p, int i, const axis *x, const axis *y) {
    const nnb_plot_series *s = &p->series[i];
    sb_printf(b, "<g class=\"series\" data-series=\"%d\">\n", i);
    if (s->y_err)
        emit_error_bars(b, s, i, x, y);
    emit_lines(b, s, i, x, y);
    emit_markers(b, s, i, x, y);
    sb_puts(b, "</g>\n");
}

static void emit_legend(sbuf *b, const nnb_plot *p, const layout *L) {
    double x0 = L->right + 20, y0 = L->top;
    sb_printf(b, "<g class=\"legend\" font-size=\"%s\" fill=\"#222222\">\n", fixed_2(L->legend_font).s);
    sb_printf(b, "<rect x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" rx=\"3\" fill=\"#ffffff\" stroke=\"#cccccc\"/>\n",
              fixed_2(x0).s, fixed_2(y0).s, fixed_2(L->legend_text_w + 52).s,
              fixed_2(p->series_count * L->row_h + 12).s);
    for (int i = 0; i < p->series_count; i++) {
        const char *col = palette[i % PALETTE_SIZE], *dash = dashes[(i / PALETTE_SIZE) % DASH_COUNT];
        char buf[32];
        const char *name = series_name(&p->series[i], i, buf, sizeof buf);
        num cy = fixed_2(y0 + 6 + (i + 0.5) * L->row_h);
        sb_printf(b, "<g class=\"legend-entry\" data-series=\"%d\">\n", i);
        sb_printf(b, "<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\" stroke=\"%s\" stroke-width=\"2\"",
                  fixed_2(x0 + 8).s, cy.s, fixed_2(x0 + 36).s, cy.s, col);
        if (dash)
            sb_printf(b, " stroke-dasharray=\"%s\"", dash);
        sb_printf(b, "/>\n<circle cx=\"%s\" cy=\"%s\" r=\"3.5\" fill=\"%s\" stroke=\"#ffffff\"/>\n", fixed_2(x0 + 22).s,
                  cy.s, col);
        sb_printf(b, "<text x=\"%s\" y=\"%s\" dy=\"0.35em\"", fixed_2(x0 + 42).s, cy.s);
        sb_fit(b, name, L->legend_font, L->legend_text_w);
        sb_puts(b, ">");
        sb_text(b, name);
        sb_puts(b, "</text>\n</g>\n");
    }
    sb_puts(b, "</g>\n");
}

/* ---- the document ---- */

static void data_extents(const nnb_plot *p, const axis *x, const axis *y, extent *xe, extent *ye) {
    for (int i = 0; i < p->series_count; i++) {
        const nnb_plot_series *s = &p->series[i];
        for (int j = 0; j < s->n; j++) {
            if (!drawn(s, j))
                continue;
            extend(xe, to_units(x, s->x[j]));
            extend(ye, to_units(y, s->y[j]));
            double e = half_width(s, j);
            if (e > 0) {
                extend(ye, to_units(y, s->y[j] + e));
                if (!y->base || s->y[j] - e > 0)
                    extend(ye, to_units(y, s->y[j] - e));
            }
        }
    }
}

static int span_ok(const axis *a) {
    double span = a->hi - a->lo;
    return isfinite(span) && span > 0 && isfinite(a->lo) && isfinite(a->hi);
}

char *nnb_plot_svg(const nnb_plot *p, char *err, size_t err_len) {
    int xb = 0, yb = 0;
    if (check_plot(p, &xb, &yb, err, err_len) != 0)
        return NULL;
    axis x = {.base = xb, .categories = p->category_count}, y = {.base = yb};
    extent xe = {0}, ye = {0};
    data_extents(p, &x, &y, &xe, &ye);
    if (x.categories) {
        x.lo = -0.5;
        x.hi = x.categories - 0.5;
    } else {
        set_range(&x, xe, 0);
    }
    set_range(&y, ye, 1);
    if (!span_ok(&x) || !span_ok(&y)) {
        set_err(err, err_len, "the %s values are too large or too far apart to plot", span_ok(&x) ? "y" : "x");
        return NULL;
    }
    layout L = {0};
    plan_layout(p, &x, &y, &L);

    sbuf b = {0};
    sb_printf(&b,
              "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
              "font-family=\"DejaVu Sans, Arial, Helvetica, sans-serif\" font-size=\"12\">\n",
              (int)L.w, (int)L.h, (int)L.w, (int)L.h);
    sb_puts(&b, "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");
    emit_frame(&b, &x, &y, &L);
    emit_tick_labels(&b, p, &x, &y, &L);
    emit_titles(&b, p, &L);
    for (int i = 0; i < p->series_count; i++)
        emit_series(&b, p, i, &x, &y);
    emit_legend(&b, p, &L);
    sb_puts(&b, "</svg>\n");
    if (b.oom) {
        free(b.p);
        set_err(err, err_len, "out of memory building the SVG document");
        return NULL;
    }
    return b.p;
}

int nnb_plot_svg_write(const char *path, const nnb_plot *p, char *err, size_t err_len) {
    if (!has_text(path)) {
        set_err(err, err_len, "no output path given for the plot");
        return -1;
    }
    char why[512] = "";
    char *svg = nnb_plot_svg(p, why, sizeof why);
    if (!svg) {
        set_err(err, err_len, "cannot write '%s': %s", path, why);
        return -1;
    }
    /* The project's one atomic writer (temporary file beside path, fsync, rename; see report.h). */
    int rc = nnb_write_file_atomic(path, svg, strlen(svg), err, err_len);
    free(svg);
    return rc;
}
