/*
 * The CUDA ResNet runners' small kernels (runners/cuda/resnet/resnet_kernels.cuh),
 * their very source and launchers compiled for the CPU through
 * kernels/cuda/grid_shim.h, against plain C loops, under launch geometries
 * with partial last blocks (sizes that are not multiples of the block), a
 * block cap that forces grid-stride loops, and one huge block.
 *
 * Tolerance: none. Each kernel computes every item with the same float
 * operations in the same order as its loop here (sums in index order), so the
 * results must be bit-identical. Overwritten outputs start as NaN, so an item
 * a geometry forgets fails; accumulated outputs start from known values.
 *
 * The inference BatchNorm kernel (nnb_rk_bn_infer, the *_jit runners' fused BN [+ shortcut] + ReLU of
 * infer()): bit-identical to a plain loop over the shared per-element math (resnet_bn_math.h), with and
 * without ReLU and shortcut, in place over x and over z, and within 2e-6 relative of an independent double
 * evaluation of (x - mean) / sqrt(var + eps) * gamma + beta; sizes it must refuse (n*c*hw beyond 2^31 - 1).
 *
 * 16-bit storage (the *_st forms, ABI 1.3 bf16/fp16): every activation kernel on bf16 and fp16 buffers against a
 * plain loop that widens the same bits, does the same fp32 operations and rounds the result with
 * nnb_precision.h: bit-identical; and the result differs from the fp32 kernel's by at most the unit roundoff
 * (proof that it did round).
 */
#include "resnet_kernels.cuh"
#include "test_support.h"

#include <stdlib.h>
#include <string.h>

enum { ROWS = 3, COLS = 1000, PLANES = 2 * 67, HW = 49, NEL = 1013 };

static const nnb_rk_geometry geometries[] = {
    {32, 0},   /* 1013 / 32: partial last block */
    {64, 3},   /* capped grid: grid-stride loops */
    {1024, 1}, /* one block, most threads idle for the small kernels */
    {96, 0},
};

/* Values in [-2, 2) from a small LCG seeded by the name (no dependency on the runner support library). */
static void fill(float *v, size_t n, const char *name) {
    unsigned s = 2166136261u;
    for (const char *c = name; *c; c++)
        s = (s ^ (unsigned char)*c) * 16777619u;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        v[i] = -2.0f + 4.0f * (float)(s >> 8) / 16777216.0f;
    }
}
static void fill_nan(float *v, size_t n) {
    for (size_t i = 0; i < n; i++)
        v[i] = NAN;
}
static int same(const float *a, const float *b, size_t n) { return !memcmp(a, b, n * sizeof *a); }

static void check_add_and_fanout(const nnb_rk_geometry *g) {
    static float a[NEL], b[NEL], y[NEL], ref[NEL], dst[NEL];
    fill(a, NEL, "a");
    fill(b, NEL, "b");
    fill_nan(y, NEL);
    for (int i = 0; i < NEL; i++)
        ref[i] = a[i] + b[i];
    CHECK(nnb_rk_add(g, NULL, y, a, b, NEL) == 0);
    CHECK_MSG(same(y, ref, NEL), "add, block %d cap %d", g->block_size, g->max_blocks);

    fill_nan(dst, NEL);
    CHECK(nnb_rk_fanout(g, NULL, dst, a, NEL, 0) == 0);
    CHECK_MSG(same(dst, a, NEL), "fanout overwrite, block %d cap %d", g->block_size, g->max_blocks);
    memcpy(dst, b, sizeof dst);
    CHECK(nnb_rk_fanout(g, NULL, dst, a, NEL, 1) == 0);
    CHECK_MSG(same(dst, ref, NEL), "fanout accumulate, block %d cap %d", g->block_size, g->max_blocks);
}

