/* nnb_plot: the frame (grid, ticks, plot area), tick labels, title, subtitle and warning lines, axis labels
 * and the legend (plot_internal.h). Every text's estimated box is kept in d->text; a tick label that would
 * overlap one already drawn is left out (its tick mark stays). */
#define _POSIX_C_SOURCE 200809L
#include "plot_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define F2(v) plot_fixed_2(v).s

static void grid_line(sbuf *b, double x1, double y1, double x2, double y2) {
    sb_printf(b, "<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\"/>\n", F2(x1), F2(y1), F2(x2), F2(y2));
}

/* Pixel x of tick or category i of the x axis. */
static double x_tick_px(const axis *x, int i) { return plot_to_px(x, x->categories ? i : x->tick[i]); }

void plot_emit_frame(plot_doc *d) {
    const axis *x = &d->x, *y = &d->y;
    const layout *L = &d->L;
    sbuf *b = &d->b;
    int nx = x->categories ? x->categories : x->ntick;
    sb_puts(b, "<g class=\"grid\" stroke=\"#e8e8e8\" stroke-width=\"1\">\n");
    for (int i = 0; i < y->ntick; i++)
        grid_line(b, L->left, plot_to_px(y, y->tick[i]), L->right, plot_to_px(y, y->tick[i]));
    for (int i = 0; i < nx; i++)
        grid_line(b, x_tick_px(x, i), L->top, x_tick_px(x, i), L->bottom);
    sb_puts(b, "</g>\n<g class=\"ticks\" stroke=\"#444444\" stroke-width=\"1\">\n");
    for (int i = 0; i < y->ntick; i++)
        grid_line(b, L->left - TICK_LEN, plot_to_px(y, y->tick[i]), L->left, plot_to_px(y, y->tick[i]));
    for (int i = 0; i < nx; i++)
        grid_line(b, x_tick_px(x, i), L->bottom, x_tick_px(x, i), L->bottom + TICK_LEN);
    sb_printf(b,
              "</g>\n<rect class=\"plot-area\" x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" fill=\"none\" "
              "stroke=\"#444444\" stroke-width=\"1\"/>\n",
              F2(L->left), F2(L->top), F2(L->right - L->left), F2(L->bottom - L->top));
}

/* A one-line text of class cls with its baseline at (x, y): squeezed to max_w, its box recorded. extra: more
 * attributes (or ""). */
static void put_text(plot_doc *d, const char *cls, double x, double y, char anchor, double font, double max_w,
                     const char *extra, const char *text) {
    static const char *const anchors[] = {"start", "middle", "end"};
    const char *a = anchors[anchor == 'm' ? 1 : anchor == 'e' ? 2 : 0];
    sb_printf(&d->b, "<text class=\"%s\" x=\"%s\" y=\"%s\" text-anchor=\"%s\" font-size=\"%s\"%s", cls, F2(x), F2(y), a,
              F2(font), extra);
    sb_fit(&d->b, text, font, max_w);
    sb_puts(&d->b, ">");
    sb_text(&d->b, text);
    sb_puts(&d->b, "</text>\n");
    plot_boxes_add(&d->text, plot_text_box(x, y, font, anchor, fmin(plot_text_width(text, font), max_w)));
}

/* A tick label, unless it would overlap text already drawn. */
static void tick_text(plot_doc *d, const char *cls, double x, double y, char anchor, const char *text) {
    if (!plot_boxes_hit(&d->text, plot_text_box(x, y, FONT_TICK, anchor, plot_text_width(text, FONT_TICK))))
        put_text(d, cls, x, y, anchor, FONT_TICK, 1e9, "", text);
}

static void emit_category_labels(plot_doc *d) {
    const nnb_plot *p = d->p;
    const layout *L = &d->L;
    double base = L->bottom + 2 * TICK_LEN + FONT_TICK * TEXT_ASCENT;
    for (int i = 0; i < p->category_count; i += L->cat_stride) {
        double px = plot_to_px(&d->x, i);
        if (L->cat_angle == 0) {
            put_text(d, "xtick", px, base, 'm', FONT_TICK, L->cat_max_w, "", plot_category(p, i));
            continue;
        }
        num x = plot_fixed_2(px), y = plot_fixed_2(L->bottom + 2 * TICK_LEN);
        sb_printf(&d->b,
                  "<text class=\"xtick\" x=\"%s\" y=\"%s\" dy=\"0.35em\" text-anchor=\"end\" font-size=\"12\" "
                  "transform=\"rotate(-%d %s %s)\"",
                  x.s, y.s, (int)L->cat_angle, x.s, y.s);
        sb_fit(&d->b, plot_category(p, i), FONT_TICK, L->cat_max_w);
        sb_puts(&d->b, ">");
        sb_text(&d->b, plot_category(p, i));
        sb_puts(&d->b, "</text>\n");
    }
}

