#define _POSIX_C_SOURCE 200809L
#include "fma_peak.h"

#include "fma_peak_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct chain_job {
    int64_t n;
    atomic_int *go;
    float result;
} chain_job;

static void *run_chains(void *arg) {
    chain_job *job = arg;
    while (!atomic_load(job->go)) /* all threads begin together: the peak of all cores at once */
        ;
    job->result = nnb_fma_chains_avx512(job->n);
    return NULL;
}

/* Wall seconds for `threads` threads to each run n chain iterations; < 0 when a thread cannot start. */
static double time_round(int threads, int64_t n, volatile float *sink) {
    pthread_t *tid = malloc(sizeof *tid * (size_t)threads);
    chain_job *jobs = malloc(sizeof *jobs * (size_t)threads);
    atomic_int go = 0;
    int started = 0;
    for (; tid && jobs && started < threads; started++) {
        jobs[started] = (chain_job){.n = n, .go = &go};
        if (pthread_create(&tid[started], NULL, run_chains, &jobs[started]))
            break;
    }
    double t0 = now_seconds();
    atomic_store(&go, 1);
    for (int i = 0; i < started; i++)
        pthread_join(tid[i], NULL), *sink += jobs[i].result;
    double dt = started == threads ? now_seconds() - t0 : -1;
    free(tid);
    free(jobs);
    return dt;
}

double nnb_fma_peak_gflops(int threads, double seconds) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f") || threads < 1)
        return 0;
    volatile float sink = 0;
    for (int64_t n = 1 << 20;;) { /* grown until one round lasts `seconds` */
        double dt = time_round(threads, n, &sink);
        if (dt < 0)
            return 0;
        if (dt >= seconds || n >= ((int64_t)1 << 40))
            return dt > 0 ? 2.0 * 16 * 24 * (double)n * threads / dt * 1e-9 : 0;
        n *= dt > 0 && seconds / dt < 16 ? 2 : 16;
    }
}
