/*
 * A small, dependency-free SVG line-plot writer (library nnb_plot): one line per
 * series, a marker at each point, optional error bars, a legend to the right of
 * the plot area. Used by `nnbench sweep` (time or GFLOP/s against one swept
 * size) and a serving sweep (latency against throughput).
 *
 * Axes:
 *   - linear: ticks every 1, 2 or 5 x 10^k; the y axis (not x) reaches 0 when
 *     every y (and y +- err) is >= 0, or <= 0, so times and throughputs are not
 *     exaggerated;
 *   - logarithmic (x_log, y_log): ticks at powers of the base, every power or every
 *     few when space is short (2: suits sizes like 64..4096; 10: decades, with
 *     1-2-5 or 1..9 x 10^k ticks when few decades are shown); a range holding
 *     fewer than two ticks is widened to the enclosing powers. An error bar
 *     reaching 0 or below is cut at the bottom of the axis (no cap there);
 *   - categorical x (category_count > 0): category i centred in the i-th of
 *     category_count equal bands, labelled with categories[i] (turned 35 or 90
 *     degrees when wider than a band).
 * The data range is padded by 5% of its span (in log units on a log axis), except
 * on the side of a linear y axis held at 0. Tick labels are compact ("%g"-like:
 * 0.5, 250; every label of an axis in exponent form, 2e6, when one is >= 1e6
 * or below 1e-4). There are no font metrics: text widths are estimated and
 * text that would not fit (a long title, legend name or category) is squeezed
 * with textLength; legend rows shrink when there are many series.
 *
 * Series are drawn in the order given, each point where it is given: x need not
 * be monotone (consecutive points are joined, the line is not sorted). A point
 * whose x or y is NaN or infinite is not drawn and breaks the line there.
 * Colours come from a fixed palette of 10 colour-blind-friendly colours; series
 * 10..19 reuse them dashed, and so on with other dash patterns.
 *
 * The document is deterministic (same input, same bytes) and independent of the
 * C locale (coordinates "%.2f" with a '.', whatever LC_NUMERIC says). All text
 * (title, labels, names, categories) is escaped for XML; invalid UTF-8 bytes
 * become U+FFFD and control characters spaces. Elements a program may read back:
 *   <rect class="plot-area" x= y= width= height=/>             the data area
 *   <circle class="point" data-series="S" data-x="X" data-y="Y" cx= cy= .../>
 *                                                              one per drawn point
 *   <polyline class="line" data-series="S" points="x,y ..."/>  one per unbroken run
 *                                                              of 2 or more points
 *   <line class="errbar" data-series="S" x1= y1= x2= y2=/>     y + err (y1) to y - err (y2)
 *   <text class="point-label" data-series="S" x= y=>label</text> a point's label (point_labels)
 *   <text class="xtick" x= ...>label</text>, <text class="ytick" x= y= ...>label</text>
 *                                                              x (xtick) or y (ytick): the tick
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
} nnb_plot_series;

typedef struct nnb_plot {
    const char *title, *x_label, *y_label; /* UTF-8; NULL or "": not drawn */
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