static void check_bias(const nnb_rk_geometry *g) {
    static float y[ROWS * COLS], ref[ROWS * COLS], bias[COLS], db[COLS], db_ref[COLS];
    fill(y, ROWS * COLS, "y");
    fill(bias, COLS, "bias");
    for (int r = 0; r < ROWS; r++)
        for (int c = 0; c < COLS; c++)
            ref[r * COLS + c] = y[r * COLS + c] + bias[c];
    CHECK(nnb_rk_bias_add(g, NULL, y, bias, ROWS, COLS) == 0);
    CHECK_MSG(same(y, ref, ROWS * COLS), "bias add, block %d cap %d", g->block_size, g->max_blocks);

    for (int c = 0; c < COLS; c++) {
        float s = 0.0f;
        for (int r = 0; r < ROWS; r++)
            s += ref[r * COLS + c];
        db_ref[c] = s;
    }
    fill_nan(db, COLS);
    CHECK(nnb_rk_bias_grad(g, NULL, db, ref, ROWS, COLS) == 0);
    CHECK_MSG(same(db, db_ref, COLS), "bias grad, block %d cap %d", g->block_size, g->max_blocks);
}

static void check_avgpool(const nnb_rk_geometry *g) {
    static float x[PLANES * HW], y[PLANES], y_ref[PLANES], dx[PLANES * HW], dx_ref[PLANES * HW];
    fill(x, PLANES * HW, "x");
    for (int p = 0; p < PLANES; p++) {
        float s = 0.0f;
        for (int k = 0; k < HW; k++)
            s += x[p * HW + k];
        y_ref[p] = s / (float)HW;
    }
    fill_nan(y, PLANES);
    CHECK(nnb_rk_avgpool_fwd(g, NULL, y, x, PLANES, HW) == 0);
    CHECK_MSG(same(y, y_ref, PLANES), "avgpool fwd, block %d cap %d", g->block_size, g->max_blocks);

    for (int i = 0; i < PLANES * HW; i++)
        dx_ref[i] = y_ref[i / HW] / (float)HW;
    fill_nan(dx, PLANES * HW);
    CHECK(nnb_rk_avgpool_bwd(g, NULL, dx, y_ref, PLANES, HW, 0) == 0);
    CHECK_MSG(same(dx, dx_ref, PLANES * HW), "avgpool bwd, block %d cap %d", g->block_size, g->max_blocks);
    memcpy(dx, x, sizeof dx);
    for (int i = 0; i < PLANES * HW; i++)
        dx_ref[i] = x[i] + y_ref[i / HW] / (float)HW;
    CHECK(nnb_rk_avgpool_bwd(g, NULL, dx, y_ref, PLANES, HW, 1) == 0);
    CHECK_MSG(same(dx, dx_ref, PLANES * HW), "avgpool bwd accumulate, block %d cap %d", g->block_size, g->max_blocks);
}

static void check_relu(const nnb_rk_geometry *g) {
    static float bn[NEL], z[NEL], y[NEL], y_ref[NEL], dy[NEL], dy_ref[NEL], dz[NEL], dz_ref[NEL], base[NEL];
    fill(bn, NEL, "bn");
    fill(z, NEL, "z");
    bn[5] = 0.0f, z[5] = 0.0f; /* relu at exactly 0: gradient 0 */
    for (int i = 0; i < NEL; i++)
        y_ref[i] = bn[i] + z[i] > 0.0f ? bn[i] + z[i] : 0.0f;
    memcpy(y, bn, sizeof y);
    CHECK(nnb_rk_add_relu(g, NULL, y, z, NEL) == 0);
    CHECK_MSG(same(y, y_ref, NEL), "add+relu, block %d cap %d", g->block_size, g->max_blocks);
    memcpy(y, bn, sizeof y);
    CHECK(nnb_rk_add_relu(g, NULL, y, NULL, NEL) == 0);
    int bad = 0;
    for (int i = 0; i < NEL; i++)
        bad += y[i] != (bn[i] > 0.0f ? bn[i] : 0.0f);
    CHECK_MSG(bad == 0, "relu (z NULL), block %d cap %d", g->block_size, g->max_blocks);

    fill(dy, NEL, "dy");
    fill(base, NEL, "base");
    for (int i = 0; i < NEL; i++)
        dy_ref[i] = y_ref[i] > 0.0f ? dy[i] : 0.0f;
    CHECK(dy_ref[5] == 0.0f);
    /* overwrite dz */
    static float dy_work[NEL];
    memcpy(dy_work, dy, sizeof dy_work);
    fill_nan(dz, NEL);
    CHECK(nnb_rk_relu_grad(g, NULL, dy_work, y_ref, dz, NEL, 0) == 0);
    CHECK_MSG(same(dy_work, dy_ref, NEL) && same(dz, dy_ref, NEL), "relu grad + dz overwrite, block %d cap %d",
              g->block_size, g->max_blocks);
    /* accumulate into dz */
    memcpy(dy_work, dy, sizeof dy_work);
    memcpy(dz, base, sizeof dz);
    for (int i = 0; i < NEL; i++)
        dz_ref[i] = base[i] + dy_ref[i];
    CHECK(nnb_rk_relu_grad(g, NULL, dy_work, y_ref, dz, NEL, 1) == 0);
    CHECK_MSG(same(dz, dz_ref, NEL), "relu grad + dz accumulate, block %d cap %d", g->block_size, g->max_blocks);
    /* no dz */
    memcpy(dy_work, dy, sizeof dy_work);
    CHECK(nnb_rk_relu_grad(g, NULL, dy_work, y_ref, NULL, NEL, 0) == 0);
    CHECK_MSG(same(dy_work, dy_ref, NEL), "relu grad alone, block %d cap %d", g->block_size, g->max_blocks);
}

