/*
 * Template body of the variant references (see variants_reference.h). Included by
 * variants_reference.c with R (the type), SFX (f or d) and SQRT defined
 * (instantiated in double). Deliberately plain: naive matrix-vector loops, one batch row
 * and one step at a time, every intermediate kept for the backward.
 */
#define VR_CAT_(a, b) a##b
#define VR_CAT(a, b) VR_CAT_(a, b)
#define VR(name) VR_CAT(name, SFX)

/* Per-layer forward state kept for the backward. */
typedef struct VR(ref_layer_) {
    int64_t in_size;
    R *in;                       /* (T, B, in) the layer's input, dropout applied */
    R *gates;                    /* (T, B, 4H) activated i, f, g, o */
    R *h, *c;                    /* (T+1, B, H) states; row 0 holds hx, cx */
    R *xhat_i, *xhat_h;          /* (T, B, 4H) normalised projections (LayerNorm only) */
    R *xhat_c;                   /* (T, B, H) normalised raw cell state (LayerNorm only) */
    R *rstd_i, *rstd_h, *rstd_c; /* (T, B) 1/sqrt(var + eps) (LayerNorm only) */
} VR(ref_layer_);

static R *VR(ref_alloc_)(int64_t a, int64_t b, int64_t c, int *failed) {
    size_t n, bytes;
    if (nnb_mul_size3(&n, (size_t)a, (size_t)b, (size_t)c) || nnb_mul_size(&bytes, n, sizeof(R))) {
        *failed = 1;
        return NULL;
    }
    R *p = (R *)nnb_alloc_bytes(bytes);
    if (!p)
        *failed = 1;
    return p;
}

static void VR(ref_layer_free_)(VR(ref_layer_) * s) {
    R *bufs[] = {s->in, s->gates, s->h, s->c, s->xhat_i, s->xhat_h, s->xhat_c, s->rstd_i, s->rstd_h, s->rstd_c};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        nnb_free(bufs[i]);
}

static int VR(ref_layer_alloc_)(const VR(nnb_varlstm_) * p, int64_t k, VR(ref_layer_) * s) {
    const int64_t T = p->T, B = p->B, H = p->H;
    int failed = 0;
    s->in_size = k == 0 ? p->I : H;
    s->in = VR(ref_alloc_)(T, B, s->in_size, &failed);
    s->gates = VR(ref_alloc_)(T, B, 4 * H, &failed);
    s->h = VR(ref_alloc_)(T + 1, B, H, &failed);
    s->c = VR(ref_alloc_)(T + 1, B, H, &failed);
    if (p->layernorm) {
        s->xhat_i = VR(ref_alloc_)(T, B, 4 * H, &failed);
        s->xhat_h = VR(ref_alloc_)(T, B, 4 * H, &failed);
        s->xhat_c = VR(ref_alloc_)(T, B, H, &failed);
        s->rstd_i = VR(ref_alloc_)(T, B, 1, &failed);
        s->rstd_h = VR(ref_alloc_)(T, B, 1, &failed);
        s->rstd_c = VR(ref_alloc_)(T, B, 1, &failed);
    }
    return failed ? -1 : 0;
}

/* out = W v, W (rows, cols) row-major. */
static void VR(ref_matvec_)(const R *W, const R *v, int64_t rows, int64_t cols, R *out) {
    for (int64_t r = 0; r < rows; r++) {
        R acc = 0;
        for (int64_t m = 0; m < cols; m++)
            acc += W[r * cols + m] * v[m];
        out[r] = acc;
    }
}

/* out += W^T u, W (rows, cols). */
static void VR(ref_matvec_t_acc_)(const R *W, const R *u, int64_t rows, int64_t cols, R *out) {
    for (int64_t r = 0; r < rows; r++)
        for (int64_t m = 0; m < cols; m++)
            out[m] += W[r * cols + m] * u[r];
}

/* dW += u v^T, dW (rows, cols). */
static void VR(ref_outer_acc_)(R *dW, const R *u, const R *v, int64_t rows, int64_t cols) {
    for (int64_t r = 0; r < rows; r++)
        for (int64_t m = 0; m < cols; m++)
            dW[r * cols + m] += u[r] * v[m];
}

