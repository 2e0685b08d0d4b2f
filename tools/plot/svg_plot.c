/*
 * nnb_plot (svg_plot.h): input validation and the document, drawn in this order: frame, header and axis
 * labels, tick labels, legend, series, point labels (each text placed where no earlier one is). The pieces:
 * plot_internal.h.
 */
#define _POSIX_C_SOURCE 200809L
#include "svg_plot.h"

#include "plot_internal.h"
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- validation ---- */

static int check_base(int v, int usual, const char *which, int *base, char *err, size_t err_len) {
    if (v == 0 || v == 2 || v == 10)
        *base = v;
    else if (v == 1)
        *base = usual;
    else {
        plot_set_err(err, err_len, "%s = %d: use 0 (linear), 1 (the usual base), 2 or 10", which, v);
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
        plot_set_err(err, err_len, "%s: %d points (0..%d)", ref, s->n, NNB_PLOT_MAX_POINTS);
        return -1;
    }
    if (s->n > 0 && (!s->x || !s->y)) {
        plot_set_err(err, err_len, "%s: %d points but no %s values", ref, s->n, s->x ? "y" : "x");
        return -1;
    }
    for (int j = 0; j < s->n; j++) {
        double x = s->x[j], y = s->y[j], e = s->y_err ? s->y_err[j] : 0;
        if (p->category_count > 0 && isfinite(x) && (x < 0 || x >= p->category_count || x != floor(x))) {
            plot_set_err(err, err_len, "%s, point %d: x = %s is not a category index 0..%d", ref, j, plot_shortest(x).s,
                         p->category_count - 1);
            return -1;
        }
        const char *axis_name = xb && isfinite(x) && x <= 0 ? "x" : yb && isfinite(y) && y <= 0 ? "y" : NULL;
        if (axis_name) {
            plot_set_err(err, err_len, "%s, point %d: %s = %s on a logarithmic %s axis (values must be > 0)", ref, j,
                         axis_name, plot_shortest(*axis_name == 'x' ? x : y).s, axis_name);
            return -1;
        }
        if (e < 0) {
            plot_set_err(err, err_len, "%s, point %d: y_err = %s is negative", ref, j, plot_shortest(e).s);
            return -1;
        }
        if (s->x_err && (s->x_err[j] < 0 || (p->category_count > 0 && s->x_err[j] > 0))) {
            plot_set_err(err, err_len, "%s, point %d: x_err = %s %s", ref, j, plot_shortest(s->x_err[j]).s,
                         p->category_count > 0 ? "on a categorical axis" : "is negative");
            return -1;
        }
        if (s->y_lo && s->y_hi && s->y_lo[j] > s->y_hi[j]) {
            plot_set_err(err, err_len, "%s, point %d: y_lo = %s is above y_hi = %s", ref, j,
                         plot_shortest(s->y_lo[j]).s, plot_shortest(s->y_hi[j]).s);
            return -1;
        }
    }
    return 0;
}

static int check_plot(const nnb_plot *p, int *xb, int *yb, char *err, size_t err_len) {
    if (!p) {
        plot_set_err(err, err_len, "no plot given");
        return -1;
    }
    if (p->series_count <= 0 || !p->series) {
        plot_set_err(err, err_len, "no series to plot");
        return -1;
    }
    if (p->series_count > NNB_PLOT_MAX_SERIES) {
        plot_set_err(err, err_len, "%d series: at most %d", p->series_count, NNB_PLOT_MAX_SERIES);
        return -1;
    }
    if ((p->width != 0 && (p->width < NNB_PLOT_MIN_SIZE || p->width > NNB_PLOT_MAX_SIZE)) ||
        (p->height != 0 && (p->height < NNB_PLOT_MIN_SIZE || p->height > NNB_PLOT_MAX_SIZE))) {
        plot_set_err(err, err_len, "size %dx%d: width and height must be 0 (default) or %d..%d", p->width, p->height,
                     NNB_PLOT_MIN_SIZE, NNB_PLOT_MAX_SIZE);
        return -1;
    }
    if (check_base(p->x_log, 2, "x_log", xb, err, err_len) != 0 ||
        check_base(p->y_log, 10, "y_log", yb, err, err_len) != 0)
        return -1;
    if (p->category_count < 0 || p->category_count > NNB_PLOT_MAX_CATEGORIES) {
        plot_set_err(err, err_len, "%d categories (0..%d)", p->category_count, NNB_PLOT_MAX_CATEGORIES);
        return -1;
    }
    if (p->category_count > 0 && (!p->categories || *xb)) {
        plot_set_err(err, err_len, "%s",
                     p->categories ? "a categorical x axis cannot be logarithmic" : "no category labels");
        return -1;
    }
    for (int i = 0; i < p->series_count; i++)
        if (check_series(p, i, *xb, *yb, err, err_len) != 0)
            return -1;
    return 0;
}

