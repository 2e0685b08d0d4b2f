/*
 * The reference LSTM core against PyTorch's golden cases (every folder of tests/data/golden):
 * every output and gradient of every case, including the 2-layer and the
 * variable-length one.
 *
 * The golden arrays are torch.nn.LSTM computed in float64 from float32 inputs,
 * then rounded to float32. Tolerances (normwise relative error
 * max|got - golden| / max|golden|):
 *   float core:  1e-5  (fp32 rounding along chains of at most (I+H)*T*L ~ 1.5e3
 *                       products; observed <= ~1e-6)
 *   double core: 2e-7  (only the golden data's own float32 rounding, <= 6e-8, remains;
 *                       observed <= ~5e-8)
 */
#include "lstm_ref.h"
#include "test_support.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#define FLOAT_TOL 1e-5
#define DOUBLE_TOL 2e-7
#define MAX_CASES 32
#define MAX_LAYERS 4

typedef struct golden_case {
    char dir[512];
    int64_t T, B, I, H, L;
    int64_t lengths[64];
    int variable;
} golden_case;

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s)
        s[n] = 0;
    fclose(f);
    return s;
}

static int read_meta(golden_case *c) {
    char path[1024];
    int len = snprintf(path, sizeof path, "%s/meta.json", c->dir);
    char *text = len > 0 && (size_t)len < sizeof path ? read_text(path) : NULL;
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    free(text);
    CHECK_MSG(j != NULL, "cannot read %s", path);
    if (!j)
        return -1;
    const char *keys[] = {"seqLength", "miniBatch", "inputSize", "hiddenSize", "numLayers"};
    int64_t *dst[] = {&c->T, &c->B, &c->I, &c->H, &c->L};
    int ok = 1;
    for (int i = 0; i < 5; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, keys[i]);
        ok &= cJSON_IsNumber(v);
        *dst[i] = cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
    }
    const cJSON *lengths = cJSON_GetObjectItemCaseSensitive(j, "lengths");
    c->variable = cJSON_IsArray(lengths);
    if (c->variable) {
        ok &= cJSON_GetArraySize(lengths) == c->B && c->B <= 64;
        int b = 0;
        const cJSON *v;
        cJSON_ArrayForEach(v, lengths) if (b < 64) c->lengths[b++] = (int64_t)v->valuedouble;
    }
    ok &= c->L >= 1 && c->L <= MAX_LAYERS;
    cJSON_Delete(j);
    CHECK_MSG(ok, "%s: bad meta.json", path);
    return ok ? 0 : -1;
}

/* Read <dir>/<name>.npy as float32 with the expected shape; NULL (and a failure) otherwise. */
static float *load(const golden_case *c, const char *name, int ndim, int64_t d0, int64_t d1, int64_t d2) {
    char path[1024], err[256] = "path too long";
    int len = snprintf(path, sizeof path, "%s/%s.npy", c->dir, name);
    nnb_npy_array a;
    if (len < 0 || (size_t)len >= sizeof path || nnb_npy_read(path, &a, err, sizeof err)) {
        CHECK_MSG(0, "%s", err);
        return NULL;
    }
    const int64_t want[3] = {d0, d1, d2};
    int ok = a.dtype == NNB_F32 && a.ndim == ndim;
    for (int i = 0; ok && i < ndim; i++)
        ok = a.shape[i] == want[i];
    CHECK_MSG(ok, "%s: unexpected dtype or shape", path);
    if (!ok) {
        nnb_npy_free(&a);
        return NULL;
    }
    return (float *)a.data; /* malloc'ed: free() */
}

static double *to_double(const float *src, size_t n) {
    double *d = malloc(sizeof(double) * (n ? n : 1));
    for (size_t i = 0; i < n; i++)
        d[i] = src[i];
    return d;
}

static double rel_err_f(const float *got, const float *ref, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num = fmax(num, fabs((double)got[i] - (double)ref[i]));
        den = fmax(den, fabs((double)ref[i]));
    }
    return num / fmax(den, 1e-30);
}

static double rel_err_d(const double *got, const float *ref, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num = fmax(num, fabs(got[i] - (double)ref[i]));
        den = fmax(den, fabs((double)ref[i]));
    }
    return num / fmax(den, 1e-30);
}

/* One named array of a case: golden input or expected output, with our float and double results. */
typedef struct slot {
    char name[32];
    int ndim;
    int64_t shape[3];
    size_t n;
    float *golden;
    float *got_f;
    double *in_d, *got_d;
} slot;

