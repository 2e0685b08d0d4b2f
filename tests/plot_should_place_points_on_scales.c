/* nnb_plot (tools/plot/svg_plot.h): the SVG read back as numbers. Markers
 * (<path class="point">), lines, error bars and tick labels are parsed from the
 * document and checked against the scales they must follow: affine in x (or
 * log2 x) and y, decreasing in y, 1-2-5 ticks placed where their values map,
 * 0 on a linear y axis of positive values, categories in equal bands. Also:
 * NaN points, XML escaping and well-formedness, determinism, rejected input, and
 * the atomic writer (missing directory, rename failure, replacing a file). */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include "svg_plot.h"
#include "test_support.h"

#include <dirent.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { MAX_ITEMS = 256 };

typedef struct point {
    int series;
    double x, y, cx, cy;
} point;

typedef struct tick {
    double pos; /* x of an xtick, y of a ytick */
    char label[64];
} tick;

/* ---- reading the document back ---- */

/* The number in attribute `name` of the element starting at el; NaN when it has none. */
static double attr(const char *el, const char *name) {
    char key[64];
    snprintf(key, sizeof key, " %s=\"", name);
    const char *end = strchr(el, '>'), *a = strstr(el, key);
    if (!a || (end && a > end))
        return NAN;
    return strtod(a + strlen(key), NULL);
}

static int count(const char *hay, const char *needle) {
    int n = 0;
    for (const char *s = strstr(hay, needle); s; s = strstr(s + 1, needle))
        n++;
    return n;
}

static int points(const char *svg, point *out) {
    int n = 0;
    const char *tag = "<path class=\"point\"";
    for (const char *s = strstr(svg, tag); s && n < MAX_ITEMS; s = strstr(s + 1, tag)) {
        point p;
        char xs[64], ys[64];
        if (sscanf(s,
                   "<path class=\"point\" data-series=\"%d\" data-x=\"%63[^\"]\" data-y=\"%63[^\"]\" "
                   "data-cx=\"%lf\" data-cy=\"%lf\"",
                   &p.series, xs, ys, &p.cx, &p.cy) != 5) {
            CHECK_MSG(0, "unreadable marker: %.120s", s);
            continue;
        }
        p.x = strtod(xs, NULL);
        p.y = strtod(ys, NULL);
        out[n++] = p;
    }
    return n;
}

/* Ticks of class "xtick" or "ytick": position and label text. */
static int ticks(const char *svg, const char *cls, tick *out) {
    char tag[64];
    snprintf(tag, sizeof tag, "<text class=\"%s\"", cls);
    int n = 0;
    for (const char *s = strstr(svg, tag); s && n < MAX_ITEMS; s = strstr(s + 1, tag)) {
        /* a y tick label's baseline is 0.35 em below its tick */
        out[n].pos = cls[0] == 'x' ? attr(s, "x") : attr(s, "y") - 0.35 * attr(s, "font-size");
        const char *gt = strchr(s, '>'), *lt = gt ? strchr(gt, '<') : NULL;
        size_t len = gt && lt ? (size_t)(lt - gt - 1) : 0;
        if (len >= sizeof out[n].label)
            len = sizeof out[n].label - 1;
        memcpy(out[n].label, gt ? gt + 1 : "", len);
        out[n].label[len] = '\0';
        n++;
    }
    return n;
}

static const point *find_point(const point *pts, int n, int series, double x) {
    for (int i = 0; i < n; i++)
        if (pts[i].series == series && pts[i].x == x)
            return &pts[i];
    CHECK_MSG(0, "no marker for series %d at x = %g", series, x);
    return &pts[0];
}

typedef struct box {
    double left, top, right, bottom;
} box;

static box plot_area(const char *svg) {
    const char *r = strstr(svg, "<rect class=\"plot-area\"");
    CHECK_MSG(r != NULL, "no plot-area rectangle");
    if (!r)
        return (box){0, 0, 0, 0};
    double x = attr(r, "x"), y = attr(r, "y");
    return (box){x, y, x + attr(r, "width"), y + attr(r, "height")};
}

/* A simple well-formedness check: starts with <svg, ends with </svg>, every
 * element closed in order, one root, '&' only as one of the five entities. */
