/*
 * The hand-written CUDA LSTM engine's model (internal to the plugin nnb_cuda_lstm and the emulated-runtime tests),
 * shared by its two sources:
 *   custom_lstm.c           the engine kinds, setup (buffers, uploads, row order), the interface (downloads,
 *                           infer_io, load_param, describe) and the create functions
 *   custom_lstm_schedule.c  the time loops: forward, inference and backward of every layer, in fp32 or with
 *                           16-bit GEMM operands (custom_lstm.c's header says what each runner schedules)
 */
#ifndef NNB_CUSTOM_LSTM_INTERNAL_H
#define NNB_CUSTOM_LSTM_INTERNAL_H

#include "cuda_common.h"
#include "cuda_gemm.h"
#include "custom_lstm.h"
#include "lstm_kernels.h"

#include <stdint.h>

#define DROPOUT_P 0.4f /* jit_dropout, between layers */

typedef struct cu_layer {
    int64_t in;                       /* input width: I for layer 0, else H */
    float *w_ih, *w_hh, *b_ih, *b_hh; /* (4H, in), (4H, H), (4H), (4H) */
    uint16_t *w_ih16, *w_hh16;        /* 16-bit copies (bf16/fp16 runs only, else NULL) */
    uint16_t *hs16;                   /* (T+1, B, H) 16-bit copy of hs (bf16/fp16) */
    uint16_t *xin16;                  /* (T, B, H) 16-bit copy of xin (bf16/fp16 with dropout) */
    float *dw_ih, *dw_hh, *db_ih, *db_hh;
    float *gates;   /* (T, B, 4H) activated gates, saved for backward */
    float *hs, *cs; /* (T+1, B, H): row 0 = hx/cx, row t+1 = after step t */
    float *mask;    /* (T, B, H) dropout mask on this layer's input, or NULL */
    float *xin;     /* (T, B, H) masked input (dropout, k >= 1), or NULL */
} cu_layer;

typedef struct cu_lstm {
    nnb_cuda_lstm base; /* first: the shared interface reads the model as this (cuda_common.h) */
    const nnb_cuda_engine_kind *kind;
    nnb_cell_variant cell;
    const char *fuser;
    nnb_pw_geometry geo;
    nnb_gemm gemm; /* the handle and the GEMM operands' storage */
    int lp;        /* 1: bf16/fp16 GEMM operands (the 16-bit copies below), 0: fp32 */
    int fp16;      /* with lp: fp16 (1) or bf16 (0) */
    int64_t T, B, I, H, L;
    int64_t *bt;              /* (T) active rows at step t */
    int64_t *perm;            /* (B) device row r holds sequence perm[r] */
    int64_t *len;             /* (B) length of device row r */
    cu_layer *layers;         /* [L] */
    float *x, *dx;            /* (T, B, I) */
    uint16_t *x16;            /* (T, B, I) 16-bit copy of x (bf16/fp16) */
    uint16_t *dgates16;       /* (T, B, 4H) 16-bit copy of dgates (bf16/fp16) */
    float *grad_y;            /* (T, B, H) upstream gradient of y (NULL for jit_simple) */
    float *grad_hy;           /* (B, H) jit_simple's upstream gradient of the final h */
    float *h_grad_hy;         /* host copy of it */
    float *dlayer[2];         /* (T, B, H) gradient reaching a lower layer's output, ping-pong */
    float *dgates;            /* (T, B, 4H) */
    float *gates_h;           /* (B, 4H) aten's separate h.W_hh^T */
    float *scratch;           /* (3, B, H) unfused cell temporaries */
    float *dh_rec, *dc;       /* (B, H) recurrent gradients */
    float *dhx, *dcx;         /* (L, B, H) */
    float *ones;              /* (T * B) for bias column sums */
    float *stage;             /* host staging for un-sorting */
    nnb_tensor *simple_views; /* jit_simple's own params and outputs */
} cu_lstm;

/* custom_lstm_schedule.c: each phase's work on base.cu.stream (infer: the caller's stream), as
 * nnb_cuda_lstm_ops wants them. */
int nnb_cu_forward_enqueue(void *model, char *err, size_t err_len);
int nnb_cu_infer_enqueue(void *model, int64_t n, char *err, size_t err_len);
int nnb_cu_backward_enqueue(void *model, char *err, size_t err_len);

#endif
