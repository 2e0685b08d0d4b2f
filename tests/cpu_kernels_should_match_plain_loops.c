/*
 * nnb_cpu_kernels against plain loops and libm.
 *   GEMM: every transpose pair, beta 0 and 1, awkward sizes (edges of the 8x32
 *     tile, K beyond one 256 block), own AVX-512 (when the CPU has it), packed-B,
 *     folded bias, column slices and CBLAS versus the plain double-accumulating loop. Tolerance: normwise
 *     relative error 2e-6 (fp32 sums of <= 600 terms: ~sqrt(K) eps).
 *   Vector exp/tanh/sigmoid, every ISA this CPU runs, over a dense grid
 *     (step 2^-12 on [-20, 20], step 2^-6 on [-87, 88] for exp) versus libm
 *     in double: the bounds documented in cpu_kernels.h (exp 2 ulp; tanh 3 ulp
 *     and 2e-7 absolute; sigmoid 4 ulp where >= 1e-30 and 2e-7 absolute).
 *   LSTM cell passes (vector per ISA, unfused, scalar fused) versus the double
 *     version of kernels/lstm_cell_math.h, on odd H and column slices that are
 *     not multiples of 16. Tolerance 2e-6 absolute (values are O(1)).
 */
#include "cpu_kernels.h"
#include "lstm_cell_math.h"
#include "test_support.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

static float frand(unsigned *s) {
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) & 0xFFFF) / 32768.0f - 1.0f;
}

static float *rand_array(size_t n, unsigned seed) {
    float *a = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++)
        a[i] = frand(&seed);
    return a;
}

static double rel_err(const float *got, const float *ref, size_t n) {
    double m = 0, r = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - ref[i]);
        if (d > m || isnan(d))
            m = isnan(d) ? INFINITY : d;
        if (fabs(ref[i]) > r)
            r = fabs(ref[i]);
    }
    return m / (r > 1e-30 ? r : 1e-30);
}

static void check_gemm_case(nnb_gemm_impl impl, char ta, char tb, int64_t M, int64_t N, int64_t K, float beta) {
    int64_t lda = (ta == 'N' ? K : M) + 3, ldb = (tb == 'N' ? N : K) + 5, ldc = N + 2;
    size_t na = (size_t)((ta == 'N' ? M : K) * lda), nb = (size_t)((tb == 'N' ? K : N) * ldb), nc = (size_t)(M * ldc);
    float *A = rand_array(na, 1u + (unsigned)M), *B = rand_array(nb, 2u + (unsigned)N), *C0 = rand_array(nc, 3u);
    float *ref = malloc(sizeof(float) * nc), *got = malloc(sizeof(float) * nc), *gotp = malloc(sizeof(float) * nc);
    memcpy(ref, C0, sizeof(float) * nc);
    memcpy(got, C0, sizeof(float) * nc);
    memcpy(gotp, C0, sizeof(float) * nc);
    nnb_sgemm(NNB_GEMM_PLAIN, 1, ta, tb, M, N, K, A, lda, B, ldb, beta, ref, ldc);
    nnb_sgemm(impl, 2, ta, tb, M, N, K, A, lda, B, ldb, beta, got, ldc);
    nnb_packed_b p;
    CHECK(nnb_pack_b(&p, impl, tb, K, N, B, ldb) == 0);
    nnb_sgemm_packed(2, ta, M, A, lda, &p, beta, gotp, ldc);
    if (beta == 0.0f) { /* folded bias: C = op(A) op(B) + 1 bias^T */
        float *bias = rand_array((size_t)N, 4u), *gotb = malloc(sizeof(float) * nc), *refb = malloc(sizeof(float) * nc);
        memcpy(gotb, C0, sizeof(float) * nc);
        memcpy(refb, C0, sizeof(float) * nc);
        for (int64_t i = 0; i < M; i++)
            memcpy(refb + i * ldc, bias, sizeof(float) * (size_t)N);
        nnb_sgemm(NNB_GEMM_PLAIN, 1, ta, tb, M, N, K, A, lda, B, ldb, 1.0f, refb, ldc);
        nnb_sgemm_packed_bias(2, ta, M, A, lda, &p, bias, gotb, ldc);
        double eb = rel_err(gotb, refb, nc);
        CHECK_MSG(eb <= 2e-6, "gemm+bias impl %d %c%c M%lld N%lld K%lld: err %.3g", (int)impl, ta, tb, (long long)M,
                  (long long)N, (long long)K, eb);
        free(bias), free(gotb), free(refb);
    }
    nnb_packed_b_free(&p);
    double e1 = rel_err(got, ref, nc), e2 = rel_err(gotp, ref, nc);
    CHECK_MSG(e1 <= 2e-6 && e2 <= 2e-6, "gemm impl %d %c%c M%lld N%lld K%lld beta %g: err %.3g packed %.3g", (int)impl,
              ta, tb, (long long)M, (long long)N, (long long)K, beta, e1, e2);
    free(A), free(B), free(C0), free(ref), free(got), free(gotp);
}

