/*
 * Runner plugin discovery and loading. Every plugin problem is reported as a
 * diagnostic with its own kind and the other plugins go on loading.
 */
#ifndef NNB_LOADER_H
#define NNB_LOADER_H

#include <nnbench/runner.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nnb_load_error {
    NNB_LOAD_CANNOT_OPEN = 1, /* dlopen failed (dlerror given) */
    NNB_LOAD_NO_ENTRY,        /* no nnbench_plugin_entry symbol */
    NNB_LOAD_BAD_ABI,         /* ABI major differs from the driver's */
    NNB_LOAD_BAD_DESCRIPTOR,  /* NULL/short descriptor, missing name or function, bad group/device */
    NNB_LOAD_DUPLICATE,       /* two plugins give the same runner name for the same device */
} nnb_load_error;

const char *nnb_load_error_name(nnb_load_error e);

typedef struct nnb_load_diag {
    nnb_load_error kind;
    char path[512];
    char message[768]; /* complete one-line message, path included */
} nnb_load_diag;

typedef struct nnb_loaded_runner {
    const nnb_runner_desc *desc; /* full-size copy: every field of this ABI minor readable */
    const char *plugin_path;     /* owned by the registry */
} nnb_loaded_runner;

typedef struct nnb_registry {
    nnb_loaded_runner *runners;
    int count, cap;
    void **handles;
    char **paths;
    nnb_runner_desc **descs; /* per plugin: full-size copies of its descriptors */
    int plugin_count, plugin_cap;
    nnb_load_diag *diags;
    int diag_count, diag_cap;
    int out_of_memory; /* a load ran out of memory: what was loaded before stays usable */
} nnb_registry;

void nnb_registry_init(nnb_registry *r);
void nnb_registry_free(nnb_registry *r); /* dlcloses every plugin */

/* Load one plugin file; returns 0, or -1 after recording a diagnostic. */
int nnb_registry_load_file(nnb_registry *r, const char *path);

/* Load every "*.so" in dir, in name order. A missing dir is not an error. */
int nnb_registry_load_dir(nnb_registry *r, const char *dir);

/* Runner names are unique per device: "cudnn" exists on cpu and on cuda.
 * nnb_registry_find prefers the cpu runner; nnb_registry_find_on takes a device. */
const nnb_loaded_runner *nnb_registry_find(const nnb_registry *r, const char *name);
const nnb_loaded_runner *nnb_registry_find_on(const nnb_registry *r, const char *name, const char *device);

#ifdef __cplusplus
}
#endif
#endif