static void check_well_formed(const char *svg, const char *what) {
    CHECK_MSG(strncmp(svg, "<svg ", 5) == 0, "%s: does not start with <svg", what);
    size_t len = strlen(svg);
    while (len > 0 && (svg[len - 1] == '\n' || svg[len - 1] == ' '))
        len--;
    CHECK_MSG(len >= 6 && strncmp(svg + len - 6, "</svg>", 6) == 0, "%s: does not end with </svg>", what);
    char stack[64][32];
    int depth = 0, roots = 0, ok = 1;
    for (const char *s = svg; *s && ok; s++) {
        if (*s == '&') {
            static const char *const ents[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
            int known = 0;
            for (int i = 0; i < 5; i++)
                known |= strncmp(s, ents[i], strlen(ents[i])) == 0;
            CHECK_MSG(known, "%s: bare '&' at offset %ld", what, (long)(s - svg));
            ok = known;
            continue;
        }
        if (*s != '<')
            continue;
        const char *gt = strchr(s, '>');
        int closing = s[1] == '/';
        char name[32] = "";
        sscanf(s + 1 + closing, "%31[a-zA-Z]", name);
        if (!gt || !name[0]) {
            CHECK_MSG(0, "%s: broken tag at offset %ld", what, (long)(s - svg));
            ok = 0;
        } else if (memchr(s + 1, '<', (size_t)(gt - s - 1))) {
            CHECK_MSG(0, "%s: '<' inside a tag at offset %ld", what, (long)(s - svg));
            ok = 0;
        } else if (closing) {
            ok = depth > 0 && strcmp(stack[depth - 1], name) == 0;
            CHECK_MSG(ok, "%s: </%s> closes <%s>", what, name, depth ? stack[depth - 1] : "(nothing)");
            depth--;
        } else if (gt[-1] != '/') {
            roots += depth == 0;
            ok = depth < 64;
            if (ok)
                strcpy(stack[depth++], name);
        } else {
            roots += depth == 0;
        }
        s = gt ? gt : s;
    }
    CHECK_MSG(ok && depth == 0 && roots == 1, "%s: %d elements left open, %d roots", what, depth, roots);
}

static char *plot_or_fail(const nnb_plot *p, const char *what) {
    char err[256] = "";
    char *svg = nnb_plot_svg(p, err, sizeof err);
    CHECK_MSG(svg != NULL, "%s: %s", what, err);
    if (svg)
        check_well_formed(svg, what);
    return svg;
}

/* Ticks: equally spaced 1-2-5 values, each placed where the affine map of the points puts it. */
static void check_linear_ticks(const tick *t, int n, double px_at_0, double px_per_unit, const char *what) {
    CHECK_MSG(n >= 3 && n <= 12, "%s: %d ticks", what, n);
    double step = n >= 2 ? strtod(t[1].label, NULL) - strtod(t[0].label, NULL) : 0;
    double mant = step / pow(10, floor(log10(step)));
    CHECK_MSG(fabs(mant - 1) < 1e-9 || fabs(mant - 2) < 1e-9 || fabs(mant - 5) < 1e-9, "%s: tick step %g", what, step);
    for (int i = 0; i < n; i++) {
        double v = strtod(t[i].label, NULL);
        if (i > 0)
            CHECK_NEAR(v - strtod(t[i - 1].label, NULL), step, 1e-9 * fabs(step));
        CHECK_NEAR(t[i].pos, px_at_0 + v * px_per_unit, 0.04);
    }
}

/* ---- the checks ---- */

static void linear_axes_are_affine(void) {
    const double x0[] = {1, 2, 3}, y0[] = {10, 20, 30}, x1[] = {1.5, 2.5}, y1[] = {5, 25};
    nnb_plot_series s[] = {{.name = "a", .n = 3, .x = x0, .y = y0}, {.name = "b", .n = 2, .x = x1, .y = y1}};
    nnb_plot p = {.title = "linear", .x_label = "x", .y_label = "y", .series_count = 2, .series = s};
    char *svg = plot_or_fail(&p, "linear");
    if (!svg)
        return;
    point pt[MAX_ITEMS];
    int n = points(svg, pt);
    CHECK_MSG(n == 5, "%d markers, expected 5", n);
    const point *a1 = find_point(pt, n, 0, 1), *a2 = find_point(pt, n, 0, 2), *a3 = find_point(pt, n, 0, 3);
    /* Equal steps in x, equal steps in cx; likewise y (each coordinate is rounded to 0.01, so
     * a difference of two steps is within 0.02). Slopes from the end points. */
    double dx = (a3->cx - a1->cx) / 2, dy = (a3->cy - a1->cy) / 2;
    CHECK_MSG(dx > 10, "cx does not increase with x: %g", dx);
    CHECK_NEAR(a3->cx - a2->cx, a2->cx - a1->cx, 0.02);
    CHECK_MSG(dy < -10, "cy does not decrease with y: %g", dy);
    CHECK_NEAR(a3->cy - a2->cy, a2->cy - a1->cy, 0.02);
    /* Series b follows the same maps: cx = a1.cx + (x - 1) dx, cy = a1.cy + (y - 10) dy / 10. */
    for (int i = 0; i < 2; i++) {
        const point *b = find_point(pt, n, 1, x1[i]);
        CHECK_NEAR(b->cx, a1->cx + (x1[i] - 1) * dx, 0.02);
        CHECK_NEAR(b->cy, a1->cy + (y1[i] - 10) * dy / 10, 0.02);
        CHECK(b->y == y1[i]);
    }
    /* y = 0 is the bottom of the plot area (held there: all values are positive); x is padded. */
    box area = plot_area(svg);
    double cy0 = a1->cy - dy; /* y = 0 */
    CHECK_NEAR(cy0, area.bottom, 0.02);
    CHECK_MSG(a3->cy > area.top + 5, "y = 30 not padded from the top (%g vs %g)", a3->cy, area.top);
    CHECK_MSG(a1->cx > area.left + 5 && a3->cx < area.right - 5, "x not padded");
    tick yt[MAX_ITEMS], xt[MAX_ITEMS];
    int ny = ticks(svg, "ytick", yt), nx = ticks(svg, "xtick", xt);
    CHECK_MSG(ny > 0 && strcmp(yt[0].label, "0") == 0, "lowest y tick '%s', expected 0", ny ? yt[0].label : "");
    check_linear_ticks(yt, ny, cy0, dy / 10, "y ticks");
    check_linear_ticks(xt, nx, a1->cx - dx, dx, "x ticks");
    CHECK_STR_CONTAINS(svg, "<text class=\"y-label\"");
    CHECK_STR_CONTAINS(svg, ">linear</text>");

    char *again = nnb_plot_svg(&p, NULL, 0);
    CHECK_MSG(again && strcmp(again, svg) == 0, "same input, different output");
    free(again);
    /* The decimal point does not follow LC_NUMERIC (when such a locale is installed). */
    static const char *const comma_locales[] = {"de_DE.UTF-8", "fr_FR.UTF-8", "de_DE.utf8", "fr_FR", "de_DE"};
    for (size_t i = 0; i < sizeof comma_locales / sizeof comma_locales[0]; i++) {
        if (!setlocale(LC_NUMERIC, comma_locales[i]))
            continue;
        char *localised = nnb_plot_svg(&p, NULL, 0);
        setlocale(LC_NUMERIC, "C");
        CHECK_MSG(localised && strcmp(localised, svg) == 0, "output differs under LC_NUMERIC=%s", comma_locales[i]);
        free(localised);
        break;
    }
    free(svg);
}

static void log_axes_follow_powers(void) {
    const double x[] = {64, 128, 256, 1024}, y[] = {1, 10, 100, 50};
    nnb_plot_series s = {.name = "t", .n = 4, .x = x, .y = y};
    nnb_plot p = {.x_log = 1, .y_log = 1, .series_count = 1, .series = &s};
    char *svg = plot_or_fail(&p, "log");
    if (!svg)
        return;
    point pt[MAX_ITEMS];
    int n = points(svg, pt);
    CHECK_MSG(n == 4, "%d markers, expected 4", n);
    if (n == 4) {
        /* cx steps 1:1:2 (64, 128, 256, 1024), within the rounding of the coordinates. */
        double d1 = pt[1].cx - pt[0].cx, d2 = pt[2].cx - pt[1].cx, d3 = pt[3].cx - pt[2].cx;
        CHECK_MSG(d1 > 10, "cx does not increase with x: %g", d1);
        CHECK_NEAR(d2, d1, 0.02);
        CHECK_NEAR(d3, 2 * d1, 0.03);
        double e1 = pt[1].cy - pt[0].cy, e2 = pt[2].cy - pt[1].cy; /* one decade each */
        CHECK_MSG(e1 < -10, "cy does not decrease with y: %g", e1);
        CHECK_NEAR(e2, e1, 0.02);
        CHECK_NEAR(pt[3].cy - pt[2].cy, -e1 * log10(2), 0.02); /* 100 -> 50 */
        double octave = (pt[3].cx - pt[0].cx) / 4, decade = (pt[2].cy - pt[0].cy) / 2;
        /* Ticks at powers of 2 on x, each at its log2 position; decades among the y ticks. */
        tick xt[MAX_ITEMS], yt[MAX_ITEMS];
        int nx = ticks(svg, "xtick", xt), ny = ticks(svg, "ytick", yt), powers = 0, decades = 0;
        for (int i = 0; i < nx; i++) {
            double v = strtod(xt[i].label, NULL), k = log2(v);
            CHECK_MSG(v > 0 && k == floor(k), "x tick '%s' is not a power of 2", xt[i].label);
            CHECK_NEAR(xt[i].pos, pt[0].cx + (k - 6) * octave, 0.04);
            powers += v >= 64 && v <= 1024;
        }
        CHECK_MSG(powers == 5, "%d x ticks 64..1024, expected 5", powers);
        for (int i = 0; i < ny; i++) {
            double v = strtod(yt[i].label, NULL);
            CHECK_NEAR(yt[i].pos, pt[0].cy + log10(v) * decade, 0.04);
            decades += !strcmp(yt[i].label, "1") || !strcmp(yt[i].label, "10") || !strcmp(yt[i].label, "100");
        }
        CHECK_MSG(decades == 3, "%d y ticks among 1, 10, 100", decades);
    }
    free(svg);
}

static void nan_points_break_lines(void) {
    const double x0[] = {0, 1, 2, 3, 4, 5}, y0[] = {1, 2, NAN, 3, 4, INFINITY};
    const double x1[] = {0, NAN, 2, 5}, y1[] = {2, 2, 3, 1};
    nnb_plot_series s[] = {{.name = "gaps", .n = 6, .x = x0, .y = y0},
                           {.name = "x gap", .n = 4, .x = x1, .y = y1},
                           {.name = "empty", .n = 0}};
    nnb_plot p = {.series_count = 3, .series = s};
    char *svg = plot_or_fail(&p, "nan");
    if (!svg)
        return;
    point pt[MAX_ITEMS];
    int n = points(svg, pt);
    CHECK_MSG(n == 7, "%d markers, expected 7 (4 + 3)", n);
    /* Every finite point exactly once, with its series; none of the others. */
    for (int si = 0; si < 2; si++)
        for (int j = 0; j < s[si].n; j++) {
            int seen = 0;
            for (int i = 0; i < n; i++)
                seen += pt[i].series == si && pt[i].x == s[si].x[j] && pt[i].y == s[si].y[j];
            int finite = isfinite(s[si].x[j]) && isfinite(s[si].y[j]);
            CHECK_MSG(seen == finite, "series %d point %d drawn %d times", si, j, seen);
        }
    for (int i = 0; i < n; i++)
        CHECK(isfinite(pt[i].cx) && isfinite(pt[i].cy) && pt[i].series >= 0 && pt[i].series < 2);
    /* Lines: {0,1} and {3,4} for "gaps"; {2,5} for "x gap" (its first point stands alone). */
    CHECK_MSG(count(svg, "<polyline class=\"line\" data-series=\"0\"") == 2, "series 0: not 2 runs");
    CHECK_MSG(count(svg, "<polyline class=\"line\" data-series=\"1\"") == 1, "series 1: not 1 run");
    CHECK_MSG(count(svg, "<polyline class=\"line\" data-series=\"2\"") == 0, "series 2 drew a line");
    const char *run = strstr(svg, "<polyline class=\"line\" data-series=\"0\"");
    double ax, ay, bx, by;
    if (run && sscanf(strstr(run, "points=\""), "points=\"%lf,%lf %lf,%lf\"", &ax, &ay, &bx, &by) == 4) {
        const point *p0 = find_point(pt, n, 0, 0), *p1 = find_point(pt, n, 0, 1);
        CHECK_NEAR(ax, p0->cx, 1e-9);
        CHECK_NEAR(ay, p0->cy, 1e-9);
        CHECK_NEAR(bx, p1->cx, 1e-9);
        CHECK_NEAR(by, p1->cy, 1e-9);
    } else {
        CHECK_MSG(0, "first run of series 0 is not two points");
    }
    CHECK_MSG(count(svg, "class=\"legend-entry\"") == 3, "legend: not 3 entries");
    free(svg);
}

/* A serving sweep: x is not monotone, the line follows the given order. */
static void lines_follow_the_given_order(void) {
    const double x[] = {100, 300, 200, 250}, y[] = {1, 2, 5, 9};
    const char *const labels[] = {"1", "2", NULL, "8 & <"};
    nnb_plot_series s = {.name = "serve", .n = 4, .x = x, .y = y, .point_labels = labels};
    nnb_plot p = {.y_log = 10, .series_count = 1, .series = &s};
    char *svg = plot_or_fail(&p, "order");
    if (!svg)
        return;
    point pt[MAX_ITEMS];
    int n = points(svg, pt);
    const char *line = strstr(svg, "points=\"");
    CHECK_MSG(n == 4 && line, "%d markers", n);
    if (n == 4 && line) {
        line += strlen("points=\"");
        for (int i = 0; i < 4; i++) {
            double lx, ly;
            int used = 0;
            CHECK_MSG(sscanf(line, "%lf,%lf%n", &lx, &ly, &used) == 2, "line point %d", i);
            CHECK_MSG(fabs(lx - pt[i].cx) < 1e-9 && fabs(ly - pt[i].cy) < 1e-9 && pt[i].x == x[i],
                      "line point %d is not marker %d", i, i);
            line += used;
        }
        CHECK(pt[1].cx > pt[2].cx && pt[2].cx > pt[0].cx);
        /* Point labels: beside their markers, escaped, none for a NULL entry. */
        CHECK_MSG(count(svg, "class=\"point-label\"") == 3, "three point labels");
        CHECK_STR_CONTAINS(svg, ">8 &amp; &lt;</text>");
        const char *lab = strstr(svg, "class=\"point-label\"");
        double lx = 0, ly = 0;
        CHECK_MSG(lab && sscanf(strstr(lab, " x=\"") + 4, "%lf", &lx) == 1 &&
                      sscanf(strstr(lab, " y=\"") + 4, "%lf", &ly) == 1 && fabs(lx - (pt[0].cx + 5)) < 0.02 &&
                      fabs(ly - (pt[0].cy - 5)) < 0.02,
                  "the first label sits 5 px right of and above its marker");
    }
    free(svg);
}

static void error_bars_span_plus_minus_err(void) {
    const double x[] = {1, 2, 3}, y[] = {10, 20, 15}, e[] = {1, 2, NAN};
    nnb_plot_series s = {.name = "bars", .n = 3, .x = x, .y = y, .y_err = e};
    nnb_plot p = {.series_count = 1, .series = &s};
    char *svg = plot_or_fail(&p, "errbars");
    if (!svg)
        return;
    point pt[MAX_ITEMS];
    int n = points(svg, pt), bars = count(svg, "<line class=\"errbar\"");
    CHECK_MSG(n == 3 && bars == 2, "%d markers, %d error bars (expected 3, 2)", n, bars);
    const char *b = strstr(svg, "<line class=\"errbar\"");
    for (int i = 0; i < 2 && b && n == 3; i++, b = strstr(b + 1, "<line class=\"errbar\"")) {
        double x1 = attr(b, "x1"), x2 = attr(b, "x2"), y1 = attr(b, "y1"), y2 = attr(b, "y2");
        double px_per_unit = (pt[0].cy - pt[1].cy) / 10; /* y 10 -> 20 */
        CHECK_NEAR(x1, pt[i].cx, 1e-9);
        CHECK_NEAR(x2, pt[i].cx, 1e-9);
        CHECK_NEAR((y1 + y2) / 2, pt[i].cy, 0.01);
        CHECK_NEAR(y2 - y1, 2 * e[i] * px_per_unit, 0.02);
        CHECK_MSG(attr(b, "data-series") == 0, "error bar of series %g", attr(b, "data-series"));
    }
    b = strstr(svg, "<line class=\"errbar\"");
    const char *b2 = b ? strstr(b + 1, "<line class=\"errbar\"") : NULL;
    if (b && b2)
        CHECK_NEAR((attr(b2, "y2") - attr(b2, "y1")) / (attr(b, "y2") - attr(b, "y1")), 2.0, 0.002);
    free(svg);
}

static void categories_sit_in_equal_bands(void) {
    const char *const cats[] = {"alpha", "beta", "gamma", "delta"};
    const double x[] = {0, 1, 2, 3}, y[] = {3, 1, 4, 1}, x2[] = {2}, y2[] = {2};
    nnb_plot_series s[] = {{.name = "c", .n = 4, .x = x, .y = y}, {.name = "one", .n = 1, .x = x2, .y = y2}};
    nnb_plot p = {.category_count = 4, .categories = cats, .series_count = 2, .series = s};
    char *svg = plot_or_fail(&p, "categories");
    if (!svg)
        return;
    point pt[MAX_ITEMS];
    int n = points(svg, pt);
    box area = plot_area(svg);
    double band = (area.right - area.left) / 4;
    /* Two series: spread symmetrically about the band's centre, by the same offset in every band. */
    double offset = n == 5 ? find_point(pt, n, 0, 0)->cx - (area.left + 0.5 * band) : 0;
    CHECK_MSG(offset < -1 && offset > -band / 2, "series 0 sits left of the centre, within its band (%g)", offset);
    for (int i = 0; i < 4 && n == 5; i++)
        CHECK_NEAR(find_point(pt, n, 0, i)->cx, area.left + (i + 0.5) * band + offset, 0.02);
    CHECK_MSG(n == 5, "%d markers", n);
    if (n == 5)
        CHECK_NEAR(find_point(pt, n, 1, 2)->cx, area.left + 2.5 * band - offset, 0.02);
    tick xt[MAX_ITEMS];
    int nx = ticks(svg, "xtick", xt);
    CHECK_MSG(nx == 4, "%d category labels", nx);
    for (int i = 0; i < nx && i < 4; i++) {
        CHECK_MSG(strcmp(xt[i].label, cats[i]) == 0, "label %d '%s', expected '%s'", i, xt[i].label, cats[i]);
        CHECK_NEAR(xt[i].pos, area.left + (i + 0.5) * band, 0.02);
    }
    free(svg);

    char err[256] = "";
    const double bad[] = {0, 4};
    nnb_plot_series sb = {.name = "c", .n = 2, .x = bad, .y = y};
    nnb_plot q = p;
    q.series = &sb;
    q.series_count = 1;
    CHECK(nnb_plot_svg(&q, err, sizeof err) == NULL);
    CHECK_STR_CONTAINS(err, "x = 4 is not a category index 0..3");
    q.x_log = 2;
    sb.x = x;
    CHECK(nnb_plot_svg(&q, err, sizeof err) == NULL);
    CHECK_STR_CONTAINS(err, "logarithmic");
}

static void text_is_escaped(void) {
    const double x[] = {1, 2}, y[] = {1, 2};
    nnb_plot_series s[] = {{.name = "a<b & \"c\"", .n = 2, .x = x, .y = y},
                           {.name = "bad \xff utf-8\x01", .n = 2, .x = x, .y = y}};
    nnb_plot p = {.title = "it's <fast>", .x_label = "a&b", .y_label = "\"y\"", .series_count = 2, .series = s};
    char *svg = plot_or_fail(&p, "escaping");
    if (!svg)
        return;
    CHECK_STR_CONTAINS(svg, ">a&lt;b &amp; &quot;c&quot;</text>");
    CHECK_STR_CONTAINS(svg, ">it&apos;s &lt;fast&gt;</text>");
    CHECK_STR_CONTAINS(svg, ">a&amp;b</text>");
    CHECK_STR_CONTAINS(svg, ">&quot;y&quot;</text>");
    CHECK_STR_CONTAINS(svg, ">bad \xEF\xBF\xBD utf-8 </text>");
    CHECK_MSG(strstr(svg, "a<b") == NULL && strstr(svg, "<fast") == NULL, "raw text in the document");
    free(svg);
}

static void reject(const nnb_plot *p, const char *expected) {
    char err[256] = "";
    char *svg = nnb_plot_svg(p, err, sizeof err);
    CHECK_MSG(svg == NULL, "accepted, expected '%s'", expected);
    free(svg);
    CHECK_MSG(strstr(err, expected) != NULL, "error '%s', expected '%s'", err, expected);
}

static void bad_input_is_rejected(void) {
    const double x[] = {64, 128, 256}, y[] = {1, 0, 2}, neg[] = {-64, 128, 256}, ok[] = {1, 2, 3};
    const double err_neg[] = {0.1, -0.1, 0.1};
    nnb_plot_series s = {.name = "jit", .n = 3, .x = x, .y = y};
    nnb_plot p = {.y_log = 1, .series_count = 1, .series = &s};
    reject(&p, "series 'jit' (index 0), point 1: y = 0 on a logarithmic y axis");
    s.y = ok;
    s.x = neg;
    p.x_log = 2;
    reject(&p, "series 'jit' (index 0), point 0: x = -64 on a logarithmic x axis");
    s.x = x;
    s.y_err = err_neg;
    reject(&p, "point 1: y_err = -0.1 is negative");
    s.y_err = NULL;
    p.x_log = 3;
    reject(&p, "x_log = 3");
    p.x_log = 0;
    p.width = 50;
    reject(&p, "size 50x0");
    p.width = 0;
    s.n = 2;
    s.x = NULL;
    reject(&p, "no x values");
    s.x = x;
    s.n = -1;
    reject(&p, "-1 points");
    s.n = 3;
    p.series_count = 0;
    reject(&p, "no series");
    p.series_count = NNB_PLOT_MAX_SERIES + 1;
    reject(&p, "at most");
    reject(NULL, "no plot");
    /* NaN on a log axis is no point, not an error. */
    const double gap[] = {1, NAN, 2};
    s.y = gap;
    p.series_count = 1;
    char *svg = plot_or_fail(&p, "log with NaN");
    free(svg);
}

/* Entries of dir other than . and .., and other than `keep`. */
static int stray_entries(const char *dir, const char *keep) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && (!keep || strcmp(e->d_name, keep))) {
            fprintf(stderr, "note: %s/%s\n", dir, e->d_name);
            n++;
        }
    if (d)
        closedir(d);
    return n;
}