static void test_gemm_column_slices(nnb_gemm_impl impl);
static void test_gemm_shared_a(nnb_gemm_impl impl);

static void test_gemm(void) {
    const int64_t sizes[][3] = {{1, 1, 1},     {8, 32, 16},  {7, 33, 5},     {13, 50, 300},  {70, 97, 257},
                                {64, 64, 512}, {3, 200, 40}, {150, 17, 600}, {300, 40, 600}, {520, 70, 33}};
    const char tr[] = {'N', 'T'};
    for (int impl = 0; impl < 2; impl++) {
        if (!nnb_gemm_impl_available((nnb_gemm_impl)impl)) {
            printf("gemm impl %d not available here: skipped\n", impl);
            continue;
        }
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
            for (int a = 0; a < 2; a++)
                for (int b = 0; b < 2; b++)
                    for (int beta = 0; beta < 2; beta++)
                        check_gemm_case((nnb_gemm_impl)impl, tr[a], tr[b], sizes[s][0], sizes[s][1], sizes[s][2],
                                        (float)beta);
        test_gemm_column_slices((nnb_gemm_impl)impl);
        test_gemm_shared_a((nnb_gemm_impl)impl);
    }
}

/* Column slices of a prepacked product touch only their columns, and two
 * operands sharing one A packing (nnb_sgemm_packed_cols_multi) give the plain results. */
