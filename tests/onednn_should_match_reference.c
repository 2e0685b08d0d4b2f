/*
 * The oneDNN runners (cudnn, cudnn_dropout, cudnn_layernorm, vl_cudnn) must give the outputs and
 * every gradient of a plain LSTM (PyTorch nn.LSTM semantics) on the same seeded inputs.
 *
 * Independent source: a plain double-precision LSTM forward + BPTT written here from the
 * per-element math of kernels/lstm_cell_math.h (variable lengths with packed-sequence semantics,
 * dropout masks from nnb_dropout_mask), run on the runner's own params(). When the reference
 * plugin's runners (py, vl_py, py_dropout) are built too, the runners are also checked against them
 * with nnb_check_runner.
 *
 * Tolerance: nnb_default_tolerance (normwise relative error, max(1e-4, 8 eps sqrt((I+H) T L))):
 * oneDNN computes in f32 with reassociated GEMM sums; the reference accumulates in double.
 */
#include "lstm_cell_math.h"
#include "lstm_data.h"
#include "nnb_support.h"
#include "test_support.h"

#include <stdlib.h>
#include <string.h>

typedef struct plain_in {
    int64_t T, B, I, H, L;
    const int64_t *lengths; /* NULL: all T */
    const float *x, *hx, *cx, *grad_y;
    const float *w_ih[8], *w_hh[8], *b_ih[8], *b_hh[8];
    float dropout_p; /* 0: none; else masks on the inputs of layers >= 1 */
    uint64_t seed;
} plain_in;

typedef struct plain_out {
    double *y, *hy, *cy, *dx, *dhx, *dcx; /* (T,B,H) (L,B,H) (L,B,H) (T,B,I) (L,B,H) (L,B,H) */
    double *dw_ih[8], *dw_hh[8], *db[8];
} plain_out;

static double *dalloc(size_t n) { return (double *)calloc(n ? n : 1, sizeof(double)); }

static int active(const plain_in *p, int64_t t, int64_t b) { return !p->lengths || t < p->lengths[b]; }

