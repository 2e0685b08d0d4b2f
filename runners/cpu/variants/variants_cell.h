/*
 * The one piece of cell math the LayerNorm LSTM adds to kernels/lstm_cell_math.h,
 * built from it rather than re-derived. With LN_c between c and tanh, the plain
 * cell backward splits in two: the output half h' = o * tanh(c')
 * (nnb_lstm_cell_out_bwd) and the gate half, which is nnb_lstm_cell_bwd with
 * dh = 0 and dc_in = the gradient reaching the raw state.
 */
#ifndef NNB_VARIANTS_CELL_H
#define NNB_VARIANTS_CELL_H

#include "lstm_cell_math.h"

/* Backward of h' = o * tanh(c') alone: the shared output-half backward. */
#define NNB_DEFINE_LN_CELL_OUT_BWD(R, SFX)                                                                             \
    static inline void nnb_ln_cell_out_bwd##SFX(R o, R c, R dh, R dc_next, R *dao, R *dc) {                            \
        nnb_lstm_cell_out_bwd##SFX(o, c, dh, dc_next, dao, dc);                                                        \
    }

NNB_DEFINE_LN_CELL_OUT_BWD(float, f)
NNB_DEFINE_LN_CELL_OUT_BWD(double, d)

#endif