static void test_gemm_column_slices(nnb_gemm_impl impl) {
    const int64_t M = 13, N = 75, K = 300, ldc = N;
    for (int tb = 0; tb < 2; tb++) {
        char t = tb ? 'T' : 'N';
        int64_t ldb = t == 'N' ? N : K;
        float *A = rand_array((size_t)(M * K), 5), *B0 = rand_array((size_t)(K * N), 6),
              *B1 = rand_array((size_t)(K * N), 7);
        float *ref0 = rand_array((size_t)(M * N), 8), *ref1 = rand_array((size_t)(M * N), 9);
        float *got0 = malloc(sizeof(float) * (size_t)(M * N)), *got1 = malloc(sizeof(float) * (size_t)(M * N));
        memcpy(got0, ref0, sizeof(float) * (size_t)(M * N));
        memcpy(got1, ref1, sizeof(float) * (size_t)(M * N));
        nnb_packed_b p0, p1;
        CHECK(nnb_pack_b(&p0, impl, t, K, N, B0, ldb) == 0 && nnb_pack_b(&p1, impl, t, K, N, B1, ldb) == 0);
        /* the middle slice alone: columns outside [32, 64) must stay as they were */
        nnb_sgemm_packed_cols('N', M, A, K, &p0, 32, 64, 1.0f, got0, ldc);
        int untouched = 1;
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++)
                if ((j < 32 || j >= 64) && got0[i * ldc + j] != ref0[i * ldc + j])
                    untouched = 0;
        CHECK_MSG(untouched, "impl %d %c: a column slice wrote outside [32, 64)", (int)impl, t);
        nnb_sgemm_packed_cols('N', M, A, K, &p0, 0, 32, 1.0f, got0, ldc);
        nnb_sgemm_packed_cols('N', M, A, K, &p0, 64, N, 1.0f, got0, ldc);
        const nnb_packed_b *ps[2] = {&p0, &p1};
        float *cs[2] = {got1, got1}; /* second call below uses distinct outputs */
        float *tmp = malloc(sizeof(float) * (size_t)(M * N));
        memcpy(tmp, ref0, sizeof(float) * (size_t)(M * N));
        cs[0] = tmp;
        cs[1] = got1;
        nnb_sgemm_packed_cols_multi('N', M, A, K, 2, ps, cs, 0, 64, 1.0f, ldc);
        nnb_sgemm_packed_cols_multi('N', M, A, K, 2, ps, cs, 64, N, 1.0f, ldc);
        nnb_sgemm(NNB_GEMM_PLAIN, 1, 'N', t, M, N, K, A, K, B0, ldb, 1.0f, ref0, ldc);
        nnb_sgemm(NNB_GEMM_PLAIN, 1, 'N', t, M, N, K, A, K, B1, ldb, 1.0f, ref1, ldc);
        size_t n = (size_t)(M * N);
        double e0 = rel_err(got0, ref0, n), e1 = rel_err(tmp, ref0, n), e2 = rel_err(got1, ref1, n);
        CHECK_MSG(e0 <= 2e-6 && e1 <= 2e-6 && e2 <= 2e-6, "impl %d %c slices: %.3g %.3g %.3g", (int)impl, t, e0, e1,
                  e2);
        if (impl == NNB_GEMM_OWN_AVX512) { /* A packed once in two panel ranges, then two column slices */
            float *Ap = malloc(sizeof(float) * nnb_packed_a_floats(M, K)), *gota = malloc(sizeof(float) * n);
            memcpy(gota, got0, sizeof(float) * n);
            int64_t panels = (M + NNB_GEMM_MR - 1) / NNB_GEMM_MR;
            nnb_pack_a_panels('N', M, K, A, K, 0, 1, Ap);
            nnb_pack_a_panels('N', M, K, A, K, 1, panels, Ap);
            nnb_sgemm_prepacked_cols(M, Ap, &p0, 0, 32, 0.0f, gota, ldc);
            nnb_sgemm_prepacked_cols(M, Ap, &p0, 32, N, 0.0f, gota, ldc);
            for (size_t i = 0; i < n; i++)
                ref0[i] = 0.0f;
            nnb_sgemm(NNB_GEMM_PLAIN, 1, 'N', t, M, N, K, A, K, B0, ldb, 0.0f, ref0, ldc);
            double ea = rel_err(gota, ref0, n);
            CHECK_MSG(ea <= 2e-6, "prepacked A %c: err %.3g", t, ea);
            free(Ap), free(gota);
        }
        nnb_packed_b_free(&p0), nnb_packed_b_free(&p1);
        free(A), free(B0), free(B1), free(ref0), free(ref1), free(got0), free(got1), free(tmp);
    }
}

