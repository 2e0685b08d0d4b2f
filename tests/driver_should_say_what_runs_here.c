#define _GNU_SOURCE
/* What the driver tells a newcomer, through the binary:
 *   - --list's capability columns (backward, serve, check) agree with every runner's descriptor, loaded
 *     here independently through the loader, for the build's runners and the test plugin's;
 *   - without an NVIDIA driver (no libcuda.so.1 or no /dev/nvidiactl, looked up here independently), --list
 *     and a run's device note say "no NVIDIA driver found" exactly once and never CUDA's misleading
 *     "driver version is insufficient";
 *   - --ab refuses sides of different groups unless --ab-any-group, and labels each side's group;
 *   - --check's verdict comes before the runner's timed row (after its progress line), isolated or not;
 *   - --measure-peak prints the peak it measured when the CPU has AVX-512 (per /proc/cpuinfo). */
#include "test_support.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char bin[1024], good[1024];
static char out[1 << 17], err[1 << 16];

static int nnbench(const char *args) {
    return nnb_test_runf(out, sizeof out, err, sizeof err, "%s --runner-path %s %s", bin, good, args);
}

static int count_of(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* The --list line of runner name on device: its capability columns. 0, or -1 when not listed. */
static int list_columns(const char *name, const char *device, char *backward, char *serve, char *check) {
    for (const char *p = out; *p; p += strcspn(p, "\n") + (p[strcspn(p, "\n")] == '\n')) {
        char n[64], g[16], dev[16], b[16], s[16], c[64];
        if (*p == ' ' || sscanf(p, "%63s %15s %15s %15s %15s %63s", n, g, dev, b, s, c) != 6)
            continue;
        if (!strcmp(n, name) && !strcmp(dev, device)) {
            strcpy(backward, b), strcpy(serve, s), strcpy(check, c);
            return 0;
        }
    }
    return -1;
}

static void registry_columns(const nnb_registry *reg) {
    for (int i = 0; i < reg->count; i++) {
        const nnb_runner_desc *d = reg->runners[i].desc;
        char b[16], s[16], c[64];
        if (list_columns(d->name, d->device, b, s, c)) {
            CHECK_MSG(0, "%s (%s) not in --list", d->name, d->device);
            continue;
        }
        const char *want_check = d->reference ? d->reference : (d->flags & NNB_FLAG_REFERENCE) ? "reference" : "-";
        CHECK_MSG(!strcmp(b, d->backward ? "yes" : "-") && !strcmp(s, d->infer ? "yes" : "-") && !strcmp(c, want_check),
                  "%s (%s): --list says backward %s, serve %s, check %s", d->name, d->device, b, s, c);
    }
}

static void list_shows_capabilities(void) {
    CHECK_MSG(nnbench("--list") == 0, "%s", err);
    CHECK_STR_CONTAINS(out, "name                   group    device backward serve check");
    nnb_registry reg;
    nnb_test_load_runners(&reg);
    registry_columns(&reg);
    nnb_registry_free(&reg);
    nnb_registry_init(&reg);
    nnb_registry_load_dir(&reg, good);
    CHECK(reg.count >= 6);
    registry_columns(&reg);
    nnb_registry_free(&reg);
    char b[16], s[16], c[64];
    CHECK(list_columns("empty_fwd", "cpu", b, s, c) == 0 && !strcmp(b, "-") && !strcmp(s, "yes"));
    if (list_columns("py", "cpu", b, s, c) == 0) /* the reference LSTM: has a backward, is the reference */
        CHECK_MSG(!strcmp(b, "yes") && !strcmp(c, "reference"), "py: backward %s, check %s", b, c);
    if (list_columns("jit", "cpu", b, s, c) == 0)
        CHECK_MSG(!strcmp(c, "py"), "jit is checked against py, --list says %s", c);
    if (list_columns("resnet18", "cpu", b, s, c) == 0)
        CHECK_MSG(!strcmp(s, "yes"), "resnet18 can serve, --list says %s", s);
}

static int nvidia_driver_here(void) {
    void *lib = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
    if (lib)
        dlclose(lib);
    return lib && access("/dev/nvidiactl", F_OK) == 0;
}

static void missing_driver_said_once(void) {
    if (nvidia_driver_here()) {
        printf("note: an NVIDIA driver is installed; the no-driver messages are not exercised\n");
        return;
    }
    CHECK(nnbench("--list") == 0);
    int cuda_runners = count_of(out, " cuda   ");
    CHECK_MSG(count_of(out, "no NVIDIA driver found") + count_of(err, "no NVIDIA driver found") == 1,
              "--list names the missing driver once (%d cuda runners listed):\n%s", cuda_runners, out);
    CHECK_MSG(!strstr(out, "insufficient") && !strstr(err, "insufficient"), "no 'insufficient driver' in --list");
    CHECK_MSG(cuda_runners > 0 && count_of(out, "no cuda (see above)") == cuda_runners,
              "each cuda runner points at the one message");
    CHECK(nnbench("--rnns empty --warmup 1 --nloops 2") == 0);
    CHECK_MSG(count_of(err, "no NVIDIA driver found") == 1 && strstr(err, "--device not given; using cpu (cuda: no "
                                                                          "NVIDIA driver found"),
              "the device note names the missing driver once: %s", err);
    CHECK(!strstr(err, "insufficient"));
    CHECK(nnbench("--device cuda --rnns fake_cuda --nloops 2") == 3);
    CHECK_STR_CONTAINS(err, "nnbench: --device cuda: no NVIDIA driver found");
    CHECK(!strstr(err, "insufficient"));
}

static void ab_stays_within_a_group(void) {
    CHECK_MSG(nnbench("--device cpu --ab empty empty_cnn") == 2, "%s", err);
    CHECK_STR_CONTAINS(err, "--ab: A 'empty' is in group rnns and B 'empty_cnn' in group cnns");
    CHECK_STR_CONTAINS(err, "--ab-any-group");
    CHECK(!strstr(err, "A/B:"));
    CHECK_MSG(nnbench("--device cpu --ab empty empty_cnn --ab-any-group --max-time 1 --warmup 1") == 0, "%s", err);
    CHECK_STR_CONTAINS(err, "A/B: A = empty (rnns), B = empty_cnn (cnns) (cpu; rounds A B B A, same seed)");
    CHECK_MSG(nnbench("--device cpu --ab spin spin@--seqLength=110 --seqLength 100 --warmup 1 --max-time 1") == 0, "%s",
              err);
    CHECK_STR_CONTAINS(err, "A/B: A = spin, B = spin@--seqLength=110 (rnns, cpu; rounds A B B A, same seed)");
    CHECK(nnbench("--device cpu --rnns empty --ab-any-group") == 2);
    CHECK_STR_CONTAINS(err, "--ab-any-group needs --ab A B");
}

static void check_verdict_before_the_row(const char *isolation) {
    nnb_registry reg;
    nnb_test_load_runners(&reg);
    int have = nnb_registry_find_on(&reg, "jit", "cpu") && nnb_registry_find_on(&reg, "aten", "cpu");
    nnb_registry_free(&reg);
    if (!have) {
        printf("note: jit/aten not built; --check's order not exercised\n");
        return;
    }
    char args[256];
    snprintf(args, sizeof args,
             "--device cpu --rnns jit aten --check --seqLength 3 --hiddenSize 8 --inputSize 8 --miniBatch 2 "
             "--warmup 1 --nloops 2 %s",
             isolation);
    CHECK_MSG(nnbench(args) == 0, "%s: %s", args, err);
    const char *line = strstr(err, "[1/2] jit:"), *jit_check = strstr(err, "check jit vs py: pass"),
               *jit_row = strstr(err, "\n             jit "), *aten_check = strstr(err, "check aten vs py: pass"),
               *aten_row = strstr(err, "\n            aten ");
    CHECK_MSG(line && jit_check && jit_row && aten_check && aten_row, "%s: missing pieces:\n%s", isolation, err);
    CHECK_MSG(line < jit_check && jit_check < jit_row && jit_row < aten_check && aten_check < aten_row,
              "%s: each check verdict before its runner's row:\n%s", isolation, err);
}

static int cpu_has_avx512f(void) {
    char flags[1 << 14];
    FILE *f = fopen("/proc/cpuinfo", "r");
    int yes = 0;
    while (f && !yes && fgets(flags, sizeof flags, f))
        yes = !strncmp(flags, "flags", 5) && strstr(flags, " avx512f");
    if (f)
        fclose(f);
    return yes;
}

static void measured_peak_is_printed(void) {
    CHECK_MSG(nnbench("--device cpu --rnns empty --warmup 1 --nloops 2 --threads 1 --measure-peak") == 0, "%s", err);
    if (!cpu_has_avx512f()) {
        CHECK_STR_CONTAINS(err, "--measure-peak: no AVX-512 FMA peak on this CPU");
        return;
    }
    const char *p = strstr(err, "nnbench: measured fp32 FMA peak: ");
    double gflops = p ? strtod(p + strlen("nnbench: measured fp32 FMA peak: "), NULL) : 0;
    CHECK_MSG(p && gflops > 0, "the measured peak is printed and positive: %s", err);
    CHECK_STR_CONTAINS(err, " GFLOP/s on 1 thread (vfmadd231ps, 32 FLOPs per instruction)\n");
    /* every other precision's peak: measured, or skipped with the reason */
    const char *kinds[][2] = {
        {"bf16 dot-product peak", "vdpbf16ps"}, {"bf16 AMX peak", "tdpbf16ps"}, {"fp16 FMA peak", "vfmadd231ph"}};
    for (int i = 0; i < 3; i++)
        CHECK_MSG(strstr(err, kinds[i][0]) && strstr(err, kinds[i][1]), "%s (%s) measured or skipped: %s", kinds[i][0],
                  kinds[i][1], err);
}

int main(void) {
    snprintf(bin, sizeof bin, "%s", nnb_test_env("NNBENCH_BIN"));
    snprintf(good, sizeof good, "%s/good", nnb_test_env("NNBENCH_TEST_PLUGIN_DIR"));
    list_shows_capabilities();
    missing_driver_said_once();
    ab_stays_within_a_group();
    check_verdict_before_the_row("");
    check_verdict_before_the_row("--no-isolate");
    measured_peak_is_printed();
    return nnb_test_finish();
}
