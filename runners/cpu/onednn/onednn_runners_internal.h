/*
 * Internals of the oneDNN LSTM runners (plugin nnb_cpu_onednn), shared by onednn_runners.c (entry points,
 * inference, describe, plugin table) and onednn_plans.c (the step plans create() builds: fixed-length, dropout,
 * variable-length, layer norm). Only those two files include this.
 *
 * The runner owns everything here; buffers come from its onx_model (released by onx_model_free). Functions with
 * `char *err, size_t err_len` return 0, or -1 with one line in err.
 */
#ifndef NNB_ONEDNN_RUNNERS_INTERNAL_H
#define NNB_ONEDNN_RUNNERS_INTERNAL_H

#include "lstm_infer.h"
#include "onednn_lstm.h"

#define DROPOUT_P 0.4f
#define LN_EPS 1e-5f

typedef enum runner_kind { KIND_CUDNN, KIND_DROPOUT, KIND_LAYERNORM, KIND_VL, KIND_PLAIN_LAYERNORM } runner_kind;

/* Variable-length bookkeeping: the batch sorted by length (descending) and cut into segments of
 * constant active batch; sequence-major data is "packed" (PyTorch's PackedSequence layout). */
typedef struct vl_plan {
    int S;                                     /* segments */
    int64_t *order;                            /* (B) sorted position j -> original batch index */
    int64_t *last_seg;                         /* (B) sorted position j -> last segment it is active in */
    int64_t *seg_t0, *seg_T, *seg_N, *seg_row; /* (S) first step, steps, active batch, first packed row */
    int64_t *seg_state;          /* (S) first row of the segment's states in the per-layer state buffers */
    int64_t rows, state_rows;    /* packed rows (sum of lengths), state rows (sum of N_s) */
    void *xp;                    /* (rows, I) packed x (data type) */
    float *gyp, *dxp;            /* (rows, H), (rows, I) packed grad_y, dx */
    void **yp;                   /* [L] (rows, H) packed output of each layer (data type) */
    float *y_f32;                /* (rows, H) the top layer's, widened by outputs() (yp[L-1] itself in fp32) */
    void **hs;                   /* [L] (state_rows, H) final hidden state of every segment (data type) */
    float **cs;                  /* [L] (state_rows, H) final cell state of every segment */
    void *hx_s;                  /* (L, B, H) sorted initial hidden state (data type) */
    float *cx_s, *dhx_s, *dcx_s; /* (L, B, H) sorted initial cell state, the initial states' gradients */
} vl_plan;

typedef struct runner {
    runner_kind kind;
    const char *name;
    nnb_lstm_data d;
    onx_model m;
    int threads;
    int precision; /* NNB_PRECISION_FP32 or NNB_PRECISION_BF16: the model's data type (onednn_lstm.h) */
    /* d's arrays the LSTM reads and writes, in the model's data type: d's own in fp32; in bf16, x and hx rounded
     * once at create, y and hy written by the top layer and widened into d by outputs() */
    void *x_data, *hx_data; /* (T, B, I), (L, B, H) */
    void *y_data, *hy_data; /* (T, B, H), (L, B, H) */
    vl_plan vl;
    float *ln_input;     /* (B, 4H) fastrnns' ln_input1 (layernorm runners) */
    float *ln_out;       /* (B, 4H) its normalised copy, discarded as in fastrnns */
    void *ln_input_data; /* (B, 4H) ln_input in the model's data type (ln_input itself in fp32) */
    void *ln_out_data;   /* (B, 4H) ln_out in the model's data type */
    int lstm_prims;      /* distinct LSTM primitive shapes */

    /* infer(n) (cudnn, cudnn_dropout) */
    nnb_lstm_infer_bufs inf; /* packed x (T, n, I), hx, cx (L, n, H); y (T, n, H), hy, cy (L, n, H) */
    void *inf_mid[2];        /* (T, B, H) room for the (T, n, H) outputs of groups below the top (data type) */
    void *inf_x, *inf_hx;    /* inf.x, inf.hx in the data type (themselves in fp32): packed x, hx for n < B */
    void *inf_y, *inf_hy;    /* inf.y, inf.hy in the data type (themselves in fp32; bf16 widened by outputs()) */
    onx_steps *inf_plans;    /* [B + 1]: the inference steps of batch n, built at n's first infer(), or NULL */
    int inf_plan_count;      /* plans built */
    double inf_plan_ms;      /* time spent building them */
    int inferred;            /* outputs() lists infer()'s results: the last run was infer() */
} runner;

/* ---- onednn_plans.c ---- */

/* cudnn, cudnn_dropout, cudnn_layernorm: the layer groups and their forward (and backward) steps over the
 * (T, B, *) arrays of r->d; dropout masks drawn from seed. */
int onr_build_fixed(runner *r, uint64_t seed, char *err, size_t err_len);
/* vl_cudnn: the batch sorted by length and cut into segments, x and grad_y packed, one call per (layer, segment). */
int onr_build_vl(runner *r, char *err, size_t err_len);
/* vl_cudnn's outputs(): y, dx back to padded (T, B, *), final states and their gradients to the original order. */
void onr_vl_outputs(runner *r);
/* cudnn_layernorm: fastrnns' T x 3 layer norms after the LSTM; their (B, 4H) input drawn from seed. */
int onr_push_layer_norm_steps(runner *r, char *err, size_t err_len);
int onr_alloc_ln_input(runner *r, uint64_t seed, char *err, size_t err_len);

#endif