/* Plain LSTM forward + backward (loss = sum(y * grad_y)), in double. */
static void plain_lstm(const plain_in *p, plain_out *o) {
    const int64_t T = p->T, B = p->B, H = p->H, L = p->L, G = 4 * H;
    double *in = dalloc((size_t)(T * B * (p->I > H ? p->I : H)));   /* layer input (T, B, in) */
    double **acts = (double **)calloc((size_t)L, sizeof(double *)); /* [L] (T, B, 4H) activated gates */
    double **cs = (double **)calloc((size_t)L, sizeof(double *));   /* [L] (T+1, B, H) cell, c[0] = cx */
    double **hs = (double **)calloc((size_t)L, sizeof(double *));   /* [L] (T+1, B, H) hidden */
    double **ins = (double **)calloc((size_t)L, sizeof(double *));  /* [L] (T, B, in_k) layer inputs */
    float **masks = (float **)calloc((size_t)L, sizeof(float *));
    o->y = dalloc((size_t)(T * B * H)), o->dx = dalloc((size_t)(T * B * p->I));
    o->hy = dalloc((size_t)(L * B * H)), o->cy = dalloc((size_t)(L * B * H));
    o->dhx = dalloc((size_t)(L * B * H)), o->dcx = dalloc((size_t)(L * B * H));
    for (int64_t e = 0; e < T * B * p->I; e++)
        in[e] = p->x[e];
    for (int64_t k = 0; k < L; k++) {
        const int64_t in_k = k == 0 ? p->I : H;
        if (k > 0 && p->dropout_p > 0) {
            masks[k] = (float *)calloc((size_t)(T * B * H), sizeof(float));
            nnb_dropout_mask(masks[k], (size_t)(T * B * H), p->seed, (int)k, p->dropout_p);
            for (int64_t e = 0; e < T * B * H; e++)
                in[e] *= masks[k][e];
        }
        ins[k] = dalloc((size_t)(T * B * in_k));
        memcpy(ins[k], in, sizeof(double) * (size_t)(T * B * in_k));
        acts[k] = dalloc((size_t)(T * B * G));
        cs[k] = dalloc((size_t)((T + 1) * B * H)), hs[k] = dalloc((size_t)((T + 1) * B * H));
        for (int64_t e = 0; e < B * H; e++)
            hs[k][e] = p->hx[k * B * H + e], cs[k][e] = p->cx[k * B * H + e];
        for (int64_t t = 0; t < T; t++)
            for (int64_t b = 0; b < B; b++) {
                double *hp = hs[k] + (t * B + b) * H, *cp = cs[k] + (t * B + b) * H;
                double *hn = hs[k] + ((t + 1) * B + b) * H, *cn = cs[k] + ((t + 1) * B + b) * H;
                if (!active(p, t, b)) { /* finished: carry the state, output zero */
                    memcpy(hn, hp, sizeof(double) * (size_t)H), memcpy(cn, cp, sizeof(double) * (size_t)H);
                    for (int64_t j = 0; j < H; j++)
                        in[(t * B + b) * H + j] = 0;
                    continue;
                }
                double *a = acts[k] + (t * B + b) * G;
                for (int64_t r = 0; r < G; r++) {
                    double s = (double)p->b_ih[k][r] + p->b_hh[k][r];
                    for (int64_t c = 0; c < in_k; c++)
                        s += p->w_ih[k][r * in_k + c] * ins[k][(t * B + b) * in_k + c];
                    for (int64_t c = 0; c < H; c++)
                        s += p->w_hh[k][r * H + c] * hp[c];
                    a[r] = s;
                }
                for (int64_t j = 0; j < H; j++) {
                    nnb_lstm_cell_fwdd(&a[j], &a[H + j], &a[2 * H + j], &a[3 * H + j], cp[j], &cn[j], &hn[j]);
                    in[(t * B + b) * H + j] = hn[j]; /* next layer's input (in is reused: in_k is read above) */
                }
            }
        for (int64_t b = 0; b < B; b++)
            for (int64_t j = 0; j < H; j++) {
                o->hy[(k * B + b) * H + j] = hs[k][(T * B + b) * H + j];
                o->cy[(k * B + b) * H + j] = cs[k][(T * B + b) * H + j];
            }
    }
    memcpy(o->y, in, sizeof(double) * (size_t)(T * B * H));

    double *dy = dalloc((size_t)(T * B * H)); /* gradient reaching the current layer's output */
    for (int64_t e = 0; e < T * B * H; e++)
        dy[e] = p->grad_y[e];
    double *dh = dalloc((size_t)(B * H)), *dc = dalloc((size_t)(B * H)), *da = dalloc((size_t)G);
    for (int64_t k = L - 1; k >= 0; k--) {
        const int64_t in_k = k == 0 ? p->I : H;
        double *din = dalloc((size_t)(T * B * in_k));
        o->dw_ih[k] = dalloc((size_t)(G * in_k)), o->dw_hh[k] = dalloc((size_t)(G * H)), o->db[k] = dalloc((size_t)G);
        memset(dh, 0, sizeof(double) * (size_t)(B * H)), memset(dc, 0, sizeof(double) * (size_t)(B * H));
        for (int64_t t = T - 1; t >= 0; t--)
            for (int64_t b = 0; b < B; b++) {
                if (!active(p, t, b))
                    continue; /* state carried unchanged: gradient passes through */
                const double *a = acts[k] + (t * B + b) * G, *cp = cs[k] + (t * B + b) * H;
                const double *cn = cs[k] + ((t + 1) * B + b) * H, *hp = hs[k] + (t * B + b) * H;
                double *dhb = dh + b * H, *dcb = dc + b * H;
                for (int64_t j = 0; j < H; j++) {
                    double dcp;
                    nnb_lstm_cell_bwdd(a[j], a[H + j], a[2 * H + j], a[3 * H + j], cp[j], cn[j],
                                       dy[(t * B + b) * H + j] + dhb[j], dcb[j], &da[j], &da[H + j], &da[2 * H + j],
                                       &da[3 * H + j], &dcp);
                    dcb[j] = dcp;
                }
                for (int64_t c = 0; c < H; c++)
                    dhb[c] = 0;
                for (int64_t r = 0; r < G; r++) {
                    o->db[k][r] += da[r];
                    for (int64_t c = 0; c < in_k; c++) {
                        o->dw_ih[k][r * in_k + c] += da[r] * ins[k][(t * B + b) * in_k + c];
                        din[(t * B + b) * in_k + c] += p->w_ih[k][r * in_k + c] * da[r];
                    }
                    for (int64_t c = 0; c < H; c++) {
                        o->dw_hh[k][r * H + c] += da[r] * hp[c];
                        dhb[c] += p->w_hh[k][r * H + c] * da[r];
                    }
                }
            }
        memcpy(o->dhx + k * B * H, dh, sizeof(double) * (size_t)(B * H));
        memcpy(o->dcx + k * B * H, dc, sizeof(double) * (size_t)(B * H));
        if (k == 0) {
            memcpy(o->dx, din, sizeof(double) * (size_t)(T * B * p->I));
        } else {
            for (int64_t e = 0; e < T * B * H; e++)
                dy[e] = din[e] * (masks[k] ? masks[k][e] : 1.0);
        }
        free(din);
    }
    for (int64_t k = 0; k < L; k++)
        free(acts[k]), free(cs[k]), free(hs[k]), free(ins[k]), free(masks[k]);
    free(acts), free(cs), free(hs), free(ins), free(masks), free(in), free(dy), free(dh), free(dc), free(da);
}

