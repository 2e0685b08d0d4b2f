/* nnbench serve --weights DIR (serve.h, nnb_serve_load_weights): exported parameters into a model. */
#define _GNU_SOURCE
#include "serve.h"

#include "npy.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Inputs, not parameters: x, hx, cx, lengths and upstream gradients (grad_y, grad_logits). */
static int is_input(const char *name) {
    return !strcmp(name, "x") || !strcmp(name, "hx") || !strcmp(name, "cx") || !strcmp(name, "lengths") ||
           !strncmp(name, "grad_", 5);
}

static void shape_text(char *buf, size_t len, int ndim, const int64_t *shape) {
    size_t used = (size_t)snprintf(buf, len, "(");
    for (int i = 0; i < ndim && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (used < len)
        snprintf(buf + used, len - used, ")");
}

/* --weights DIR: every parameter params() lists but the inputs, from DIR/<runner>/<name>.npy or DIR/<name>.npy. */
/* BatchNorm running statistics: state, not parameters (forward updates them), so runners list them among
 * outputs(); --weights loads them too. */
static int is_running_stat(const char *name) {
    size_t n = strlen(name);
    return (n > 13 && !strcmp(name + n - 13, ".running_mean")) || (n > 12 && !strcmp(name + n - 12, ".running_var"));
}

/* The i-th loadable tensor of the model (params() but inputs, then outputs()' running statistics); NULL past
 * the end. The view is valid until the next call into the model. */
static const nnb_tensor *loadable(const nnb_runner_desc *d, void *model, int i, char *err, size_t err_len) {
    nnb_tensor_list l;
    char msg[512];
    if (d->params(model, &l, msg, sizeof msg))
        return nnb_serve_fail(err, err_len, "--weights: params: %s", msg), NULL;
    for (int k = 0; k < l.count; k++)
        if (!is_input(l.items[k].name) && i-- == 0)
            return &l.items[k];
    if (!d->outputs || d->outputs(model, &l, msg, sizeof msg))
        return NULL;
    for (int k = 0; k < l.count; k++)
        if (is_running_stat(l.items[k].name) && i-- == 0)
            return &l.items[k];
    return NULL;
}

static int load_one(const nnb_runner_desc *d, void *model, const char *base, const nnb_tensor *t, char *err,
                    size_t err_len) {
    char path[4400], want[128], got[128], msg[512];
    snprintf(path, sizeof path, "%s/%.255s.npy", base, t->name);
    nnb_npy_array a;
    if (nnb_npy_read(path, &a, msg, sizeof msg))
        return nnb_serve_fail(err, err_len, "--weights: parameter %s: %s", t->name, msg);
    int same = a.dtype == t->dtype && a.ndim == t->ndim;
    for (int k = 0; same && k < a.ndim; k++)
        same = a.shape[k] == t->shape[k];
    shape_text(want, sizeof want, t->ndim, t->shape);
    shape_text(got, sizeof got, a.ndim, a.shape);
    if (!same) {
        nnb_npy_free(&a);
        return nnb_serve_fail(err, err_len, "--weights: %s has shape %s, runner %s's %s is %s", path, got, d->name,
                              t->name, want);
    }
    nnb_tensor v = *t;
    v.data = a.data;
    int rc = d->load_param(model, &v, msg, sizeof msg);
    nnb_npy_free(&a);
    return rc ? nnb_serve_fail(err, err_len, "--weights: %s: %s", t->name, msg) : 0;
}

int nnb_serve_load_weights(const nnb_runner_desc *d, void *model, const char *dir, char *err, size_t err_len) {
    char base[4096];
    struct stat st;
    snprintf(base, sizeof base, "%s/%s", dir, d->name);
    if (stat(base, &st) != 0 || !S_ISDIR(st.st_mode))
        snprintf(base, sizeof base, "%s", dir);
    if (stat(base, &st) != 0 || !S_ISDIR(st.st_mode))
        return nnb_serve_fail(err, err_len, "--weights: '%s' is not a directory", dir);
    if (!d->load_param)
        return nnb_serve_fail(err, err_len, "--weights: runner %s cannot load parameters (no load_param entry)",
                              d->name);
    err[0] = 0;
    int i = 0;
    for (const nnb_tensor *t; (t = loadable(d, model, i, err, err_len)); i++) {
        nnb_tensor copy = *t; /* the list may change under load_param */
        char name[256];
        snprintf(name, sizeof name, "%s", t->name);
        copy.name = name;
        if (load_one(d, model, base, &copy, err, err_len))
            return -1;
    }
    if (err[0])
        return -1;
    return i ? 0 : nnb_serve_fail(err, err_len, "--weights: runner %s lists no parameters to load", d->name);
}
