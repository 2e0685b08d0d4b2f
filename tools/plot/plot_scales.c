/* nnb_plot: axis ranges and ticks (plot_internal.h). Linear axes get 1-2-5 x 10^k steps, the densest whose
 * labels have room; log axes powers of their base (base 10 also 1-2-5 or 1..9 x 10^k), or, where a base-10
 * range is too narrow for those to label all of it, 1-2-5 steps of the values placed on the log scale. */
#define _POSIX_C_SOURCE 200809L
#include "plot_internal.h"

#include <math.h>
#include <string.h>

double plot_to_units(const axis *a, double v) { return a->base == 2 ? log2(v) : a->base == 10 ? log10(v) : v; }

double plot_to_px(const axis *a, double u) { return a->p_lo + (u - a->lo) / (a->hi - a->lo) * (a->p_hi - a->p_lo); }

double plot_value_px(const axis *a, double v) { return plot_to_px(a, plot_to_units(a, v)); }

void plot_extend(extent *e, double u) {
    if (!isfinite(u))
        return;
    if (!e->any) {
        e->lo = e->hi = u;
        e->any = 1;
    } else {
        e->lo = fmin(e->lo, u);
        e->hi = fmax(e->hi, u);
    }
}

/* The data range, padded; on a linear axis with hold_zero the range reaches 0
 * when all values are on one side of it, and is not padded past 0. */
void plot_set_range(axis *a, extent e, int hold_zero) {
    double lo = e.any ? e.lo : 0, hi = e.any ? e.hi : 1;
    int lo_held = 0, hi_held = 0;
    if (hold_zero && !a->base && lo >= 0)
        lo = 0, lo_held = 1;
    else if (hold_zero && !a->base && hi <= 0)
        hi = 0, hi_held = 1;
    double mag = fmax(fabs(lo), fabs(hi));
    if (hi - lo <= mag * 1e-9) { /* one value */
        double d = a->base ? 0.5 : mag > 0 ? mag * 0.1 : 1;
        lo -= lo_held ? 0 : d;
        hi += hi_held ? 0 : d;
    }
    double pad = PAD_FRACTION * (hi - lo);
    a->lo = lo_held ? lo : lo - pad;
    a->hi = hi_held ? hi : hi + pad;
}

/* Smallest m x 10^e >= raw with m in {1, 2, 5}. */
static void nice_ceil(double raw, int *m, int *e) {
    int ex = (int)floor(log10(raw));
    double f = raw / pow(10, ex);
    *m = f <= 1 + 1e-9 ? 1 : f <= 2 + 1e-9 ? 2 : f <= 5 + 1e-9 ? 5 : 10;
    if (*m == 10)
        *m = 1, ex++;
    *e = ex;
}

static void next_nice(int *m, int *e) {
    if (*m == 1)
        *m = 2;
    else if (*m == 2)
        *m = 5;
    else
        *m = 1, (*e)++;
}

/* Labels for ticks of values v[i], multiples of 10^e[i]; the widest label. */
static void label_ticks(axis *a, const double *v, const int *e) {
    int exponent_form = plot_exponent_style(v, a->ntick);
    a->label_w = 0;
    for (int i = 0; i < a->ntick; i++) {
        a->label[i] = plot_tick_label(v[i], e[i], exponent_form);
        a->label_w = fmax(a->label_w, plot_text_width(a->label[i].s, FONT_TICK));
    }
}

/* Ticks every m x 10^e; -1 (a unchanged) when there would be more than MAX_TICKS. */
static int fill_linear(axis *a, int m, int e) {
    double step = plot_scaled(1, m, e);
    double k0 = ceil(a->lo / step - 1e-9), k1 = floor(a->hi / step + 1e-9);
    if (!(step > 0) || !isfinite(step) || !(k1 - k0 < MAX_TICKS))
        return -1;
    int exps[MAX_TICKS];
    a->ntick = 0;
    for (int i = 0; i <= (int)(k1 - k0); i++) {
        a->tick[a->ntick] = plot_scaled(k0 + i, m, e);
        exps[a->ntick++] = e;
    }
    label_ticks(a, a->tick, exps);
    return 0;
}

/* Linear ticks: at least 45 px apart vertically, 60 px (or a label and a gap) horizontally. */
static int roomy_linear(const axis *a, double spacing, int vertical) {
    return spacing >= (vertical ? 45 : fmax(60, a->label_w + 16));
}

/* 1-2-5 ticks, the densest whose labels have room (len: the axis length, px), or the
 * sparsest with two ticks. */
static void linear_ticks(axis *a, double len, int vertical) {
    double range = a->hi - a->lo, densest = range / len * 20;
    int m, e;
    a->ntick = 0;
    if (!(densest > 1e-290 && isfinite(densest))) /* absurd ranges: no ticks */
        return;
    nice_ceil(densest, &m, &e);
    for (int tries = 0; tries < 60; tries++, next_nice(&m, &e)) {
        if (fill_linear(a, m, e) != 0)
            continue;
        if (roomy_linear(a, plot_scaled(1, m, e) / range * len, vertical))
            return;
        int m2 = m, e2 = e;
        next_nice(&m2, &e2);
        axis sparser = *a;
        if (fill_linear(&sparser, m2, e2) != 0 || sparser.ntick < 2)
            return;
    }
}

/* Log ticks. stride > 0: powers base^k for k multiple of stride. stride 0: 1, 2, 5 x 10^k;
 * stride -1: 1..9 x 10^k (base 10 only). -1 (a unchanged) when more than MAX_TICKS.
 * *gap: the smallest distance between ticks, in axis units. */
