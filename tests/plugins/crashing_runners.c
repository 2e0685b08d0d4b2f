/*
 * Test plugin "good" (second file): runners that take the process down, for --isolate.
 * All hidden (run only when named), rnns/cpu:
 *   segfaults  forward dereferences a null pointer
 *   aborts     forward calls abort()
 *   hangs      forward never returns (until the process is killed)
 */
#define _POSIX_C_SOURCE 200809L
#include <nnbench/runner.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static float x[1], y[1];
static const nnb_tensor tensors[] = {{.name = "x", .dtype = NNB_F32, .ndim = 1, .shape = {1}, .data = x},
                                     {.name = "y", .dtype = NNB_F32, .ndim = 1, .shape = {1}, .data = y}};

static void *crash_create(const nnb_config *cfg, char *err, size_t err_len) {
    (void)cfg, (void)err, (void)err_len;
    return calloc(1, 1);
}

static int segfault_forward(void *model, char *err, size_t err_len) {
    (void)model, (void)err, (void)err_len;
    volatile int *nowhere = NULL;
    *nowhere = 1;
    return 0;
}

static int abort_forward(void *model, char *err, size_t err_len) {
    (void)model, (void)err, (void)err_len;
    abort();
}

static _Noreturn void hang(void) {
    for (;;) { /* sleeps through signals too: only SIGKILL ends it */
        struct timespec t = {1, 0};
        nanosleep(&t, NULL);
    }
}

static int hang_forward(void *model, char *err, size_t err_len) {
    (void)model, (void)err, (void)err_len;
    hang();
}

static int no_backward(void *model, char *err, size_t err_len) {
    (void)model, (void)err, (void)err_len;
    return 0;
}

static int crash_params(void *model, nnb_tensor_list *out, char *err, size_t err_len) {
    (void)model, (void)err, (void)err_len;
    out->count = 1;
    out->items = tensors;
    return 0;
}

static int crash_outputs(void *model, nnb_tensor_list *out, char *err, size_t err_len) {
    (void)model, (void)err, (void)err_len;
    out->count = 1;
    out->items = tensors + 1;
    return 0;
}

static void crash_destroy(void *model) { free(model); }

#define CRASHER(NAME, DESC, FORWARD)                                                                                   \
    {                                                                                                                  \
        .struct_size = sizeof(nnb_runner_desc), .name = NAME, .group = NNB_GROUP_RNNS, .device = NNB_DEVICE_CPU,       \
        .description = DESC, .flags = NNB_FLAG_HIDDEN, .create = crash_create, .forward = FORWARD,                     \
        .backward = no_backward, .params = crash_params, .outputs = crash_outputs, .destroy = crash_destroy            \
    }

static const nnb_runner_desc runners[] = {
    CRASHER("segfaults", "forward dereferences a null pointer", segfault_forward),
    CRASHER("aborts", "forward calls abort()", abort_forward),
    CRASHER("hangs", "forward never returns", hang_forward),
};

static const nnb_plugin plugin = {
    NNB_ABI_MAJOR, NNB_ABI_MINOR, sizeof(nnb_plugin), "test_crashing", (int)(sizeof runners / sizeof *runners),
    runners};

NNB_DEFINE_PLUGIN(plugin)
