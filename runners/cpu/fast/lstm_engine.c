/*
 * The CPU LSTM engine of nnb_cpu_fast (see lstm_engine.h for the strategies): packing of the batch, creation and
 * destruction, load_param (re-packing the weights the kernels read) and describe. The timed passes are in
 * lstm_engine_forward.c and lstm_engine_backward.c (lstm_engine_internal.h).
 */
#include "lstm_engine_internal.h"
#include "nnb_precision.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- packing of the batch */

static int by_length_desc(const void *a, const void *b, void *lens) {
    const int64_t *l = lens;
    int64_t ia = *(const int64_t *)a, ib = *(const int64_t *)b;
    if (l[ia] != l[ib])
        return l[ia] > l[ib] ? -1 : 1;
    return ia < ib ? -1 : ia > ib; /* stable */
}

/* Insertion sort (B is small); qsort_r is not C11. */
static void sort_by_length(int64_t *perm, const int64_t *lens, int64_t B) {
    for (int64_t b = 0; b < B; b++)
        perm[b] = b;
    for (int64_t i = 1; i < B; i++) {
        int64_t v = perm[i], j = i;
        while (j > 0 && by_length_desc(&perm[j - 1], &v, (void *)lens) > 0) {
            perm[j] = perm[j - 1];
            j--;
        }
        perm[j] = v;
    }
}

static int build_steps(lstm_engine *e, char *err, size_t err_len) {
    int64_t T = e->T, B = e->B;
    e->bs = nnb_alloc_bytes(sizeof(int64_t) * (size_t)T);
    e->off = nnb_alloc_bytes(sizeof(int64_t) * (size_t)T);
    e->perm = nnb_alloc_bytes(sizeof(int64_t) * (size_t)B);
    e->len = nnb_alloc_bytes(sizeof(int64_t) * (size_t)B);
    if (!e->bs || !e->off || !e->perm || !e->len)
        return nnb_fail(err, err_len, "out of memory");
    if (e->d.variable) {
        sort_by_length(e->perm, e->d.lengths, B);
        for (int64_t r = 0; r < B; r++)
            e->len[r] = e->d.lengths[e->perm[r]];
    } else {
        for (int64_t r = 0; r < B; r++) {
            e->perm[r] = r;
            e->len[r] = T;
        }
    }
    e->N = 0;
    for (int64_t t = 0; t < T; t++) {
        int64_t n = 0;
        while (n < B && e->len[n] > t)
            n++;
        e->bs[t] = n;
        e->off[t] = e->N;
        e->N += n;
    }
    return 0;
}

/* rows of a (T, B, W) array -> packed (N, W), and back (zeros where inactive). */
void lstm_engine_gather_rows(const lstm_engine *e, const float *src, float *dst, int64_t W) {
    for (int64_t t = 0; t < e->T; t++)
        for (int64_t r = 0; r < e->bs[t]; r++)
            memcpy(dst + (e->off[t] + r) * W, src + (t * e->B + e->perm[r]) * W, sizeof(float) * (size_t)W);
}

void lstm_engine_scatter_rows(const lstm_engine *e, const float *src, float *dst, int64_t W) {
    for (int64_t t = 0; t < e->T; t++)
        for (int64_t r = 0; r < e->B; r++) {
            float *d = dst + (t * e->B + e->perm[r]) * W;
            if (r < e->bs[t])
                memcpy(d, src + (e->off[t] + r) * W, sizeof(float) * (size_t)W);
            else
                memset(d, 0, sizeof(float) * (size_t)W);
        }
}

/* ---------------------------------------------------------------- create / destroy */

/* The GEMM implementation for the run's precision; NNB_CPU_GEMM forces one (the tests' way to exercise the portable
 * paths): own | cblas | plain for fp32, avx512_bf16 | portable for bf16. */
