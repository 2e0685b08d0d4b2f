/*
 * Template: declarations of the reference LSTM for one precision. Included by
 * lstm_ref.h with REAL (float or double) and NNB_REF(name) (appends _f or _d)
 * defined; deliberately no include guard.
 */

/* Parameters of every layer: arrays of L pointers (read only). in_0 = I, else H. */
typedef struct NNB_REF(nnb_ref_lstm_params) {
    REAL *const *w_ih; /* [L] of (4H, in_k) */
    REAL *const *w_hh; /* [L] of (4H, H) */
    REAL *const *b_ih; /* [L] of (4H) */
    REAL *const *b_hh; /* [L] of (4H) */
} NNB_REF(nnb_ref_lstm_params);

/* Parameter gradients, same shapes (written). */
typedef struct NNB_REF(nnb_ref_lstm_grads) {
    REAL *const *dw_ih;
    REAL *const *dw_hh;
    REAL *const *db_ih;
    REAL *const *db_hh;
} NNB_REF(nnb_ref_lstm_grads);

/* Sizes, what forward saves for backward, and scratch. */
typedef struct NNB_REF(nnb_ref_lstm) {
    int64_t T, B, I, H, L;
    int64_t *lengths; /* (B) own copy, or NULL: every row has T steps */

    /* saved by forward, for every layer */
    REAL *gates; /* (L, T, B, 4H) activated gates i, f, g, o */
    REAL *h;     /* (L, T+1, B, H) hidden state: [0] = hx, [t+1] after step t (carried over absent steps) */
    REAL *c;     /* (L, T+1, B, H) cell state, likewise */
    int forward_done;

    /* scratch */
    REAL *w_t;     /* (max(I, H), 4H) one transposed weight matrix */
    REAL *bias;    /* (4H) b_ih + b_hh */
    REAL *dgates;  /* (T, B, 4H) gradient of the pre-activations of one layer */
    REAL *dy;      /* (T, B, H) gradient reaching one layer's output (from the layer above) */
    REAL *dh, *dc; /* (B, H) gradient reaching h and c of the current step */
    REAL *dh_prev; /* (B, H) */
} NNB_REF(nnb_ref_lstm);

/* Allocate for these sizes (overflow-checked). lengths: (B) values in 1..T, or
 * NULL. Returns 0, or -1 with a one-line message in err. */
int NNB_REF(nnb_ref_lstm_init)(NNB_REF(nnb_ref_lstm) * m, int64_t T, int64_t B, int64_t I, int64_t H, int64_t L,
                               const int64_t *lengths, char *err, size_t err_len);
void NNB_REF(nnb_ref_lstm_free)(NNB_REF(nnb_ref_lstm) * m);

/* x (T, B, I), hx, cx (L, B, H) -> y (T, B, H), hy, cy (L, B, H). Saves gates and states in m. */
void NNB_REF(nnb_ref_lstm_forward)(NNB_REF(nnb_ref_lstm) * m, const NNB_REF(nnb_ref_lstm_params) * p, const REAL *x,
                                   const REAL *hx, const REAL *cx, REAL *y, REAL *hy, REAL *cy);

/* Inference on the first n rows (1 <= n <= B): x (T, n, I), hx, cx (L, n, H) -> y (T, n, H), hy, cy (L, n, H),
 * the forward's arithmetic in the same order (so row b's results equal the forward's row b bit for bit).
 * Variable length: rows 0..n-1 keep their lengths. Runs in the forward's saved-state buffers: a backward
 * afterwards needs a new forward first (it returns -1 until then). */
void NNB_REF(nnb_ref_lstm_infer)(NNB_REF(nnb_ref_lstm) * m, const NNB_REF(nnb_ref_lstm_params) * p, int64_t n,
                                 const REAL *x, const REAL *hx, const REAL *cx, REAL *y, REAL *hy, REAL *cy);

/* After forward with the same x and p: grad_y (T, B, H) -> dx (T, B, I), dhx,
 * dcx (L, B, H) and g. Returns 0, or -1 when forward has not run. */
int NNB_REF(nnb_ref_lstm_backward)(NNB_REF(nnb_ref_lstm) * m, const NNB_REF(nnb_ref_lstm_params) * p, const REAL *x,
                                   const REAL *grad_y, REAL *dx, REAL *dhx, REAL *dcx,
                                   const NNB_REF(nnb_ref_lstm_grads) * g);
