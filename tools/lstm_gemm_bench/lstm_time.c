/*
 * lstm_time: loads runner plugins (bench/loader.h) and times named runners'
 * forward and backward side by side in one process, interleaved (iteration i
 * runs every runner once: forward, backward_setup, backward, zero_grad, as
 * fastrnns); medians over iterations, ratios to the first runner named.
 *   usage: lstm_time PLUGIN_DIR T B I H L threads iters runner [runner...]
 * Fuser from $NNB_FUSER (default te); NNB_CPUTIME=1 times process CPU time.
 * A runner written NAME@VAR=VALUE is created with VAR=VALUE in the environment (unset again after), so
 * two implementations a runner selects by environment run side by side, e.g.
 *   lstm_time DIR 100 64 512 512 1 2 5 resnet18 resnet18@NNB_RESNET_INPUT_GRAD=onednn
 * (ResNet runners take --cnn-batch / --image-size defaults: N 32, S 224; T B I H L are ignored.)
 */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include "config.h"
#include "loader.h"
#include "nnb_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc < 10) {
        fprintf(stderr, "usage: %s PLUGIN_DIR T B I H L threads iters runner...\n", argv[0]);
        return 2;
    }
    nnb_registry reg;
    nnb_registry_init(&reg);
    nnb_registry_load_dir(&reg, argv[1]);
    nnb_config cfg;
    nnb_config_defaults(&cfg);
    cfg.seq_length = atoll(argv[2]), cfg.mini_batch = atoll(argv[3]), cfg.input_size = atoll(argv[4]);
    cfg.hidden_size = atoll(argv[5]), cfg.num_layers = atoll(argv[6]), cfg.threads = atoi(argv[7]);
    int iters = atoi(argv[8]);
    if (getenv("NNB_FUSER"))
        cfg.fuser = getenv("NNB_FUSER");
    printf("T %lld B %lld I %lld H %lld L %lld threads %d fuser %s, median of %d (1 warm-up)\n",
           (long long)cfg.seq_length, (long long)cfg.mini_batch, (long long)cfg.input_size, (long long)cfg.hidden_size,
           (long long)cfg.num_layers, cfg.threads, cfg.fuser, iters);
    printf("%-18s %10s %10s %9s %9s  %7s %7s\n", "runner", "fwd ms", "bwd ms", "fwd GF/s", "bwd GF/s", "fwd/1st",
           "bwd/1st");
    char err[512], info[4096];
    enum { MAXR = 16 };
    int n = 0;
    const nnb_runner_desc *desc[MAXR];
    void *model[MAXR];
    const char *name[MAXR];
    for (int r = 9; r < argc && n < MAXR; r++) {
        char runner[128], var[128] = "";
        snprintf(runner, sizeof runner, "%s", argv[r]);
        char *at = strchr(runner, '@'), *eq = at ? strchr(at, '=') : NULL;
        if (at && eq) {
            *at = *eq = '\0';
            snprintf(var, sizeof var, "%s", at + 1);
            setenv(var, eq + 1, 1);
        }
        const nnb_loaded_runner *lr = nnb_registry_find(&reg, runner);
        if (!lr) {
            printf("%-18s not found\n", argv[r]);
            if (*var)
                unsetenv(var);
            continue;
        }
        void *m = lr->desc->create(&cfg, err, sizeof err);
        if (*var)
            unsetenv(var);
        if (!m) {
            printf("%-18s create failed: %s\n", argv[r], err);
            continue;
        }
        desc[n] = lr->desc, model[n] = m, name[n] = argv[r];
        n++;
    }
    /* Interleaved: iteration i runs every runner once, so all see the same machine load. */
    double *tf = calloc((size_t)(n * iters) + 1, sizeof(double)), *tb = calloc((size_t)(n * iters) + 1, sizeof(double));
    for (int i = 0; i <= iters; i++)
        for (int r = 0; r < n; r++) {
            const nnb_runner_desc *d = desc[r];
            void *m = model[r];
            double t0 = nnb_bench_seconds();
            d->forward(m, err, sizeof err);
            double t1 = nnb_bench_seconds();
            if (d->backward_setup)
                d->backward_setup(m, err, sizeof err);
            double t2 = nnb_bench_seconds();
            if (d->backward)
                d->backward(m, err, sizeof err);
            double t3 = nnb_bench_seconds();
            if (d->zero_grad)
                d->zero_grad(m, err, sizeof err);
            if (i > 0)
                tf[r * iters + i - 1] = t1 - t0, tb[r * iters + i - 1] = t3 - t2;
        }
    double base_f = 0, base_b = 0;
    for (int r = 0; r < n; r++) {
        const nnb_runner_desc *d = desc[r];
        double mf = nnb_median(tf + r * iters, iters), mb = nnb_median(tb + r * iters, iters); /* sorts */
        if (r == 0)
            base_f = mf, base_b = mb;
        double ff = d->forward_flops ? d->forward_flops(model[r]) : 0;
        double fb = d->backward_flops ? d->backward_flops(model[r]) : 0;
        printf("%-18s %10.2f %10.2f %9.1f %9.1f  %6.2fx %6.2fx  (min %.2f / %.2f)\n", name[r], mf * 1e3, mb * 1e3,
               ff / mf * 1e-9, fb / mb * 1e-9, mf / base_f, mb / base_b, tf[r * iters] * 1e3, tb[r * iters] * 1e3);
        if (getenv("NNB_DESCRIBE") && d->describe && !d->describe(model[r], info, sizeof info))
            printf("  %s\n", info);
    }
    free(tf), free(tb);
    for (int r = 0; r < n; r++)
        desc[r]->destroy(model[r]);
    nnb_registry_free(&reg);
    return 0;
}