enum { S_X, S_HX, S_CX, S_GRAD_Y, S_Y, S_HY, S_CY, S_DX, S_DHX, S_DCX, S_FIXED };
/* per layer k: w_ih, w_hh, b_ih, b_hh, dw_ih, dw_hh, db_ih, db_hh at S_FIXED + 8k + ... */
enum { P_W_IH, P_W_HH, P_B_IH, P_B_HH, P_DW_IH, P_DW_HH, P_DB_IH, P_DB_HH, P_COUNT };

static void init_slot(slot *s, const char *name, int ndim, int64_t d0, int64_t d1, int64_t d2) {
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->ndim = ndim;
    s->shape[0] = d0, s->shape[1] = d1, s->shape[2] = d2;
    s->n = (size_t)d0 * (size_t)(ndim > 1 ? d1 : 1) * (size_t)(ndim > 2 ? d2 : 1);
}

static void run_case(const golden_case *c) {
    const int64_t T = c->T, B = c->B, I = c->I, H = c->H, L = c->L;
    const int nslots = S_FIXED + P_COUNT * (int)L;
    slot s[S_FIXED + P_COUNT * MAX_LAYERS];
    init_slot(&s[S_X], "x", 3, T, B, I);
    init_slot(&s[S_HX], "hx", 3, L, B, H);
    init_slot(&s[S_CX], "cx", 3, L, B, H);
    init_slot(&s[S_GRAD_Y], "grad_y", 3, T, B, H);
    init_slot(&s[S_Y], "y", 3, T, B, H);
    init_slot(&s[S_HY], "hy", 3, L, B, H);
    init_slot(&s[S_CY], "cy", 3, L, B, H);
    init_slot(&s[S_DX], "dx", 3, T, B, I);
    init_slot(&s[S_DHX], "dhx", 3, L, B, H);
    init_slot(&s[S_DCX], "dcx", 3, L, B, H);
    for (int64_t k = 0; k < L; k++) {
        const char *names[P_COUNT] = {"w_ih", "w_hh", "b_ih", "b_hh", "dw_ih", "dw_hh", "db_ih", "db_hh"};
        for (int q = 0; q < P_COUNT; q++) {
            char name[32];
            snprintf(name, sizeof name, "%s_l%lld", names[q], (long long)k);
            int is_b = q == P_B_IH || q == P_B_HH || q == P_DB_IH || q == P_DB_HH;
            int64_t cols = (q == P_W_IH || q == P_DW_IH) ? (k == 0 ? I : H) : H;
            init_slot(&s[S_FIXED + P_COUNT * k + q], name, is_b ? 1 : 2, 4 * H, cols, 0);
        }
    }
    int ok = 1;
    for (int i = 0; i < nslots; i++) {
        s[i].golden = load(c, s[i].name, s[i].ndim, s[i].shape[0], s[i].shape[1], s[i].shape[2]);
        ok &= s[i].golden != NULL;
        s[i].got_f = calloc(s[i].n, sizeof(float));
        s[i].in_d = to_double(s[i].golden ? s[i].golden : s[i].got_f, s[i].n);
        s[i].got_d = calloc(s[i].n, sizeof(double));
    }
    if (ok) {
        float *wf[P_COUNT][MAX_LAYERS];
        double *wd[P_COUNT][MAX_LAYERS];
        for (int64_t k = 0; k < L; k++)
            for (int q = 0; q < P_COUNT; q++) {
                slot *p = &s[S_FIXED + P_COUNT * k + q];
                wf[q][k] = q < P_DW_IH ? p->golden : p->got_f;
                wd[q][k] = q < P_DW_IH ? p->in_d : p->got_d;
            }
        const int64_t *lengths = c->variable ? c->lengths : NULL;
        char err[256] = "";

        nnb_ref_lstm_f mf;
        nnb_ref_lstm_params_f pf = {wf[P_W_IH], wf[P_W_HH], wf[P_B_IH], wf[P_B_HH]};
        nnb_ref_lstm_grads_f gf = {wf[P_DW_IH], wf[P_DW_HH], wf[P_DB_IH], wf[P_DB_HH]};
        CHECK_MSG(nnb_ref_lstm_init_f(&mf, T, B, I, H, L, lengths, err, sizeof err) == 0, "%s", err);
        nnb_ref_lstm_forward_f(&mf, &pf, s[S_X].golden, s[S_HX].golden, s[S_CX].golden, s[S_Y].got_f, s[S_HY].got_f,
                               s[S_CY].got_f);
        CHECK(nnb_ref_lstm_backward_f(&mf, &pf, s[S_X].golden, s[S_GRAD_Y].golden, s[S_DX].got_f, s[S_DHX].got_f,
                                      s[S_DCX].got_f, &gf) == 0);
        nnb_ref_lstm_free_f(&mf);

        nnb_ref_lstm_d md;
        nnb_ref_lstm_params_d pd = {wd[P_W_IH], wd[P_W_HH], wd[P_B_IH], wd[P_B_HH]};
        nnb_ref_lstm_grads_d gd = {wd[P_DW_IH], wd[P_DW_HH], wd[P_DB_IH], wd[P_DB_HH]};
        CHECK_MSG(nnb_ref_lstm_init_d(&md, T, B, I, H, L, lengths, err, sizeof err) == 0, "%s", err);
        nnb_ref_lstm_forward_d(&md, &pd, s[S_X].in_d, s[S_HX].in_d, s[S_CX].in_d, s[S_Y].got_d, s[S_HY].got_d,
                               s[S_CY].got_d);
        CHECK(nnb_ref_lstm_backward_d(&md, &pd, s[S_X].in_d, s[S_GRAD_Y].in_d, s[S_DX].got_d, s[S_DHX].got_d,
                                      s[S_DCX].got_d, &gd) == 0);
        nnb_ref_lstm_free_d(&md);

        const char *base = strrchr(c->dir, '/') ? strrchr(c->dir, '/') + 1 : c->dir;
        double worst_f = 0, worst_d = 0;
        for (int i = 0; i < nslots; i++) {
            int is_output = i >= S_Y && i < S_FIXED;
            if (i >= S_FIXED)
                is_output = (i - S_FIXED) % P_COUNT >= P_DW_IH;
            if (!is_output)
                continue;
            double ef = rel_err_f(s[i].got_f, s[i].golden, s[i].n), ed = rel_err_d(s[i].got_d, s[i].golden, s[i].n);
            worst_f = fmax(worst_f, ef), worst_d = fmax(worst_d, ed);
            CHECK_MSG(ef <= FLOAT_TOL, "%s %s: float rel err %.3g > %g", base, s[i].name, ef, FLOAT_TOL);
            CHECK_MSG(ed <= DOUBLE_TOL, "%s %s: double rel err %.3g > %g", base, s[i].name, ed, DOUBLE_TOL);
        }
        printf("%-28s L=%lld %s  worst rel err: float %.2e, double %.2e\n", base, (long long)L,
               c->variable ? "variable" : "fixed   ", worst_f, worst_d);
    }
    for (int i = 0; i < nslots; i++) {
        free(s[i].golden);
        free(s[i].got_f);
        free(s[i].in_d);
        free(s[i].got_d);
    }
}