enum { BN_N = 3, BN_C = 7, BN_HW = 49, BN_EL = BN_N * BN_C * BN_HW };

static void check_bn_infer(const nnb_rk_geometry *g) {
    static float x[BN_EL], z[BN_EL], y[BN_EL], ref[BN_EL], work[BN_EL];
    float gamma[BN_C], beta[BN_C], mean[BN_C], var[BN_C];
    const float eps = 1e-5f;
    fill(x, BN_EL, "bn_x");
    fill(z, BN_EL, "bn_z");
    fill(gamma, BN_C, "gamma");
    fill(beta, BN_C, "beta");
    fill(mean, BN_C, "mean");
    fill(var, BN_C, "var");
    for (int c = 0; c < BN_C; c++)
        var[c] = fabsf(var[c]) + 0.05f; /* running variances are positive */
    var[0] = 0.0f;                      /* only eps keeps it finite */
    for (int variant = 0; variant < 4; variant++) {
        int relu = variant >= 1, has_z = variant >= 2, in_place = variant == 3;
        int bad_bits = 0;
        double worst = 0;
        for (int i = 0; i < BN_EL; i++) {
            int c = (i / BN_HW) % BN_C;
            ref[i] = nnb_rk_bn_add_relu_value(x[i], z[i], has_z, relu, gamma[c], beta[c], mean[c], var[c], eps);
            double d = ((double)x[i] - mean[c]) / sqrt((double)var[c] + (double)eps) * gamma[c] + beta[c];
            if (has_z)
                d += z[i];
            if (relu && d < 0)
                d = 0;
            double e = fabs(ref[i] - d) / (1.0 + fabs(d));
            if (e > worst)
                worst = e;
        }
        CHECK_MSG(worst < 2e-6, "bn infer math vs double: %.3g (variant %d)", worst, variant);
        float *out = y;
        const float *in = x;
        if (in_place) { /* y over x */
            memcpy(work, x, sizeof work);
            out = work;
            in = work;
        } else {
            fill_nan(y, BN_EL);
        }
        CHECK(nnb_rk_bn_infer(g, NULL, out, in, has_z ? z : NULL, gamma, beta, mean, var, eps, BN_N, BN_C, BN_HW,
                              relu) == 0);
        for (int i = 0; i < BN_EL; i++)
            bad_bits += memcmp(&out[i], &ref[i], sizeof(float)) != 0;
        CHECK_MSG(bad_bits == 0, "bn infer kernel: %d elements differ (variant %d, block %d cap %d)", bad_bits, variant,
                  g->block_size, g->max_blocks);
    }
    /* y over the shortcut z */
    memcpy(work, z, sizeof work);
    CHECK(nnb_rk_bn_infer(g, NULL, work, x, work, gamma, beta, mean, var, eps, BN_N, BN_C, BN_HW, 1) == 0);
    int bad = 0;
    for (int i = 0; i < BN_EL; i++) {
        int c = (i / BN_HW) % BN_C;
        float want = nnb_rk_bn_add_relu_value(x[i], z[i], 1, 1, gamma[c], beta[c], mean[c], var[c], eps);
        bad += memcmp(&work[i], &want, sizeof want) != 0;
    }
    CHECK_MSG(bad == 0, "bn infer kernel over z: %d elements differ", bad);
}