static char *read_all(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 20);
    size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

static void writes_atomically(void) {
    char dir[] = "/tmp/nnb_plot_test.XXXXXX", path[256], err[512] = "";
    if (!mkdtemp(dir)) {
        CHECK_MSG(0, "mkdtemp failed");
        return;
    }
    const double x[] = {1, 2}, y[] = {1, 2};
    nnb_plot_series s = {.name = "w", .n = 2, .x = x, .y = y};
    nnb_plot p = {.series_count = 1, .series = &s};

    snprintf(path, sizeof path, "%s/missing/plot.svg", dir);
    CHECK(nnb_plot_svg_write(path, &p, err, sizeof err) == -1);
    CHECK_STR_CONTAINS(err, path);
    CHECK_STR_CONTAINS(err, "does not exist");
    CHECK_MSG(stray_entries(dir, NULL) == 0, "left files in %s", dir);

    /* The target is a directory: refused before a temporary file is made. */
    snprintf(path, sizeof path, "%s/sub", dir);
    mkdir(path, 0755);
    CHECK(nnb_plot_svg_write(path, &p, err, sizeof err) == -1);
    CHECK_STR_CONTAINS(err, "is a directory");
    CHECK_MSG(stray_entries(dir, "sub") == 0, "left a temporary file in %s", dir);
    rmdir(path);

    /* Replacing a longer file: the new document whole, nothing after it. */
    snprintf(path, sizeof path, "%s/plot.svg", dir);
    FILE *f = fopen(path, "w");
    for (int i = 0; f && i < 20000; i++)
        fputs("old content ", f);
    if (f)
        fclose(f);
    CHECK_MSG(nnb_plot_svg_write(path, &p, err, sizeof err) == 0, "%s", err);
    char *want = nnb_plot_svg(&p, NULL, 0), *got = read_all(path);
    CHECK_MSG(want && got && strcmp(want, got) == 0, "file is not the document");
    CHECK_MSG(stray_entries(dir, "plot.svg") == 0, "left a temporary file in %s", dir);
    free(got);
    /* A plot error writes nothing: the file stays as it was. */
    p.series_count = 0;
    CHECK(nnb_plot_svg_write(path, &p, err, sizeof err) == -1);
    CHECK_STR_CONTAINS(err, "no series");
    got = read_all(path);
    CHECK_MSG(want && got && strcmp(want, got) == 0, "a failed plot changed the file");
    free(got);
    free(want);
    unlink(path);
    rmdir(dir);
}

int main(void) {
    linear_axes_are_affine();
    log_axes_follow_powers();
    nan_points_break_lines();
    lines_follow_the_given_order();
    error_bars_span_plus_minus_err();
    categories_sit_in_equal_bands();
    text_is_escaped();
    bad_input_is_rejected();
    writes_atomically();
    return nnb_test_finish();
}