static int select_gemm(lstm_engine *e, const nnb_config *cfg, char *err, size_t err_len) {
    e->precision = cfg->struct_size >= offsetof(nnb_config, precision) + sizeof cfg->precision ? cfg->precision
                                                                                               : NNB_PRECISION_FP32;
    if (e->precision != NNB_PRECISION_FP32 && e->precision != NNB_PRECISION_BF16)
        return nnb_fail(err, err_len, "the fast CPU LSTM runners compute in fp32 or bf16, not %s",
                        nnb_precision_name(e->precision) ? nnb_precision_name(e->precision) : "?");
    const int bf16 = e->precision == NNB_PRECISION_BF16;
    e->gemm = bf16 ? nnb_gemm_bf16_default_impl() : nnb_gemm_default_impl();
    const char *forced = getenv("NNB_CPU_GEMM");
    if (!forced || !*forced)
        return 0;
    static const struct {
        const char *name;
        nnb_gemm_impl impl;
        int bf16;
    } impls[] = {{"own", NNB_GEMM_OWN_AVX512, 0},
                 {"cblas", NNB_GEMM_CBLAS, 0},
                 {"plain", NNB_GEMM_PLAIN, 0},
                 {"amx", NNB_GEMM_BF16_AMX, 1},
                 {"avx512_bf16", NNB_GEMM_BF16_AVX512, 1},
                 {"portable", NNB_GEMM_BF16_PORTABLE, 1}};
    for (size_t i = 0; i < sizeof impls / sizeof *impls; i++)
        if (!strcmp(forced, impls[i].name) && impls[i].bf16 == bf16 && nnb_gemm_impl_available(impls[i].impl)) {
            e->gemm = impls[i].impl;
            return 0;
        }
    return nnb_fail(
        err, err_len, "NNB_CPU_GEMM='%s' not available here for %s (valid: %s)", forced, bf16 ? "bf16" : "fp32",
        bf16 ? "amx (needs AMX), avx512_bf16 (needs the instruction), portable" : "own (AVX-512), cblas, plain");
}

static float *alloc2(size_t a, size_t b, int *fail) {
    size_t n;
    if (nnb_mul_size(&n, a, b)) {
        *fail = 1;
        return NULL;
    }
    float *p = nnb_alloc_floats(n);
    if (!p)
        *fail = 1;
    return p;
}

static int create_layer(lstm_engine *e, int64_t k, char *err, size_t err_len) {
    lstm_layer *ly = &e->layers[k];
    const nnb_lstm_data *d = &e->d;
    int64_t H = e->H, G = 4 * H, in = nnb_lstm_layer_input(d, k);
    size_t N = (size_t)e->N, B = (size_t)e->B;
    int fail = 0;
    ly->in = in;
    if (nnb_pack_b(&ly->wih_t, e->gemm, 'T', in, G, d->w_ih[k], in) ||
        nnb_pack_b(&ly->whh_t, e->gemm, 'T', H, G, d->w_hh[k], H) ||
        nnb_pack_b(&ly->wih_n, e->gemm, 'N', G, in, d->w_ih[k], in) ||
        nnb_pack_b(&ly->whh_n, e->gemm, 'N', G, H, d->w_hh[k], H))
        return nnb_fail(err, err_len, "out of memory packing layer %lld weights", (long long)k);
    for (int q = 0; q < 4 && is_premul(e); q++)
        if (nnb_pack_b(&ly->whh_gate[q], e->gemm, 'T', H, H, d->w_hh[k] + (size_t)q * (size_t)H * (size_t)H, H))
            return nnb_fail(err, err_len, "out of memory packing layer %lld weights", (long long)k);
    ly->gates = alloc2(N, (size_t)G, &fail);
    ly->dgates = alloc2(N, (size_t)G, &fail);
    ly->cs = alloc2(N, (size_t)H, &fail);
    int top = k == e->L - 1;
    if (top && !d->variable) {
        ly->hs = d->y; /* fixed-length top layer writes y directly */
    } else {
        ly->hs_own = alloc2(N, (size_t)H, &fail);
        ly->hs = ly->hs_own;
    }
    if (d->variable) {
        ly->h0_own = alloc2(B, (size_t)H, &fail);
        ly->c0_own = alloc2(B, (size_t)H, &fail);
        ly->h0 = ly->h0_own;
        ly->c0 = ly->c0_own;
        if (is_premul(e))
            ly->hprev = alloc2(N, (size_t)H, &fail);
    } else {
        ly->h0 = d->hx + (size_t)k * B * (size_t)H;
        ly->c0 = d->cx + (size_t)k * B * (size_t)H;
    }
    if (!top)
        ly->dout = alloc2(N, (size_t)H, &fail);
    if (fail)
        return nnb_fail(err, err_len, "out of memory for layer %lld buffers (N=%lld, H=%lld)", (long long)k,
                        (long long)e->N, (long long)H);
    return 0;
}

