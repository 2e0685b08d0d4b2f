/*
 * Run context: what the results were measured with, as far as the system says
 * (version, date, host, CPU). The libraries the runners loaded are probed by
 * the driver (bench/libraries.c), which fills blas and onednn.
 */
#define _GNU_SOURCE
#include "report.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef NNB_VERSION
#define NNB_VERSION "unknown"
#endif
#ifndef NNB_GIT_SHA
#define NNB_GIT_SHA "unknown"
#endif

static void copy_string(char *dst, size_t cap, const char *src) { snprintf(dst, cap, "%s", src ? src : ""); }

static void utc_now_iso8601(char *buf, size_t len) {
    time_t now = time(NULL);
    struct tm tm;
    if (!gmtime_r(&now, &tm) || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        buf[0] = '\0';
}

/* /proc/cpuinfo "model name" of the first processor (x86; empty where absent). */
static void cpu_model_name(char *buf, size_t len) {
    buf[0] = '\0';
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0)
            continue;
        const char *value = strchr(line, ':');
        if (!value)
            continue;
        value++;
        while (*value == ' ' || *value == '\t')
            value++;
        copy_string(buf, len, value);
        buf[strcspn(buf, "\n")] = '\0';
        break;
    }
    fclose(f);
}

void nnb_context_collect(nnb_run_context *ctx, int threads, const char *device) {
    memset(ctx, 0, sizeof *ctx);
    copy_string(ctx->nnbench_version, sizeof ctx->nnbench_version, NNB_VERSION);
    copy_string(ctx->git_sha, sizeof ctx->git_sha, NNB_GIT_SHA);
    utc_now_iso8601(ctx->date, sizeof ctx->date);
    if (gethostname(ctx->host, sizeof ctx->host - 1) != 0)
        ctx->host[0] = '\0';
    cpu_model_name(ctx->cpu_model, sizeof ctx->cpu_model);
    ctx->threads = threads;
    copy_string(ctx->device, sizeof ctx->device, device);
}