/* LayerNorm of one row of n: out = gain * xhat + bias; saves xhat and rstd. */
static void VR(ref_layernorm_fwd_)(const R *v, int64_t n, const R *gain, const R *bias, R *out, R *xhat, R *rstd) {
    R mean = 0, var = 0;
    for (int64_t j = 0; j < n; j++)
        mean += v[j];
    mean /= (R)n;
    for (int64_t j = 0; j < n; j++)
        var += (v[j] - mean) * (v[j] - mean);
    var /= (R)n;
    *rstd = (R)1 / SQRT(var + (R)NNB_LN_EPS);
    for (int64_t j = 0; j < n; j++) {
        xhat[j] = (v[j] - mean) * *rstd;
        out[j] = gain[j] * xhat[j] + bias[j];
    }
}

/* LayerNorm backward of one row: dv from dout, accumulating dgain and dbias.
 *   dv = rstd * (gain*dout - mean(gain*dout) - xhat * mean(gain*dout*xhat)) */
static void VR(ref_layernorm_bwd_)(const R *dout, const R *xhat, R rstd, const R *gain, int64_t n, R *dv, R *dgain,
                                   R *dbias) {
    R mean_g = 0, mean_gx = 0;
    for (int64_t j = 0; j < n; j++) {
        mean_g += gain[j] * dout[j];
        mean_gx += gain[j] * dout[j] * xhat[j];
        dgain[j] += dout[j] * xhat[j];
        dbias[j] += dout[j];
    }
    mean_g /= (R)n;
    mean_gx /= (R)n;
    for (int64_t j = 0; j < n; j++)
        dv[j] = rstd * (gain[j] * dout[j] - mean_g - xhat[j] * mean_gx);
}

static void VR(ref_layer_forward_)(const VR(nnb_varlstm_) * p, int64_t k, VR(ref_layer_) * s, R *row) {
    const int64_t T = p->T, B = p->B, H = p->H, G = 4 * H, in = s->in_size;
    R *ai = row, *ah = row + G, *ni = row + 2 * G, *nh = row + 3 * G, *craw = row + 4 * G; /* (4H) x4, (H) */
    for (int64_t e = 0; e < B * H; e++) {
        s->h[e] = p->hx[k * B * H + e];
        s->c[e] = p->cx[k * B * H + e];
    }
    for (int64_t t = 0; t < T; t++)
        for (int64_t b = 0; b < B; b++) {
            const int64_t tb = t * B + b;
            const R *hprev = s->h + tb * H, *cprev = s->c + tb * H;
            R *hnew = s->h + (tb + B) * H, *cnew = s->c + (tb + B) * H, *gate = s->gates + tb * G;
            VR(ref_matvec_)(p->w_ih[k], s->in + tb * in, G, in, ai);
            VR(ref_matvec_)(p->w_hh[k], hprev, G, H, ah);
            if (p->layernorm) {
                VR(ref_layernorm_fwd_)
                (ai, G, p->ln_w[NNB_LN_I][k], p->ln_b[NNB_LN_I][k], ni, s->xhat_i + tb * G, &s->rstd_i[tb]);
                VR(ref_layernorm_fwd_)
                (ah, G, p->ln_w[NNB_LN_H][k], p->ln_b[NNB_LN_H][k], nh, s->xhat_h + tb * G, &s->rstd_h[tb]);
                for (int64_t j = 0; j < G; j++)
                    gate[j] = ni[j] + nh[j];
            } else {
                for (int64_t j = 0; j < G; j++)
                    gate[j] = ai[j] + p->b_ih[k][j] + ah[j] + p->b_hh[k][j];
            }
            /* LayerNorm: the cell's c is the raw state and its h is not used. */
            for (int64_t j = 0; j < H; j++)
                VR(nnb_lstm_cell_fwd)
            (&gate[j], &gate[H + j], &gate[2 * H + j], &gate[3 * H + j], cprev[j], p->layernorm ? &craw[j] : &cnew[j],
             &hnew[j]);
            if (p->layernorm) {
                VR(ref_layernorm_fwd_)
                (craw, H, p->ln_w[NNB_LN_C][k], p->ln_b[NNB_LN_C][k], cnew, s->xhat_c + tb * H, &s->rstd_c[tb]);
                for (int64_t j = 0; j < H; j++)
                    hnew[j] = gate[3 * H + j] * VR(nnb_tanh)(cnew[j]);
            }
        }
}

