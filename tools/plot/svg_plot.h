/*
 * A small, dependency-free SVG plot writer (library nnb_plot): markers (joined
 * by lines on a numeric x axis), optional error bars and point labels, a title
 * with subtitle lines and a warning line, a legend to the right of the plot
 * area. Used by `nnbench sweep` (time or GFLOP/s against one swept size, or per
 * shape) and a serving sweep (latency against throughput).
 *
 * Axes:
 *   - linear: ticks every 1, 2 or 5 x 10^k; the y axis (not x) reaches 0 when
 *     every y (and every bar end) is >= 0, or <= 0, so times and throughputs
 *     are not exaggerated;
 *   - logarithmic (x_log, y_log): ticks at powers of the base, every power or
 *     every few when space is short (2: suits sizes like 64..4096; 10: decades,
 *     with 1-2-5 or 1..9 x 10^k ticks when few decades are shown). A base-10
 *     range too narrow for three such ticks (570..1500) gets 1-2-5 steps of the
 *     values instead (600, 700, ..., 1500), so every part of the axis is
 *     labelled; a base-2 range holding fewer than two powers is widened to the
 *     enclosing powers. A bar reaching 0 or below is cut at the axis (no cap);
 *   - categorical x (category_count > 0): category i centred in the i-th of
 *     category_count equal bands, labelled with categories[i] (turned 35 or 90
 *     degrees when wider than a band; every k-th label only when even turned
 *     labels would touch). Categories have no order: points are markers only,
 *     never joined by lines, and the series' markers are spread a little
 *     within each band so that markers and bars of equal values stay visible.
 * The data range is padded by 5% of its span (in log units on a log axis),
 * except on the side of a linear y axis held at 0. Tick labels are compact
 * ("%g"-like: 0.5, 250; every label of an axis in exponent form, 2e6, when one
 * is >= 1e6 or below 1e-4).
 *
 * Text never overlaps other text: there are no font metrics, so a text's box is
 * estimated (0.6 em a character, 1 em high); text wider than its room (title,
 * subtitle, legend name, category) is squeezed with textLength, and a point
 * label is moved to the first free place around its marker (right-above,
 * left-above, right-below, left-below, right, left, above, below) or, when
 * there is none, left out.
 *
 * Styles: without colour_key, series i takes palette colour i mod 10 and
 * series 10..19 are dashed, 20..29 dotted, and so on. With colour_key, series
 * with equal keys share a colour (keys in order of first appearance take the
 * palette's colours in turn), and style_key picks the line dash and the marker
 * shape the same way (NULL: solid line, circles): e.g. one colour per runner
 * and one line style per value of the other settings.
 *
 * Series are drawn in the order given, each point where it is given: x need not
 * be monotone (consecutive points are joined, the line is not sorted). A point
 * whose x or y is NaN or infinite is not drawn and breaks the line there.
 *
 * The document is deterministic (same input, same bytes) and independent of the
 * C locale (coordinates "%.2f" with a '.', whatever LC_NUMERIC says). All text
 * (title, labels, names, categories) is escaped for XML; invalid UTF-8 bytes
 * become U+FFFD and control characters spaces. Every <text> carries its own
 * font-size. Elements a program may read back:
 *   <rect class="plot-area" x= y= width= height=/>             the data area
 *   <path class="point" data-series="S" data-x="X" data-y="Y" data-cx= data-cy= d=/>
 *                                                              one per drawn point (its marker,
 *                                                              centred on data-cx, data-cy)
 *   <polyline class="line" data-series="S" points="x,y ..."/>  one per unbroken run of 2 or
 *                                                              more points (numeric x only)
 *   <line class="errbar" data-series="S" x1= y1= x2= y2=/>     y bar: upper end (y1) to lower end (y2)
 *   <line class="xerrbar" data-series="S" x1= y1= x2= y2=/>    x bar: x - x_err (x1) to x + x_err (x2)
 *   <text class="point-label" data-series="S" x= y=>label</text> a point's label (point_labels)
 *   <text class="xtick" x= ...>label</text>, <text class="ytick" x= y= ...>label</text>
 *                                                              (a ytick's y is its baseline, 0.35 em
 *                                                              below the tick; turned category labels
 *                                                              are the only turned xticks)
 *   <text class="title">, <text class="subtitle">, <text class="warning">
 * data-x and data-y are the values given, printed so that strtod reads back the
 * same double ("%.17g" or shorter); S is the series index.
 *
 * Ownership: nothing passed in is kept or modified; nnb_plot_svg returns a string
 * the caller frees with free(). No global state: calls may run in parallel
 * (numbers use the calling thread's locale only to undo its decimal point).
 *
 * Errors: nnb_plot_svg returns NULL and nnb_plot_svg_write -1, with a one-line
 * message (no trailing newline) in err when err is not NULL and err_len > 0.
 */
