/*
 * Every runner refuses a --fuser / --executor it cannot honour at create, in the same words
 * (runners/common's nnb_check_fuser_executor):
 *   "<runner>: --executor 'graph' is not supported by this runner (supported: eager)"
 *   "<runner>: --fuser 'none' is not supported by this runner (supported: te, old)"
 * Every CPU runner of the build tree (hidden ones and references included), at tiny sizes, is asked for
 * executor "graph" and each fuser te / old / none: it either succeeds or fails with exactly that format. Every
 * runner accepts the default fuser te; none accepts a made-up fuser or executor, and each refuses it in that
 * format. Where the CUDA toolkit and cuDNN headers are there, the hand-written CUDA LSTM runners are created
 * on the CPU through the emulated runtime (runners/cuda/lstm/emulation) and held to the same; the cuDNN and
 * CUDA ResNet runners cannot be created here: loaded CUDA runners either refuse in that format or report
 * "cuda: no device (...)", and the shared function's messages are checked by unit calls.
 */
#include "nnb_support.h"
#include "test_support.h"

#include <stdlib.h>
#include <string.h>

#ifdef NNB_TEST_EMULATED_CUDA
#include "custom_lstm.h"
#include "layernorm_lstm.h"

int nnb_cuda_available(const nnb_config *cfg, char *reason, size_t reason_len);

#define EMULATED(runner)                                                                                               \
    {                                                                                                                  \
        .struct_size = sizeof(nnb_runner_desc), .name = #runner, .group = NNB_GROUP_RNNS, .device = NNB_DEVICE_CUDA,   \
        .description = "emulated", .available = nnb_cuda_available, .create = nnb_cu_lstm_create_##runner,             \
        .destroy = nnb_cu_lstm_destroy,                                                                                \
    }

static const nnb_runner_desc emulated[] = {
    EMULATED(aten),
    EMULATED(jit),
    EMULATED(jit_multilayer),
    EMULATED(jit_premul),
    EMULATED(jit_premul_bias),
    EMULATED(jit_simple),
    EMULATED(jit_dropout),
    EMULATED(vl_jit),
    {.struct_size = sizeof(nnb_runner_desc),
     .name = "jit_layernorm",
     .group = NNB_GROUP_RNNS,
     .device = NNB_DEVICE_CUDA,
     .description = "emulated",
     .available = nnb_cuda_available,
     .create = nnb_ln_lstm_create,
     .destroy = nnb_ln_lstm_destroy},
    {.struct_size = sizeof(nnb_runner_desc),
     .name = "jit_layernorm_decom",
     .group = NNB_GROUP_RNNS,
     .device = NNB_DEVICE_CUDA,
     .description = "emulated",
     .available = nnb_cuda_available,
     .create = nnb_ln_lstm_create_decom,
     .destroy = nnb_ln_lstm_destroy},
};
#endif

typedef struct tally {
    int accepted, refused, no_device;
} tally;

static int starts_with(const char *s, const char *prefix) { return !strncmp(s, prefix, strlen(prefix)); }

/* create() with one setting changed. Returns 1 accepted, 0 refused in the common format, -1 no device. */
static int ask(const nnb_runner_desc *d, const nnb_config *base, const char *flag, const char *value,
               int may_lack_device, tally *t) {
    nnb_config cfg = *base;
    if (!strcmp(flag, "executor"))
        cfg.executor = value;
    else
        cfg.fuser = value;
    char err[1024] = "";
    void *m = d->create(&cfg, err, sizeof err);
    if (m) {
        d->destroy(m);
        t->accepted++;
        printf("  %-20s %-4s --%-8s %-7s accepted\n", d->name, d->device, flag, value);
        return 1;
    }
    if (may_lack_device && starts_with(err, "cuda: no device (")) {
        t->no_device++;
        printf("  %-20s %-4s --%-8s %-7s (%s)\n", d->name, d->device, flag, value, err);
        return -1;
    }
    char want[256];
    snprintf(want, sizeof want, "%s: --%s '%s' is not supported by this runner (supported: ", d->name, flag, value);
    size_t len = strlen(err);
    CHECK_MSG(starts_with(err, want) && len > 0 && err[len - 1] == ')' && !strchr(err, '\n'),
              "%s (%s) --%s %s: got \"%s\", want \"%s...)\"", d->name, d->device, flag, value, err, want);
    t->refused++;
    printf("  %-20s %-4s --%-8s %-7s %s\n", d->name, d->device, flag, value, err);
    return 0;
}

static void ask_all(const nnb_runner_desc *d, const nnb_config *cfg, int may_lack_device, tally *t) {
    ask(d, cfg, "executor", "graph", may_lack_device, t);
    static const char *const fusers[] = {"te", "old", "none"};
    for (int f = 0; f < 3; f++) {
        int rc = ask(d, cfg, "fuser", fusers[f], may_lack_device, t);
        if (f == 0)
            CHECK_MSG(rc != 0, "%s (%s) refuses the default fuser te", d->name, d->device);
    }
    /* Nothing honours these: every runner must refuse them, in the same words. */
    CHECK_MSG(ask(d, cfg, "executor", "bogus", may_lack_device, t) != 1, "%s accepted --executor bogus", d->name);
    CHECK_MSG(ask(d, cfg, "fuser", "bogus", may_lack_device, t) != 1, "%s accepted --fuser bogus", d->name);
}

