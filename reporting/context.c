/*
 * Run context: what the results were measured with. Library versions are read
 * from the libraries already loaded in the process (by the runner plugins), so
 * they name what actually ran rather than what the headers said at build time.
 */
#define _GNU_SOURCE
#include "report.h"

#include <dlfcn.h>
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

/* The first few fields of oneDNN's dnnl_version_t (oneapi/dnnl/dnnl_types.h);
 * declared here so reporting does not need the oneDNN headers. */
typedef struct onednn_version {
    int major, minor, patch;
    const char *hash;
} onednn_version;

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

/* A handle on a library only if something already loaded it; NULL otherwise. */
static void *loaded_library(const char *const *sonames) {
    for (; *sonames; sonames++) {
        void *h = dlopen(*sonames, RTLD_NOW | RTLD_NOLOAD);
        if (h)
            return h;
    }
    return NULL;
}

/* "OpenBLAS 0.3.21 DYNAMIC_ARCH ... (core SkylakeX)": the build configuration and the core
 * it picked at load time (which OPENBLAS_CORETYPE overrides). */
static void openblas_description(char *buf, size_t len) {
    static const char *const sonames[] = {"libopenblas.so.0", "libopenblasp.so.0", "libopenblaso.so.0", NULL};
    buf[0] = '\0';
    void *h = loaded_library(sonames);
    if (!h)
        return;
    char *(*get_config)(void) = (char *(*)(void))dlsym(h, "openblas_get_config");
    char *(*get_corename)(void) = (char *(*)(void))dlsym(h, "openblas_get_corename");
    const char *config = get_config ? get_config() : "OpenBLAS";
    const char *core = get_corename ? get_corename() : NULL;
    if (core)
        snprintf(buf, len, "%s (core %s)", config, core);
    else
        copy_string(buf, len, config);
    dlclose(h);
}

static void onednn_description(char *buf, size_t len) {
    static const char *const sonames[] = {"libdnnl.so.3", "libdnnl.so.2", NULL};
    buf[0] = '\0';
    void *h = loaded_library(sonames);
    if (!h)
        return;
    const onednn_version *(*get_version)(void) = (const onednn_version *(*)(void))dlsym(h, "dnnl_version");
    const onednn_version *v = get_version ? get_version() : NULL;
    if (v)
        snprintf(buf, len, "%d.%d.%d", v->major, v->minor, v->patch);
    dlclose(h);
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
    openblas_description(ctx->blas, sizeof ctx->blas);
    onednn_description(ctx->onednn, sizeof ctx->onednn);
    copy_string(ctx->device, sizeof ctx->device, device);
}
