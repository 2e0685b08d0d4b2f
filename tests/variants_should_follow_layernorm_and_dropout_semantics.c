/*
 * The double references compute what the variants are defined to compute,
 * checked through properties that do not reuse their code paths (finite
 * differences only show that forward and backward agree with each other):
 *   LayerNorm LSTM: scaling every W_ih and W_hh by 3 leaves y unchanged (LN_i,
 *     LN_h normalise the projections; only eps = 1e-5 makes it inexact, ~1e-5
 *     relative), while scaling a LayerNorm gain does change it; every row of cy,
 *     un-affined ((cy - bias_c) / gain_c), has mean 0 and variance
 *     var / (var + eps) ~= 1 (LN_c is the last thing applied to c).
 *   Dropout LSTM: a 2-layer run equals layer 0 alone followed by layer 1 alone
 *     on mask_1 * y_0 (with each layer's own hx, cx), and the mask holds only
 *     0 and 1 / (1 - 0.4).
 */
#include "test_support.h"
#include "variants_double_problem.h"

#include <stdlib.h>
#include <string.h>

static void forward(const nnb_varlstm_d *p) {
    char err[256];
    CHECK_MSG(nnb_varlstm_reference_d(p, 0, err, sizeof err) == 0, "forward failed: %s", err);
}

static double max_abs_diff(const double *a, const double *b, int64_t n) {
    double worst = 0;
    for (int64_t e = 0; e < n; e++)
        if (fabs(a[e] - b[e]) > worst)
            worst = fabs(a[e] - b[e]);
    return worst;
}

static void layernorm_removes_projection_scale(void) {
    variants_problem pb;
    variants_problem_build(&pb, 1, 0, 4, 3, 5, 6, 2);
    const int64_t n = 4 * 3 * 6, G = 4 * 6;
    double *y0 = malloc(sizeof(double) * (size_t)n);
    forward(&pb.p);
    memcpy(y0, pb.y, sizeof(double) * (size_t)n);
    for (int64_t k = 0; k < 2; k++) {
        for (int64_t e = 0; e < G * (k == 0 ? 5 : 6); e++)
            pb.w_ih[k][e] *= 3;
        for (int64_t e = 0; e < G * 6; e++)
            pb.w_hh[k][e] *= 3;
    }
    forward(&pb.p);
    double scaled = max_abs_diff(y0, pb.y, n);
    CHECK_MSG(scaled < 1e-4, "y should not depend on the scale of W_ih, W_hh (max |dy| %g)", scaled);
    for (int64_t j = 0; j < G; j++)
        pb.ln_w[NNB_LN_I][0][j] *= 3;
    forward(&pb.p);
    double gain = max_abs_diff(y0, pb.y, n);
    CHECK_MSG(gain > 1e-2, "y should depend on the LN_i gain (max |dy| %g)", gain);
    printf("LN LSTM: max |dy| %.3g after scaling the weights by 3, %.3g after scaling ln_i_weight_l0 by 3\n", scaled,
           gain);
    free(y0);
    variants_problem_free(&pb);
}

static void cell_state_is_layer_normalised(void) {
    variants_problem pb;
    const int64_t B = 3, H = 7, L = 2;
    variants_problem_build(&pb, 1, 0, 5, B, 4, H, L);
    forward(&pb.p);
    for (int64_t k = 0; k < L; k++)
        for (int64_t b = 0; b < B; b++) {
            double u[7], mean = 0, var = 0;
            for (int64_t j = 0; j < H; j++) {
                u[j] = (pb.cy[(k * B + b) * H + j] - pb.ln_b[NNB_LN_C][k][j]) / pb.ln_w[NNB_LN_C][k][j];
                mean += u[j] / (double)H;
            }
            for (int64_t j = 0; j < H; j++)
                var += (u[j] - mean) * (u[j] - mean) / (double)H;
            CHECK_MSG(fabs(mean) < 1e-9, "cy layer %lld row %lld: un-affined mean %g, expected 0", (long long)k,
                      (long long)b, mean);
            CHECK_MSG(fabs(var - 1) < 1e-3, "cy layer %lld row %lld: un-affined variance %g, expected ~1", (long long)k,
                      (long long)b, var);
        }
    variants_problem_free(&pb);
}

/* One layer k of pb as a 1-layer problem on input x (T, B, in). */
static nnb_varlstm_d single_layer(const variants_problem *pb, int64_t k, const double *x, int64_t in, double *y,
                                  double *hy, double *cy) {
    const nnb_varlstm_d *p = &pb->p;
    nnb_varlstm_d s;
    memset(&s, 0, sizeof s);
    s.T = p->T, s.B = p->B, s.I = in, s.H = p->H, s.L = 1;
    s.x = x, s.hx = p->hx + k * p->B * p->H, s.cx = p->cx + k * p->B * p->H;
    s.w_ih = &p->w_ih[k], s.w_hh = &p->w_hh[k], s.b_ih = &p->b_ih[k], s.b_hh = &p->b_hh[k];
    s.y = y, s.hy = hy, s.cy = cy;
    return s;
}

static void dropout_feeds_masked_output_to_next_layer(void) {
    variants_problem pb;
    const int64_t T = 4, B = 3, I = 5, H = 6, TBH = T * B * H;
    variants_problem_build(&pb, 0, 0.4f, T, B, I, H, 2);
    forward(&pb.p);
    double *y0 = calloc((size_t)TBH, sizeof(double)), *x1 = calloc((size_t)TBH, sizeof(double));
    double *y1 = calloc((size_t)TBH, sizeof(double)), hy[2][3 * 6], cy[2][3 * 6];
    nnb_varlstm_d l0 = single_layer(&pb, 0, pb.x, I, y0, hy[0], cy[0]);
    forward(&l0);
    int dropped = 0;
    for (int64_t e = 0; e < TBH; e++) {
        const double m = pb.mask[1][e];
        CHECK_MSG(m == 0 || fabs(m - 1 / 0.6) < 1e-6, "mask value %g should be 0 or 1/(1-p)", m);
        dropped += m == 0;
        x1[e] = m * y0[e];
    }
    CHECK_MSG(dropped > 0 && dropped < TBH, "mask should drop some elements and keep others (%d of %lld)", dropped,
              (long long)TBH);
    nnb_varlstm_d l1 = single_layer(&pb, 1, x1, H, y1, hy[1], cy[1]);
    forward(&l1);
    CHECK_MSG(max_abs_diff(y1, pb.y, TBH) < 1e-12, "2-layer y differs from layer 1 on mask * y_0 by %g",
              max_abs_diff(y1, pb.y, TBH));
    for (int64_t k = 0; k < 2; k++) {
        CHECK_MSG(max_abs_diff(hy[k], pb.hy + k * B * H, B * H) < 1e-12, "hy of layer %lld differs", (long long)k);
        CHECK_MSG(max_abs_diff(cy[k], pb.cy + k * B * H, B * H) < 1e-12, "cy of layer %lld differs", (long long)k);
    }
    /* and the mask matters: without it layer 1 would see y_0 itself */
    nnb_varlstm_d unmasked = single_layer(&pb, 1, y0, H, y1, hy[1], cy[1]);
    forward(&unmasked);
    CHECK_MSG(max_abs_diff(y1, pb.y, TBH) > 1e-3, "dropout should change layer 1's output");
    free(y0);
    free(x1);
    free(y1);
    variants_problem_free(&pb);
}

int main(void) {
    layernorm_removes_projection_scale();
    cell_state_is_layer_normalised();
    dropout_feeds_masked_output_to_next_layer();
    return nnb_test_finish();
}