/* Two products sharing one A (nnb_sgemm_shared_a), as the weight gradients use it. */
static void test_gemm_shared_a(nnb_gemm_impl impl) {
    const int64_t M = 300, K = 270, N0 = 45, N1 = 70;
    float *A = rand_array((size_t)(K * M), 21), *B0 = rand_array((size_t)(K * N0), 22);
    float *B1 = rand_array((size_t)(N1 * K), 23);
    for (int beta = 0; beta < 2; beta++) {
        float *C0 = rand_array((size_t)(M * N0), 24), *C1 = rand_array((size_t)(M * N1), 25);
        float *R0 = malloc(sizeof(float) * (size_t)(M * N0)), *R1 = malloc(sizeof(float) * (size_t)(M * N1));
        memcpy(R0, C0, sizeof(float) * (size_t)(M * N0));
        memcpy(R1, C1, sizeof(float) * (size_t)(M * N1));
        nnb_sgemm(NNB_GEMM_PLAIN, 1, 'T', 'N', M, N0, K, A, M, B0, N0, (float)beta, R0, N0);
        nnb_sgemm(NNB_GEMM_PLAIN, 1, 'T', 'T', M, N1, K, A, M, B1, K, (float)beta, R1, N1);
        nnb_gemm_b_operand ops[2] = {{'N', N0, B0, N0, C0, N0}, {'T', N1, B1, K, C1, N1}};
        nnb_sgemm_shared_a(impl, 2, 'T', M, K, A, M, 2, ops, (float)beta);
        double e0 = rel_err(C0, R0, (size_t)(M * N0)), e1 = rel_err(C1, R1, (size_t)(M * N1));
        CHECK_MSG(e0 <= 2e-6 && e1 <= 2e-6, "shared A impl %d beta %d: %.3g %.3g", (int)impl, beta, e0, e1);
        free(C0), free(C1), free(R0), free(R1);
    }
    free(A), free(B0), free(B1);
}

/* |got - ref| in units of float ulp at ref. */
static double ulps(float got, double ref) {
    double ulp = ldexp(1.0, ilogb(ref == 0 ? FLT_MIN : ref) - 23);
    if (fabs(ref) < FLT_MIN)
        ulp = ldexp(1.0, -149);
    return fabs((double)got - ref) / ulp;
}

static double sigmoid_d(double x) { return 1.0 / (1.0 + exp(-x)); }

static void test_vector_math(nnb_cpu_isa isa) {
    int64_t n = 2 * 20 * 4096 + 1;
    float *x = malloc(sizeof(float) * (size_t)n), *y = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++)
        x[i] = -20.0f + (float)i / 4096.0f;
    double max_ulp_t = 0, max_abs_t = 0, max_ulp_s = 0, max_abs_s = 0, max_ulp_e = 0;
    nnb_vtanhf(isa, x, y, n);
    for (int64_t i = 0; i < n; i++) {
        double r = tanh((double)x[i]);
        max_abs_t = fmax(max_abs_t, fabs(y[i] - r));
        max_ulp_t = fmax(max_ulp_t, ulps(y[i], r));
    }
    nnb_vsigmoidf(isa, x, y, n);
    for (int64_t i = 0; i < n; i++) {
        double r = sigmoid_d(x[i]);
        max_abs_s = fmax(max_abs_s, fabs(y[i] - r));
        if (r >= 1e-30)
            max_ulp_s = fmax(max_ulp_s, ulps(y[i], r));
    }
    int64_t ne = (87 + 88) * 64 + 1;
    for (int64_t i = 0; i < ne; i++)
        x[i] = -87.0f + (float)i / 64.0f;
    nnb_vexpf(isa, x, y, ne);
    for (int64_t i = 0; i < ne; i++)
        max_ulp_e = fmax(max_ulp_e, ulps(y[i], exp((double)x[i])));
    printf("%s: exp %.2f ulp; tanh %.2f ulp, %.3g abs; sigmoid %.2f ulp, %.3g abs\n", nnb_cpu_isa_name(isa), max_ulp_e,
           max_ulp_t, max_abs_t, max_ulp_s, max_abs_s);
    CHECK_MSG(max_ulp_e <= 2, "%s exp: %.2f ulp > 2", nnb_cpu_isa_name(isa), max_ulp_e);
    CHECK_MSG(max_ulp_t <= 3 && max_abs_t <= 2e-7, "%s tanh: %.2f ulp, %.3g abs", nnb_cpu_isa_name(isa), max_ulp_t,
              max_abs_t);
    CHECK_MSG(max_ulp_s <= 4 && max_abs_s <= 2e-7, "%s sigmoid: %.2f ulp, %.3g abs", nnb_cpu_isa_name(isa), max_ulp_s,
              max_abs_s);
    /* odd lengths exercise the partial vectors */
    float xs[5] = {-3, -0.25f, 0, 0.3f, 9}, ys[5];
    nnb_vtanhf(isa, xs, ys, 5);
    for (int i = 0; i < 5; i++)
        CHECK_NEAR(ys[i], tanh(xs[i]), 4e-7);
    /* tiny arguments keep tanh's relative accuracy; huge ones saturate; a NaN stays a NaN (a diverging model
     * must not be masked) */
    float sx[9] = {1e-30f, -1e-20f, 3e-8f, -1e-4f, 1e3f, -1e3f, INFINITY, -INFINITY, NAN}, sy[9];
    nnb_vtanhf(isa, sx, sy, 9);
    for (int i = 0; i < 4; i++)
        CHECK_MSG(ulps(sy[i], tanh((double)sx[i])) <= 3, "%s tanh(%g) = %g", nnb_cpu_isa_name(isa), sx[i], sy[i]);
    for (int i = 4; i < 8; i++)
        CHECK_MSG(sy[i] == (sx[i] > 0 ? 1.0f : -1.0f), "%s tanh(%g) = %g", nnb_cpu_isa_name(isa), sx[i], sy[i]);
    CHECK_MSG(isnan(sy[8]), "%s tanh(NaN) = %g", nnb_cpu_isa_name(isa), sy[8]);
    nnb_vsigmoidf(isa, sx, sy, 9);
    CHECK_MSG(sy[6] == 1.0f && sy[7] >= 0.0f && sy[7] < 1e-30f && isnan(sy[8]), "%s sigmoid(inf, -inf, NaN) = %g %g %g",
              nnb_cpu_isa_name(isa), sy[6], sy[7], sy[8]);
    nnb_vexpf(isa, sx, sy, 9);
    CHECK_MSG(isnan(sy[8]), "%s exp(NaN) = %g", nnb_cpu_isa_name(isa), sy[8]);
    free(x), free(y);
}