static void check_bn_infer_limits(void) {
    nnb_rk_geometry g = {256, 0};
    float v = 0;
    CHECK(nnb_rk_bn_infer(&g, NULL, &v, &v, NULL, &v, &v, &v, &v, 1e-5f, 1 << 16, 1 << 8, 1 << 8, 1) != 0);
    CHECK(nnb_rk_bn_infer(&g, NULL, &v, &v, NULL, &v, &v, &v, &v, 1e-5f, 0, 1, 1, 1) != 0);
}

static void check_grid(void) {
    nnb_rk_geometry g = {32, 0};
    CHECK(nnb_rk_grid(&g, 1013).x == 32); /* ceil(1013 / 32) */
    CHECK(nnb_rk_grid(&g, 0).x == 1);
    g.max_blocks = 5;
    CHECK(nnb_rk_grid(&g, 1013).x == 5);
    CHECK(nnb_rk_block(&g).x == 32);
}

/* ---- 16-bit storage ---- */

static uint16_t to16(float v, int st) { return st == NNB_RK_BF16 ? nnb_bf16_from_f32(v) : nnb_fp16_from_f32(v); }
static float from16(uint16_t b, int st) { return st == NNB_RK_BF16 ? nnb_f32_from_bf16(b) : nnb_f32_from_fp16(b); }

static void fill16(uint16_t *b, size_t n, const char *name, int st) {
    static float v[PLANES * HW];
    fill(v, n, name);
    for (size_t i = 0; i < n; i++)
        b[i] = to16(v[i], st);
}

static int same16(const uint16_t *a, const uint16_t *b, size_t n) { return !memcmp(a, b, n * sizeof *a); }

/* add, fanout (overwrite, accumulate), add_relu (with and without z), relu_grad (with dz, accumulated). */
static void check_elementwise_16(const nnb_rk_geometry *g, int st) {
    static uint16_t a[NEL], b[NEL], y[NEL], ref[NEL], dz[NEL], dzref[NEL];
    fill16(a, NEL, "a", st);
    fill16(b, NEL, "b", st);
    for (int i = 0; i < NEL; i++)
        ref[i] = to16(from16(a[i], st) + from16(b[i], st), st);
    memset(y, 0xff, sizeof y);
    CHECK(nnb_rk_add_st(g, NULL, y, a, b, NEL, st) == 0);
    CHECK_MSG(same16(y, ref, NEL), "add st %d, block %d cap %d", st, g->block_size, g->max_blocks);
    memcpy(y, b, sizeof y); /* accumulate onto b */
    CHECK(nnb_rk_fanout_st(g, NULL, y, a, NEL, 1, st) == 0);
    CHECK_MSG(same16(y, ref, NEL), "fanout accumulate st %d, block %d", st, g->block_size);
    CHECK(nnb_rk_fanout_st(g, NULL, y, a, NEL, 0, st) == 0);
    CHECK_MSG(same16(y, a, NEL), "fanout st %d, block %d", st, g->block_size);
    memcpy(y, a, sizeof y);
    for (int i = 0; i < NEL; i++) {
        float v = from16(a[i], st) + from16(b[i], st);
        ref[i] = to16(v > 0.0f ? v : 0.0f, st);
    }
    CHECK(nnb_rk_add_relu_st(g, NULL, y, b, NEL, st) == 0);
    CHECK_MSG(same16(y, ref, NEL), "add_relu st %d, block %d", st, g->block_size);
    /* relu_grad: dy = a masked by y = ref (the relu output above), dz accumulated onto b */
    memcpy(y, a, sizeof y);
    memcpy(dz, b, sizeof dz);
    static uint16_t dyref[NEL];
    for (int i = 0; i < NEL; i++) {
        float gv = from16(ref[i], st) > 0.0f ? from16(a[i], st) : 0.0f;
        dyref[i] = to16(gv, st);
        dzref[i] = to16(from16(b[i], st) + gv, st);
    }
    CHECK(nnb_rk_relu_grad_st(g, NULL, y, ref, dz, NEL, 1, st) == 0);
    CHECK_MSG(same16(y, dyref, NEL) && same16(dz, dzref, NEL), "relu_grad st %d, block %d", st, g->block_size);
}

