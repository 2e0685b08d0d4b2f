/* See variants_double_mirror.h. */
#include "variants_double_mirror.h"

#include "nnb_support.h"

typedef struct mirror_link {
    const float *src; /* input: copied in before a run */
    float *dst;       /* output: rounded out after a run */
    double *d;        /* (n) owned */
    size_t n;
} mirror_link;

enum { LAYER_ARRAYS = 10 + 4 * NNB_LN_COUNT }; /* [L] pointer arrays of the double problem */

struct nnb_varlstm_mirror {
    const nnb_varlstm_f *f;
    nnb_varlstm_d p;
    double **layer_ptrs; /* LAYER_ARRAYS * L */
    int next_array;
    mirror_link *links;
    int count, cap;
    int failed;
};

static double *link_buffer(nnb_varlstm_mirror *m, const float *src, float *dst, int64_t n) {
    if (m->failed)
        return NULL;
    mirror_link *l = &m->links[m->count++];
    l->src = src, l->dst = dst, l->n = (size_t)n;
    size_t bytes;
    if (nnb_mul_size(&bytes, l->n, sizeof(double)) || !(l->d = (double *)nnb_alloc_bytes(bytes)))
        m->failed = 1;
    return l->d;
}

static double **next_layer_array(nnb_varlstm_mirror *m) { return m->layer_ptrs + (m->next_array++) * m->p.L; }

/* [L] per-layer inputs (src) or outputs (dst) of n_k = width (or the layer's input width when width < 0). */
static void link_layers(nnb_varlstm_mirror *m, const float *const *src, float *const *dst, int64_t rows, int64_t width,
                        int64_t first, const double *const **d_in, double *const **d_out) {
    double **arr = next_layer_array(m);
    for (int64_t k = first; k < m->p.L; k++) {
        int64_t cols = width >= 0 ? width : (k == 0 ? m->p.I : m->p.H);
        arr[k] = link_buffer(m, src ? src[k] : NULL, dst ? dst[k] : NULL, rows * cols);
    }
    if (d_in)
        *d_in = (const double *const *)arr;
    if (d_out)
        *d_out = arr;
}

nnb_varlstm_mirror *nnb_varlstm_mirror_create(const nnb_varlstm_f *f, char *err, size_t err_len) {
    nnb_varlstm_mirror *m = (nnb_varlstm_mirror *)nnb_alloc_bytes(sizeof *m);
    if (!m)
        return nnb_fail(err, err_len, "out of memory"), NULL;
    nnb_varlstm_d *p = &m->p;
    const int64_t T = f->T, B = f->B, I = f->I, H = f->H, L = f->L, G = 4 * H;
    m->f = f;
    p->T = T, p->B = B, p->I = I, p->H = H, p->L = L, p->layernorm = f->layernorm;
    m->cap = 10 + LAYER_ARRAYS * (int)L;
    m->links = (mirror_link *)nnb_alloc_bytes(sizeof(mirror_link) * (size_t)m->cap);
    m->layer_ptrs = (double **)nnb_alloc_bytes(sizeof(double *) * LAYER_ARRAYS * (size_t)L);
    if (!m->links || !m->layer_ptrs)
        m->failed = 1;
    if (!m->failed) {
        p->x = link_buffer(m, f->x, NULL, T * B * I);
        p->hx = link_buffer(m, f->hx, NULL, L * B * H);
        p->cx = link_buffer(m, f->cx, NULL, L * B * H);
        p->grad_y = link_buffer(m, f->grad_y, NULL, T * B * H);
        p->y = link_buffer(m, NULL, f->y, T * B * H);
        p->hy = link_buffer(m, NULL, f->hy, L * B * H);
        p->cy = link_buffer(m, NULL, f->cy, L * B * H);
        p->dx = link_buffer(m, NULL, f->dx, T * B * I);
        p->dhx = link_buffer(m, NULL, f->dhx, L * B * H);
        p->dcx = link_buffer(m, NULL, f->dcx, L * B * H);
        link_layers(m, f->w_ih, NULL, G, -1, 0, &p->w_ih, NULL);
        link_layers(m, f->w_hh, NULL, G, H, 0, &p->w_hh, NULL);
        link_layers(m, NULL, f->dw_ih, G, -1, 0, NULL, &p->dw_ih);
        link_layers(m, NULL, f->dw_hh, G, H, 0, NULL, &p->dw_hh);
        if (f->layernorm) {
            for (int n = 0; n < NNB_LN_COUNT; n++) {
                const int64_t width = n == NNB_LN_C ? H : G;
                link_layers(m, f->ln_w[n], NULL, 1, width, 0, &p->ln_w[n], NULL);
                link_layers(m, f->ln_b[n], NULL, 1, width, 0, &p->ln_b[n], NULL);
                link_layers(m, NULL, f->dln_w[n], 1, width, 0, NULL, &p->dln_w[n]);
                link_layers(m, NULL, f->dln_b[n], 1, width, 0, NULL, &p->dln_b[n]);
            }
        } else {
            link_layers(m, f->b_ih, NULL, 1, G, 0, &p->b_ih, NULL);
            link_layers(m, f->b_hh, NULL, 1, G, 0, &p->b_hh, NULL);
            link_layers(m, NULL, f->db_ih, 1, G, 0, NULL, &p->db_ih);
            link_layers(m, NULL, f->db_hh, 1, G, 0, NULL, &p->db_hh);
        }
        if (f->mask)
            link_layers(m, f->mask, NULL, T * B, H, 1, &p->mask, NULL);
    }
    if (m->failed) {
        nnb_varlstm_mirror_destroy(m);
        return nnb_fail(err, err_len, "out of memory for the double reference (T=%lld B=%lld H=%lld L=%lld)",
                        (long long)T, (long long)B, (long long)H, (long long)L),
               NULL;
    }
    return m;
}

int nnb_varlstm_mirror_run(nnb_varlstm_mirror *m, int with_backward, char *err, size_t err_len) {
    for (int i = 0; i < m->count; i++)
        if (m->links[i].src)
            for (size_t e = 0; e < m->links[i].n; e++)
                m->links[i].d[e] = m->links[i].src[e];
    if (nnb_varlstm_reference_d(&m->p, with_backward, err, err_len))
        return -1;
    for (int i = 0; i < m->count; i++)
        if (m->links[i].dst &&
            (with_backward || m->links[i].d == m->p.y || m->links[i].d == m->p.hy || m->links[i].d == m->p.cy))
            for (size_t e = 0; e < m->links[i].n; e++)
                m->links[i].dst[e] = (float)m->links[i].d[e];
    return 0;
}

void nnb_varlstm_mirror_destroy(nnb_varlstm_mirror *m) {
    if (!m)
        return;
    for (int i = 0; m->links && i < m->count; i++)
        nnb_free(m->links[i].d);
    nnb_free(m->links);
    nnb_free(m->layer_ptrs);
    nnb_free(m);
}