typedef void (*fwd_fn)(const nnb_cell_fwd_args *, int64_t, int64_t);
typedef void (*bwd_fn)(const nnb_cell_bwd_args *, int64_t, int64_t);

static nnb_cpu_isa current_isa;
static void fwd_vec(const nnb_cell_fwd_args *a, int64_t j0, int64_t j1) { nnb_cell_fwd_vector(current_isa, a, j0, j1); }
static void bwd_vec(const nnb_cell_bwd_args *a, int64_t j0, int64_t j1) { nnb_cell_bwd_vector(current_isa, a, j0, j1); }

/* The double-precision cell of lstm_cell_math.h on the same inputs. */
static void cell_reference(int64_t rows, int64_t H, const float *pre, const float *cp, const float *dh,
                           const float *dcin, double *act, double *c, double *h, double *dg, double *dcp) {
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < H; j++) {
            const float *p = pre + r * 4 * H;
            double gi = p[j], gf = p[H + j], gg = p[2 * H + j], go = p[3 * H + j];
            int64_t e = r * H + j;
            nnb_lstm_cell_fwdd(&gi, &gf, &gg, &go, cp[e], &c[e], &h[e]);
            double *a = act + r * 4 * H, *d = dg + r * 4 * H;
            a[j] = gi, a[H + j] = gf, a[2 * H + j] = gg, a[3 * H + j] = go;
            nnb_lstm_cell_bwdd(gi, gf, gg, go, cp[e], c[e], dh[e], dcin[e], &d[j], &d[H + j], &d[2 * H + j],
                               &d[3 * H + j], &dcp[e]);
        }
}

static double max_diff(const float *a, const double *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, isnan(a[i]) ? INFINITY : fabs(a[i] - b[i]));
    return m;
}

