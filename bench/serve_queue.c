/* The dynamic batcher of nnbench serve (serve_queue.h). */
#define _GNU_SOURCE
#include "serve_queue.h"

#include "device.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <time.h>

int nnb_serve_queue_init(nnb_serve_queue *q, int cap, const int *sizes) {
    q->ring = malloc(sizeof *q->ring * (size_t)(cap > 0 ? cap : 1));
    if (!q->ring)
        return -1;
    q->sizes = sizes;
    q->cap = cap;
    q->head = q->count = q->closed = 0;
    q->idle_spin_us = 0;
    pthread_mutex_init(&q->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* deadlines on the clock latencies use */
    pthread_cond_init(&q->arrived, &attr);
    pthread_condattr_destroy(&attr);
    return 0;
}

void nnb_serve_queue_destroy(nnb_serve_queue *q) {
    pthread_cond_destroy(&q->arrived);
    pthread_mutex_destroy(&q->lock);
    free(q->ring);
    q->ring = NULL;
}

int nnb_serve_queue_push_range(nnb_serve_queue *q, int first, int count) {
    pthread_mutex_lock(&q->lock);
    int ok = !q->closed && count <= q->cap - q->count;
    if (ok) {
        for (int k = 0; k < count; k++)
            q->ring[(q->head + q->count + k) % q->cap] = first + k;
        __atomic_store_n(&q->count, q->count + count, __ATOMIC_RELEASE);
        pthread_cond_broadcast(&q->arrived);
    }
    pthread_mutex_unlock(&q->lock);
    return ok ? 0 : -1;
}

int nnb_serve_queue_push(nnb_serve_queue *q, int i) { return nnb_serve_queue_push_range(q, i, 1); }

void nnb_serve_queue_close(nnb_serve_queue *q) {
    pthread_mutex_lock(&q->lock);
    __atomic_store_n(&q->closed, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&q->arrived);
    pthread_mutex_unlock(&q->lock);
}

static struct timespec abs_time(double ms) {
    struct timespec t;
    double s = floor(ms / 1000.0);
    t.tv_sec = (time_t)s;
    t.tv_nsec = (long)((ms - s * 1000.0) * 1e6);
    if (t.tv_nsec >= 1000000000L)
        t.tv_sec++, t.tv_nsec -= 1000000000L;
    return t;
}

static int take(nnb_serve_queue *q) {
    int i = q->ring[q->head];
    q->head = (q->head + 1) % q->cap;
    q->count--;
    return i;
}

int nnb_serve_queue_next_batch(nnb_serve_queue *q, int max_samples, double max_delay_ms, int *out, int max_requests,
                               double *first_taken_ms) {
    /* An idle worker polls for a while before it sleeps: waking a sleeping thread costs tens to hundreds of
     * microseconds here, more than the work of a small request. */
    for (double t0 = q->idle_spin_us > 0 ? nnb_cpu_now_ms() : 0;
         q->idle_spin_us > 0 && !__atomic_load_n(&q->count, __ATOMIC_ACQUIRE) &&
         !__atomic_load_n(&q->closed, __ATOMIC_ACQUIRE) && (nnb_cpu_now_ms() - t0) * 1e3 < q->idle_spin_us;)
        ;
    pthread_mutex_lock(&q->lock);
    while (q->count == 0 && !q->closed)
        pthread_cond_wait(&q->arrived, &q->lock);
    if (q->count == 0) { /* closed and drained */
        pthread_mutex_unlock(&q->lock);
        return 0;
    }
    const double t0 = nnb_cpu_now_ms(), deadline = t0 + max_delay_ms;
    *first_taken_ms = t0;
    int n = 0, samples = 0;
    out[n++] = take(q);
    samples = q->sizes[out[0]];
    for (;;) {
        while (q->count > 0 && n < max_requests && samples + q->sizes[q->ring[q->head]] <= max_samples) {
            samples += q->sizes[q->ring[q->head]];
            out[n++] = take(q);
        }
        int full = n == max_requests || samples >= max_samples ||
                   (q->count > 0 && samples + q->sizes[q->ring[q->head]] > max_samples);
        if (full || q->closed || max_delay_ms <= 0 || nnb_cpu_now_ms() >= deadline)
            break;
        struct timespec until = abs_time(deadline);
        int rc = pthread_cond_timedwait(&q->arrived, &q->lock, &until);
        if (rc == ETIMEDOUT && q->count == 0)
            break;
    }
    pthread_mutex_unlock(&q->lock);
    return n;
}