/* Backward of one layer: dy (T, B, H) reaches its output; writes din (T, B, in),
 * dhx_k, dcx_k (B, H) and accumulates the layer's parameter gradients. */
static void VR(ref_layer_backward_)(const VR(nnb_varlstm_) * p, int64_t k, const VR(ref_layer_) * s, const R *dy,
                                    R *din, R *dhx_k, R *dcx_k, R *row) {
    const int64_t T = p->T, B = p->B, H = p->H, G = 4 * H, in = s->in_size;
    R *da = row, *dai = row + G, *dah = row + 2 * G, *dh = row + 3 * G, *dcn = dh + H, *dcraw = dcn + H;
    R *dh_next = dhx_k, *dc_next = dcx_k; /* (B, H): gradient reaching step t's output states */
    for (int64_t e = 0; e < B * H; e++)
        dh_next[e] = dc_next[e] = 0; /* hy, cy: no upstream gradient */
    for (int64_t t = T - 1; t >= 0; t--)
        for (int64_t b = 0; b < B; b++) {
            const int64_t tb = t * B + b;
            const R *gate = s->gates + tb * G, *cprev = s->c + tb * H, *c = s->c + (tb + B) * H;
            R *dhn = dh_next + b * H, *dcx = dc_next + b * H;
            for (int64_t j = 0; j < H; j++)
                dh[j] = dy[tb * H + j] + dhn[j];
            if (p->layernorm) {
                for (int64_t j = 0; j < H; j++)
                    VR(nnb_ln_cell_out_bwd)(gate[3 * H + j], c[j], dh[j], dcx[j], &da[3 * H + j], &dcn[j]);
                VR(ref_layernorm_bwd_)
                (dcn, s->xhat_c + tb * H, s->rstd_c[tb], p->ln_w[NNB_LN_C][k], H, dcraw, p->dln_w[NNB_LN_C][k],
                 p->dln_b[NNB_LN_C][k]);
                for (int64_t j = 0; j < H; j++) {
                    R unused_dao;
                    VR(nnb_lstm_cell_bwd)
                    (gate[j], gate[H + j], gate[2 * H + j], gate[3 * H + j], cprev[j], c[j], (R)0, dcraw[j], &da[j],
                     &da[H + j], &da[2 * H + j], &unused_dao, &dcx[j]);
                }
                VR(ref_layernorm_bwd_)
                (da, s->xhat_i + tb * G, s->rstd_i[tb], p->ln_w[NNB_LN_I][k], G, dai, p->dln_w[NNB_LN_I][k],
                 p->dln_b[NNB_LN_I][k]);
                VR(ref_layernorm_bwd_)
                (da, s->xhat_h + tb * G, s->rstd_h[tb], p->ln_w[NNB_LN_H][k], G, dah, p->dln_w[NNB_LN_H][k],
                 p->dln_b[NNB_LN_H][k]);
            } else {
                for (int64_t j = 0; j < H; j++)
                    VR(nnb_lstm_cell_bwd)
                (gate[j], gate[H + j], gate[2 * H + j], gate[3 * H + j], cprev[j], c[j], dh[j], dcx[j], &da[j],
                 &da[H + j], &da[2 * H + j], &da[3 * H + j], &dcx[j]);
                for (int64_t j = 0; j < G; j++) {
                    dai[j] = dah[j] = da[j];
                    p->db_ih[k][j] += da[j];
                    p->db_hh[k][j] += da[j];
                }
            }
            VR(ref_outer_acc_)(p->dw_ih[k], dai, s->in + tb * in, G, in);
            VR(ref_matvec_t_acc_)(p->w_ih[k], dai, G, in, din + tb * in);
            VR(ref_outer_acc_)(p->dw_hh[k], dah, s->h + tb * H, G, H);
            for (int64_t j = 0; j < H; j++)
                dhn[j] = 0;
            VR(ref_matvec_t_acc_)(p->w_hh[k], dah, G, H, dhn);
        }
}

