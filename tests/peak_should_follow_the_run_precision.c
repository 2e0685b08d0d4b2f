/* The driver's choice of peak (bench/run_peak.c) for a run's "% of peak": fp32 and tf32 the fp32 FMA peak, bf16
 * the vdpbf16ps peak with the AMX peak beside it only when describe()'s "gemm" or "isa" names AMX, fp16 the fp16
 * FMA peak; none when the precision's peak was not measured. Known peaks are planted, nothing is timed. */
#include "run_peak.h"
#include "test_support.h"

#include <string.h>

static nnb_measured_peaks planted(double fp32, double dot, double amx, double fp16) {
    nnb_measured_peaks p = {.measured = 1};
    p.gflops[NNB_PEAK_FP32_FMA] = fp32, p.gflops[NNB_PEAK_BF16_DOT] = dot;
    p.gflops[NNB_PEAK_BF16_AMX] = amx, p.gflops[NNB_PEAK_FP16_FMA] = fp16;
    return p;
}

static void each_precision_gets_its_peak(void) {
    nnb_measured_peaks p = planted(400, 200, 6000, 900);
    nnb_result_peak fp32 = nnb_run_peak(&p, NNB_PRECISION_FP32, NULL),
                    tf32 = nnb_run_peak(&p, NNB_PRECISION_TF32, NULL);
    CHECK(fp32.gflops == 400 && !strcmp(fp32.instruction, "vfmadd231ps") && !strcmp(fp32.precision, "fp32"));
    CHECK_MSG(tf32.gflops == 400, "tf32 on the CPU is fp32 math: the FMA peak (%g)", tf32.gflops);
    nnb_result_peak bf16 = nnb_run_peak(&p, NNB_PRECISION_BF16, "{\"impl\": \"jit\", \"isa\": \"avx512_core_bf16\"}");
    CHECK(bf16.gflops == 200 && !strcmp(bf16.instruction, "vdpbf16ps") && !strcmp(bf16.precision, "bf16"));
    CHECK_MSG(!bf16.amx_instruction && bf16.amx_gflops == 0, "no AMX peak for a run that did not use AMX");
    nnb_result_peak fp16 = nnb_run_peak(&p, NNB_PRECISION_FP16, NULL);
    CHECK(fp16.gflops == 900 && !strcmp(fp16.instruction, "vfmadd231ph"));
}

static void amx_runs_get_the_amx_peak_too(void) {
    nnb_measured_peaks p = planted(400, 200, 6000, 900);
    const char *infos[] = {"{\"gemm\": \"brgemm:avx512_core_amx\"}", "{\"isa\": \"AMX_BF16\"}"};
    for (int i = 0; i < 2; i++) {
        nnb_result_peak r = nnb_run_peak(&p, NNB_PRECISION_BF16, infos[i]);
        CHECK_MSG(r.gflops == 200 && r.amx_gflops == 6000 && r.amx_instruction &&
                      !strcmp(r.amx_instruction, "tdpbf16ps"),
                  "%s: the vdpbf16ps peak with the AMX one beside it", infos[i]);
    }
    nnb_result_peak kernel_name_only = nnb_run_peak(&p, NNB_PRECISION_BF16, "{\"kernel\": \"amx\"}");
    CHECK_MSG(!kernel_name_only.amx_instruction, "only \"gemm\" and \"isa\" say which unit ran");
    nnb_result_peak fp32_amx = nnb_run_peak(&p, NNB_PRECISION_FP32, infos[0]);
    CHECK_MSG(!fp32_amx.amx_instruction, "AMX computes bf16: an fp32 run keeps the FMA peak alone");
    nnb_measured_peaks no_amx = planted(400, 200, 0, 0);
    CHECK_MSG(!nnb_run_peak(&no_amx, NNB_PRECISION_BF16, infos[0]).amx_instruction, "no AMX peak measured, none shown");
}

static void unmeasured_peaks_give_none(void) {
    nnb_measured_peaks none = {0};
    CHECK(nnb_run_peak(&none, NNB_PRECISION_FP32, NULL).precision == NULL);
    nnb_measured_peaks zen4 = planted(400, 200, 0, 0); /* avx512_bf16, no fp16 */
    nnb_result_peak fp16 = nnb_run_peak(&zen4, NNB_PRECISION_FP16, NULL);
    CHECK_MSG(fp16.precision == NULL && fp16.gflops == 0, "no fp16 peak: no percentages rather than the FMA one's");
}

int main(void) {
    each_precision_gets_its_peak();
    amx_runs_get_the_amx_peak_too();
    unmeasured_peaks_give_none();
    return nnb_test_finish();
}