static void plain_free(plain_out *o, int64_t L) {
    free(o->y), free(o->hy), free(o->cy), free(o->dx), free(o->dhx), free(o->dcx);
    for (int64_t k = 0; k < L; k++)
        free(o->dw_ih[k]), free(o->dw_hh[k]), free(o->db[k]);
}

static const nnb_tensor *find(const nnb_tensor_list *l, const char *name) {
    for (int i = 0; i < l->count; i++)
        if (!strcmp(l->items[i].name, name))
            return &l->items[i];
    return NULL;
}

static void compare(const char *runner, const nnb_tensor_list *outs, const char *name, const double *ref, int64_t n,
                    double tol) {
    const nnb_tensor *t = find(outs, name);
    CHECK_MSG(t != NULL, "%s gives no %s", runner, name);
    if (!t)
        return;
    const float *got = (const float *)t->data;
    double max_ref = 0, max_err = 0;
    for (int64_t e = 0; e < n; e++) {
        double diff = fabs((double)got[e] - ref[e]);
        if (!(diff <= max_err))
            max_err = diff; /* NaN sticks */
        if (fabs(ref[e]) > max_ref)
            max_ref = fabs(ref[e]);
    }
    double rel = max_err / (max_ref > 1e-30 ? max_ref : 1e-30);
    CHECK_MSG(rel <= tol, "%s %s: rel err %.3g > tol %.3g", runner, name, rel, tol);
}

/* Run the runner once and compare every output with the plain LSTM on its own params(). */
static void check_plain(const nnb_registry *reg, const char *name, const nnb_config *cfg, float dropout_p,
                        int with_backward) {
    const nnb_runner_desc *d = nnb_test_runner(reg, name);
    if (!d)
        return;
    char err[512] = "";
    void *model = d->create(cfg, err, sizeof err);
    CHECK_MSG(model != NULL, "%s create: %s", name, err);
    if (!model)
        return;
    nnb_tensor_list params, outs;
    int rc = nnb_run_once(d, model, with_backward, err, sizeof err);
    if (!rc)
        rc = d->params(model, &params, err, sizeof err);
    if (!rc)
        rc = d->outputs(model, &outs, err, sizeof err);
    CHECK_MSG(rc == 0, "%s run: %s", name, err);
    if (rc) {
        d->destroy(model);
        return;
    }
    plain_in p = {0};
    p.T = find(&params, "x")->shape[0], p.B = cfg->mini_batch, p.I = cfg->input_size, p.H = cfg->hidden_size;
    p.L = cfg->num_layers, p.dropout_p = dropout_p, p.seed = cfg->seed;
    p.x = find(&params, "x")->data, p.hx = find(&params, "hx")->data, p.cx = find(&params, "cx")->data;
    p.grad_y = find(&params, "grad_y")->data;
    const nnb_tensor *len = find(&params, "lengths");
    p.lengths = len ? (const int64_t *)len->data : NULL;
    char nm[32];
    for (int64_t k = 0; k < p.L; k++) {
        snprintf(nm, sizeof nm, "w_ih_l%lld", (long long)k), p.w_ih[k] = find(&params, nm)->data;
        snprintf(nm, sizeof nm, "w_hh_l%lld", (long long)k), p.w_hh[k] = find(&params, nm)->data;
        snprintf(nm, sizeof nm, "b_ih_l%lld", (long long)k), p.b_ih[k] = find(&params, nm)->data;
        snprintf(nm, sizeof nm, "b_hh_l%lld", (long long)k), p.b_hh[k] = find(&params, nm)->data;
    }
    plain_out o;
    memset(&o, 0, sizeof o);
    plain_lstm(&p, &o);
    const double tol = nnb_default_tolerance(cfg, d->group);
    const int64_t T = p.T, B = p.B, H = p.H, L = p.L, I = p.I;
    printf("%s T=%lld B=%lld I=%lld H=%lld L=%lld%s\n", name, (long long)T, (long long)B, (long long)I, (long long)H,
           (long long)L, p.lengths ? " (variable length)" : "");
    compare(name, &outs, "y", o.y, T * B * H, tol);
    compare(name, &outs, "hy", o.hy, L * B * H, tol);
    if (with_backward) { /* cy of cudnn_layernorm is layer-normed: checked against its own reference */
        compare(name, &outs, "cy", o.cy, L * B * H, tol);
        compare(name, &outs, "dx", o.dx, T * B * I, tol);
        compare(name, &outs, "dhx", o.dhx, L * B * H, tol);
        compare(name, &outs, "dcx", o.dcx, L * B * H, tol);
        for (int64_t k = 0; k < L; k++) {
            snprintf(nm, sizeof nm, "dw_ih_l%lld", (long long)k),
                compare(name, &outs, nm, o.dw_ih[k], 4 * H * (k ? H : I), tol);
            snprintf(nm, sizeof nm, "dw_hh_l%lld", (long long)k), compare(name, &outs, nm, o.dw_hh[k], 4 * H * H, tol);
            snprintf(nm, sizeof nm, "db_ih_l%lld", (long long)k), compare(name, &outs, nm, o.db[k], 4 * H, tol);
            snprintf(nm, sizeof nm, "db_hh_l%lld", (long long)k), compare(name, &outs, nm, o.db[k], 4 * H, tol);
        }
    }
    plain_free(&o, L);
    d->destroy(model);
}

