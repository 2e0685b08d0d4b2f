/*
 * Times the reference LSTM core (what runner py runs) outside the driver:
 *   nnb_reference_time [T B I H L threads iterations]   (defaults: 100 64 512 512 1 1 5)
 * Prints the median forward and backward wall seconds over the iterations (after
 * one warm-up), the GFLOP/s from nnb_lstm_*_flops, and the median process CPU
 * seconds (all threads) beside them: on a shared machine, wall > CPU / threads
 * shows the run was competing for cores. Not a test: a command anyone can run.
 */
#include "lstm_data.h"
#include "lstm_ref.h"
#include "nnb_support.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    long long a[7] = {100, 64, 512, 512, 1, 1, 5};
    for (int i = 1; i < argc && i <= 7; i++)
        a[i - 1] = atoll(argv[i]);
    const int threads = (int)a[5], iters = (int)a[6];
    if (iters < 1 || iters > 1000 || threads < 1) {
        fprintf(stderr, "usage: %s [T B I H L threads iterations]\n", argv[0]);
        return 2;
    }
    nnb_config cfg = {.struct_size = sizeof cfg,
                      .seq_length = a[0],
                      .mini_batch = a[1],
                      .input_size = a[2],
                      .hidden_size = a[3],
                      .num_layers = a[4],
                      .threads = threads,
                      .fuser = "none"};
    nnb_lstm_data d;
    nnb_ref_lstm_f m;
    char err[256];
    if (nnb_lstm_data_init(&d, &cfg, 0, 0, err, sizeof err) ||
        nnb_ref_lstm_init_f(&m, d.T, d.B, d.I, d.H, d.L, NULL, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    nnb_set_threads(threads);
    nnb_ref_lstm_params_f p = {d.w_ih, d.w_hh, d.b_ih, d.b_hh};
    nnb_ref_lstm_grads_f g = {d.dw_ih, d.dw_hh, d.db_ih, d.db_hh};
    double *fwd = calloc((size_t)iters, sizeof *fwd), *bwd = calloc((size_t)iters, sizeof *bwd);
    double *fwd_cpu = calloc((size_t)iters, sizeof *fwd), *bwd_cpu = calloc((size_t)iters, sizeof *bwd);
    for (int it = -1; it < iters; it++) { /* it = -1: warm-up */
        double t0 = nnb_now_seconds(), c0 = nnb_cpu_seconds();
        nnb_ref_lstm_forward_f(&m, &p, d.x, d.hx, d.cx, d.y, d.hy, d.cy);
        double t1 = nnb_now_seconds(), c1 = nnb_cpu_seconds();
        nnb_ref_lstm_backward_f(&m, &p, d.x, d.grad_y, d.dx, d.dhx, d.dcx, &g);
        double t2 = nnb_now_seconds(), c2 = nnb_cpu_seconds();
        if (it >= 0)
            fwd[it] = t1 - t0, bwd[it] = t2 - t1, fwd_cpu[it] = c1 - c0, bwd_cpu[it] = c2 - c1;
    }
    double f = nnb_median(fwd, iters), b = nnb_median(bwd, iters);
    printf("reference LSTM T=%lld B=%lld I=%lld H=%lld L=%lld threads=%d gemm_isa=%s iterations=%d\n", a[0], a[1], a[2],
           a[3], a[4], threads, nnb_ref_lstm_isa(), iters);
    printf("forward  median %.3f s  %.1f GFLOP/s  (cpu %.3f s)\n", f, nnb_lstm_forward_flops(&d) / f * 1e-9,
           nnb_median(fwd_cpu, iters));
    printf("backward median %.3f s  %.1f GFLOP/s  (cpu %.3f s)\n", b, nnb_lstm_backward_flops(&d) / b * 1e-9,
           nnb_median(bwd_cpu, iters));
    free(fwd);
    free(bwd);
    free(fwd_cpu);
    free(bwd_cpu);
    nnb_ref_lstm_free_f(&m);
    nnb_lstm_data_free(&d);
    return 0;
}