/* avgpool forward and backward, and the inference BN with shortcut and ReLU; the forward also against the fp32
 * kernel on the widened input: within one rounding (u |y|). */
static void check_pool_bn_16(const nnb_rk_geometry *g, int st) {
    static uint16_t x[PLANES * HW], y[PLANES], ref[PLANES], dx[PLANES * HW], dxref[PLANES * HW];
    static float xf[PLANES * HW], yf[PLANES];
    fill16(x, PLANES * HW, "x", st);
    for (int p = 0; p < PLANES; p++) {
        float sum = 0.0f;
        for (int k = 0; k < HW; k++)
            sum += from16(x[p * HW + k], st);
        ref[p] = to16(sum / (float)HW, st);
    }
    CHECK(nnb_rk_avgpool_fwd_st(g, NULL, y, x, PLANES, HW, st) == 0);
    CHECK_MSG(same16(y, ref, PLANES), "avgpool_fwd st %d, block %d", st, g->block_size);
    for (int i = 0; i < PLANES * HW; i++)
        xf[i] = from16(x[i], st);
    CHECK(nnb_rk_avgpool_fwd(g, NULL, yf, xf, PLANES, HW) == 0);
    double u = st == NNB_RK_BF16 ? 1.0 / 256 : 1.0 / 2048;
    int rounded = 0, within = 1;
    for (int p = 0; p < PLANES; p++) {
        rounded |= from16(y[p], st) != yf[p];
        within &= fabs((double)from16(y[p], st) - yf[p]) <= u * fabs(yf[p]) + 1e-30;
    }
    CHECK_MSG(rounded && within, "avgpool st %d: not one rounding of the fp32 result", st);
    for (int i = 0; i < PLANES * HW; i++)
        dxref[i] = to16(from16(ref[i / HW], st) / (float)HW, st);
    CHECK(nnb_rk_avgpool_bwd_st(g, NULL, dx, ref, PLANES, HW, 0, st) == 0);
    CHECK_MSG(same16(dx, dxref, PLANES * HW), "avgpool_bwd st %d, block %d", st, g->block_size);

    enum { C = 67 }; /* (2, 67, 49) NCHW */
    static float gamma[C], beta[C], mean[C], var[C];
    static uint16_t z[PLANES * HW], out[PLANES * HW], outref[PLANES * HW];
    fill(gamma, C, "gamma"), fill(beta, C, "beta"), fill(mean, C, "mean"), fill(var, C, "var");
    for (int c = 0; c < C; c++)
        var[c] = fabsf(var[c]) + 0.1f;
    fill16(z, PLANES * HW, "z", st);
    for (int i = 0; i < PLANES * HW; i++) {
        int ch = (i / HW) % C;
        outref[i] = to16(nnb_rk_bn_add_relu_value(from16(x[i], st), from16(z[i], st), 1, 1, gamma[ch], beta[ch],
                                                  mean[ch], var[ch], 1e-5f),
                         st);
    }
    CHECK(nnb_rk_bn_infer_st(g, NULL, out, x, z, gamma, beta, mean, var, 1e-5f, 2, C, HW, 1, st) == 0);
    CHECK_MSG(same16(out, outref, PLANES * HW), "bn_infer st %d, block %d", st, g->block_size);
}

int main(void) {
    check_grid();
    for (size_t i = 0; i < sizeof geometries / sizeof geometries[0]; i++) {
        check_add_and_fanout(&geometries[i]);
        check_bias(&geometries[i]);
        check_avgpool(&geometries[i]);
        check_relu(&geometries[i]);
        check_bn_infer(&geometries[i]);
        for (int st = NNB_RK_BF16; st <= NNB_RK_F16; st++) {
            check_elementwise_16(&geometries[i], st);
            check_pool_bn_16(&geometries[i], st);
        }
    }
    check_bn_infer_limits();
    return nnb_test_finish();
}
