/*
 * The --fuser strategies of the CPU LSTM runners: how the pointwise math of one
 * LSTM cell step is executed (GEMMs are not the fuser's business).
 *   te   (default) one fused pass per cell, vectorised for the widest ISA the
 *        CPU has (AVX-512 / AVX2, chosen at run time), vector exp/tanh.
 *   old  one fused pass per cell in plain scalar C (kernels/lstm_cell_math.h).
 *   none one pass over memory per pointwise op, like an unfused framework.
 * Link target nnb_fuser.
 */
#ifndef NNB_FUSER_H
#define NNB_FUSER_H

#include "cpu_kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NNB_FUSER_NAMES "te, old, none"

typedef enum nnb_fuser_kind { NNB_FUSER_TE = 0, NNB_FUSER_OLD = 1, NNB_FUSER_NONE = 2 } nnb_fuser_kind;

typedef struct nnb_fuser {
    nnb_fuser_kind kind;
    const char *name; /* "te", "old", "none" */
    nnb_cpu_isa isa;  /* ISA of the pass (te: detected; old/none: scalar) */
} nnb_fuser;

/* NULL name selects the default "te". Unknown name: -1 and an error naming the
 * valid ones. */
int nnb_fuser_select(const char *name, nnb_fuser *out, char *err, size_t err_len);

/* Same with the ISA of "te" forced (tests); the ISA must be supported. */
int nnb_fuser_select_isa(const char *name, nnb_cpu_isa isa, nnb_fuser *out, char *err, size_t err_len);

/* The cell step over hidden columns [j0, j1) (see nnb_cell_fwd_args). */
void nnb_fuser_cell_fwd(const nnb_fuser *f, const nnb_cell_fwd_args *a, int64_t j0, int64_t j1);
void nnb_fuser_cell_bwd(const nnb_fuser *f, const nnb_cell_bwd_args *a, int64_t j0, int64_t j1);

/* JSON members (no braces) saying what runs, e.g. "fuser":"te","fuser_pass":"fused avx512". */
int nnb_fuser_describe(const nnb_fuser *f, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