/* infer()'s buffers, for n up to B (see lstm_engine.h). */
static int create_infer(lstm_engine *e, char *err, size_t err_len) {
    const size_t T = (size_t)e->T, B = (size_t)e->B, H = (size_t)e->H, L = (size_t)e->L;
    lstm_infer *inf = e->inf = nnb_alloc_bytes(sizeof *inf);
    if (!inf)
        return nnb_fail(err, err_len, "out of memory");
    if (nnb_lstm_infer_bufs_init(&inf->io, &e->d, NNB_INFER_PACK_X, err, err_len))
        return -1;
    int fail = 0;
    inf->gates = alloc2(is_premul(e) ? T * B : B, 4 * H, &fail); /* (T, B, 4H) or (B, 4H) */
    inf->cs = alloc2(2 * B, H, &fail);                           /* (2, B, H) */
    for (size_t i = 0; i < 2 && i + 1 < L; i++)
        inf->hs[i] = alloc2(T * B, H, &fail); /* (T, B, H) */
    inf->bs = nnb_alloc_bytes(sizeof(int64_t) * T);
    inf->off = nnb_alloc_bytes(sizeof(int64_t) * T);
    inf->layers = nnb_alloc_bytes(sizeof(lstm_layer) * L);
    if (fail || !inf->bs || !inf->off || !inf->layers)
        return nnb_fail(err, err_len, "out of memory for inference buffers");
    return 0;
}

static void destroy_infer(lstm_infer *inf) {
    if (!inf)
        return;
    nnb_lstm_infer_bufs_free(&inf->io);
    void *bufs[] = {inf->gates, inf->cs, inf->hs[0], inf->hs[1], inf->bs, inf->off, inf->layers};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        nnb_free(bufs[i]);
    nnb_free(inf);
}

int lstm_engine_create(lstm_engine *e, const nnb_config *cfg, const lstm_engine_opts *o, char *err, size_t err_len) {
    memset(e, 0, sizeof *e);
    e->mode = o->mode;
    e->simple = o->simple;
    e->threads = cfg->threads < 1 ? 1 : cfg->threads;
    /* --fuser and --executor were checked by the runner (nnb_check_fuser_executor); this selects the passes. */
    if (o->force_unfused) {
        if (nnb_fuser_select("none", &e->fuser, err, err_len))
            return -1;
        /* aten is unfused by definition; a bad --fuser name is still an error */
        nnb_fuser unused;
        if (nnb_fuser_select(cfg->fuser, &unused, err, err_len))
            return -1;
    } else if (nnb_fuser_select(cfg->fuser, &e->fuser, err, err_len)) {
        return -1;
    }
    if (select_gemm(e, cfg, err, err_len))
        return -1;
    nnb_set_threads(e->threads);
    if (nnb_lstm_data_init(&e->d, cfg, o->variable, o->simple ? 1 : 0, err, err_len))
        return -1;
    nnb_lstm_data *d = &e->d;
    e->T = d->T;
    e->B = d->B;
    e->H = d->H;
    e->L = d->L;
    if (build_steps(e, err, err_len))
        return -1;
    int fail = 0;
    size_t B = (size_t)e->B, H = (size_t)e->H;
    e->layers = nnb_alloc_bytes(sizeof(lstm_layer) * (size_t)e->L);
    if (!e->layers)
        return nnb_fail(err, err_len, "out of memory");
    if (d->variable) {
        e->x_packed = alloc2((size_t)e->N, (size_t)d->I, &fail);
        e->dx_packed = alloc2((size_t)e->N, (size_t)d->I, &fail);
        e->grad_packed = alloc2((size_t)e->N, H, &fail);
    } else {
        e->x_packed = d->x;
        e->dx_packed = d->dx;
        e->grad_packed = d->grad_y;
    }
    e->dh_rec = alloc2(B, H, &fail);
    e->dc = alloc2(B, H, &fail);
    e->ws = alloc2(B, 2 * H, &fail);
    if (e->mode == MODE_ATEN)
        e->gates_h = alloc2(B, 4 * H, &fail);
    if (o->simple) {
        e->grad_hy = alloc2(B, H, &fail);
        if (e->grad_hy) {
            nnb_fill_normal(e->grad_hy, B * H, cfg->seed, NNB_SIMPLE_GRAD_STREAM);
            if (cfg->struct_size >= offsetof(nnb_config, precision) + sizeof cfg->precision) /* as every input */
                nnb_round_to_precision(e->grad_hy, (size_t)(B * H), cfg->precision);
        }
    }
    if ((e->gemm == NNB_GEMM_OWN_AVX512 || nnb_gemm_impl_is_bf16(e->gemm)) && is_premul(e)) {
        size_t n = nnb_packed_a_floats_for(e->gemm, e->B, 4 * e->H);
        e->dg_packed = n ? nnb_alloc_floats(n) : NULL;
        if (!e->dg_packed)
            fail = 1;
    }
    if (e->mode == MODE_PREMUL)
        e->db_part = alloc2((size_t)e->threads, 4 * H, &fail);
    if (fail)
        return nnb_fail(err, err_len, "out of memory for LSTM work buffers");
    for (int64_t k = 0; k < e->L; k++)
        if (create_layer(e, k, err, err_len))
            return -1;
    if (o->infer && !o->variable && !o->simple && create_infer(e, err, err_len))
        return -1;
    return 0;
}

