#include "run_peak.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <string.h>

/* How the lines name each kind: "measured <name> peak", "no <absent> peak". */
static const char *const names[NNB_PEAK_KINDS] = {"fp32 FMA", "bf16 dot-product", "bf16 AMX", "fp16 FMA"};
static const char *const absent[NNB_PEAK_KINDS] = {"AVX-512 FMA", "bf16 dot-product", "bf16 AMX", "fp16 FMA"};

void nnb_measure_peaks(int threads, nnb_measured_peaks *p, FILE *log) {
    memset(p, 0, sizeof *p);
    p->measured = 1;
    for (int k = 0; k < NNB_PEAK_KINDS; k++) {
        const nnb_peak_kernel *kernel = nnb_peak_kernel_of(k);
        p->gflops[k] = nnb_peak_gflops(k, threads, 0.3, p->why[k], sizeof p->why[k]);
        if (p->gflops[k] > 0)
            fprintf(log, "nnbench: measured %s peak: %.0f GFLOP/s on %d thread%s (%s, %g FLOPs per instruction)\n",
                    names[k], p->gflops[k], threads, threads == 1 ? "" : "s", kernel->instruction,
                    kernel->flops_per_instruction);
        else
            fprintf(log, "nnbench: --measure-peak: no %s peak on this CPU (%s); %s percentages not shown\n", absent[k],
                    p->why[k], k == NNB_PEAK_BF16_AMX ? "AMX" : kernel->precision);
    }
}

/* ABI 1.3 precisions: fp32 0, tf32 1 (fp32 data on the CPU), bf16 2, fp16 3. */
static int kind_of_precision(int precision) {
    switch (precision) {
    case NNB_PRECISION_BF16: return NNB_PEAK_BF16_DOT;
    case NNB_PRECISION_FP16: return NNB_PEAK_FP16_FMA;
    default: return NNB_PEAK_FP32_FMA;
    }
}

static int mentions_amx(const cJSON *item) {
    if (!cJSON_IsString(item))
        return 0;
    for (const char *s = item->valuestring; *s; s++)
        if (tolower((unsigned char)s[0]) == 'a' && tolower((unsigned char)s[1]) == 'm' &&
            tolower((unsigned char)s[2]) == 'x')
            return 1;
    return 0;
}

/* The runner said it ran on AMX: its describe() JSON has "gemm" or "isa" naming AMX. */
static int ran_on_amx(const char *runner_info_json) {
    cJSON *info = runner_info_json ? cJSON_Parse(runner_info_json) : NULL;
    int amx = cJSON_IsObject(info) && (mentions_amx(cJSON_GetObjectItemCaseSensitive(info, "gemm")) ||
                                       mentions_amx(cJSON_GetObjectItemCaseSensitive(info, "isa")));
    cJSON_Delete(info);
    return amx;
}

nnb_result_peak nnb_run_peak(const nnb_measured_peaks *p, int precision, const char *runner_info_json) {
    nnb_result_peak peak = {0};
    int kind = kind_of_precision(precision);
    if (!p->measured || !(p->gflops[kind] > 0))
        return peak;
    const nnb_peak_kernel *k = nnb_peak_kernel_of(kind);
    peak.precision = k->precision, peak.instruction = k->instruction, peak.gflops = p->gflops[kind];
    if (kind == NNB_PEAK_BF16_DOT && p->gflops[NNB_PEAK_BF16_AMX] > 0 && ran_on_amx(runner_info_json)) {
        peak.amx_instruction = nnb_peak_kernel_of(NNB_PEAK_BF16_AMX)->instruction;
        peak.amx_gflops = p->gflops[NNB_PEAK_BF16_AMX];
    }
    return peak;
}

/* Percent of peak at the median time, or -1 when unknown. */
static double share(double flops, const nnb_phase_stats *s, double peak) {
    return flops > 0 && s->count > 0 && s->median > 0 && peak > 0 ? 100 * flops / (s->median * 1e6) / peak : -1;
}

void nnb_print_amx_share(FILE *f, const nnb_runner_result *r) {
    if (!r->peak.amx_instruction || r->status != NNB_RUN_OK)
        return;
    double fwd = share(r->fwd_flops, &r->fwd, r->peak.amx_gflops);
    double bwd = r->has_backward ? share(r->bwd_flops, &r->bwd, r->peak.amx_gflops) : -1;
    fprintf(f, "nnbench: %s ran on AMX: forward %.3g%%", r->name, fwd);
    if (bwd >= 0)
        fprintf(f, ", backward %.3g%%", bwd);
    fprintf(f, " of the AMX bf16 peak (%s, %.0f GFLOP/s); the table's %% is of the %s peak\n", r->peak.amx_instruction,
            r->peak.amx_gflops, r->peak.instruction);
}

void nnb_peaks_to_context(const nnb_measured_peaks *p, nnb_run_context *ctx) {
    ctx->fma_peak_gflops = p->gflops[NNB_PEAK_FP32_FMA];
    ctx->bf16_dot_peak_gflops = p->gflops[NNB_PEAK_BF16_DOT];
    ctx->bf16_amx_peak_gflops = p->gflops[NNB_PEAK_BF16_AMX];
    ctx->fp16_fma_peak_gflops = p->gflops[NNB_PEAK_FP16_FMA];
}
