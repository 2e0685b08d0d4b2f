/* nnb_plot: numbers printed without the locale, text escaped and measured (estimated), text boxes, and the
 * growing output buffer (plot_internal.h).
 *
 * Numbers: coordinates are printed from integers (plot_fixed_2), other numbers with snprintf and the
 * locale's decimal point replaced by '.' (dot_decimal); only %s, %d and %c reach sb_printf. */
#define _POSIX_C_SOURCE 200809L
#include "plot_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void plot_set_err(char *err, size_t err_len, const char *fmt, ...) {
    if (!err || err_len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

/* ---- numbers, locale-independent ---- */

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
num plot_fixed_2(double v) {
    num r;
    if (!(fabs(v) < 1e12))
        v = 0; /* not reached: coordinates stay near the canvas */
    long long h = llround(v * 100.0);
    unsigned long long a = h < 0 ? (unsigned long long)(-h) : (unsigned long long)h;
    snprintf(r.s, sizeof r.s, "%s%llu.%02llu", h < 0 ? "-" : "", a / 100, a % 100);
    return r;
}

/* The shortest of "%.15g", "%.16g", "%.17g" that strtod reads back as v. */
num plot_shortest(double v) {
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
int plot_exponent_style(const double *v, int n) {
    for (int i = 0; i < n; i++)
        if (fabs(v[i]) >= 1e6 || (v[i] != 0 && fabs(v[i]) < 1e-4))
            return 1;
    return 0;
}

/* A tick value v, a multiple of 10^e, compactly: "0", "0.25", "1500"; in exponent
 * form "1e6", "2.5e-5" (but "1", "2.5" for exponent 0). */
num plot_tick_label(double v, int e, int exponent_form) {
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
num plot_pow2_label(int k) {
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
double plot_scaled(double k, int m, int e) { return e >= 0 ? k * m * pow(10, e) : k * m / pow(10, -e); }

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
double plot_text_width(const char *s, double font) {
    size_t chars = 0;
    for (const unsigned char *q = (const unsigned char *)s; *q; q++)
        chars += (*q & 0xC0) != 0x80;
    return (double)chars * font * CHAR_EM;
}

/* ---- output buffer ---- */

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

void sb_put(sbuf *b, const char *s, size_t n) {
    if (sb_reserve(b, n) != 0)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void sb_puts(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

/* Only %s, %d and %c: their output does not depend on the locale. */
void sb_printf(sbuf *b, const char *fmt, ...) {
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
void sb_text(sbuf *b, const char *text) {
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
void sb_fit(sbuf *b, const char *text, double font, double max_w) {
    if (plot_text_width(text, font) > max_w)
        sb_printf(b, " textLength=\"%s\" lengthAdjust=\"spacingAndGlyphs\"", plot_fixed_2(max_w).s);
}

/* ---- text boxes ---- */

tbox plot_text_box(double x, double y, double font, char anchor, double w) {
    double l = anchor == 'm' ? x - w / 2 : anchor == 'e' ? x - w : x;
    return (tbox){l, y - TEXT_ASCENT * font, l + w, y + TEXT_DESCENT * font};
}

int plot_boxes_overlap(tbox a, tbox b) { return a.l < b.r && b.l < a.r && a.t < b.b && b.t < a.b; }

void plot_boxes_add(boxes *b, tbox x) {
    if (b->n == b->cap) {
        int cap = b->cap ? 2 * b->cap : 64;
        tbox *v = realloc(b->v, sizeof *v * (size_t)cap);
        if (!v) {
            b->oom = 1;
            return;
        }
        b->v = v;
        b->cap = cap;
    }
    b->v[b->n++] = x;
}

int plot_boxes_hit(const boxes *b, tbox x) {
    for (int i = 0; i < b->n; i++)
        if (plot_boxes_overlap(b->v[i], x))
            return 1;
    return 0;
}
