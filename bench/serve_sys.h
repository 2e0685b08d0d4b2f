/*
 * nnbench serve's monitors: the process's CPU time (/proc/self/stat, utime + stime), its peak resident
 * memory (getrusage), and on cuda the GPU's utilisation and memory through NVML, loaded with dlopen
 * (libnvidia-ml.so.1; nothing is linked, a machine without the driver simply has no GPU numbers) and
 * sampled every 100 ms by a thread of its own. The GPU is the CUDA device --cuda-device names, found in NVML by
 * its PCI bus id (NVML's own order and CUDA's differ, and NVML ignores CUDA_VISIBLE_DEVICES).
 */
#ifndef NNB_SERVE_SYS_H
#define NNB_SERVE_SYS_H

#include "serve.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nnb_sys_sampler nnb_sys_sampler;

/* Start measuring now (CPU time and wall clock; the NVML thread when gpu). Never fails: a monitor that
 * cannot start leaves its numbers unknown (negative). NULL only when out of memory. */
nnb_sys_sampler *nnb_sys_sampler_start(int gpu, int device);
/* Stop, fill cpu_util_percent, gpu_util_mean/max, gpu_mem_peak_mib, peak_rss_mib of s, release. */
void nnb_sys_sampler_stop(nnb_sys_sampler *m, nnb_serve_summary *s);

/* This process's user + system CPU seconds from /proc/self/stat; < 0 when unreadable. */
double nnb_sys_process_cpu_s(void);

#ifdef __cplusplus
}
#endif
#endif