void plot_emit_tick_labels(plot_doc *d) {
    const axis *x = &d->x, *y = &d->y;
    const layout *L = &d->L;
    sb_puts(&d->b, "<g class=\"tick-labels\" fill=\"#222222\">\n");
    for (int i = 0; i < y->ntick; i++)
        tick_text(d, "ytick", L->left - TICK_LEN - 4, plot_to_px(y, y->tick[i]) + 0.35 * FONT_TICK, 'e', y->label[i].s);
    if (x->categories)
        emit_category_labels(d);
    else
        for (int i = 0; i < x->ntick; i++)
            tick_text(d, "xtick", plot_to_px(x, x->tick[i]), L->bottom + 2 * TICK_LEN + FONT_TICK * TEXT_ASCENT, 'm',
                      x->label[i].s);
    sb_puts(&d->b, "</g>\n");
}

/* Centred over the plot area when it fits there, else over the whole width. */
static double header_x(const layout *L, const char *text, double font) {
    double mid = (L->left + L->right) / 2, w = plot_text_width(text, font);
    return mid - w / 2 >= 10 && mid + w / 2 <= L->w - 10 ? mid : L->w / 2;
}

static void emit_header(plot_doc *d) {
    const nnb_plot *p = d->p;
    const layout *L = &d->L;
    if (plot_has_text(p->title))
        put_text(d, "title", header_x(L, p->title, FONT_TITLE), L->title_y, 'm', FONT_TITLE, L->w - 20,
                 " font-weight=\"bold\" fill=\"#111111\"", p->title);
    for (int i = 0; i < L->sub_count; i++) {
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)L->sub_len[i], L->sub[i]);
        put_text(d, "subtitle", header_x(L, line, FONT_SUB), L->sub_y[i], 'm', FONT_SUB, L->w - 20, " fill=\"#444444\"",
                 line);
    }
    if (plot_has_text(p->warning))
        put_text(d, "warning", header_x(L, p->warning, FONT_SUB), L->warning_y, 'm', FONT_SUB, L->w - 20,
                 " font-weight=\"bold\" fill=\"#B00020\"", p->warning);
}

void plot_emit_titles(plot_doc *d) {
    const nnb_plot *p = d->p;
    const layout *L = &d->L;
    emit_header(d);
    if (plot_has_text(p->x_label))
        put_text(d, "x-label", (L->left + L->right) / 2,
                 L->bottom + 2 * TICK_LEN + L->xtick_h + 10 + FONT_LABEL * TEXT_ASCENT, 'm', FONT_LABEL, L->w - 20,
                 " fill=\"#111111\"", p->x_label);
    if (plot_has_text(p->y_label)) {
        num px = plot_fixed_2(12 + FONT_LABEL * TEXT_ASCENT), py = plot_fixed_2((L->top + L->bottom) / 2);
        sb_printf(&d->b,
                  "<text class=\"y-label\" x=\"%s\" y=\"%s\" transform=\"rotate(-90 %s %s)\" "
                  "text-anchor=\"middle\" font-size=\"13\" fill=\"#111111\"",
                  px.s, py.s, px.s, py.s);
        sb_fit(&d->b, p->y_label, FONT_LABEL, L->bottom - L->top);
        sb_puts(&d->b, ">");
        sb_text(&d->b, p->y_label);
        sb_puts(&d->b, "</text>\n");
    }
}

void plot_emit_legend(plot_doc *d) {
    const nnb_plot *p = d->p;
    const layout *L = &d->L;
    sbuf *b = &d->b;
    double x0 = L->right + 20, y0 = L->top;
    sb_puts(b, "<g class=\"legend\" fill=\"#222222\">\n");
    sb_printf(b, "<rect x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" rx=\"3\" fill=\"#ffffff\" stroke=\"#cccccc\"/>\n",
              F2(x0), F2(y0), F2(L->legend_text_w + 52), F2(p->series_count * L->row_h + 12));
    for (int i = 0; i < p->series_count; i++) {
        const char *col = plot_palette[d->colour[i]], *dash = plot_dashes[d->style[i]];
        char buf[32];
        const char *name = plot_series_name(&p->series[i], i, buf, sizeof buf);
        double cy = y0 + 6 + (i + 0.5) * L->row_h;
        sb_printf(b, "<g class=\"legend-entry\" data-series=\"%d\">\n", i);
        if (!d->x.categories) { /* categories: markers only, as in the plot */
            sb_printf(b, "<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\" stroke=\"%s\" stroke-width=\"2\"", F2(x0 + 8),
                      F2(cy), F2(x0 + 36), F2(cy), col);
            if (dash)
                sb_printf(b, " stroke-dasharray=\"%s\"", dash);
            sb_puts(b, "/>\n");
        }
        sb_printf(b, "<path fill=\"%s\" stroke=\"#ffffff\" d=\"", col);
        plot_emit_marker_shape(b, d->style[i], x0 + 22, cy, MARKER_R + 0.5);
        sb_puts(b, "\"/>\n");
        put_text(d, "legend-name", x0 + 42, cy + 0.35 * L->legend_font, 's', L->legend_font, L->legend_text_w, "",
                 name);
        sb_puts(b, "</g>\n");
    }
    sb_puts(b, "</g>\n");
}
