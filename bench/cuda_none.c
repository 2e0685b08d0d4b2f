/* Device functions for a build without CUDA: CUDA is reported unusable. */
#include "device.h"

#include <stdio.h>

int nnb_cuda_usable(char *reason, size_t reason_len) {
    snprintf(reason, reason_len, "nnbench was built without CUDA");
    return 0;
}

void nnb_cuda_fill_context(nnb_run_context *ctx, int device) { (void)ctx, (void)device; }

int nnb_cuda_pci_bus_id(int device, char *buf, size_t len) {
    (void)device, (void)buf, (void)len;
    return -1;
}

nnb_cuda_timer *nnb_cuda_timer_create(int device, void **stream_out, char *err, size_t err_len) {
    (void)device, (void)stream_out;
    snprintf(err, err_len, "nnbench was built without CUDA");
    return NULL;
}

int nnb_cuda_timer_start(nnb_cuda_timer *t, const char *range_name, char *err, size_t err_len) {
    (void)t, (void)range_name;
    snprintf(err, err_len, "nnbench was built without CUDA");
    return -1;
}

double nnb_cuda_timer_stop(nnb_cuda_timer *t, char *err, size_t err_len) {
    (void)t;
    snprintf(err, err_len, "nnbench was built without CUDA");
    return -1;
}

void nnb_cuda_timer_destroy(nnb_cuda_timer *t) { (void)t; }

nnb_cuda_serve_lane *nnb_cuda_serve_lane_create(int device, size_t in_bytes, size_t out_bytes, char *err,
                                                size_t err_len) {
    (void)device, (void)in_bytes, (void)out_bytes;
    snprintf(err, err_len, "nnbench was built without CUDA");
    return NULL;
}

int nnb_cuda_serve_lane_buffers(nnb_cuda_serve_lane *l, size_t in_bytes, size_t out_bytes, char *err, size_t err_len) {
    (void)l, (void)in_bytes, (void)out_bytes;
    snprintf(err, err_len, "nnbench was built without CUDA");
    return -1;
}

void *nnb_cuda_serve_lane_stream(nnb_cuda_serve_lane *l) {
    (void)l;
    return NULL;
}

int nnb_cuda_serve_lane_run(nnb_cuda_serve_lane *l, const struct nnb_infer_io *io, int64_t n,
                            int (*infer)(void *, int64_t, char *, size_t), void *model, double ms[3], char *err,
                            size_t err_len) {
    (void)l, (void)io, (void)n, (void)infer, (void)model, (void)ms;
    snprintf(err, err_len, "nnbench was built without CUDA");
    return -1;
}

void nnb_cuda_serve_lane_destroy(nnb_cuda_serve_lane *l) { (void)l; }