static void VR(ref_zero_)(R *a, int64_t n) {
    for (int64_t e = 0; e < n; e++)
        a[e] = 0;
}

static void VR(ref_zero_grads_)(const VR(nnb_varlstm_) * p) {
    const int64_t G = 4 * p->H;
    VR(ref_zero_)(p->dx, p->T * p->B * p->I);
    for (int64_t k = 0; k < p->L; k++) {
        VR(ref_zero_)(p->dw_ih[k], G * (k == 0 ? p->I : p->H));
        VR(ref_zero_)(p->dw_hh[k], G * p->H);
        if (!p->layernorm) {
            VR(ref_zero_)(p->db_ih[k], G);
            VR(ref_zero_)(p->db_hh[k], G);
            continue;
        }
        for (int n = 0; n < NNB_LN_COUNT; n++) {
            VR(ref_zero_)(p->dln_w[n][k], n == NNB_LN_C ? p->H : G);
            VR(ref_zero_)(p->dln_b[n][k], n == NNB_LN_C ? p->H : G);
        }
    }
}

int VR(nnb_varlstm_reference_)(const VR(nnb_varlstm_) * p, int with_backward, char *err, size_t err_len) {
    const int64_t T = p->T, B = p->B, H = p->H, L = p->L;
    const int64_t wide = p->I > H ? p->I : H;
    int failed = 0, rc = -1;
    VR(ref_layer_) *layers = (VR(ref_layer_) *)nnb_alloc_bytes(sizeof(VR(ref_layer_)) * (size_t)L);
    R *row = VR(ref_alloc_)(1, 5, 4 * H, &failed); /* per-row scratch */
    R *dcur = VR(ref_alloc_)(T, B, wide, &failed); /* (T, B, in) gradient reaching a layer's output/input */
    R *din = VR(ref_alloc_)(T, B, wide, &failed);
    if (!layers || failed)
        goto out;
    for (int64_t k = 0; k < L; k++)
        if (VR(ref_layer_alloc_)(p, k, &layers[k]))
            goto out;

    for (int64_t k = 0; k < L; k++) {
        VR(ref_layer_) *s = &layers[k];
        for (int64_t e = 0; e < T * B * s->in_size; e++)
            s->in[e] = k == 0 ? p->x[e] : layers[k - 1].h[B * H + e] * (p->mask ? p->mask[k][e] : (R)1);
        VR(ref_layer_forward_)(p, k, s, row);
        for (int64_t e = 0; e < B * H; e++) {
            p->hy[k * B * H + e] = s->h[T * B * H + e];
            p->cy[k * B * H + e] = s->c[T * B * H + e];
        }
    }
    for (int64_t e = 0; e < T * B * H; e++)
        p->y[e] = layers[L - 1].h[B * H + e];

    if (with_backward) {
        VR(ref_zero_grads_)(p);
        for (int64_t e = 0; e < T * B * H; e++)
            dcur[e] = p->grad_y[e];
        for (int64_t k = L - 1; k >= 0; k--) {
            const int64_t n_in = T * B * layers[k].in_size;
            VR(ref_zero_)(din, n_in);
            VR(ref_layer_backward_)(p, k, &layers[k], dcur, din, p->dhx + k * B * H, p->dcx + k * B * H, row);
            for (int64_t e = 0; e < n_in; e++)
                if (k == 0)
                    p->dx[e] = din[e];
                else
                    dcur[e] = din[e] * (p->mask ? p->mask[k][e] : (R)1);
        }
    }
    rc = 0;
out:
    if (layers)
        for (int64_t k = 0; k < L; k++)
            VR(ref_layer_free_)(&layers[k]);
    nnb_free(layers);
    nnb_free(row);
    nnb_free(dcur);
    nnb_free(din);
    if (rc)
        nnb_fail(err, err_len, "reference: out of memory or sizes overflow (T=%lld B=%lld H=%lld L=%lld)", (long long)T,
                 (long long)B, (long long)H, (long long)L);
    return rc;
}

#undef VR
#undef VR_CAT
#undef VR_CAT_
