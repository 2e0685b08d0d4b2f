/*
 * nnbench serve's request queue and dynamic batcher (TorchServe's semantics).
 *
 * Requests arrive with a number of samples. A worker asks for a batch: it waits for the first request,
 * then keeps collecting requests, in arrival order, while the batch's samples stay within max_samples,
 * until max_delay_ms have passed since it took the first one. The batch closes at the first of: the next
 * request would not fit (or the batch is full), the delay ran out, or the queue was closed. It never waits
 * past the delay: a request that arrives after the deadline goes to the next batch.
 *
 * Thread safety: any number of producers and workers. Times are CLOCK_MONOTONIC milliseconds
 * (nnb_cpu_now_ms). The queue does not own the requests: it hands out indices into the caller's array.
 */
#ifndef NNB_SERVE_QUEUE_H
#define NNB_SERVE_QUEUE_H

#include <pthread.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nnb_serve_queue {
    pthread_mutex_t lock;
    pthread_cond_t arrived;
    int *ring;        /* request indices, FIFO */
    const int *sizes; /* samples of request i (the caller's array) */
    int cap, head, count;
    int closed;          /* no more requests will come */
    double idle_spin_us; /* a worker finding the queue empty polls this long before it sleeps (default 0) */
} nnb_serve_queue;

/* cap: the most requests ever queued at once (e.g. all of them). sizes[i]: samples of request i.
 * 0, or -1 when out of memory. */
int nnb_serve_queue_init(nnb_serve_queue *q, int cap, const int *sizes);
void nnb_serve_queue_destroy(nnb_serve_queue *q);

/* Enqueue request index i; 0, or -1 when the queue is full or closed. */
int nnb_serve_queue_push(nnb_serve_queue *q, int i);

/* Enqueue requests first..first+count-1 at once (under one lock: no worker sees a part of them, as
 * offline mode needs); 0, or -1 (nothing queued) when they do not all fit or the queue is closed. */
int nnb_serve_queue_push_range(nnb_serve_queue *q, int first, int count);

/* No more pushes: waiting workers return what they have, then 0 requests once the queue is empty. */
void nnb_serve_queue_close(nnb_serve_queue *q);

/* The next batch: writes up to max_requests indices into out and returns how many (0: closed and empty).
 * *first_taken_ms: when the first request was taken (the delay counts from there). */
int nnb_serve_queue_next_batch(nnb_serve_queue *q, int max_samples, double max_delay_ms, int *out, int max_requests,
                               double *first_taken_ms);

#ifdef __cplusplus
}
#endif
#endif
