/* --dtype's refusals (bench/precision.c): every runner this build has, in every dtype, either runs or is refused
 * in exactly one of the two wordings,
 *   "RUNNER (DEVICE): DTYPE is not supported by this runner (it computes in fp32[, ...])"  (not declared)
 *   "RUNNER (DEVICE): <available()'s reason>"                                              (declared, not here)
 * with CPU runners that refuse what this CPU lacks doing so in nnb_cpu_precision_available's words. The expectations
 * come from each descriptor's mask and that function, so runners gaining precisions keep this test meaningful. Then an
 * ABI 1.2 plugin: it loads, is fp32-only whatever lies past its descriptor, and --dtype bf16 refuses it; and the driver
 * end to end (skipped rows, exit 3 when nothing ran, --list's dtypes column). */
#include "driver.h"
#include "nnb_precision.h"
#include "precision.h"
#include "test_support.h"

#include <string.h>

static char bin[1024], plugins[1024];

/* "fp32, bf16": the mask read here, independently of the driver. */
static void declared_list(const nnb_runner_desc *d, char *out, size_t cap) {
    static const char *const names[] = {"fp32", "tf32", "bf16", "fp16"};
    uint32_t mask = d->precisions ? d->precisions : 1u;
    size_t used = 0;
    out[0] = 0;
    for (int p = 0; p < 4; p++)
        if (mask & (1u << p))
            used += (size_t)snprintf(out + used, cap - used, "%s%s", used ? ", " : "", names[p]);
}

static void check_pair(const nnb_runner_desc *d, int p, int cuda_here) {
    static const char *const names[] = {"fp32", "tf32", "bf16", "fp16"};
    nnb_config c = nnb_test_lstm_config(4, 2, 8, 8, 1, 1);
    c.cnn_batch = 2, c.image_size = 32;
    c.precision = p;
    c.allow_tf32 = p == NNB_PRECISION_TF32;
    uint32_t mask = d->precisions ? d->precisions : 1u;
    char why[600] = "", expected[600], list[64];
    if (!(mask & (1u << p))) {
        declared_list(d, list, sizeof list);
        snprintf(expected, sizeof expected, "%s (%s): %s is not supported by this runner (it computes in %s)", d->name,
                 d->device, names[p], list);
        CHECK_MSG(nnb_precision_refusal(d, &c, why, sizeof why) == 1 && !strcmp(why, expected),
                  "%s %s: got \"%s\", expected \"%s\"", d->name, names[p], why, expected);
        return;
    }
    if (!strcmp(d->device, NNB_DEVICE_CUDA) && !cuda_here)
        return; /* the driver never asks a CUDA runner's available() without a device */
    char reason[480] = "";
    int available = !d->available || d->available(&c, reason, sizeof reason);
    int refused = nnb_precision_refusal(d, &c, why, sizeof why);
    if (available) {
        CHECK_MSG(!refused, "%s %s: available, yet refused: %s", d->name, names[p], why);
    } else {
        snprintf(expected, sizeof expected, "%s (%s): %s", d->name, d->device,
                 reason[0] ? reason : "not available here");
        CHECK_MSG(refused && !strcmp(why, expected), "%s %s: got \"%s\", expected \"%s\"", d->name, names[p], why,
                  expected);
        CHECK_MSG(!strstr(why, "is not supported by this runner"), "%s %s: both wordings: %s", d->name, names[p], why);
    }
    /* A CPU runner declaring a precision this CPU cannot run, and refusing it (a runner with a portable path may
     * run it anyway), refuses in the shared words, unless fp32 is refused too for a reason of its own. */
    char cpu_says[300] = "";
    nnb_config c32 = c;
    c32.precision = NNB_PRECISION_FP32, c32.allow_tf32 = 0;
    int fp32_runs = !d->available || d->available(&c32, reason, sizeof reason);
    if (!strcmp(d->device, NNB_DEVICE_CPU) && fp32_runs && !available &&
        !nnb_cpu_precision_available(p, cpu_says, sizeof cpu_says))
        CHECK_MSG(strstr(why, cpu_says) != NULL, "%s %s: this CPU cannot run it; \"%s\" lacks the shared \"%s\"",
                  d->name, names[p], why, cpu_says);
}

/* The driver on argv-like args with the test plugins; exit status, stderr in err. */
static int run(char *out, size_t out_cap, char *err, size_t err_cap, const char *args) {
    return nnb_test_runf(out, out_cap, err, err_cap,
                         "%s --device cpu --runner-path %s/abi12 --runner-path %s/precision %s", bin, plugins, plugins,
                         args);
}

