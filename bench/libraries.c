/*
 * The libraries the runner plugins loaded, as they describe themselves: what
 * actually ran, rather than what the headers said at build time. Only
 * libraries already in the process are asked (RTLD_NOLOAD): nothing is loaded
 * just to be described.
 */
#define _GNU_SOURCE
#include "driver.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

/* The first fields of oneDNN's dnnl_version_t (oneapi/dnnl/dnnl_types.h), declared here so the driver
 * needs no oneDNN headers. */
typedef struct onednn_version {
    int major, minor, patch;
    const char *hash;
} onednn_version;

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
        snprintf(buf, len, "%s", config);
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

void nnb_probe_loaded_libraries(nnb_run_context *ctx) {
    openblas_description(ctx->blas, sizeof ctx->blas);
    onednn_description(ctx->onednn, sizeof ctx->onednn);
}
