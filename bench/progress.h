/*
 * --progress: how far a run is and how long it will still take, on stderr.
 *   not a terminal (auto): a line "[i/N] name: warmup W, loops L" before each runner, from the second
 *                          runner on with "; about T left" (mean time of the runners done so far times the
 *                          runners left); a runner still iterating after 10 s gets a line with its
 *                          iterations done every 10 s; for --ab / serve a status line at most every 10 s;
 *   a terminal (auto), or always: one live line, redrawn in place (\r) at most 10 times a second, with the
 *                          iterations done / total and the time left; cleared before anything else is
 *                          printed (the caller calls nnb_progress_clear first);
 *   never:                 nothing at all (fastrnns' exact stderr).
 * The state is one process-global record: an isolated child (a fork) inherits it as it was when the
 * runner began, so the child draws its own iterations on the same terminal and the parent prints the
 * per-runner lines. Not thread-safe: one thread reports progress.
 */
#ifndef NNB_PROGRESS_H
#define NNB_PROGRESS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* --progress's values (nnb_options.progress). */
enum { NNB_PROGRESS_AUTO = 0, NNB_PROGRESS_ALWAYS = 1, NNB_PROGRESS_NEVER = 2 };

/* Start a run of total_runners runners (0 for --ab and serve, which report by nnb_progress_status). */
void nnb_progress_start(int mode, int total_runners);
int nnb_progress_live(void); /* 1 when the live line is drawn */

/* The next runner: prints "[i/N] name: plan" (plan e.g. "warmup 10, loops 100") with the time left. */
void nnb_progress_runner_begin(const char *name, const char *plan);
/* Iterations done of total (total <= 0: unknown, adaptive stopping): the live line, or a line every 10 s.
 * Called with done 0 when the iterations begin: the rate (and so the time left) counts from there. */
void nnb_progress_iterations(long long done, long long total);
/* The runner ended; ran = 0 for one that was skipped without running (it does not count in the mean). */
void nnb_progress_runner_end(int ran);

/* --ab and serve: "prefix: text" ("nnbench: --ab: 40 rounds, ..., at most 20 s left"). Live: redrawn at
 * most 10 times a second; otherwise a line at most every 10 s, or now when force. */
void nnb_progress_status(const char *prefix, const char *text, int force);

/* Erase the live line (if drawn) so that the next output starts at column 0. */
void nnb_progress_clear(void);

/* "0.4 s", "45 s", "3 min 20 s", "1 h 05 min". */
void nnb_progress_duration(double seconds, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
