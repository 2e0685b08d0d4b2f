/*
 * Stand-alone timing of the CPU ResNet runners until the nnbench driver runs CNNs:
 *   nnb_resnet_bench <plugin.so> <runner> [N] [S] [threads] [warmup] [iters]
 * Runs create, then warmup + iters iterations of forward, backward_setup, backward,
 * and prints the median forward and backward times in ms (and their sum), plus
 * describe(). Defaults: N 32, S 224, threads 2, warmup 2, iters 5.
 */
#include <nnbench/runner.h>

#include "nnb_support.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s plugin.so runner [N] [S] [threads] [warmup] [iters]\n", argv[0]);
        return 2;
    }
    void *so = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!so) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    nnb_plugin_entry_fn entry = (nnb_plugin_entry_fn)dlsym(so, NNB_PLUGIN_ENTRY_SYMBOL);
    const nnb_plugin *pl = entry ? entry() : NULL;
    const nnb_runner_desc *d = NULL;
    for (int i = 0; pl && i < pl->runner_count; i++)
        if (!strcmp(pl->runners[i].name, argv[2]))
            d = &pl->runners[i];
    if (!d) {
        fprintf(stderr, "no runner %s in %s\n", argv[2], argv[1]);
        return 1;
    }
    nnb_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.struct_size = sizeof cfg;
    cfg.cnn_batch = argc > 3 ? atoll(argv[3]) : 32;
    cfg.image_size = argc > 4 ? atoll(argv[4]) : 224;
    cfg.threads = argc > 5 ? atoi(argv[5]) : 2;
    int warmup = argc > 6 ? atoi(argv[6]) : 2, iters = argc > 7 ? atoi(argv[7]) : 5;
    if (iters < 1 || iters > 1000)
        iters = 5;
    cfg.fuser = "te";
    char err[512];
    void *m = d->create(&cfg, err, sizeof err);
    if (!m) {
        fprintf(stderr, "create: %s\n", err);
        return 1;
    }
    double fwd[1000], bwd[1000];
    for (int it = -warmup; it < iters; it++) {
        double t0 = nnb_now_seconds();
        if (d->forward(m, err, sizeof err))
            break;
        double t1 = nnb_now_seconds();
        if (d->backward_setup && d->backward_setup(m, err, sizeof err))
            break;
        double t2 = nnb_now_seconds();
        if (d->backward(m, err, sizeof err))
            break;
        double t3 = nnb_now_seconds();
        if (it >= 0)
            fwd[it] = (t1 - t0) * 1e3, bwd[it] = (t3 - t2) * 1e3;
        err[0] = 0;
    }
    if (err[0]) {
        fprintf(stderr, "run: %s\n", err);
        return 1;
    }
    char info[4096] = "";
    if (d->describe)
        d->describe(m, info, sizeof info);
    double f = nnb_median(fwd, iters), b = nnb_median(bwd, iters);
    printf("%s N=%lld S=%lld threads=%d iters=%d: forward %.1f ms, backward %.1f ms, total %.1f ms "
           "(%.1f GFLOP/s)\n%s\n",
           d->name, (long long)cfg.cnn_batch, (long long)cfg.image_size, cfg.threads, iters, f, b, f + b,
           (d->forward_flops(m) + d->backward_flops(m)) / ((f + b) * 1e6), info);
    d->destroy(m);
    dlclose(so);
    return 0;
}
