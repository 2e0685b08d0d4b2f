#define _GNU_SOURCE
#include "loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *nnb_load_error_name(nnb_load_error e) {
    switch (e) {
    case NNB_LOAD_CANNOT_OPEN: return "cannot open plugin";
    case NNB_LOAD_NO_ENTRY: return "not an nnbench plugin";
    case NNB_LOAD_BAD_ABI: return "incompatible plugin ABI";
    case NNB_LOAD_BAD_DESCRIPTOR: return "invalid plugin descriptor";
    case NNB_LOAD_DUPLICATE: return "duplicate runner name";
    }
    return "plugin error";
}

void nnb_registry_init(nnb_registry *r) { memset(r, 0, sizeof *r); }

/* Room for `need` elements in *p (capacity *cap); 0, or -1 when out of memory (*p left as it was). */
static int grow(void *p, int *cap, int need, size_t elem) {
    void **array = p;
    if (need <= *cap)
        return 0;
    int ncap = *cap ? *cap * 2 : 16;
    while (ncap < need)
        ncap *= 2;
    void *q = realloc(*array, (size_t)ncap * elem);
    if (!q)
        return -1;
    *array = q;
    *cap = ncap;
    return 0;
}

/* Records an out-of-memory failure: the registry keeps what it had, and says so. */
static int out_of_memory(nnb_registry *r) {
    r->out_of_memory = 1;
    return -1;
}

static int diag(nnb_registry *r, nnb_load_error kind, const char *path, const char *fmt, ...) {
    if (grow(&r->diags, &r->diag_cap, r->diag_count + 1, sizeof *r->diags))
        return out_of_memory(r);
    nnb_load_diag *d = &r->diags[r->diag_count++];
    d->kind = kind;
    snprintf(d->path, sizeof d->path, "%s", path);
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    snprintf(d->message, sizeof d->message, "%s: %s: %s", nnb_load_error_name(kind), path, detail);
    return -1;
}

static int valid_group(const char *g) {
    return g && (!strcmp(g, NNB_GROUP_RNNS) || !strcmp(g, NNB_GROUP_CNNS) || !strcmp(g, NNB_GROUP_VL_RNNS) ||
                 !strcmp(g, NNB_GROUP_CONVS));
}

static int valid_device(const char *d) { return d && (!strcmp(d, NNB_DEVICE_CPU) || !strcmp(d, NNB_DEVICE_CUDA)); }

/* Returns NULL if the descriptor is usable, else what is wrong with it. */
static const char *descriptor_problem(const nnb_runner_desc *d) {
    if (d->struct_size < offsetof(nnb_runner_desc, destroy) + sizeof d->destroy)
        return "runner struct_size too small";
    if (!d->name || !*d->name)
        return "runner without a name";
    if (strlen(d->name) > 64 || strpbrk(d->name, " \t\n,\"\\"))
        return "runner name has spaces, quotes or commas, or is too long";
    if (!valid_group(d->group))
        return "runner group is not rnns, cnns, vl_rnns or convs";
    if (!valid_device(d->device))
        return "runner device is not cpu or cuda";
    if (!d->create || !d->forward || !d->params || !d->outputs || !d->destroy)
        return "runner lacks create, forward, params, outputs or destroy";
    int knows_parts = d->struct_size >= offsetof(nnb_runner_desc, backward_part) + sizeof d->backward_part;
    if (knows_parts && d->backward_part_count && (!d->backward_part_name || !d->backward_part || !d->backward))
        return "runner has backward_part_count but lacks backward_part_name, backward_part or backward";
    return NULL;
}

