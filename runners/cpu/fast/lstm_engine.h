/*
 * The CPU LSTM engine behind every runner of nnb_cpu_fast. One code path over a
 * "packed" batch: step t has bs[t] active rows (a prefix: sequences sorted by
 * length, longest first) at row offset off[t] of the packed (rows, .) arrays.
 * Fixed-length data is the special case bs[t] = B, identity order.
 *
 * Strategies (fastrnns names):
 *   ATEN         per step x.W_ih^T and h.W_hh^T as two GEMMs, then one pass per
 *                pointwise op (fuser forced to "none"); backward likewise, per step.
 *   JIT          per step both GEMMs into one gate block, one fused cell pass
 *                (the --fuser's); backward per step.
 *   PREMUL       x.W_ih^T for all steps as one GEMM up front; per step only
 *                h.W_hh^T and the cell; backward batches the input-side GEMMs
 *                (dx, dW_ih) and dW_hh over all steps; bias grads per step.
 *   PREMUL_BIAS  PREMUL with b_ih folded into the big GEMM (its C starts at
 *                b_ih), b_hh added per step; bias grads reduced once at the end.
 *
 * Inference (ABI 1.2 infer(n), fixed length only): the same forward code run on a
 * view of the engine with batch n (bs[t] = n, off[t] = t n) whose layers point at
 * inference buffers of their own: x's first n columns packed into (T, n, I), hx/cx
 * read in place (layer k's first n rows are a contiguous prefix), one step's gate
 * block for the per-step strategies (all T steps' for the premultiplied ones: their
 * big GEMM fills them up front), a ring of two cell states, and the outputs of the
 * layers below the top in two alternating (T, n, H) buffers. Nothing the training
 * forward saved for backward is touched, so forward, infer and backward may come in
 * any order.
 */
#ifndef NNB_FAST_LSTM_ENGINE_H
#define NNB_FAST_LSTM_ENGINE_H

#include "cpu_kernels.h"
#include "fuser.h"
#include "lstm_data.h"
#include "lstm_infer.h"

typedef enum lstm_mode { MODE_ATEN, MODE_JIT, MODE_PREMUL, MODE_PREMUL_BIAS } lstm_mode;

typedef struct lstm_layer {
    int64_t in;                /* input width */
    nnb_packed_b wih_t, whh_t; /* forward B operands: W_ih^T (in, 4H), W_hh^T (H, 4H) */
    nnb_packed_b wih_n, whh_n; /* backward B operands: W_ih (4H, in), W_hh (4H, H) */
    nnb_packed_b whh_gate[4];  /* premul forward, per gate k: W_hh[kH:(k+1)H]^T (H, H) */
    float *gates;              /* (N, 4H) activated gates per packed row */
    float *dgates;             /* (N, 4H) */
    float *cs;                 /* (N, H) cell state after each step */
    float *hs;                 /* (N, H) outputs (aliases y for the top fixed-length layer) */
    float *hs_own;             /* (N, H) owned buffer behind hs, or NULL */
    float *h0, *c0;            /* (B, H) initial state in packed row order */
    float *h0_own, *c0_own;    /* owned (variable length) or NULL */
    float *dout;               /* (N, H) gradient reaching this layer's outputs (below the top) */
    float *hprev;              /* (N, H) h entering each step (variable-length batched dW_hh), or NULL */
} lstm_layer;

/* infer(n)'s buffers (allocated at create for n = B). */
typedef struct lstm_infer {
    nnb_lstm_infer_bufs io; /* packed x (T, n, I); y (T, n, H), hy, cy (L, n, H) */
    float *gates;           /* per-step strategies: (B, 4H) one step's block; premultiplied: (T, B, 4H) */
    float *cs;              /* (2, B, H) cell state ring: step t writes slot t & 1 */
    float *hs[2];           /* (T, B, H) outputs of layer k < L-1 in hs[k & 1]; NULL where L is too small */
    int64_t *bs, *off;      /* (T) n rows per step, at row offset t * n */
    lstm_layer *layers;     /* [L] the view's layers: the model's weights, the buffers above */
} lstm_infer;

typedef struct lstm_engine {
    lstm_mode mode;
    nnb_fuser fuser;
    nnb_gemm_impl gemm; /* bf16 runs: NNB_GEMM_BF16_* (GEMM operands rounded to bf16, fp32 accumulation) */
    int precision;      /* nnb_precision: fp32 or bf16 */
    int threads;
    int simple; /* jit_simple: upstream gradient only on the final h */
    nnb_lstm_data d;
    int64_t T, B, H, L, N; /* N = packed rows = sum of bs */
    int64_t *bs, *off;     /* (T) active rows and row offset per step */
    int64_t *perm;         /* (B) packed row r holds sequence perm[r] */
    int64_t *len;          /* (B) length of packed row r */
    lstm_layer *layers;    /* [L] */
    float *x_packed;       /* (N, I) or aliases d.x */
    float *dx_packed;      /* (N, I) or aliases d.dx */
    float *grad_packed;    /* (N, H) or aliases d.grad_y */
    float *gates_h;        /* (B, 4H) ATEN's separate h.W_hh^T */
    float *dh_rec, *dc;    /* (B, H) recurrent gradients */
    float *ws;             /* (B, 2H) unfused backward scratch */
    float *grad_hy;        /* (B, H) jit_simple's upstream gradient of the final h, else NULL */
    float *dg_packed; /* dG_t packed once per step for the team's dh GEMM (own or bf16 GEMM, premul modes), or NULL */
    float *db_part;  /* (threads, 4H) PREMUL's per-thread bias gradient sums in the backward recurrence, or NULL */
    int infer_view;  /* this is infer()'s view: gates of one step (per-step strategies), cell state ring */
    lstm_infer *inf; /* infer(n)'s buffers, or NULL (variable length, jit_simple) */
    nnb_tensor simple_views[16];
    int simple_param_count, simple_output_count;
    nnb_tensor *simple_params, *simple_outputs;
} lstm_engine;

typedef struct lstm_engine_opts {
    lstm_mode mode;
    int variable;
    int simple;
    int force_unfused; /* aten */
    int infer;         /* allocate infer()'s buffers (fixed length only) */
} lstm_engine_opts;

int lstm_engine_create(lstm_engine *e, const nnb_config *cfg, const lstm_engine_opts *o, char *err, size_t err_len);
void lstm_engine_destroy(lstm_engine *e);
int lstm_engine_forward(lstm_engine *e);
int lstm_engine_backward(lstm_engine *e);

/* Inference on the first n (1 <= n <= B, checked by the caller) sequences; results in e->inf->io. */
int lstm_engine_infer(lstm_engine *e, int64_t n);

/* Replace one weight or bias (nnb_lstm_load_param's checks) and refresh the packed copies of it the
 * kernels read; on error nothing changed. */
int lstm_engine_load_param(lstm_engine *e, const nnb_tensor *value, const char *runner, char *err, size_t err_len);
int lstm_engine_describe(const lstm_engine *e, const char *runner, char *buf, size_t len);

/* jit_simple's upstream gradient of the final h: standard normal from stream "grad_hy". */
#define NNB_SIMPLE_GRAD_STREAM "grad_hy"

#endif
