/* nnb_plot (tools/plot/svg_plot.h), read back from the SVG: every scale has tick labels (linear and log axes
 * above 1000, a narrow log range labelled above its last power), colour follows the colour key (the runner)
 * and line style the style key (the other settings), a categorical x axis gets markers and no lines, error
 * bars span the interval or +- err given, the warning line says what it was given, and no two texts overlap
 * (boxes estimated as the brief of the plot writer says: 0.6 em a character, 1 em high), nor a point label a
 * marker. */
#define _POSIX_C_SOURCE 200809L
#include "svg_plot.h"
#include "test_support.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_ITEMS = 512 };

static double attr(const char *el, const char *name) {
    char key[64];
    snprintf(key, sizeof key, " %s=\"", name);
    const char *end = strchr(el, '>'), *a = strstr(el, key);
    if (!a || (end && a > end))
        return NAN;
    return strtod(a + strlen(key), NULL);
}

/* The string value of attribute name of the element at el ("" when it has none). */
static void attr_str(const char *el, const char *name, char *out, size_t cap) {
    char key[64];
    snprintf(key, sizeof key, " %s=\"", name);
    const char *end = strchr(el, '>'), *a = strstr(el, key);
    out[0] = 0;
    if (a && (!end || a < end))
        snprintf(out, cap, "%.*s", (int)strcspn(a + strlen(key), "\""), a + strlen(key));
}

static int count(const char *hay, const char *needle) {
    int n = 0;
    for (const char *s = strstr(hay, needle); s; s = strstr(s + 1, needle))
        n++;
    return n;
}

static char *plot_or_fail(const nnb_plot *p, const char *what) {
    char err[256] = "";
    char *svg = nnb_plot_svg(p, err, sizeof err);
    CHECK_MSG(svg != NULL, "%s: %s", what, err);
    return svg;
}

/* Values of the tick labels of class cls ("xtick" or "ytick"). */
static int tick_values(const char *svg, const char *cls, double *v) {
    char tag[64];
    snprintf(tag, sizeof tag, "<text class=\"%s\"", cls);
    int n = 0;
    for (const char *s = strstr(svg, tag); s && n < MAX_ITEMS; s = strstr(s + 1, tag)) {
        const char *gt = strchr(s, '>');
        v[n++] = gt ? strtod(gt + 1, NULL) : NAN;
    }
    return n;
}

typedef struct marker {
    int series;
    double x, y, cx, cy;
} marker;

static int markers(const char *svg, marker *out) {
    int n = 0;
    for (const char *s = strstr(svg, "<path class=\"point\""); s && n < MAX_ITEMS;
         s = strstr(s + 1, "<path class=\"point\"")) {
        out[n] = (marker){(int)attr(s, "data-series"), attr(s, "data-x"), attr(s, "data-y"), attr(s, "data-cx"),
                          attr(s, "data-cy")};
        n++;
    }
    return n;
}