static char *dupstr(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* Runner i of a plugin built against any minor version: descriptors are laid out
 * with the plugin's own struct_size, which may be smaller (older minor) or
 * larger (newer minor) than ours. */
static const nnb_runner_desc *plugin_runner(const nnb_plugin *p, int i) {
    size_t stride = p->runners[0].struct_size;
    return (const nnb_runner_desc *)((const char *)p->runners + (size_t)i * stride);
}

static int check_plugin(nnb_registry *r, const char *path, const nnb_plugin *p) {
    if (!p)
        return diag(r, NNB_LOAD_BAD_DESCRIPTOR, path, "entry returned NULL");
    if (p->abi_major != NNB_ABI_MAJOR)
        return diag(r, NNB_LOAD_BAD_ABI, path, "plugin ABI %u.%u, driver ABI %d.%d", p->abi_major, p->abi_minor,
                    NNB_ABI_MAJOR, NNB_ABI_MINOR);
    if (p->struct_size < sizeof(nnb_plugin))
        return diag(r, NNB_LOAD_BAD_DESCRIPTOR, path, "plugin struct_size too small");
    if (p->runner_count < 1 || !p->runners)
        return diag(r, NNB_LOAD_BAD_DESCRIPTOR, path, "plugin lists no runners");
    size_t stride = p->runners[0].struct_size;
    for (int i = 0; i < p->runner_count; i++) {
        const nnb_runner_desc *d = plugin_runner(p, i);
        const char *why = d->struct_size != stride ? "runners differ in struct_size" : descriptor_problem(d);
        if (why)
            return diag(r, NNB_LOAD_BAD_DESCRIPTOR, path, "runner %d (%s): %s", i, d->name ? d->name : "?", why);
    }
    return 0;
}

/* A full-size copy of each descriptor: fields a plugin built against an older
 * minor version does not know are NULL/0, so the driver reads every field. */
static nnb_runner_desc *normalised_descriptors(const nnb_plugin *p) {
    nnb_runner_desc *copies = calloc((size_t)p->runner_count, sizeof *copies);
    if (!copies)
        return NULL;
    for (int i = 0; i < p->runner_count; i++) {
        const nnb_runner_desc *d = plugin_runner(p, i);
        memcpy(&copies[i], d, d->struct_size < sizeof *copies ? d->struct_size : sizeof *copies);
        copies[i].struct_size = sizeof *copies;
    }
    return copies;
}

int nnb_registry_load_file(nnb_registry *r, const char *path) {
    for (int i = 0; i < r->plugin_count; i++)
        if (!strcmp(r->paths[i], path))
            return 0; /* same file reached twice through the search path */
    /* NODELETE: a plugin's OpenMP or BLAS worker threads may outlive dlclose. */
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!h)
        return diag(r, NNB_LOAD_CANNOT_OPEN, path, "%s", dlerror());
    void *sym = dlsym(h, NNB_PLUGIN_ENTRY_SYMBOL);
    if (!sym) {
        dlclose(h);
        return diag(r, NNB_LOAD_NO_ENTRY, path, "no '%s' symbol", NNB_PLUGIN_ENTRY_SYMBOL);
    }
    nnb_plugin_entry_fn entry;
    memcpy(&entry, &sym, sizeof entry);
    const nnb_plugin *p = entry();
    if (check_plugin(r, path, p)) {
        dlclose(h);
        return -1;
    }
    /* Register the plugin even when some of its runners clash, so the handle stays open. */
    /* paths and descriptor copies grow in step with handles */
    int cap = r->plugin_cap, cap_paths = r->plugin_cap, cap_descs = r->plugin_cap;
    nnb_runner_desc *descs = normalised_descriptors(p);
    char *kept_path = dupstr(path);
    int failed = !descs || !kept_path || grow(&r->handles, &cap, r->plugin_count + 1, sizeof *r->handles) ||
                 grow(&r->paths, &cap_paths, r->plugin_count + 1, sizeof *r->paths) ||
                 grow(&r->descs, &cap_descs, r->plugin_count + 1, sizeof *r->descs);
    /* After a partial failure the arrays differ in size: the smallest bounds the next growth. */
    r->plugin_cap = cap < cap_paths ? cap : cap_paths;
    r->plugin_cap = r->plugin_cap < cap_descs ? r->plugin_cap : cap_descs;
    if (failed) {
        free(descs);
        free(kept_path);
        dlclose(h);
        return out_of_memory(r);
    }
    r->handles[r->plugin_count] = h;
    r->descs[r->plugin_count] = descs;
    r->paths[r->plugin_count++] = kept_path;
    int rc = 0;
    for (int i = 0; i < p->runner_count; i++) {
        const nnb_loaded_runner *other = nnb_registry_find_on(r, descs[i].name, descs[i].device);
        if (other) {
            rc = diag(r, NNB_LOAD_DUPLICATE, path, "runner '%s' (%s) is also given by %s; keeping the first",
                      descs[i].name, descs[i].device, other->plugin_path);
            continue;
        }
        if (grow(&r->runners, &r->cap, r->count + 1, sizeof *r->runners))
            return out_of_memory(r);
        r->runners[r->count].desc = &descs[i];
        r->runners[r->count].plugin_path = kept_path;
        r->count++;
    }
    return rc;
}

static int compare_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int nnb_registry_load_dir(nnb_registry *r, const char *dir) {
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    char **names = NULL;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 3, ".so") != 0)
            continue;
        char *name = dupstr(e->d_name);
        if (!name || grow(&names, &cap, n + 1, sizeof *names)) {
            free(name);
            for (int i = 0; i < n; i++)
                free(names[i]);
            free(names);
            closedir(d);
            return out_of_memory(r);
        }
        names[n++] = name;
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, compare_names);
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (nnb_registry_load_file(r, path))
            rc = -1;
        free(names[i]);
    }
    free(names);
    return rc;
}

const nnb_loaded_runner *nnb_registry_find_on(const nnb_registry *r, const char *name, const char *device) {
    for (int i = 0; i < r->count; i++)
        if (!strcmp(r->runners[i].desc->name, name) && (!device || !strcmp(r->runners[i].desc->device, device)))
            return &r->runners[i];
    return NULL;
}

const nnb_loaded_runner *nnb_registry_find(const nnb_registry *r, const char *name) {
    const nnb_loaded_runner *cpu = nnb_registry_find_on(r, name, NNB_DEVICE_CPU);
    return cpu ? cpu : nnb_registry_find_on(r, name, NULL);
}

void nnb_registry_free(nnb_registry *r) {
    /* Plugins are kept loaded until the very end: descriptors point into them. */
    for (int i = 0; i < r->plugin_count; i++) {
        dlclose(r->handles[i]);
        free(r->paths[i]);
        free(r->descs[i]);
    }
    free(r->descs);
    free(r->handles);
    free(r->paths);
    free(r->runners);
    free(r->diags);
    memset(r, 0, sizeof *r);
}
