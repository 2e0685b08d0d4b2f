/*
 * A double copy of a float variant problem, so the float-facing references
 * (py_layernorm, py_dropout) compute in double, as PyTorch's golden data does
 * (float64 math on float32 inputs): the runner under check is then compared
 * with an answer whose own rounding is negligible, not with a second float
 * computation of similar error (at T=50, H=512, L=2 two float LayerNorm LSTMs
 * differed by 4-5e-4, above the default tolerance).
 */
#ifndef NNB_VARIANTS_DOUBLE_MIRROR_H
#define NNB_VARIANTS_DOUBLE_MIRROR_H

#include "variants_reference.h"

typedef struct nnb_varlstm_mirror nnb_varlstm_mirror;

/* f and its buffers must outlive the mirror. NULL with a message on no memory. */
nnb_varlstm_mirror *nnb_varlstm_mirror_create(const nnb_varlstm_f *f, char *err, size_t err_len);
/* Copies f's inputs in, runs the double reference, rounds the outputs into f's buffers. */
int nnb_varlstm_mirror_run(nnb_varlstm_mirror *m, int with_backward, char *err, size_t err_len);
void nnb_varlstm_mirror_destroy(nnb_varlstm_mirror *m);

#endif
