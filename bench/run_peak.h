/*
 * --measure-peak in the driver: every peak this CPU offers, measured once before the runners (kernels/peak), and
 * the one each run's "% of peak" is of, chosen by the run's precision (docs/deciding.md, "Robust statistics").
 */
#ifndef NNB_RUN_PEAK_H
#define NNB_RUN_PEAK_H

#include "peak.h"

#include <nnbench/results.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nnb_measured_peaks {
    int measured;                  /* --measure-peak ran */
    double gflops[NNB_PEAK_KINDS]; /* 0: not available here (why says so) */
    char why[NNB_PEAK_KINDS][192];
} nnb_measured_peaks;

/* Measures each kind on `threads` threads (0.3 s each), printing one line per kind on log: the GFLOP/s, or why it
 * was skipped ("vfmadd231ph needs avx512_fp16; this CPU lacks it"). */
void nnb_measure_peaks(int threads, nnb_measured_peaks *p, FILE *log);

/* The peak of a run in `precision` (nnb_precision) whose runner described itself as runner_info_json (may be
 * NULL); zeroed when not measured or not available. */
nnb_result_peak nnb_run_peak(const nnb_measured_peaks *p, int precision, const char *runner_info_json);

/* One line on f for a bf16 run on AMX: its GFLOP/s at the median as a share of the AMX peak. Nothing otherwise. */
void nnb_print_amx_share(FILE *f, const nnb_runner_result *r);

/* Copies the measured peaks into the run context (fma_peak_gflops and the other precisions' fields). */
void nnb_peaks_to_context(const nnb_measured_peaks *p, nnb_run_context *ctx);

#ifdef __cplusplus
}
#endif
#endif
