#include "fuser.h"

#include "nnb_support.h"

#include <stdio.h>
#include <string.h>

static const char *const names[] = {"te", "old", "none"};

int nnb_fuser_select_isa(const char *name, nnb_cpu_isa isa, nnb_fuser *out, char *err, size_t err_len) {
    if (!name)
        name = "te";
    for (int k = 0; k < 3; k++) {
        if (strcmp(name, names[k]))
            continue;
        out->kind = (nnb_fuser_kind)k;
        out->name = names[k];
        out->isa = out->kind == NNB_FUSER_TE ? isa : NNB_ISA_SCALAR;
        if (isa > nnb_cpu_isa_detect())
            return nnb_fail(err, err_len, "fuser '%s': this CPU has no %s", name, nnb_cpu_isa_name(isa));
        return 0;
    }
    return nnb_fail(err, err_len, "unknown fuser '%s' (valid: %s)", name, NNB_FUSER_NAMES);
}

int nnb_fuser_select(const char *name, nnb_fuser *out, char *err, size_t err_len) {
    return nnb_fuser_select_isa(name, nnb_cpu_isa_detect(), out, err, err_len);
}

void nnb_fuser_cell_fwd(const nnb_fuser *f, const nnb_cell_fwd_args *a, int64_t j0, int64_t j1) {
    switch (f->kind) {
    case NNB_FUSER_TE: nnb_cell_fwd_vector(f->isa, a, j0, j1); break;
    case NNB_FUSER_OLD: nnb_cell_fwd_scalar(a, j0, j1); break;
    case NNB_FUSER_NONE: nnb_cell_fwd_unfused(a, j0, j1); break;
    }
}

void nnb_fuser_cell_bwd(const nnb_fuser *f, const nnb_cell_bwd_args *a, int64_t j0, int64_t j1) {
    switch (f->kind) {
    case NNB_FUSER_TE: nnb_cell_bwd_vector(f->isa, a, j0, j1); break;
    case NNB_FUSER_OLD: nnb_cell_bwd_scalar(a, j0, j1); break;
    case NNB_FUSER_NONE: nnb_cell_bwd_unfused(a, j0, j1); break;
    }
}

int nnb_fuser_describe(const nnb_fuser *f, char *buf, size_t len) {
    static const char *const pass[] = {"one fused vector pass per cell", "one fused scalar pass per cell",
                                       "one pass per pointwise op"};
    int n = snprintf(buf, len, "\"fuser\":\"%s\",\"fuser_pass\":\"%s\",\"fuser_isa\":\"%s\"", f->name, pass[f->kind],
                     nnb_cpu_isa_name(f->isa));
    return n < 0 || (size_t)n >= len ? -1 : 0;
}