#ifndef NNB_SVG_PLOT_H
#define NNB_SVG_PLOT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NNB_PLOT_MAX_SERIES 64        /* series_count: 1..64 */
#define NNB_PLOT_MAX_POINTS (1 << 20) /* per series */
#define NNB_PLOT_MAX_CATEGORIES 256   /* category_count: 0..256 */
#define NNB_PLOT_DEFAULT_WIDTH 800    /* width == 0 */
#define NNB_PLOT_DEFAULT_HEIGHT 500   /* height == 0 */
#define NNB_PLOT_MIN_SIZE 200         /* otherwise width and height: 200..10000 px */
#define NNB_PLOT_MAX_SIZE 10000

typedef struct nnb_plot_series {
    const char *name;                /* legend text (UTF-8); NULL: "series <index + 1>" */
    int n;                           /* number of points, 0..NNB_PLOT_MAX_POINTS (0: a legend entry only) */
    const double *x;                 /* n values (may be NULL when n == 0); with categories: a category index
                                        0..category_count-1 (an integral value), else an error */
    const double *y;                 /* n values; NaN or inf (in x or y): no point there, the line breaks */
    const double *y_err;             /* NULL, or n half-widths drawn as bars from y - err to y + err;
                                        NaN, inf or 0: no bar; negative: an error */
    const char *const *point_labels; /* NULL, or n short texts drawn beside the points (NULL or "": none),
                                        e.g. the batch size along a latency-throughput curve */
    const double *x_err;             /* NULL, or n half-widths of horizontal bars, as y_err (none > 0 on a
                                        categorical axis) */
    const double *y_lo, *y_hi;       /* NULL, or n bar ends (an interval, e.g. mean +- std around a
                                        median); used instead of y_err; NaN: no bar; y_lo > y_hi: an error */
    const char *colour_key;          /* NULL: colour by index; else equal keys, equal colours */
    const char *style_key;           /* with colour_key: equal keys, equal dash and marker shape */
} nnb_plot_series;

typedef struct nnb_plot {
    const char *title, *x_label, *y_label; /* UTF-8; NULL or "": not drawn */
    const char *subtitle;                  /* NULL, or up to 3 lines separated by '\n', under the title:
                                              e.g. what varies and what is fixed */
    const char *warning;                   /* NULL, or one line drawn prominently under them,
                                              e.g. "partial: 6 of 22 points" */
    int x_log, y_log;                      /* 0: linear; 2 or 10: logarithmic with ticks at powers of that
                                              base; 1: the axis' usual base (x: 2, y: 10). Every finite value
                                              on a log axis (y +- err aside) must be > 0, else an error */
    int category_count;                    /* > 0: a categorical x axis (x_log must be 0) */
    const char *const *categories;         /* category_count labels (UTF-8; NULL entries: "") */
    int series_count;                      /* 1..NNB_PLOT_MAX_SERIES */
    const nnb_plot_series *series;
    int width, height; /* pixels; 0: NNB_PLOT_DEFAULT_WIDTH x NNB_PLOT_DEFAULT_HEIGHT */
} nnb_plot;

/* The SVG document (UTF-8, starting with "<svg", ending with "</svg>\n") as a
 * malloc'd NUL-terminated string the caller frees, or NULL with a message in err:
 * no series or too many, a count or size out of range, a NULL array with n > 0, a
 * category index out of range, a negative y_err, a value <= 0 on a log axis (the
 * message names the series, the point and the value), values too far apart to
 * plot, out of memory. A plot with no finite point at all is drawn (axes and
 * legend only) on the default range. */
char *nnb_plot_svg(const nnb_plot *p, char *err, size_t err_len);

/* Writes nnb_plot_svg(p) to path atomically: a new temporary file beside path
 * ("<path>.tmp.<pid>.<n>"), written, fsync'ed, then renamed over path, so an
 * existing file is replaced whole or left as it was, and no temporary file is
 * left behind on failure. Mode 0666 less the umask. Returns 0, or -1 with err
 * naming path and the failing step with its errno text (or the plot's error). */
int nnb_plot_svg_write(const char *path, const nnb_plot *p, char *err, size_t err_len);

#ifdef __cplusplus
}
#endif

#endif