/* ---- the document ---- */

/* Points and bar ends (other than ends at or below 0 on a log axis, which are cut there). */
static void data_extents(const nnb_plot *p, const axis *x, const axis *y, extent *xe, extent *ye) {
    for (int i = 0; i < p->series_count; i++) {
        const nnb_plot_series *s = &p->series[i];
        for (int j = 0; j < s->n; j++) {
            double lo, hi, e = plot_x_half_width(s, j);
            if (!plot_drawn(s, j))
                continue;
            plot_extend(xe, plot_to_units(x, s->x[j]));
            plot_extend(ye, plot_to_units(y, s->y[j]));
            if (plot_bar_ends(s, j, &lo, &hi)) {
                plot_extend(ye, plot_to_units(y, hi));
                if (!y->base || lo > 0)
                    plot_extend(ye, plot_to_units(y, lo));
            }
            if (e > 0 && !x->categories) {
                plot_extend(xe, plot_to_units(x, s->x[j] + e));
                if (!x->base || s->x[j] - e > 0)
                    plot_extend(xe, plot_to_units(x, s->x[j] - e));
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
    plot_doc d;
    memset(&d, 0, sizeof d);
    d.p = p;
    d.x = (axis){.base = xb, .categories = p->category_count};
    d.y = (axis){.base = yb};
    extent xe = {0}, ye = {0};
    data_extents(p, &d.x, &d.y, &xe, &ye);
    if (d.x.categories) {
        d.x.lo = -0.5;
        d.x.hi = d.x.categories - 0.5;
    } else {
        plot_set_range(&d.x, xe, 0);
    }
    plot_set_range(&d.y, ye, 1);
    if (!span_ok(&d.x) || !span_ok(&d.y)) {
        plot_set_err(err, err_len, "the %s values are too large or too far apart to plot", span_ok(&d.x) ? "y" : "x");
        return NULL;
    }
    plot_plan(&d);
    sb_printf(&d.b,
              "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
              "font-family=\"DejaVu Sans, Arial, Helvetica, sans-serif\" font-size=\"12\">\n",
              (int)d.L.w, (int)d.L.h, (int)d.L.w, (int)d.L.h);
    sb_puts(&d.b, "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");
    plot_emit_frame(&d);
    plot_emit_titles(&d);
    plot_emit_tick_labels(&d);
    plot_emit_legend(&d);
    plot_emit_series(&d);
    sb_puts(&d.b, "</svg>\n");
    int oom = d.b.oom || d.text.oom || d.marks.oom;
    free(d.text.v);
    free(d.marks.v);
    if (oom) {
        free(d.b.p);
        plot_set_err(err, err_len, "out of memory building the SVG document");
        return NULL;
    }
    return d.b.p;
}

int nnb_plot_svg_write(const char *path, const nnb_plot *p, char *err, size_t err_len) {
    if (!plot_has_text(path)) {
        plot_set_err(err, err_len, "no output path given for the plot");
        return -1;
    }
    char why[512] = "";
    char *svg = nnb_plot_svg(p, why, sizeof why);
    if (!svg) {
        plot_set_err(err, err_len, "cannot write '%s': %s", path, why);
        return -1;
    }
    /* The project's one atomic writer (temporary file beside path, fsync, rename; see report.h). */
    int rc = nnb_write_file_atomic(path, svg, strlen(svg), err, err_len);
    free(svg);
    return rc;
}
