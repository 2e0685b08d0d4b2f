/*
 * nnb_probe_loaded_libraries (bench/libraries.c): BLAS and oneDNN are reported
 * only once the library is loaded in the process, then as the library itself
 * says (OpenBLAS's core) and as CMake's oneDNN package says (the version).
 */
#define _GNU_SOURCE
#include "driver.h"
#include "test_support.h"

#include <dlfcn.h>
#include <string.h>

int main(void) {
    nnb_run_context ctx;
    memset(&ctx, 0, sizeof ctx);
    nnb_probe_loaded_libraries(&ctx);
    // Nothing loaded BLAS or oneDNN yet (this test links neither): not reported.
    CHECK_MSG(ctx.blas[0] == '\0', "blas '%s' reported before it was loaded", ctx.blas);
    CHECK_MSG(ctx.onednn[0] == '\0', "oneDNN '%s' reported before it was loaded", ctx.onednn);

#ifdef NNB_EXPECT_OPENBLAS
    void *blas = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    CHECK_MSG(blas != NULL, "cannot load libopenblas.so.0: %s", dlerror());
    if (blas) {
        char *(*corename)(void) = (char *(*)(void))dlsym(blas, "openblas_get_corename");
        nnb_probe_loaded_libraries(&ctx);
        CHECK_MSG(strstr(ctx.blas, "OpenBLAS") != NULL, "blas '%s'", ctx.blas);
        char core[128];
        snprintf(core, sizeof core, "(core %s)", corename ? corename() : "?");
        CHECK_MSG(strstr(ctx.blas, core) != NULL, "blas '%s' does not say %s", ctx.blas, core);
        printf("blas: %s\n", ctx.blas);
    }
#endif
#ifdef NNB_EXPECTED_ONEDNN
    void *dnnl = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!dnnl)
        dnnl = dlopen("libdnnl.so.3", RTLD_NOW | RTLD_LOCAL);
    CHECK_MSG(dnnl != NULL, "cannot load oneDNN: %s", dlerror());
    if (dnnl) {
        nnb_probe_loaded_libraries(&ctx);
        CHECK_MSG(strcmp(ctx.onednn, NNB_EXPECTED_ONEDNN) == 0, "oneDNN '%s', CMake found %s", ctx.onednn,
                  NNB_EXPECTED_ONEDNN);
    }
#endif
    printf("blas '%s', onednn '%s'\n", ctx.blas, ctx.onednn);
    return nnb_test_finish();
}