static int fill_log(axis *a, int stride, double *gap) {
    static const int m125[] = {1, 2, 5}, m19[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    const int *ms = stride == 0 ? m125 : m19;
    int mcount = stride > 0 ? 1 : stride == 0 ? 3 : 9;
    double lo = a->lo - 1e-9, hi = a->hi + 1e-9;
    int step = stride > 0 ? stride : 1;
    double k0 = ceil(floor(lo) / step) * step;
    axis t = *a;
    double vals[MAX_TICKS];
    int exps[MAX_TICKS];
    t.ntick = 0;
    for (double k = k0; k <= hi; k += step) {
        for (int i = 0; i < mcount; i++) {
            double u = k + (stride > 0 ? 0 : log10(ms[i]));
            if (u < lo || u > hi)
                continue;
            if (t.ntick == MAX_TICKS)
                return -1;
            t.tick[t.ntick] = u;
            vals[t.ntick] = a->base == 2 ? 0 : plot_scaled(1, stride > 0 ? 1 : ms[i], (int)k);
            exps[t.ntick++] = (int)k;
        }
    }
    if (a->base == 2) {
        t.label_w = 0;
        for (int i = 0; i < t.ntick; i++) {
            t.label[i] = plot_pow2_label(exps[i]);
            t.label_w = fmax(t.label_w, plot_text_width(t.label[i].s, FONT_TICK));
        }
    } else {
        label_ticks(&t, vals, exps);
    }
    *gap = stride > 0 ? stride : stride == 0 ? log10(2.0) : log10(10.0 / 9);
    *a = t;
    return 0;
}

/* The largest stretch of the axis without a tick (ends included), as a fraction of its length. */
static double widest_gap(const axis *a) {
    if (a->ntick == 0)
        return 1;
    double prev = a->lo, widest = 0;
    for (int i = 0; i < a->ntick; i++)
        widest = fmax(widest, a->tick[i] - prev), prev = a->tick[i];
    return fmax(widest, a->hi - prev) / (a->hi - a->lo);
}

/* Base 10: 1-2-5 x 10^e steps of the values (not of their logarithms), the densest whose closest pair (the
 * top two: a log scale crowds large values) has room. -1 when no step gives two ticks. */
static int value_ticks(axis *a, double len, int vertical) {
    double v0 = pow(10, a->lo), v1 = pow(10, a->hi), ppu = len / (a->hi - a->lo);
    int m, e;
    if (!(v1 > v0) || !isfinite(v1))
        return -1;
    nice_ceil((v1 - v0) / 40, &m, &e);
    for (int tries = 0; tries < 60; tries++, next_nice(&m, &e)) {
        double step = plot_scaled(1, m, e), k0 = ceil(v0 / step - 1e-9), k1 = floor(v1 / step + 1e-9);
        if (k1 - k0 + 1 > MAX_TICKS)
            continue;
        if (k1 - k0 + 1 < 2)
            return -1;
        axis t = *a;
        double vals[MAX_TICKS];
        int exps[MAX_TICKS];
        t.ntick = 0;
        for (double k = k0; k <= k1; k++) {
            vals[t.ntick] = plot_scaled(k, m, e);
            t.tick[t.ntick] = log10(vals[t.ntick]);
            exps[t.ntick++] = e;
        }
        label_ticks(&t, vals, exps);
        double closest = (t.tick[t.ntick - 1] - t.tick[t.ntick - 2]) * ppu;
        if (closest >= (vertical ? 2 * FONT_TICK : t.label_w + 14)) {
            *a = t;
            return 0;
        }
    }
    return -1;
}

/* Powers of the base (10: also 1-9 or 1-2-5 x 10^k): the densest set whose labels have room, else the
 * sparsest with two ticks; 0, or -1 (a unchanged) when no set has two ticks. */
static int power_ticks(axis *a, double len, int vertical) {
    static const int strides[] = {-1, 0, 1, 2, 3, 4, 5, 10, 20, 50, 100, 200, 500, 1000, 2000};
    int nstrides = (int)(sizeof strides / sizeof strides[0]);
    double ppu = len / (a->hi - a->lo);
    int sparsest = -2; /* the last stride with two ticks or more */
    for (int i = a->base == 10 ? 0 : 2; i < nstrides; i++) {
        axis t = *a;
        double gap;
        if (fill_log(&t, strides[i], &gap) != 0)
            continue;
        if (t.ntick < 2) {
            if (strides[i] > 0)
                break;
            continue;
        }
        sparsest = strides[i];
        if (gap * ppu >= (vertical ? 2 * FONT_TICK : t.label_w + 14)) {
            *a = t;
            return 0;
        }
    }
    double gap;
    return sparsest != -2 ? fill_log(a, sparsest, &gap) : -1;
}

/* Powers of the base; on base 10, value steps instead where the powers leave over 30% of the axis bare
 * (570..1500: 600, 700, ..., 1500 rather than 600..1000 and nothing above); a range with neither is
 * widened to whole powers. */
static void log_ticks(axis *a, double len, int vertical) {
    for (int widened = 0; widened < 2; widened++) {
        axis powers = *a, values = *a;
        int have_powers = power_ticks(&powers, len, vertical) == 0;
        if (a->base == 10 && (!have_powers || widest_gap(&powers) > 0.3) && value_ticks(&values, len, vertical) == 0 &&
            (!have_powers || widest_gap(&values) < widest_gap(&powers))) {
            *a = values;
            return;
        }
        if (have_powers) {
            *a = powers;
            return;
        }
        a->lo = floor(a->lo + 1e-9);
        a->hi = fmax(ceil(a->hi - 1e-9), a->lo + 1);
    }
}

void plot_axis_ticks(axis *a, double len, int vertical) {
    if (a->base)
        log_ticks(a, len, vertical);
    else
        linear_ticks(a, len, vertical);
}
