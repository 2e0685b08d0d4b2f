#include "plain_lstm.h"

#include "lstm_cell_math.h"

#include <math.h>
#include <string.h>

/* gates(b, :) = W_ih x_b + W_hh h_b + b_ih + b_hh for one layer and one step, in double. */
static void plain_gates(const nnb_lstm_data *d, int64_t k, const float *x, int64_t in, const double *h,
                        double *gates /* (B, 4H) */) {
    const int64_t B = d->B, H = d->H;
    for (int64_t b = 0; b < B; b++)
        for (int64_t r = 0; r < 4 * H; r++) {
            double acc = (double)d->b_ih[k][r] + (double)d->b_hh[k][r];
            const float *wi = d->w_ih[k] + r * in, *wh = d->w_hh[k] + r * H;
            for (int64_t c = 0; c < in; c++)
                acc += (double)wi[c] * (double)x[b * in + c];
            for (int64_t c = 0; c < H; c++)
                acc += (double)wh[c] * h[b * H + c];
            gates[b * 4 * H + r] = acc;
        }
}

int onx_plain_lstm_forward(nnb_lstm_data *d, char *err, size_t err_len) {
    const int64_t T = d->T, B = d->B, H = d->H, L = d->L;
    size_t bh = (size_t)(B * H), tbh = (size_t)T * bh;
    double *h = (double *)nnb_alloc_bytes(sizeof(double) * bh);                  /* (B, H) */
    double *c = (double *)nnb_alloc_bytes(sizeof(double) * bh);                  /* (B, H) */
    double *gates = (double *)nnb_alloc_bytes(sizeof(double) * 4 * bh);          /* (B, 4H) */
    float *layer_in = nnb_alloc_floats(tbh), *layer_out = nnb_alloc_floats(tbh); /* (T, B, H) */
    int rc = 0;
    if (!h || !c || !gates || !layer_in || !layer_out) {
        rc = nnb_fail(err, err_len, "out of memory in the plain LSTM");
        goto out;
    }
    for (int64_t k = 0; k < L; k++) {
        const float *x = k == 0 ? d->x : layer_in;
        const int64_t in = nnb_lstm_layer_input(d, k);
        for (size_t e = 0; e < bh; e++)
            h[e] = d->hx[k * bh + e], c[e] = d->cx[k * bh + e];
        for (int64_t t = 0; t < T; t++) {
            plain_gates(d, k, x + (size_t)t * B * in, in, h, gates);
            for (int64_t b = 0; b < B; b++)
                for (int64_t j = 0; j < H; j++) {
                    double *g = gates + b * 4 * H;
                    double cn, hn;
                    nnb_lstm_cell_fwdd(&g[j], &g[H + j], &g[2 * H + j], &g[3 * H + j], c[b * H + j], &cn, &hn);
                    c[b * H + j] = cn;
                    h[b * H + j] = hn;
                    layer_out[(size_t)t * bh + b * H + j] = (float)hn;
                }
        }
        for (size_t e = 0; e < bh; e++)
            d->hy[k * bh + e] = (float)h[e], d->cy[k * bh + e] = (float)c[e];
        memcpy(layer_in, layer_out, sizeof(float) * tbh);
    }
    memcpy(d->y, layer_out, sizeof(float) * tbh);
out:
    nnb_free(h);
    nnb_free(c);
    nnb_free(gates);
    nnb_free(layer_in);
    nnb_free(layer_out);
    return rc;
}

void onx_plain_layer_norm(const float *src, float *dst, int64_t rows, int64_t cols, double eps) {
    for (int64_t r = 0; r < rows; r++) {
        const float *s = src + r * cols;
        double mean = 0, var = 0;
        for (int64_t c = 0; c < cols; c++)
            mean += s[c];
        mean /= (double)cols;
        for (int64_t c = 0; c < cols; c++)
            var += ((double)s[c] - mean) * ((double)s[c] - mean);
        var /= (double)cols; /* biased variance, as LayerNorm uses */
        double inv = 1.0 / sqrt(var + eps);
        for (int64_t c = 0; c < cols; c++)
            dst[r * cols + c] = (float)(((double)s[c] - mean) * inv);
    }
}