static int by_name(const void *a, const void *b) {
    return strcmp(((const golden_case *)a)->dir, ((const golden_case *)b)->dir);
}

int main(void) {
    char root[512];
    snprintf(root, sizeof root, "%s/golden", nnb_test_env("NNBENCH_TEST_DATA"));
    DIR *dir = opendir(root);
    CHECK_MSG(dir != NULL, "cannot open %s", root);
    static golden_case cases[MAX_CASES];
    int n = 0;
    for (struct dirent *e; dir && (e = readdir(dir)) != NULL;) {
        if (e->d_name[0] == '.' || n == MAX_CASES)
            continue;
        int len = snprintf(cases[n].dir, sizeof cases[n].dir, "%s/%s", root, e->d_name);
        CHECK_MSG(len > 0 && (size_t)len < sizeof cases[n].dir, "path too long: %s/%s", root, e->d_name);
        n++;
    }
    if (dir)
        closedir(dir);
    qsort(cases, (size_t)n, sizeof *cases, by_name);

    int multi_layer = 0, variable = 0;
    for (int i = 0; i < n; i++) {
        if (read_meta(&cases[i]))
            continue;
        multi_layer |= cases[i].L > 1;
        variable |= cases[i].variable;
        run_case(&cases[i]);
    }
    CHECK_MSG(n >= 5, "expected the 5 golden cases in %s, found %d", root, n);
    CHECK_MSG(multi_layer && variable, "golden data lacks a multi-layer or a variable-length case");
    return nnb_test_finish();
}
