/* nnb_plot: the series (plot_internal.h): error bars under lines under markers, one group per series, then
 * every point label, each at the first free place around its marker or left out, so that no label covers
 * another text or a marker. */
#define _POSIX_C_SOURCE 200809L
#include "plot_internal.h"

#include <math.h>
#include <stdio.h>

#define F2(v) plot_fixed_2(v).s

int plot_drawn(const nnb_plot_series *s, int j) { return isfinite(s->x[j]) && isfinite(s->y[j]); }

int plot_bar_ends(const nnb_plot_series *s, int j, double *lo, double *hi) {
    if (s->y_lo && s->y_hi) {
        *lo = s->y_lo[j], *hi = s->y_hi[j];
    } else {
        double e = s->y_err ? s->y_err[j] : 0;
        if (!(isfinite(e) && e > 0))
            return 0;
        *lo = s->y[j] - e, *hi = s->y[j] + e;
    }
    return isfinite(*lo) && isfinite(*hi) && *hi > *lo;
}

double plot_x_half_width(const nnb_plot_series *s, int j) {
    double e = s->x_err ? s->x_err[j] : 0;
    return isfinite(e) && e > 0 ? e : 0;
}

double plot_marker_x(const plot_doc *d, int i, int j) {
    double px = plot_value_px(&d->x, d->p->series[i].x[j]);
    return d->x.categories ? px + (i - (d->p->series_count - 1) / 2.0) * d->L.dodge : px;
}

static double marker_y(const plot_doc *d, int i, int j) { return plot_value_px(&d->y, d->p->series[i].y[j]); }

/* Path data of marker shape k (circle, square, triangle, diamond, triangle down) of radius about r. */
void plot_emit_marker_shape(sbuf *b, int shape, double cx, double cy, double r) {
    switch (shape % STYLE_COUNT) {
    case 1:
        sb_printf(b, "M%s %sh%sv%sh-%sz", F2(cx - 0.9 * r), F2(cy - 0.9 * r), F2(1.8 * r), F2(1.8 * r), F2(1.8 * r));
        break;
    case 2:
        sb_printf(b, "M%s %sL%s %sL%s %sz", F2(cx), F2(cy - 1.25 * r), F2(cx + 1.15 * r), F2(cy + 0.75 * r),
                  F2(cx - 1.15 * r), F2(cy + 0.75 * r));
        break;
    case 3:
        sb_printf(b, "M%s %sL%s %sL%s %sL%s %sz", F2(cx), F2(cy - 1.3 * r), F2(cx + 1.3 * r), F2(cy), F2(cx),
                  F2(cy + 1.3 * r), F2(cx - 1.3 * r), F2(cy));
        break;
    case 4:
        sb_printf(b, "M%s %sL%s %sL%s %sz", F2(cx), F2(cy + 1.25 * r), F2(cx + 1.15 * r), F2(cy - 0.75 * r),
                  F2(cx - 1.15 * r), F2(cy - 0.75 * r));
        break;
    default:
        sb_printf(b, "M%s %sa%s %s 0 1 0 %s 0a%s %s 0 1 0 -%s 0z", F2(cx - r), F2(cy), F2(r), F2(r), F2(2 * r), F2(r),
                  F2(r), F2(2 * r));
    }
}

static void cap(sbuf *b, int horizontal, double x, double y) {
    if (horizontal)
        sb_printf(b, "<path d=\"M%s %sh8\"/>\n", F2(x - 4), F2(y));
    else
        sb_printf(b, "<path d=\"M%s %sv8\"/>\n", F2(x), F2(y - 4));
}

/* y bars from the upper end (y1) to the lower (y2), x bars from x - e (x1) to x + e (x2); an end at or below
 * 0 on a log axis is cut at the axis, without a cap. */
static void emit_error_bars(plot_doc *d, int i) {
    const nnb_plot_series *s = &d->p->series[i];
    const axis *x = &d->x, *y = &d->y;
    sb_printf(&d->b, "<g stroke=\"%s\" stroke-width=\"1.3\" fill=\"none\">\n", plot_palette[d->colour[i]]);
    for (int j = 0; j < s->n; j++) {
        double lo, hi, e = plot_x_half_width(s, j), px = plot_marker_x(d, i, j), py = marker_y(d, i, j);
        if (!plot_drawn(s, j))
            continue;
        if (plot_bar_ends(s, j, &lo, &hi)) {
            int cut = y->base && lo <= 0;
            double y1 = plot_value_px(y, hi), y2 = cut ? y->p_lo : plot_value_px(y, lo);
            sb_printf(&d->b, "<line class=\"errbar\" data-series=\"%d\" x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\"/>\n", i,
                      F2(px), F2(y1), F2(px), F2(y2));
            cap(&d->b, 1, px, y1);
            if (!cut)
                cap(&d->b, 1, px, y2);
        }
        if (e > 0 && isfinite(s->x[j] + e)) {
            int cut = x->base && s->x[j] - e <= 0;
            double x1 = cut ? x->p_lo : plot_value_px(x, s->x[j] - e), x2 = plot_value_px(x, s->x[j] + e);
            sb_printf(&d->b, "<line class=\"xerrbar\" data-series=\"%d\" x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\"/>\n",
                      i, F2(x1), F2(py), F2(x2), F2(py));
            cap(&d->b, 0, x2, py);
            if (!cut)
                cap(&d->b, 0, x1, py);
        }
    }
    sb_puts(&d->b, "</g>\n");
}

