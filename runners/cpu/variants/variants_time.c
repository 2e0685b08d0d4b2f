/*
 * Side-by-side timing of variant runners (not a test): loads the plugins of a
 * runner folder, then for each iteration runs every named runner's forward and
 * backward in turn (interleaved, so machine load hits all alike) and prints the
 * median wall time and median process CPU time per pass. CPU time is the
 * number to trust on a shared machine with one thread.
 *
 *   nnb_variants_time RUNNER_DIR T B I H L THREADS FUSER ITERATIONS RUNNER...
 *   e.g. build/bin/nnb_variants_time build/lib/nnbench/runners 100 64 512 512 1 2 te 10 jit_layernorm jit_dropout
 */
#define _GNU_SOURCE
#include "config.h"
#include "loader.h"
#include "nnb_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_RUNNERS = 8, MAX_ITERS = 200 };

int main(int argc, char **argv) {
    if (argc < 11) {
        fprintf(stderr, "usage: %s RUNNER_DIR T B I H L THREADS FUSER ITERATIONS RUNNER...\n", argv[0]);
        return 2;
    }
    nnb_config cfg;
    nnb_config_defaults(&cfg);
    cfg.seq_length = atoll(argv[2]), cfg.mini_batch = atoll(argv[3]), cfg.input_size = atoll(argv[4]);
    cfg.hidden_size = atoll(argv[5]), cfg.num_layers = atoll(argv[6]), cfg.threads = atoi(argv[7]);
    cfg.fuser = argv[8];
    int iters = atoi(argv[9]), n = argc - 10;
    if (iters < 1 || iters > MAX_ITERS || n > MAX_RUNNERS) {
        fprintf(stderr, "1..%d iterations, at most %d runners\n", MAX_ITERS, MAX_RUNNERS);
        return 2;
    }
    nnb_registry reg;
    nnb_registry_init(&reg);
    nnb_registry_load_dir(&reg, argv[1]);
    const nnb_runner_desc *d[MAX_RUNNERS];
    void *m[MAX_RUNNERS];
    char err[512];
    for (int r = 0; r < n; r++) {
        const nnb_loaded_runner *lr = nnb_registry_find(&reg, argv[10 + r]);
        if (!lr) {
            fprintf(stderr, "runner %s not found in %s\n", argv[10 + r], argv[1]);
            return 1;
        }
        d[r] = lr->desc;
        if (!(m[r] = d[r]->create(&cfg, err, sizeof err))) {
            fprintf(stderr, "%s: %s\n", d[r]->name, err);
            return 1;
        }
    }
    static double wall[MAX_RUNNERS][2][MAX_ITERS], cpu[MAX_RUNNERS][2][MAX_ITERS];
    for (int it = -1; it < iters; it++) /* iteration -1 warms up */
        for (int r = 0; r < n; r++) {
            int (*phase[2])(void *, char *, size_t) = {d[r]->forward, d[r]->backward};
            for (int p = 0; p < 2; p++) {
                double w0 = nnb_now_seconds(), c0 = nnb_cpu_seconds();
                if (phase[p](m[r], err, sizeof err)) {
                    fprintf(stderr, "%s: %s\n", d[r]->name, err);
                    return 1;
                }
                if (it < 0)
                    continue;
                wall[r][p][it] = 1e3 * (nnb_now_seconds() - w0);
                cpu[r][p][it] = 1e3 * (nnb_cpu_seconds() - c0);
            }
        }
    printf("T=%lld B=%lld I=%lld H=%lld L=%lld threads=%d fuser=%s iterations=%d (medians, ms)\n",
           (long long)cfg.seq_length, (long long)cfg.mini_batch, (long long)cfg.input_size, (long long)cfg.hidden_size,
           (long long)cfg.num_layers, cfg.threads, cfg.fuser, iters);
    printf("%-22s %10s %10s %10s %10s %12s\n", "runner", "fwd_wall", "fwd_cpu", "bwd_wall", "bwd_cpu", "fwd_GFLOP/s");
    for (int r = 0; r < n; r++) {
        double fw = nnb_median(wall[r][0], iters), fc = nnb_median(cpu[r][0], iters);
        double bw = nnb_median(wall[r][1], iters), bc = nnb_median(cpu[r][1], iters);
        printf("%-22s %10.1f %10.1f %10.1f %10.1f %12.1f\n", d[r]->name, fw, fc, bw, bc,
               d[r]->forward_flops(m[r]) / (fw * 1e6));
        d[r]->destroy(m[r]);
    }
    nnb_registry_free(&reg);
    return 0;
}