void lstm_engine_destroy(lstm_engine *e) {
    if (!e)
        return;
    if (e->layers)
        for (int64_t k = 0; k < e->L; k++) {
            lstm_layer *ly = &e->layers[k];
            nnb_packed_b_free(&ly->wih_t);
            nnb_packed_b_free(&ly->whh_t);
            nnb_packed_b_free(&ly->wih_n);
            nnb_packed_b_free(&ly->whh_n);
            for (int q = 0; q < 4; q++)
                nnb_packed_b_free(&ly->whh_gate[q]);
            float *bufs[] = {ly->gates, ly->dgates, ly->cs, ly->hs_own, ly->h0_own, ly->c0_own, ly->dout, ly->hprev};
            for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
                nnb_free(bufs[i]);
        }
    nnb_free(e->layers);
    if (e->d.variable) {
        nnb_free(e->x_packed);
        nnb_free(e->dx_packed);
        nnb_free(e->grad_packed);
    }
    float *bufs[] = {e->gates_h, e->dh_rec, e->dc, e->ws, e->grad_hy, e->dg_packed, e->db_part};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        nnb_free(bufs[i]);
    nnb_free(e->bs);
    nnb_free(e->off);
    nnb_free(e->perm);
    nnb_free(e->len);
    nnb_free(e->simple_params);
    nnb_free(e->simple_outputs);
    destroy_infer(e->inf);
    nnb_lstm_data_free(&e->d);
    memset(e, 0, sizeof *e);
}

typedef struct weight_copy {
    nnb_packed_b *p;
    char trans;
    int64_t K, N;
    size_t offset;
} weight_copy;

/* The packed operands made from layer k's weight of this kind (none for biases: the cell reads those). */
static int weight_copies(lstm_engine *e, int64_t k, nnb_lstm_param_kind kind, weight_copy *c, int64_t *ld) {
    lstm_layer *ly = &e->layers[k];
    const int64_t H = e->H, G = 4 * H, in = ly->in;
    int n = 0;
    if (kind == NNB_PARAM_W_IH) {
        *ld = in;
        c[n++] = (weight_copy){&ly->wih_t, 'T', in, G, 0};
        c[n++] = (weight_copy){&ly->wih_n, 'N', G, in, 0};
    } else if (kind == NNB_PARAM_W_HH) {
        *ld = H;
        c[n++] = (weight_copy){&ly->whh_t, 'T', H, G, 0};
        c[n++] = (weight_copy){&ly->whh_n, 'N', G, H, 0};
        for (int q = 0; q < 4 && is_premul(e); q++)
            c[n++] = (weight_copy){&ly->whh_gate[q], 'T', H, H, (size_t)q * (size_t)(H * H)};
    }
    return n;
}