static nnb_config tiny_config(void) {
    /* convs runners: mb2ic3ih5oc4kh3ph1 (fields: g mb ic oc, id ih iw, od oh ow, kd kh kw, sd sh sw, pd ph pw, dd dh
     * dw, has_bias) */
    static const nnb_conv_problem conv = {sizeof conv, 4, 1, 2, 3, 4, 1, 5, 5, 1, 5, 5, 1,
                                          3,           3, 1, 1, 1, 0, 1, 1, 0, 0, 0, 1, NULL};
    nnb_config cfg = nnb_test_lstm_config(3, 2, 4, 5, 1, 7);
    cfg.conv = &conv;
    cfg.cnn_batch = 2;
    cfg.image_size = 8;
    cfg.threads = 2;
    return cfg;
}

/* The shared function itself: exact messages, defaults, order, old config structs, short buffers. */
static void check_unit(void) {
    static const char *const te_old[] = {"te", "old", NULL}, *const cuda_lstm[] = {"eager", "graph", NULL};
    nnb_config cfg = tiny_config();
    char err[256];
    cfg.fuser = NULL, cfg.executor = NULL;
    CHECK(nnb_check_fuser_executor("r", &cfg, te_old, nnb_eager_only, err, sizeof err) == 0);
    cfg.fuser = "te", cfg.executor = "eager";
    CHECK(nnb_check_fuser_executor("r", &cfg, te_old, nnb_eager_only, err, sizeof err) == 0);
    cfg.executor = "graph";
    CHECK(nnb_check_fuser_executor("jit_premul", &cfg, nnb_every_fuser, nnb_eager_only, err, sizeof err) == -1);
    CHECK_MSG(!strcmp(err, "jit_premul: --executor 'graph' is not supported by this runner (supported: eager)"), "%s",
              err);
    CHECK(nnb_check_fuser_executor("jit", &cfg, nnb_every_fuser, cuda_lstm, err, sizeof err) == 0);
    /* the CUDA ResNet runners' lists */
    CHECK(nnb_check_fuser_executor("resnet50_jit", &cfg, nnb_every_fuser, nnb_eager_only, err, sizeof err) == -1);
    CHECK_MSG(!strcmp(err, "resnet50_jit: --executor 'graph' is not supported by this runner (supported: eager)"), "%s",
              err);
    cfg.executor = NULL, cfg.fuser = "none";
    CHECK(nnb_check_fuser_executor("jit_layernorm", &cfg, te_old, cuda_lstm, err, sizeof err) == -1);
    CHECK_MSG(!strcmp(err, "jit_layernorm: --fuser 'none' is not supported by this runner (supported: te, old)"), "%s",
              err);
    cfg.executor = "lazy", cfg.fuser = "nnc"; /* the executor is named first */
    CHECK(nnb_check_fuser_executor("cudnn", &cfg, nnb_every_fuser, cuda_lstm, err, sizeof err) == -1);
    CHECK_MSG(!strcmp(err, "cudnn: --executor 'lazy' is not supported by this runner (supported: eager, graph)"), "%s",
              err);
    cfg.executor = NULL;
    CHECK(nnb_check_fuser_executor("py", &cfg, nnb_every_fuser, nnb_eager_only, err, sizeof err) == -1);
    CHECK_MSG(!strcmp(err, "py: --fuser 'nnc' is not supported by this runner (supported: te, old, none)"), "%s", err);
    /* a config struct from a driver without these fields: the runner's defaults */
    nnb_config old = cfg;
    old.executor = "graph";
    old.struct_size = offsetof(nnb_config, fuser);
    CHECK(nnb_check_fuser_executor("py", &old, nnb_every_fuser, nnb_eager_only, err, sizeof err) == 0);
    /* a short buffer still gets a NUL-terminated prefix */
    char small[12];
    cfg.fuser = "none";
    CHECK(nnb_check_fuser_executor("jit_layernorm", &cfg, te_old, cuda_lstm, small, sizeof small) == -1);
    CHECK(!strcmp(small, "jit_layerno"));
}

int main(void) {
    check_unit();
    static nnb_registry reg;
    nnb_test_load_runners(&reg);
    nnb_config cfg = tiny_config();
    tally cpu = {0, 0, 0}, cuda = {0, 0, 0};
    int cpu_runners = 0;
    for (int i = 0; i < reg.count; i++) {
        const nnb_runner_desc *d = reg.runners[i].desc;
        int on_cpu = !strcmp(d->device, NNB_DEVICE_CPU);
        cpu_runners += on_cpu;
        ask_all(d, &cfg, !on_cpu, on_cpu ? &cpu : &cuda);
    }
    CHECK_MSG(cpu_runners >= 10, "only %d CPU runners loaded from %s", cpu_runners, nnb_test_env("NNBENCH_RUNNER_DIR"));
    CHECK_MSG(cpu.refused > 0 && cpu.accepted > 0, "CPU runners: %d accepted, %d refused", cpu.accepted, cpu.refused);
    printf("%d CPU runners: %d settings accepted, %d refused in the common format\n", cpu_runners, cpu.accepted,
           cpu.refused);
    printf("loaded CUDA runners: %d accepted, %d refused in the common format, %d without a device\n", cuda.accepted,
           cuda.refused, cuda.no_device);
#ifdef NNB_TEST_EMULATED_CUDA
    tally emu = {0, 0, 0};
    for (size_t i = 0; i < sizeof emulated / sizeof *emulated; i++)
        ask_all(&emulated[i], &cfg, 0, &emu);
    CHECK_MSG(emu.refused > 0 && emu.accepted > 0, "emulated CUDA runners: %d accepted, %d refused", emu.accepted,
              emu.refused);
    printf("%d emulated CUDA LSTM runners: %d settings accepted, %d refused in the common format\n",
           (int)(sizeof emulated / sizeof *emulated), emu.accepted, emu.refused);
#else
    printf("emulated CUDA runners: not built (no CUDA toolkit / cuDNN headers)\n");
#endif
    nnb_registry_free(&reg);
    return nnb_test_finish();
}
