/* --progress (progress.h): per-runner lines, a live line on a terminal, estimates of the time left. */
#define _GNU_SOURCE
#include "progress.h"

#include "device.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define REDRAW_MS 100.0        /* live line: at most 10 redraws a second */
#define STATUS_LINE_MS 10000.0 /* not a terminal: a status line at most every 10 s */

static struct {
    int enabled, live;
    int total, index; /* runners in the run, the current one (1-based) */
    char name[128];
    double runner_t0_ms, loop_t0_ms; /* the runner began; its iterations began (after create, --check) */
    double ran_ms_sum;               /* runners that ran: their wall time, for the mean */
    int ran_count;
    double last_draw_ms, last_status_ms;
    int drawn; /* the live line holds text */
} P;

void nnb_progress_start(int mode, int total_runners) {
    memset(&P, 0, sizeof P);
    P.enabled = mode != NNB_PROGRESS_NEVER;
    P.live = mode == NNB_PROGRESS_ALWAYS || (mode == NNB_PROGRESS_AUTO && isatty(STDERR_FILENO));
    P.total = total_runners;
    P.last_status_ms = nnb_cpu_now_ms();
}

int nnb_progress_live(void) { return P.enabled && P.live; }

void nnb_progress_duration(double s, char *buf, size_t len) {
    if (!(s >= 0))
        s = 0;
    long t = (long)(s + 0.5);
    if (s < 9.95)
        snprintf(buf, len, "%.1f s", s);
    else if (t < 60)
        snprintf(buf, len, "%ld s", t);
    else if (t < 3600)
        snprintf(buf, len, "%ld min %02ld s", t / 60, t % 60);
    else
        snprintf(buf, len, "%ld h %02ld min", t / 3600, (t % 3600) / 60);
}

void nnb_progress_clear(void) {
    if (!P.enabled || !P.live || !P.drawn)
        return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    P.drawn = 0;
}

static void draw(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void draw(const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* A line that wraps could not be erased by \r: cut it to the terminal's width (80 when unknown). */
    struct winsize ws;
    size_t width = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 ? ws.ws_col : 80;
    if (width - 1 < sizeof line)
        line[width - 1] = 0;
    fprintf(stderr, "\r\033[K%s", line);
    fflush(stderr);
    P.drawn = 1;
    P.last_draw_ms = nnb_cpu_now_ms();
}

/* Seconds the runners after the current one will take, by the mean so far; < 0 before any has run. */
static double later_runners_s(void) {
    if (!P.ran_count)
        return -1;
    return P.ran_ms_sum / P.ran_count / 1e3 * (P.total - P.index);
}

void nnb_progress_runner_begin(const char *name, const char *plan) {
    if (!P.enabled)
        return;
    P.index++;
    snprintf(P.name, sizeof P.name, "%s", name);
    P.runner_t0_ms = P.loop_t0_ms = P.last_status_ms = nnb_cpu_now_ms();
    char left[64] = "";
    double later = later_runners_s();
    if (later >= 0) { /* this runner too, by the mean */
        char d[32];
        nnb_progress_duration(later + P.ran_ms_sum / P.ran_count / 1e3, d, sizeof d);
        snprintf(left, sizeof left, "; about %s left", d);
    }
    if (P.live) {
        draw("[%d/%d] %s: %s%s", P.index, P.total, name, plan, left);
        return;
    }
    fprintf(stderr, "[%d/%d] %s: %s%s\n", P.index, P.total, name, plan, left);
    fflush(stderr);
}

void nnb_progress_iterations(long long done, long long total) {
    if (!P.enabled)
        return;
    double now = nnb_cpu_now_ms();
    if (done == 0)
        P.loop_t0_ms = now;
    if (P.live ? now - P.last_draw_ms < REDRAW_MS && done != total && done != 0
               : now - P.last_status_ms < STATUS_LINE_MS || done == 0 || done == total)
        return;
    P.last_status_ms = now;
    char count[48], left[96] = "";
    if (total > 0)
        snprintf(count, sizeof count, "iteration %lld/%lld", done, total);
    else
        snprintf(count, sizeof count, "iteration %lld (adaptive)", done);
    if (total > 0 && done > 0) {
        double this_s = (now - P.loop_t0_ms) / 1e3 / (double)done * (double)(total - done);
        double later = later_runners_s();
        char d[32];
        nnb_progress_duration(this_s + (later > 0 ? later : 0), d, sizeof d);
        snprintf(left, sizeof left, ", about %s left%s", d, later < 0 && P.index < P.total ? " in this runner" : "");
    }
    if (P.live) {
        draw("[%d/%d] %s: %s%s", P.index, P.total, P.name, count, left);
        return;
    }
    fprintf(stderr, "[%d/%d] %s: %s%s\n", P.index, P.total, P.name, count, left); /* a long runner in a log */
    fflush(stderr);
}

void nnb_progress_runner_end(int ran) {
    if (!P.enabled)
        return;
    if (ran) {
        P.ran_ms_sum += nnb_cpu_now_ms() - P.runner_t0_ms;
        P.ran_count++;
    }
    if (P.live) { /* a child may have drawn it: clear whatever is there */
        P.drawn = 1;
        nnb_progress_clear();
    }
}

void nnb_progress_status(const char *prefix, const char *text, int force) {
    if (!P.enabled)
        return;
    double now = nnb_cpu_now_ms();
    if (P.live) {
        if (force || now - P.last_draw_ms >= REDRAW_MS)
            draw("%s: %s", prefix, text);
        return;
    }
    if (!force && now - P.last_status_ms < STATUS_LINE_MS)
        return;
    P.last_status_ms = now;
    fprintf(stderr, "%s: %s\n", prefix, text);
    fflush(stderr);
}