static void test_cell(const char *label, fwd_fn fwd, bwd_fn bwd) {
    const int64_t rows = 3, H = 37, G = 4 * H;
    size_t ng = (size_t)(rows * G), nh = (size_t)(rows * H);
    float *pre0 = rand_array(ng, 11), *add = rand_array(ng, 12), *b0 = rand_array((size_t)G, 13),
          *b1 = rand_array((size_t)G, 14), *cp = rand_array(nh, 15), *dh0 = rand_array(nh, 16),
          *dh1 = rand_array(nh, 17), *dcin = rand_array(nh, 18);
    for (size_t i = 0; i < ng; i++)
        pre0[i] *= 4.0f; /* reach the saturated ranges too */
    float *pre = malloc(sizeof(float) * ng), *gates = malloc(sizeof(float) * ng), *dg = malloc(sizeof(float) * ng);
    float *c = malloc(sizeof(float) * nh), *h = malloc(sizeof(float) * nh), *dcp = malloc(sizeof(float) * nh);
    float *dh = malloc(sizeof(float) * nh), *ws = malloc(sizeof(float) * nh * 2),
          *dc_alias = malloc(sizeof(float) * nh);
    for (size_t i = 0; i < ng; i++)
        pre[i] = ((pre0[i] + add[i]) + b0[i % (size_t)G]) + b1[i % (size_t)G];
    for (size_t i = 0; i < nh; i++)
        dh[i] = dh0[i] + dh1[i];
    double *ract = malloc(sizeof(double) * ng), *rdg = malloc(sizeof(double) * ng);
    double *rc = malloc(sizeof(double) * nh), *rh = malloc(sizeof(double) * nh), *rdcp = malloc(sizeof(double) * nh);
    cell_reference(rows, H, pre, cp, dh, dcin, ract, rc, rh, rdg, rdcp);

    memcpy(gates, pre0, sizeof(float) * ng);
    nnb_cell_fwd_args fa = {rows, H, gates, add, b0, b1, cp, c, h};
    fwd(&fa, 0, 5); /* column slices as threads would split them, not multiples of 16 */
    fwd(&fa, 5, 21);
    fwd(&fa, 21, H);
    double ef = fmax(fmax(max_diff(gates, ract, ng), max_diff(c, rc, nh)), max_diff(h, rh, nh));
    memcpy(dc_alias, dcin, sizeof(float) * nh);
    nnb_cell_bwd_args ba = {rows, H, gates, cp, c, dh0, dh1, dc_alias, dg, dc_alias, ws}; /* dc_prev aliases dc_in */
    bwd(&ba, 0, 17);
    bwd(&ba, 17, H);
    double eb = fmax(max_diff(dg, rdg, ng), max_diff(dc_alias, rdcp, nh));
    printf("cell %s: forward max abs err %.3g, backward %.3g\n", label, ef, eb);
    CHECK_MSG(ef <= 2e-6 && eb <= 2e-6, "cell %s: forward err %.3g, backward err %.3g", label, ef, eb);
    free(pre0), free(add), free(b0), free(b1), free(cp), free(dh0), free(dh1), free(dcin), free(pre), free(gates);
    free(dg), free(c), free(h), free(dcp), free(dh), free(ws), free(dc_alias), free(ract), free(rdg), free(rc);
    free(rh), free(rdcp);
}

int main(void) {
    nnb_cpu_isa top = nnb_cpu_isa_detect();
    printf("cpu isa: %s\n", nnb_cpu_isa_name(top));
    test_gemm();
    test_cell("scalar fused", nnb_cell_fwd_scalar, nnb_cell_bwd_scalar);
    test_cell("unfused", nnb_cell_fwd_unfused, nnb_cell_bwd_unfused);
    for (int isa = NNB_ISA_SCALAR; isa <= (int)top; isa++) {
        current_isa = (nnb_cpu_isa)isa;
        test_vector_math(current_isa);
        char label[64];
        snprintf(label, sizeof label, "vector %s", nnb_cpu_isa_name(current_isa));
        test_cell(label, fwd_vec, bwd_vec);
    }
    return nnb_test_finish();
}