static nnb_config sizes(int64_t T, int64_t B, int64_t I, int64_t H, int64_t L) {
    return nnb_test_lstm_config(T, B, I, H, L, 7);
}

/* Also against the reference plugin's runner when it is built (same registry). */
static void check_reference_if_built(const nnb_registry *reg, const char *name, const char *ref, const nnb_config *c) {
    if (nnb_registry_find(reg, ref))
        nnb_test_check_against(reg, name, ref, c, 0);
    else
        printf("note: reference runner %s not built; %s checked against the plain LSTM only\n", ref, name);
}

/* Do the seeded lengths of this config repeat (several sequences ending at the same step)? */
static int has_repeated_length(const nnb_config *c) {
    nnb_lstm_data d;
    char err[256];
    int repeated = 0;
    if (nnb_lstm_data_init(&d, c, 1, 0, err, sizeof err) == 0)
        for (int64_t a = 0; a < d.B; a++)
            for (int64_t b = a + 1; b < d.B; b++)
                repeated |= d.lengths[a] == d.lengths[b];
    nnb_lstm_data_free(&d);
    return repeated;
}

int main(void) {
    nnb_registry reg;
    nnb_test_load_runners(&reg);

    /* fixed length: one and several layers, I != H with several layers, awkward sizes, B = 1, T = 1 */
    const int64_t fixed[][5] = {{5, 3, 4, 4, 1},  {4, 3, 6, 6, 3},  {4, 2, 5, 7, 3},  {3, 5, 6, 13, 1},
                                {1, 1, 3, 17, 2}, {6, 1, 19, 9, 2}, {2, 4, 24, 24, 1}};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) {
        nnb_config c = sizes(fixed[i][0], fixed[i][1], fixed[i][2], fixed[i][3], fixed[i][4]);
        check_plain(&reg, "cudnn", &c, 0, 1);
        check_reference_if_built(&reg, "cudnn", "py", &c);
        /* dropout between layers (none with one layer, where it must equal cudnn) */
        check_plain(&reg, "cudnn_dropout", &c, 0.4f, 1);
        if (c.num_layers == 1)
            check_reference_if_built(&reg, "cudnn_dropout", "py", &c);
        else
            check_reference_if_built(&reg, "cudnn_dropout", "py_dropout", &c);
        /* layer norm variant: LSTM part against the plain LSTM, the whole against its reference */
        check_plain(&reg, "cudnn_layernorm", &c, 0, 0);
        nnb_test_check_against(&reg, "cudnn_layernorm", "py_cudnn_layernorm", &c, 0);
    }

    /* variable length (lengths 30..99 from the seed): several segments, I != H, B = 1 */
    /* B = 24 draws repeated lengths (asserted below): several sequences end in one segment */
    const int64_t vl[][4] = {{4, 3, 5, 1}, {5, 4, 6, 2}, {1, 5, 5, 1}, {6, 3, 3, 3}, {24, 3, 4, 2}};
    for (size_t i = 0; i < sizeof vl / sizeof *vl; i++) {
        nnb_config c = sizes(0, vl[i][0], vl[i][1], vl[i][2], vl[i][3]);
        if (c.mini_batch == 24)
            CHECK_MSG(has_repeated_length(&c), "B=24 should draw a repeated length");
        check_plain(&reg, "vl_cudnn", &c, 0, 1);
        check_reference_if_built(&reg, "vl_cudnn", "vl_py", &c);
    }
    nnb_registry_free(&reg);
    return nnb_test_finish();
}