static void ticks_label_every_scale(void) {
    static const struct {
        double lo, hi;
        int x_log, y_log;
        const char *what;
    } cases[] = {
        {1200, 4800, 0, 0, "linear 1200..4800"},  {570, 1500, 0, 10, "log 570..1500"},
        {1100, 1900, 2, 10, "log 1100..1900"},    {64, 4096, 2, 10, "log 64..4096"},
        {1000, 250000, 10, 10, "log 1e3..2.5e5"}, {20000, 21000, 0, 10, "log 20000..21000"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        double x[] = {cases[c].lo, sqrt(cases[c].lo * cases[c].hi), cases[c].hi}, y[3] = {x[0], x[1], x[2]};
        nnb_plot_series s = {.name = "s", .n = 3, .x = x, .y = y};
        nnb_plot p = {.x_log = cases[c].x_log, .y_log = cases[c].y_log, .series_count = 1, .series = &s};
        char *svg = plot_or_fail(&p, cases[c].what);
        if (!svg)
            continue;
        double v[MAX_ITEMS];
        for (int axis = 0; axis < 2; axis++) {
            int n = tick_values(svg, axis ? "ytick" : "xtick", v), above = 0;
            double top = -INFINITY;
            for (int i = 0; i < n; i++)
                above += v[i] > 1000, top = fmax(top, v[i]);
            CHECK_MSG(n >= 2 && above >= 1, "%s, %s axis: %d tick labels, %d above 1000", cases[c].what,
                      axis ? "y" : "x", n, above);
            /* The top of the data is labelled: the highest label within 30% of the span below it (in log units
             * on a log axis), where 570..1500 used to stop at 1000. */
            int lg = axis ? cases[c].y_log : cases[c].x_log;
            double span = lg ? log(cases[c].hi / cases[c].lo) : cases[c].hi - cases[c].lo;
            double gap = lg ? log(cases[c].hi / top) : cases[c].hi - top;
            CHECK_MSG(gap <= 0.3 * span, "%s, %s axis: highest label %g leaves %.0f%% of the data unlabelled",
                      cases[c].what, axis ? "y" : "x", top, 100 * gap / span);
        }
        free(svg);
    }
}

/* Stroke colour and dash of series i's line group (the first <g> after its series group opens). */
static void line_style(const char *svg, int i, char *colour, char *dash) {
    char tag[64];
    snprintf(tag, sizeof tag, "<g class=\"series\" data-series=\"%d\">", i);
    const char *s = strstr(svg, tag), *g = s ? strstr(s, "<g fill=\"none\"") : NULL;
    colour[0] = dash[0] = 0;
    CHECK_MSG(g != NULL, "series %d has a line group", i);
    if (g) {
        attr_str(g, "stroke", colour, 16);
        attr_str(g, "stroke-dasharray", dash, 16);
    }
}

static void colour_follows_the_runner(void) {
    const double x[] = {1, 2, 3}, y1[] = {1, 2, 3}, y2[] = {2, 3, 4}, y3[] = {3, 4, 5}, y4[] = {4, 5, 6};
    /* Order mixed on purpose: a colour must not depend on where a runner's first series is. */
    nnb_plot_series s[] = {
        {.name = "jit b=8", .n = 3, .x = x, .y = y1, .colour_key = "jit", .style_key = "b=8"},
        {.name = "aten b=1", .n = 3, .x = x, .y = y2, .colour_key = "aten", .style_key = "b=1"},
        {.name = "jit b=1", .n = 3, .x = x, .y = y3, .colour_key = "jit", .style_key = "b=1"},
        {.name = "aten b=8", .n = 3, .x = x, .y = y4, .colour_key = "aten", .style_key = "b=8"},
    };
    nnb_plot p = {.series_count = 4, .series = s};
    char *svg = plot_or_fail(&p, "styles");
    if (!svg)
        return;
    char col[4][16], dash[4][16];
    for (int i = 0; i < 4; i++)
        line_style(svg, i, col[i], dash[i]);
    CHECK_MSG(!strcmp(col[0], col[2]) && !strcmp(col[1], col[3]), "one colour per runner: %s %s %s %s", col[0], col[1],
              col[2], col[3]);
    CHECK_MSG(strcmp(col[0], col[1]), "two runners, two colours (%s)", col[0]);
    CHECK_MSG(!strcmp(dash[0], dash[3]) && !strcmp(dash[1], dash[2]), "one dash per setting: '%s' '%s' '%s' '%s'",
              dash[0], dash[1], dash[2], dash[3]);
    CHECK_MSG(strcmp(dash[0], dash[1]), "two settings, two dashes ('%s')", dash[0]);
    /* Markers differ with the style too: b=8 circles (arcs), b=1 another shape. */
    char d0[256] = "", d1[256] = "";
    const char *m0 = strstr(svg, "<path class=\"point\" data-series=\"0\""),
               *m1 = strstr(svg, "<path class=\"point\" data-series=\"1\"");
    if (m0 && m1)
        attr_str(m0, "d", d0, sizeof d0), attr_str(m1, "d", d1, sizeof d1);
    CHECK_MSG(strchr(d0, 'a') && !strchr(d1, 'a'), "marker shapes follow the style: '%s' vs '%s'", d0, d1);
    /* Without keys the old rule holds: colour by index. */
    for (int i = 0; i < 4; i++)
        s[i].colour_key = s[i].style_key = NULL;
    char *plain = plot_or_fail(&p, "no keys");
    if (plain) {
        line_style(plain, 2, col[2], dash[2]);
        line_style(plain, 0, col[0], dash[0]);
        CHECK_MSG(strcmp(col[0], col[2]), "without keys, series 0 and 2 differ");
        free(plain);
    }
    free(svg);
}

static void categories_get_markers_not_lines(void) {
    const char *const cats[] = {"h512_b16", "h1024_b16", "h2048_b16"};
    const double x[] = {0, 1, 2}, y1[] = {3, 1, 4}, y2[] = {2, 7, 1};
    nnb_plot_series s[] = {{.name = "aten", .n = 3, .x = x, .y = y1, .colour_key = "aten"},
                           {.name = "jit", .n = 3, .x = x, .y = y2, .colour_key = "jit"}};
    nnb_plot p = {.category_count = 3, .categories = cats, .series_count = 2, .series = s};
    char *svg = plot_or_fail(&p, "categorical");
    if (!svg)
        return;
    marker m[MAX_ITEMS];
    CHECK_MSG(markers(svg, m) == 6, "6 markers");
    CHECK_MSG(count(svg, "<polyline") == 0, "no line joins categories");
    free(svg);
    p.category_count = 0; /* the same numbers on a numeric axis are joined */
    svg = plot_or_fail(&p, "numeric");
    CHECK_MSG(svg && count(svg, "<polyline class=\"line\"") == 2, "numeric x: one line per series");
    free(svg);
}

static void error_bars_span_what_was_given(void) {
    const double x[] = {10, 20, 30}, y[] = {5, 8, 6}, lo[] = {4, 7.5, NAN}, hi[] = {5.5, 9, 7}, xe[] = {2, 0, 3};
    nnb_plot_series s = {.name = "b", .n = 3, .x = x, .y = y, .y_lo = lo, .y_hi = hi, .x_err = xe};
    nnb_plot p = {.series_count = 1, .series = &s};
    char *svg = plot_or_fail(&p, "bars");
    if (!svg)
        return;
    marker m[MAX_ITEMS];
    int n = markers(svg, m);
    CHECK_MSG(n == 3, "3 markers");
    if (n != 3) {
        free(svg);
        return;
    }
    /* Affine maps from the markers: px = a + b v. */
    double bx = (m[1].cx - m[0].cx) / (x[1] - x[0]), ax = m[0].cx - bx * x[0];
    double by = (m[1].cy - m[0].cy) / (y[1] - y[0]), ay = m[0].cy - by * y[0];
    CHECK_MSG(count(svg, "<line class=\"errbar\"") == 2, "two y bars (the third has no lower end)");
    const char *b = strstr(svg, "<line class=\"errbar\"");
    for (int j = 0; j < 2 && b; j++, b = strstr(b + 1, "<line class=\"errbar\"")) {
        CHECK_NEAR(attr(b, "x1"), m[j].cx, 0.011);
        CHECK_NEAR(attr(b, "y1"), ay + by * hi[j], 0.03);
        CHECK_NEAR(attr(b, "y2"), ay + by * lo[j], 0.03);
    }
    CHECK_MSG(count(svg, "<line class=\"xerrbar\"") == 2, "two x bars (the second is 0)");
    b = strstr(svg, "<line class=\"xerrbar\"");
    for (int j = 0; j < 3 && b; j += 2, b = strstr(b + 1, "<line class=\"xerrbar\"")) {
        CHECK_NEAR(attr(b, "x1"), ax + bx * (x[j] - xe[j]), 0.03);
        CHECK_NEAR(attr(b, "x2"), ax + bx * (x[j] + xe[j]), 0.03);
        CHECK_NEAR(attr(b, "y1"), m[j].cy, 0.011);
    }
    free(svg);
    char err[256] = "";
    const double bad_lo[] = {6, 7, 5};
    s.y_lo = bad_lo;
    CHECK(nnb_plot_svg(&p, err, sizeof err) == NULL);
    CHECK_STR_CONTAINS(err, "point 0: y_lo = 6 is above y_hi = 5.5");
}

typedef struct tbox {
    double l, t, r, b;
    char text[64];
} tbox;

/* The box of the unturned <text> at s, from x, y (the baseline), font-size, text-anchor and the characters
 * (or textLength when squeezed); 0 when s is turned or broken. */
static int text_box(const char *s, tbox *out) {
    const char *gt = strchr(s, '>'), *end = gt ? strstr(gt, "</text>") : NULL;
    if (!gt || !end || (strstr(s, "transform=") && strstr(s, "transform=") < gt))
        return 0;
    double font = attr(s, "font-size"), x = attr(s, "x"), y = attr(s, "y"), len = attr(s, "textLength");
    CHECK_MSG(isfinite(font) && isfinite(x) && isfinite(y), "text with x, y and font-size: %.80s", s);
    int chars = 0;
    for (const char *c = gt + 1; c && c < end; c++)
        if (*c == '&')
            c = strchr(c, ';'), chars++;
        else
            chars += ((unsigned char)*c & 0xC0) != 0x80;
    double w = isfinite(len) ? len : 0.6 * font * chars;
    char anchor[16];
    attr_str(s, "text-anchor", anchor, sizeof anchor);
    double l = !strcmp(anchor, "middle") ? x - w / 2 : !strcmp(anchor, "end") ? x - w : x;
    *out = (tbox){l, y - 0.8 * font, l + w, y + 0.2 * font, ""};
    snprintf(out->text, sizeof out->text, "%.*s", (int)(end - gt - 1 < 63 ? end - gt - 1 : 63), gt + 1);
    return 1;
}

static int text_boxes(const char *svg, tbox *out) {
    int n = 0;
    for (const char *s = strstr(svg, "<text "); s && n < MAX_ITEMS; s = strstr(s + 1, "<text "))
        n += text_box(s, &out[n]);
    return n;
}

static int overlap(const tbox *a, const tbox *b) { return a->l < b->r && b->l < a->r && a->t < b->b && b->t < a->b; }

static void no_text_overlaps(void) {
    /* A crowded latency-throughput plot: 3 curves of 8 labelled points, several nearly on top of each other. */
    double x[3][8], y[3][8];
    const char *labels[] = {"1", "2", "4", "8", "16", "32", "64", "128"};
    nnb_plot_series s[3];
    static const char *const names[] = {"resnet18 workers=1", "resnet18 workers=2", "resnet18 workers=4"};
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 8; j++)
            x[i][j] = 1000 + 300 * j + 7 * i, y[i][j] = 20 + 2 * j + 0.3 * i;
        s[i] = (nnb_plot_series){.name = names[i],
                                 .n = 8,
                                 .x = x[i],
                                 .y = y[i],
                                 .point_labels = labels,
                                 .colour_key = "resnet18",
                                 .style_key = names[i]};
    }
    nnb_plot p = {.title = "nnbench serve sweep: p99 latency against throughput",
                  .subtitle = "varies: max-batch (point labels), workers (line style)\nfixed: --mode closed "
                              "--concurrency 16 --requests 512 --device cpu --runner resnet18 --threads 4 --seed 1",
                  .warning = "partial: 6 of 22 points",
                  .x_label = "samples/s",
                  .y_label = "p99 latency (ms)",
                  .y_log = 10,
                  .series_count = 3,
                  .series = s};
    char *svg = plot_or_fail(&p, "crowded");
    if (!svg)
        return;
    CHECK_STR_CONTAINS(svg, ">partial: 6 of 22 points</text>");
    CHECK_STR_CONTAINS(svg, "<text class=\"warning\"");
    CHECK_STR_CONTAINS(svg, "<text class=\"subtitle\"");
    tbox t[MAX_ITEMS];
    int n = text_boxes(svg, t), labels_drawn = count(svg, "class=\"point-label\"");
    CHECK_MSG(n > 20, "%d texts", n);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            CHECK_MSG(!overlap(&t[i], &t[j]), "'%s' overlaps '%s'", t[i].text, t[j].text);
    /* Labels are moved, not dropped wholesale: most of the 24 find a place; none covers a marker. */
    CHECK_MSG(labels_drawn >= 12, "%d of 24 point labels drawn", labels_drawn);
    marker m[MAX_ITEMS];
    int nm = markers(svg, m);
    for (const char *l = strstr(svg, "class=\"point-label\""); l; l = strstr(l + 1, "class=\"point-label\"")) {
        tbox lb;
        if (!text_box(l - strlen("<text "), &lb))
            continue;
        for (int k = 0; k < nm; k++) {
            tbox mb = {m[k].cx - 3.5, m[k].cy - 3.5, m[k].cx + 3.5, m[k].cy + 3.5, ""};
            CHECK_MSG(!overlap(&lb, &mb), "label '%s' covers a marker at %g,%g", lb.text, m[k].cx, m[k].cy);
        }
    }
    free(svg);
}

