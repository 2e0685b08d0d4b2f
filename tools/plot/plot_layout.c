/* nnb_plot: where everything goes (plot_internal.h). The title, subtitle lines and warning line on top;
 * the y label and y tick labels left of the plot area; the x tick labels and x label below it; the legend
 * to its right. Margins are sized from estimated text widths; also the colours and styles of the series
 * and the spacing of category labels. */
#define _POSIX_C_SOURCE 200809L
#include "plot_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Okabe & Ito's palette without its yellow, then three of Paul Tol's: readable
 * with the common colour-vision deficiencies, and on white. */
const char *const plot_palette[PALETTE_SIZE] = {"#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7",
                                                "#56B4E9", "#882255", "#999933", "#332288", "#000000"};
/* Line styles (stroke-dasharray, NULL for solid); style k also has marker shape k. */
const char *const plot_dashes[STYLE_COUNT] = {NULL, "7 4", "2 3", "9 3 2 3", "4 2"};

const char *plot_series_name(const nnb_plot_series *s, int i, char *buf, size_t len) {
    if (s->name)
        return s->name;
    snprintf(buf, len, "series %d", i + 1);
    return buf;
}

const char *plot_category(const nnb_plot *p, int i) { return p->categories[i] ? p->categories[i] : ""; }

/* Rank of series i's key among the distinct keys of series 0..i (first appearance order). */
static int key_rank(const nnb_plot *p, int i, int colour) {
    const char *key = colour ? p->series[i].colour_key : p->series[i].style_key;
    int rank = 0;
    for (int j = 0; j < i; j++) {
        const char *k = colour ? p->series[j].colour_key : p->series[j].style_key;
        int seen = 0;
        for (int q = 0; q < j && k && !seen; q++) { /* count each distinct key once */
            const char *kq = colour ? p->series[q].colour_key : p->series[q].style_key;
            seen = kq && !strcmp(kq, k);
        }
        if (k && !seen) {
            if (!strcmp(k, key))
                return rank;
            rank++;
        }
    }
    return rank;
}

static void plan_styles(plot_doc *d) {
    for (int i = 0; i < d->p->series_count; i++) {
        const nnb_plot_series *s = &d->p->series[i];
        if (s->colour_key) {
            d->colour[i] = key_rank(d->p, i, 1) % PALETTE_SIZE;
            d->style[i] = s->style_key ? key_rank(d->p, i, 0) % STYLE_COUNT : 0;
        } else {
            d->colour[i] = i % PALETTE_SIZE;
            d->style[i] = (i / PALETTE_SIZE) % STYLE_COUNT;
        }
    }
}

/* Title, subtitle lines (split at '\n') and warning: their baselines, and the top of the plot area. */
static void plan_header(const nnb_plot *p, layout *L) {
    double y = 0;
    if (plot_has_text(p->title))
        L->title_y = y = 30;
    L->sub_count = 0;
    for (const char *s = p->subtitle; plot_has_text(s) && L->sub_count < MAX_SUBTITLE_LINES;) {
        size_t n = strcspn(s, "\n");
        y = !y ? 20 : L->sub_count ? y + 16 : y + 19;
        L->sub[L->sub_count] = s;
        L->sub_len[L->sub_count] = n;
        L->sub_y[L->sub_count++] = y;
        s = s[n] ? s + n + 1 : s + n;
    }
    if (plot_has_text(p->warning))
        L->warning_y = y = y ? y + 18 : 20;
    L->top = y ? y + 18 : 20;
}

static void plan_legend(const nnb_plot *p, layout *L) {
    double widest = 0;
    for (int i = 0; i < p->series_count; i++) {
        char buf[32];
        widest = fmax(widest, plot_text_width(plot_series_name(&p->series[i], i, buf, sizeof buf), FONT_LEGEND));
    }
    L->legend_text_w = fmin(widest, fmax(40, 0.3 * L->w - 52));
    L->right = L->w - (L->legend_text_w + 52) - 28;
}

static void plan_legend_rows(const nnb_plot *p, layout *L) {
    double avail = L->bottom - L->top - 12;
    L->row_h = fmin(20, avail / p->series_count);
    L->legend_font = fmin(FONT_LEGEND, L->row_h * 0.75);
}

/* Category labels: flat when the widest fits its band, else turned 35 degrees (or 90 when bands are
 * narrow), and every k-th only when turned neighbours would still be closer than 1.4 lines of text; left
 * margin for the first turned label. */
static void plan_categories(const nnb_plot *p, layout *L, double *left_min) {
    double band = (L->right - L->left) / p->category_count, widest = 0;
    for (int i = 0; i < p->category_count; i++)
        widest = fmax(widest, plot_text_width(plot_category(p, i), FONT_TICK));
    double line = 1.4 * FONT_TICK; /* the least distance between parallel labels */
    L->cat_angle = widest + 8 <= band ? 0 : band * sin(35 * acos(-1.0) / 180) >= line ? 35 : 90;
    L->cat_stride = 1;
    L->dodge = p->series_count > 1 ? fmin(8, 0.6 * band / (p->series_count - 1)) : 0;
    if (L->cat_angle == 0) {
        L->cat_max_w = band;
        L->xtick_h = FONT_TICK;
        return;
    }
    double rad = L->cat_angle * acos(-1.0) / 180, limit = 0.3 * L->h;
    /* Neighbouring turned labels are parallel, band x sin(angle) apart. */
    L->cat_stride = (int)ceil(line / (band * sin(rad)) - 1e-9);
    L->cat_stride = L->cat_stride < 1 ? 1 : L->cat_stride;
    L->cat_max_w = fmax(20, (limit - FONT_TICK * cos(rad)) / sin(rad));
    double w = fmin(widest, L->cat_max_w);
    L->xtick_h = w * sin(rad) + FONT_TICK * cos(rad);
    double first = fmin(plot_text_width(plot_category(p, 0), FONT_TICK), L->cat_max_w);
    *left_min = first * cos(rad) - band / 2 + 8;
}

void plot_plan(plot_doc *d) {
    const nnb_plot *p = d->p;
    layout *L = &d->L;
    L->w = p->width ? p->width : NNB_PLOT_DEFAULT_WIDTH;
    L->h = p->height ? p->height : NNB_PLOT_DEFAULT_HEIGHT;
    plan_styles(d);
    plan_header(p, L);
    plan_legend(p, L);
    double xlab = plot_has_text(p->x_label) ? FONT_LABEL + 10 : 0,
           ylab = plot_has_text(p->y_label) ? FONT_LABEL + 12 : 0;
    double left_min = 0;
    L->xtick_h = FONT_TICK;
    L->cat_angle = 0;
    for (int pass = 0; pass < 3; pass++) {
        L->bottom = L->h - (2 * TICK_LEN + L->xtick_h + xlab + 14);
        d->y.p_lo = L->bottom;
        d->y.p_hi = L->top;
        plot_axis_ticks(&d->y, L->bottom - L->top, 1);
        L->left = fmin(fmax(12 + ylab + d->y.label_w + TICK_LEN + 6, left_min), 0.35 * L->w);
        d->x.p_lo = L->left;
        d->x.p_hi = L->right;
        if (d->x.categories)
            plan_categories(p, L, &left_min);
        else
            plot_axis_ticks(&d->x, L->right - L->left, 0);
    }
    plan_legend_rows(p, L);
}
