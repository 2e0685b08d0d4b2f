/*
 * Internals of nnb_plot (svg_plot.h), shared by its files and by nothing else:
 *   plot_text.c    numbers without the locale, UTF-8 text, estimated text boxes, the output buffer;
 *   plot_scales.c  axis ranges and ticks (linear, log 2, log 10);
 *   plot_layout.c  where everything goes: margins, header lines, legend rows, category labels, styles;
 *   plot_draw.c    frame, tick labels, titles and legend;
 *   plot_series.c  markers, lines, error bars and point labels (moved or left out so none overlaps);
 *   svg_plot.c     validation and the document.
 * Pixel coordinates have y down. Text boxes are estimates (CHAR_EM per character, TEXT_ASCENT above the
 * baseline and TEXT_DESCENT below it, in em): there are no font metrics.
 */
#ifndef NNB_PLOT_INTERNAL_H
#define NNB_PLOT_INTERNAL_H

#include "svg_plot.h"

#include <stddef.h>

#if defined(__GNUC__)
#define NNB_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define NNB_PRINTF(f, a)
#endif

enum { MAX_TICKS = 64, PALETTE_SIZE = 10, STYLE_COUNT = 5, MAX_SUBTITLE_LINES = 3 };

#define CHAR_EM 0.6      /* estimated width of a character, in em (about DejaVu Sans, the widest common sans) */
#define TEXT_ASCENT 0.8  /* em above the baseline */
#define TEXT_DESCENT 0.2 /* em below it */
#define FONT_TICK 12.0   /* tick labels */
#define FONT_LABEL 13.0  /* axis labels */
#define FONT_TITLE 16.0  /* title */
#define FONT_SUB 12.0    /* subtitle and warning lines */
#define FONT_LEGEND 12.0 /* legend, unless rows must shrink */
#define FONT_POINT 10.0  /* point labels */
#define TICK_LEN 5.0     /* tick marks, outside the plot area */
#define PAD_FRACTION 0.05
#define MARKER_R 3.5

void plot_set_err(char *err, size_t err_len, const char *fmt, ...) NNB_PRINTF(3, 4);

/* ---- numbers and text (plot_text.c) ---- */

typedef struct num {
    char s[48];
} num;

num plot_fixed_2(double v);                         /* "%.2f" of a pixel coordinate */
num plot_shortest(double v);                        /* shortest "%.Ng" that reads back as v */
num plot_tick_label(double v, int e, int exponent); /* a tick value, a multiple of 10^e */
int plot_exponent_style(const double *v, int n);    /* labels of these values in exponent form? */
num plot_pow2_label(int k);                         /* 2^k */
double plot_scaled(double k, int m, int e);         /* k x m x 10^e, rounded once */
double plot_text_width(const char *s, double font); /* estimated, pixels */
static inline int plot_has_text(const char *s) { return s && *s; }

/* An estimated text box, pixels. */
typedef struct tbox {
    double l, t, r, b;
} tbox;
/* The box of text with its baseline at y, anchored at x ('s'tart, 'm'iddle, 'e'nd), width w. */
tbox plot_text_box(double x, double y, double font, char anchor, double w);
int plot_boxes_overlap(tbox a, tbox b);

/* Boxes placed so far, for moving or leaving out text that would overlap. */
typedef struct boxes {
    tbox *v;
    int n, cap, oom;
} boxes;
void plot_boxes_add(boxes *b, tbox x);
int plot_boxes_hit(const boxes *b, tbox x); /* does x overlap one of them? */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

void sb_put(sbuf *b, const char *s, size_t n);
void sb_puts(sbuf *b, const char *s);
void sb_printf(sbuf *b, const char *fmt, ...) NNB_PRINTF(2, 3);    /* only %s, %d, %c (locale-free) */
void sb_text(sbuf *b, const char *text);                           /* XML-escaped, valid UTF-8 */
void sb_fit(sbuf *b, const char *text, double font, double max_w); /* textLength when wider than max_w */

/* ---- axes (plot_scales.c) ---- */

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

double plot_to_units(const axis *a, double v);
double plot_to_px(const axis *a, double u);
double plot_value_px(const axis *a, double v);
void plot_extend(extent *e, double u);
void plot_set_range(axis *a, extent e, int hold_zero);
/* Ticks and their labels for an axis len pixels long (vertical: the y axis). */
void plot_axis_ticks(axis *a, double len, int vertical);

/* ---- layout (plot_layout.c) ---- */

typedef struct layout {
    double w, h;
    double left, right, top, bottom; /* plot area edges */
    double title_y, warning_y;       /* baselines */
    int sub_count;                   /* subtitle lines */
    const char *sub[MAX_SUBTITLE_LINES];
    size_t sub_len[MAX_SUBTITLE_LINES];
    double sub_y[MAX_SUBTITLE_LINES];
    double xtick_h; /* height taken by the x tick labels */
    double legend_text_w, row_h, legend_font;
    double cat_angle; /* rotation of category labels: 0, 35 or 90 degrees */
    double cat_max_w; /* category labels estimated wider are squeezed */
    int cat_stride;   /* every cat_stride-th category label is drawn */
    double dodge;     /* categorical: pixels between the markers of neighbouring series in a band */
} layout;

/* Everything one document needs while it is written. */
typedef struct plot_doc {
    const nnb_plot *p;
    axis x, y;
    layout L;
    sbuf b;
    boxes text;  /* every text drawn so far */
    boxes marks; /* every marker */
    int colour[NNB_PLOT_MAX_SERIES], style[NNB_PLOT_MAX_SERIES];
} plot_doc;

extern const char *const plot_palette[PALETTE_SIZE];
extern const char *const plot_dashes[STYLE_COUNT];

const char *plot_series_name(const nnb_plot_series *s, int i, char *buf, size_t len);
const char *plot_category(const nnb_plot *p, int i);
/* Colours and styles of every series (from their keys or indices), margins, ticks, rows. */
void plot_plan(plot_doc *d);

/* ---- drawing (plot_draw.c, plot_series.c) ---- */

void plot_emit_frame(plot_doc *d);
void plot_emit_tick_labels(plot_doc *d);
void plot_emit_titles(plot_doc *d);
void plot_emit_legend(plot_doc *d);
void plot_emit_marker_shape(sbuf *b, int shape, double cx, double cy, double r);
void plot_emit_series(plot_doc *d);

/* A point j of series s is drawn when x and y are finite. */
int plot_drawn(const nnb_plot_series *s, int j);
/* Its bar's ends (y_lo/y_hi, or y -+ y_err); 0 when it has none. */
int plot_bar_ends(const nnb_plot_series *s, int j, double *lo, double *hi);
double plot_x_half_width(const nnb_plot_series *s, int j);
/* Pixel x of point j of series i (spread within its band on a categorical axis). */
double plot_marker_x(const plot_doc *d, int i, int j);

#endif