/* 120 categories in 500 px: turned labels, every k-th, neighbours at least 1.4 lines apart. */
static void crowded_categories_are_thinned(void) {
    enum { N = 120 };
    static char text[N][16];
    const char *cats[N];
    double x[N], y[N];
    for (int i = 0; i < N; i++)
        snprintf(text[i], sizeof text[i], "shape_%03d", i), cats[i] = text[i], x[i] = i, y[i] = 1 + i % 5;
    nnb_plot_series s = {.name = "aten", .n = N, .x = x, .y = y};
    nnb_plot p = {.category_count = N, .categories = cats, .series_count = 1, .series = &s};
    char *svg = plot_or_fail(&p, "120 categories");
    if (!svg)
        return;
    double prev = -INFINITY, closest = INFINITY;
    int drawn = 0;
    for (const char *t = strstr(svg, "<text class=\"xtick\""); t; t = strstr(t + 1, "<text class=\"xtick\"")) {
        double px = attr(t, "x");
        closest = fmin(closest, px - prev);
        prev = px;
        drawn++;
        CHECK_MSG(strstr(t, "rotate(-90") != NULL, "narrow bands: labels turned 90 degrees");
    }
    CHECK_MSG(drawn > 10 && drawn < N, "%d of %d category labels drawn", drawn, N);
    CHECK_MSG(closest >= 1.4 * 12 - 1e-9, "turned labels %g px apart", closest);
    free(svg);
}

int main(void) {
    ticks_label_every_scale();
    colour_follows_the_runner();
    categories_get_markers_not_lines();
    error_bars_span_what_was_given();
    no_text_overlaps();
    crowded_categories_are_thinned();
    return nnb_test_finish();
}
