#define _POSIX_C_SOURCE 200809L
#include "peak.h"

#include "fma_peak.h"
#include "nnb_precision.h"
#include "peak_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef double (*chain_fn)(int64_t n, float one);

/* Kernels whose file the compiler could not build (CMake's flag checks) are stubs that never run. */
#ifdef NNB_PEAK_NO_BF16
double nnb_dpbf16_chains_avx512(int64_t n, float one) { return (void)n, (void)one, -1; }
#endif
#ifdef NNB_PEAK_NO_FP16
double nnb_fp16_chains_avx512(int64_t n, float one) { return (void)n, (void)one, -1; }
#endif
#ifdef NNB_PEAK_NO_AMX
double nnb_amx_bf16_chains(int64_t n, float one) { return (void)n, (void)one, -1; }
#endif

static const nnb_peak_kernel kernels[NNB_PEAK_KINDS] = {
    [NNB_PEAK_FP32_FMA] = {"fp32_fma", "fp32", "vfmadd231ps", "avx512f", 24, 16 * 2},
    [NNB_PEAK_BF16_DOT] = {"bf16_dot", "bf16", "vdpbf16ps", "avx512_bf16", 24, 16 * 2 * 2},
    [NNB_PEAK_BF16_AMX] = {"bf16_amx", "bf16", "tdpbf16ps", "amx_bf16", 6, 16 * 16 * 32 * 2},
    [NNB_PEAK_FP16_FMA] = {"fp16_fma", "fp16", "vfmadd231ph", "avx512_fp16", 24, 32 * 2},
};

static const chain_fn chains[NNB_PEAK_KINDS] = {
    [NNB_PEAK_FP32_FMA] = nnb_fma_chains_avx512,
    [NNB_PEAK_BF16_DOT] = nnb_dpbf16_chains_avx512,
    [NNB_PEAK_BF16_AMX] = nnb_amx_bf16_chains,
    [NNB_PEAK_FP16_FMA] = nnb_fp16_chains_avx512,
};

const nnb_peak_kernel *nnb_peak_kernel_of(nnb_peak_kind kind) {
    return kind >= 0 && kind < NNB_PEAK_KINDS ? &kernels[kind] : NULL;
}

/* The compiler flag a kind's file needs when this build could not compile it; NULL when built. */
static const char *missing_compiler_flag(nnb_peak_kind kind) {
#ifdef NNB_PEAK_NO_BF16
    if (kind == NNB_PEAK_BF16_DOT)
        return "-mavx512bf16";
#endif
#ifdef NNB_PEAK_NO_FP16
    if (kind == NNB_PEAK_FP16_FMA)
        return "-mavx512fp16";
#endif
#ifdef NNB_PEAK_NO_AMX
    if (kind == NNB_PEAK_BF16_AMX)
        return "-mamx-bf16";
#endif
    (void)kind;
    return NULL;
}

static int cpu_offers(nnb_peak_kind kind) {
    __builtin_cpu_init();
    switch (kind) {
    case NNB_PEAK_FP32_FMA: return __builtin_cpu_supports("avx512f");
    case NNB_PEAK_BF16_DOT: return nnb_cpu_has_avx512_bf16();
    case NNB_PEAK_BF16_AMX: return nnb_cpu_has_amx_bf16();
    case NNB_PEAK_FP16_FMA: return nnb_cpu_has_avx512_fp16();
    default: return 0;
    }
}

int nnb_peak_available(nnb_peak_kind kind, char *why, size_t why_len) {
    char dummy[8];
    if (!why)
        why = dummy, why_len = sizeof dummy;
    const nnb_peak_kernel *k = nnb_peak_kernel_of(kind);
    if (!k)
        return snprintf(why, why_len, "unknown peak kind %d", (int)kind), 0;
    const char *flag = missing_compiler_flag(kind);
    if (flag)
        return snprintf(why, why_len, "%s not built: the compiler lacks %s", k->instruction, flag), 0;
    if (!cpu_offers(kind))
        return snprintf(why, why_len, "%s needs %s; this CPU lacks it", k->instruction, k->isa), 0;
    if (kind == NNB_PEAK_BF16_AMX && !nnb_cpu_amx_ready())
        return snprintf(why, why_len,
                        "%s: the kernel refused AMX tile data to this process (arch_prctl ARCH_REQ_XCOMP_PERM; "
                        "Linux 5.16 or later grants it)",
                        k->instruction),
               0;
    return 1;
}

double nnb_peak_flops(nnb_peak_kind kind, int64_t n) {
    const nnb_peak_kernel *k = nnb_peak_kernel_of(kind);
    return k ? (double)n * k->instructions_per_iteration * k->flops_per_instruction : 0;
}

double nnb_peak_count_macs(nnb_peak_kind kind, int64_t n) {
    return nnb_peak_available(kind, NULL, 0) ? chains[kind](n, 1.0f) : -1;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct chain_job {
    chain_fn run;
    int64_t n;
    atomic_int *go;
    double result;
} chain_job;

static void *run_chains(void *arg) {
    chain_job *job = arg;
    while (!atomic_load(job->go)) /* all threads begin together: the peak of all cores at once */
        ;
    job->result = job->run(job->n, 1.0f);
    return NULL;
}

/* Wall seconds for `threads` threads to each run n chain iterations; < 0 when a thread cannot start. */
static double time_round(chain_fn run, int threads, int64_t n, volatile double *sink) {
    pthread_t *tid = malloc(sizeof *tid * (size_t)threads);
    chain_job *jobs = malloc(sizeof *jobs * (size_t)threads);
    atomic_int go = 0;
    int started = 0;
    for (; tid && jobs && started < threads; started++) {
        jobs[started] = (chain_job){.run = run, .n = n, .go = &go};
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

double nnb_peak_gflops(nnb_peak_kind kind, int threads, double seconds, char *why, size_t why_len) {
    if (!nnb_peak_available(kind, why, why_len))
        return 0;
    if (threads < 1)
        return why ? snprintf(why, why_len, "threads must be at least 1 (got %d)", threads) : 0, 0;
    volatile double sink = 0;
    for (int64_t n = 1 << 10;;) { /* grown until one round lasts `seconds` */
        double dt = time_round(chains[kind], threads, n, &sink);
        if (dt < 0)
            return why ? snprintf(why, why_len, "could not start %d threads", threads) : 0, 0;
        if (dt >= seconds || n >= ((int64_t)1 << 40))
            return dt > 0 ? nnb_peak_flops(kind, n) * threads / dt * 1e-9 : 0;
        n *= dt > 0 && seconds / dt < 16 ? 2 : 16;
    }
}

double nnb_fma_peak_gflops(int threads, double seconds) {
    return nnb_peak_gflops(NNB_PEAK_FP32_FMA, threads, seconds, NULL, 0);
}