/* Runs of consecutive drawn points joined; never on a categorical axis (categories have no order). */
static void emit_lines(plot_doc *d, int i) {
    const nnb_plot_series *s = &d->p->series[i];
    const char *dash = plot_dashes[d->style[i]];
    if (d->x.categories)
        return;
    sb_printf(&d->b, "<g fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-linejoin=\"round\"",
              plot_palette[d->colour[i]]);
    if (dash)
        sb_printf(&d->b, " stroke-dasharray=\"%s\"", dash);
    sb_puts(&d->b, ">\n");
    for (int j = 0; j < s->n;) {
        int k = j;
        while (k < s->n && plot_drawn(s, k))
            k++;
        if (k - j >= 2) {
            sb_printf(&d->b, "<polyline class=\"line\" data-series=\"%d\" points=\"", i);
            for (int q = j; q < k; q++)
                sb_printf(&d->b, "%s%s,%s", q > j ? " " : "", F2(plot_marker_x(d, i, q)), F2(marker_y(d, i, q)));
            sb_puts(&d->b, "\"/>\n");
        }
        j = k > j ? k : j + 1;
    }
    sb_puts(&d->b, "</g>\n");
}

static void emit_markers(plot_doc *d, int i) {
    const nnb_plot_series *s = &d->p->series[i];
    sb_printf(&d->b, "<g fill=\"%s\" stroke=\"#ffffff\" stroke-width=\"1\">\n", plot_palette[d->colour[i]]);
    for (int j = 0; j < s->n; j++) {
        if (!plot_drawn(s, j))
            continue;
        double cx = plot_marker_x(d, i, j), cy = marker_y(d, i, j);
        sb_printf(&d->b, "<path class=\"point\" data-series=\"%d\" data-x=\"%s\" data-y=\"%s\" data-cx=\"%s\" ", i,
                  plot_shortest(s->x[j]).s, plot_shortest(s->y[j]).s, F2(cx));
        sb_printf(&d->b, "data-cy=\"%s\" d=\"", F2(cy));
        plot_emit_marker_shape(&d->b, d->style[i], cx, cy, MARKER_R);
        sb_puts(&d->b, "\"/>\n");
    }
    sb_puts(&d->b, "</g>\n");
}

/* Label of point j of series i at the first free place around its marker, or nowhere. */
static void place_point_label(plot_doc *d, int i, int j, const char *label) {
    static const struct {
        char anchor;
        double dx, dy, ascent; /* baseline = cy + dy + ascent x font */
    } at[] = {{'s', 5, -5, 0},   {'e', -5, -5, 0},   {'s', 5, 5, 0.8}, {'e', -5, 5, 0.8},
              {'s', 6, 0, 0.35}, {'e', -6, 0, 0.35}, {'m', 0, -6, 0},  {'m', 0, 6, 0.8}};
    double cx = plot_marker_x(d, i, j), cy = marker_y(d, i, j), w = plot_text_width(label, FONT_POINT);
    for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
        double x = cx + at[k].dx, y = cy + at[k].dy + at[k].ascent * FONT_POINT;
        tbox box = plot_text_box(x, y, FONT_POINT, at[k].anchor, w);
        if (box.l < d->L.left || box.r > d->L.right || box.t < d->L.top || box.b > d->L.bottom ||
            plot_boxes_hit(&d->text, box) || plot_boxes_hit(&d->marks, box))
            continue;
        const char *anchor = at[k].anchor == 's' ? "start" : at[k].anchor == 'e' ? "end" : "middle";
        sb_printf(&d->b,
                  "<text class=\"point-label\" data-series=\"%d\" x=\"%s\" y=\"%s\" text-anchor=\"%s\" "
                  "font-size=\"10\" fill=\"%s\">",
                  i, F2(x), F2(y), anchor, plot_palette[d->colour[i]]);
        sb_text(&d->b, label);
        sb_puts(&d->b, "</text>\n");
        plot_boxes_add(&d->text, box);
        return;
    }
}

void plot_emit_series(plot_doc *d) {
    const nnb_plot *p = d->p;
    for (int i = 0; i < p->series_count; i++) /* every marker, before any label is placed */
        for (int j = 0; j < p->series[i].n; j++)
            if (plot_drawn(&p->series[i], j)) {
                double cx = plot_marker_x(d, i, j), cy = marker_y(d, i, j);
                plot_boxes_add(&d->marks, (tbox){cx - MARKER_R, cy - MARKER_R, cx + MARKER_R, cy + MARKER_R});
            }
    for (int i = 0; i < p->series_count; i++) {
        const nnb_plot_series *s = &p->series[i];
        sb_printf(&d->b, "<g class=\"series\" data-series=\"%d\">\n", i);
        if (s->y_err || (s->y_lo && s->y_hi) || s->x_err)
            emit_error_bars(d, i);
        emit_lines(d, i);
        emit_markers(d, i);
        sb_puts(&d->b, "</g>\n");
    }
    sb_puts(&d->b, "<g class=\"point-labels\" stroke=\"none\">\n");
    for (int i = 0; i < p->series_count; i++)
        for (int j = 0; j < p->series[i].n && p->series[i].point_labels; j++)
            if (plot_drawn(&p->series[i], j) && plot_has_text(p->series[i].point_labels[j]))
                place_point_label(d, i, j, p->series[i].point_labels[j]);
    sb_puts(&d->b, "</g>\n");
}