int lstm_engine_load_param(lstm_engine *e, const nnb_tensor *value, const char *runner, char *err, size_t err_len) {
    float *dst;
    int64_t k, ld = 0;
    nnb_lstm_param_kind kind;
    size_t count;
    if (nnb_lstm_param_lookup(&e->d, value, runner, &dst, &k, &kind, &count, err, err_len))
        return -1;
    weight_copy c[6];
    nnb_packed_b fresh[6];
    const int nc = weight_copies(e, k, kind, c, &ld);
    const float *src = value->data;
    for (int i = 0; i < nc; i++) /* pack first: when that fails, nothing has changed */
        if (nnb_pack_b(&fresh[i], e->gemm, c[i].trans, c[i].K, c[i].N, src + c[i].offset, ld)) {
            while (i-- > 0)
                nnb_packed_b_free(&fresh[i]);
            return nnb_fail(err, err_len, "%s: load_param: out of memory packing %s", runner, value->name);
        }
    memmove(dst, src, sizeof(float) * count);         /* src may be params()' own view of dst */
    nnb_round_to_precision(dst, count, e->precision); /* params() shows the values the run uses */
    for (int i = 0; i < nc; i++) {
        fresh[i].src = dst + c[i].offset; /* OpenBLAS and the plain loop read the model's array itself */
        nnb_packed_b_free(c[i].p);
        *c[i].p = fresh[i];
    }
    return 0;
}

/* ---------------------------------------------------------------- describe */

static const char *infer_note(const lstm_engine *e) {
    return is_premul(e) ? "the forward on the first n sequences (x packed to (T, n, I)): all steps' gates by one GEMM, "
                          "cell state ring of 2, buffers of its own (training state untouched)"
                        : "the forward on the first n sequences (x packed to (T, n, I)): one step's gate block, "
                          "cell state ring of 2, buffers of its own (training state untouched)";
}

int lstm_engine_describe(const lstm_engine *e, const char *runner, char *buf, size_t len) {
    static const char *const modes[] = {
        "aten: per-step GEMMs x.W_ih^T and h.W_hh^T, one pass per pointwise op",
        "jit: per-step GEMMs into one gate block, fused cell pass",
        "premul: x.W_ih^T for all steps as one GEMM, per-step h.W_hh^T + fused cell in one OpenMP region "
        "(hidden columns split per thread, one barrier per step); backward recurrence: cell on each thread's rows, "
        "dh GEMM on its columns (two barriers per step); batched input-side backward",
        "premul_bias: premul with b_ih folded into the big GEMM's epilogue, b_hh per step; bias grads "
        "reduced once"};
    char gemm_desc[512], fuser_desc[256], gemm_field[640];
    nnb_gemm_impl_describe(e->gemm, gemm_desc, sizeof gemm_desc);
    if (nnb_gemm_impl_is_bf16(e->gemm)) /* bf16: "gemm" names the kernel that ran; the detail beside it */
        snprintf(gemm_field, sizeof gemm_field, "%s\",\"gemm_detail\":\"%s", nnb_gemm_impl_name(e->gemm), gemm_desc);
    else
        snprintf(gemm_field, sizeof gemm_field, "%s", gemm_desc);
    nnb_fuser_describe(&e->fuser, fuser_desc, sizeof fuser_desc);
    int n = snprintf(buf, len,
                     "{\"runner\":\"%s\",\"strategy\":\"%s\",\"precision\":\"%s\",\"gemm\":\"%s\","
                     "\"weights_prepacked\":%s,"
                     "\"cpu_isa\":\"%s\",%s,\"threads\":%d,\"pass_threads\":%d,\"num_layers\":%lld,"
                     "\"packed_batch\":%s,\"infer\":\"%s\"}",
                     runner, modes[e->mode], nnb_precision_name(e->precision), gemm_field,
                     e->gemm == NNB_GEMM_OWN_AVX512 || nnb_gemm_impl_is_bf16(e->gemm) ? "true" : "false",
                     nnb_cpu_isa_name(nnb_cpu_isa_detect()), fuser_desc, e->threads, pass_threads(e), (long long)e->L,
                     e->d.variable ? "true" : "false", e->inf ? infer_note(e) : "none");
    return n < 0 || (size_t)n >= len ? -1 : 0;
}