static void end_to_end(void) {
    static char out[65536], err[65536];
    int rc = run(out, sizeof out, err, sizeof err, "--dtype bf16 --rnns old_abi12 --nloops 1 --warmup 0");
    CHECK_MSG(rc == 3, "old_abi12 in bf16: exit %d, expected 3 (nothing ran): %s", rc, err);
    CHECK_STR_CONTAINS(err, "SKIPPED: old_abi12 (cpu): bf16 is not supported by this runner (it computes in fp32)");
    rc = run(out, sizeof out, err, sizeof err, "--rnns old_abi12 --nloops 1 --warmup 0");
    CHECK_MSG(rc == 0, "old_abi12 in fp32: exit %d: %s", rc, err);
    rc = run(out, sizeof out, err, sizeof err, "--dtype bf16 --rnns old_abi12 dtype_scale_ref --nloops 1 --warmup 0");
    CHECK_MSG(rc == 0, "one of two skipped: exit %d, expected 0: %s", rc, err);

    /* nnbench serve refuses in the same words (exit 3, skipped), and serves in a dtype the runner declares. */
    rc = nnb_test_runf(out, sizeof out, err, sizeof err,
                       "%s serve --runner empty --dtype bf16 --device cpu --runner-path %s/good --requests 5", bin,
                       plugins);
    CHECK_MSG(rc == 3, "serve of an fp32-only runner in bf16: exit %d: %s", rc, err);
    CHECK_STR_CONTAINS(err, "runner skipped: empty (cpu): bf16 is not supported by this runner (it computes in fp32)");

    /* dtype_scale declares tf32 and its available() says what a CPU says of it. */
    char cpu_says[300] = "", expected[512];
    CHECK(nnb_cpu_precision_available(NNB_PRECISION_TF32, cpu_says, sizeof cpu_says) == 0);
    snprintf(expected, sizeof expected, "SKIPPED: dtype_scale (cpu): %s", cpu_says);
    rc = run(out, sizeof out, err, sizeof err, "--dtype tf32 --rnns dtype_scale --nloops 1 --warmup 0");
    CHECK_MSG(rc == 3, "dtype_scale in tf32: exit %d: %s", rc, err);
    CHECK_STR_CONTAINS(err, expected);

    /* --list: the declared dtypes; '*' on those this CPU cannot run. */
    rc = run(out, sizeof out, err, sizeof err, "--list");
    CHECK(rc == 0);
    const char *line = strstr(out, "\nold_abi12 ");
    CHECK_MSG(line && strstr(line, " fp32 ") && strstr(line, " fp32 ") < strchr(line + 1, '\n'),
              "--list: old_abi12 is not listed fp32-only: %s", out);
    char scale[64];
    snprintf(scale, sizeof scale, " fp32,tf32*,bf16%s,fp16%s ",
             nnb_cpu_precision_available(NNB_PRECISION_BF16, cpu_says, sizeof cpu_says) ? "" : "*",
             nnb_cpu_precision_available(NNB_PRECISION_FP16, cpu_says, sizeof cpu_says) ? "" : "*");
    line = strstr(out, "\ndtype_scale ");
    CHECK_MSG(line && strstr(line, scale), "--list: expected \"%s\" on dtype_scale's line: %s", scale, out);
    line = strstr(out, "\npy ");
    CHECK_MSG(line && strstr(line, " fp32,tf32,bf16,fp16 "), "--list: the reference py declares every dtype: %s", out);
}

int main(void) {
    snprintf(bin, sizeof bin, "%s", nnb_test_env("NNBENCH_BIN"));
    snprintf(plugins, sizeof plugins, "%s", nnb_test_env("NNBENCH_TEST_PLUGIN_DIR"));
    nnb_registry reg;
    nnb_test_load_runners(&reg);
    char path[1100];
    snprintf(path, sizeof path, "%s/abi12", plugins);
    nnb_registry_load_dir(&reg, path);
    snprintf(path, sizeof path, "%s/precision", plugins);
    nnb_registry_load_dir(&reg, path);
    CHECK_MSG(reg.diag_count == 0, "plugins failed to load: %s", reg.diag_count ? reg.diags[0].message : "");

    /* The 1.2 plugin: loaded, normalised to fp32-only (its bf16 bit lies past its struct_size). */
    const nnb_loaded_runner *old = nnb_registry_find(&reg, "old_abi12");
    CHECK(old != NULL);
    if (old) {
        CHECK(old->desc->struct_size == sizeof(nnb_runner_desc) && old->desc->precisions == 0);
        CHECK(nnb_runner_supports_precision(old->desc, NNB_PRECISION_FP32));
        CHECK(!nnb_runner_supports_precision(old->desc, NNB_PRECISION_BF16));
    }

    char cuda_reason[300];
    int cuda_here = nnb_cuda_usable_probe(cuda_reason, sizeof cuda_reason);
    CHECK_MSG(reg.count > 10, "only %d runners loaded", reg.count);
    for (int i = 0; i < reg.count; i++)
        for (int p = 0; p < NNB_PRECISION_COUNT; p++)
            check_pair(reg.runners[i].desc, p, cuda_here);
    nnb_registry_free(&reg);
    end_to_end();
    return nnb_test_finish();
}
