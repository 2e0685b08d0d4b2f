/*
 * The oneDNN side of the `conv` runner: convolution descriptors from the problem, primitives with the layouts
 * oneDNN chooses (format_tag any), the host tensors reordered into those layouts once, the results' reorders
 * back to NCHW / OIHW, and one user-managed scratchpad shared by every primitive.
 */
#include "conv_dnnl_internal.h"

#include <dnnl_debug.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- memory descriptors of the problem ---- */

/* (n, c, [d,] h, w) of x (input side) or y (output side), n samples. */
static int act_dims(const cd_model *m, int output, int64_t n, int64_t *dims) {
    const nnb_conv_geom *g = &m->d.geom;
    int k = 0;
    dims[k++] = n;
    dims[k++] = output ? g->oc : g->ic;
    if (m->d.ndims == 5)
        dims[k++] = output ? g->od : g->id;
    dims[k++] = output ? g->oh : g->ih;
    dims[k++] = output ? g->ow : g->iw;
    return k;
}

/* Weights: (oc, ic/g, [kd,] kh, kw), or (g, oc/g, ic/g, ...) with groups: the same memory as OI[D]HW. */
static int weight_dims(const cd_model *m, int64_t *dims) {
    const nnb_conv_geom *g = &m->d.geom;
    int k = 0;
    if (g->g > 1)
        dims[k++] = g->g;
    dims[k++] = g->oc / g->g;
    dims[k++] = g->ic / g->g;
    if (m->d.ndims == 5)
        dims[k++] = g->kd;
    dims[k++] = g->kh;
    dims[k++] = g->kw;
    return k;
}

static dnnl_status_t md_of(dnnl_memory_desc_t *md, int ndims, const int64_t *dims, dnnl_data_type_t dt,
                           dnnl_format_tag_t tag) {
    return dnnl_memory_desc_init_by_tag(md, ndims, dims, dt, tag);
}

static dnnl_format_tag_t plain_tag(const cd_model *m, char which) {
    int three = m->d.ndims == 5, grouped = m->d.geom.g > 1;
    if (which == 'w')
        return grouped ? (three ? dnnl_goidhw : dnnl_goihw) : (three ? dnnl_oidhw : dnnl_oihw);
    return three ? dnnl_ncdhw : dnnl_nchw;
}

/* Plain fp32 (the host layout) or `any` in dt of x ('x'), y ('y'), w ('w') and b ('b'), n samples. */
static int tensor_md(const cd_model *m, char which, int64_t n, int any, dnnl_data_type_t dt, dnnl_memory_desc_t *md,
                     char *err, size_t err_len) {
    dnnl_dims_t dims;
    int nd;
    dnnl_format_tag_t tag;
    if (which == 'b') {
        dims[0] = m->d.geom.oc, nd = 1, tag = dnnl_a;
    } else if (which == 'w') {
        nd = weight_dims(m, dims), tag = plain_tag(m, 'w');
    } else {
        nd = act_dims(m, which == 'y', n, dims), tag = plain_tag(m, 'x');
    }
    NNB_DNNL_TRY(md_of(md, nd, dims, any ? dt : dnnl_f32, any ? dnnl_format_tag_any : tag));
    return 0;
}

/* Strides, dilations (benchdnn's: 0 dense, as oneDNN's) and front/back padding. */
typedef struct geometry {
    dnnl_dims_t strides, dilates, pad_l, pad_r;
} geometry;

static int64_t back_pad(int64_t in, int64_t out, int64_t k, int64_t s, int64_t d, int64_t pl) {
    return (out - 1) * s + (k - 1) * (d + 1) + 1 - in - pl;
}

static geometry geometry_of(const cd_model *m) {
    const nnb_conv_geom *g = &m->d.geom;
    geometry r;
    memset(&r, 0, sizeof r);
    int k = 0;
    if (m->d.ndims == 5) {
        r.strides[k] = g->sd, r.dilates[k] = g->dd, r.pad_l[k] = g->pd;
        r.pad_r[k++] = back_pad(g->id, g->od, g->kd, g->sd, g->dd, g->pd);
    }
    r.strides[k] = g->sh, r.dilates[k] = g->dh, r.pad_l[k] = g->ph;
    r.pad_r[k++] = back_pad(g->ih, g->oh, g->kh, g->sh, g->dh, g->ph);
    r.strides[k] = g->sw, r.dilates[k] = g->dw, r.pad_l[k] = g->pw;
    r.pad_r[k] = back_pad(g->iw, g->ow, g->kw, g->sw, g->dw, g->pw);
    return r;
}

/* The convolution descriptor of one primitive over n samples (format any everywhere). */
static int conv_desc(const cd_model *m, int which, dnnl_prop_kind_t prop, int64_t n, dnnl_convolution_desc_t *cd,
                     char *err, size_t err_len) {
    dnnl_memory_desc_t x, w, b, y;
    int bias = m->d.has_bias;
    CD_TRY(tensor_md(m, 'x', n, 1, m->dt, &x, err, err_len));
    CD_TRY(tensor_md(m, 'w', n, 1, which == CD_BWD_WEIGHTS ? m->dw_dt : m->dt, &w, err, err_len));
    CD_TRY(tensor_md(m, 'b', n, 1, dnnl_f32, &b, err, err_len));
    CD_TRY(tensor_md(m, 'y', n, 1, m->dt, &y, err, err_len));
    geometry g = geometry_of(m);
    if (which == CD_FWD)
        NNB_DNNL_TRY(dnnl_dilated_convolution_forward_desc_init(cd, prop, m->alg, &x, &w, bias ? &b : NULL, &y,
                                                                g.strides, g.dilates, g.pad_l, g.pad_r));
    else if (which == CD_BWD_DATA)
        NNB_DNNL_TRY(dnnl_dilated_convolution_backward_data_desc_init(cd, m->alg, &x, &w, &y, g.strides, g.dilates,
                                                                      g.pad_l, g.pad_r));
    else
        NNB_DNNL_TRY(dnnl_dilated_convolution_backward_weights_desc_init(cd, m->alg, &x, &w, bias ? &b : NULL, &y,
                                                                         g.strides, g.dilates, g.pad_l, g.pad_r));
    return 0;
}

/* ---- ownership lists ---- */

static int keep_prim(cd_model *m, dnnl_primitive_t p, char *err, size_t err_len) {
    if (nnb_grow(&m->prims, &m->cap_prims, m->nprims_all + 1, sizeof *m->prims)) {
        dnnl_primitive_destroy(p);
        return nnb_fail(err, err_len, "conv: out of memory");
    }
    m->prims[m->nprims_all++] = p;
    return 0;
}

/* A memory of md over a new zeroed host buffer the model owns. */
static int alloc_mem(cd_model *m, const dnnl_memory_desc_t *md, dnnl_memory_t *out, char *err, size_t err_len) {
    size_t bytes = dnnl_memory_desc_get_size(md);
    if (nnb_grow(&m->bufs, &m->cap_bufs, m->nbufs + 1, sizeof *m->bufs))
        return nnb_fail(err, err_len, "conv: out of memory");
    void *p = nnb_alloc_bytes(bytes ? bytes : 64);
    if (!p)
        return nnb_fail(err, err_len, "conv: out of memory (%zu bytes for a tensor)", bytes);
    m->bufs[m->nbufs++] = p;
    return nnb_dnnl_wrap(&m->mems, m->eng, md, p, out, err, err_len);
}

static int make_reorder(cd_model *m, dnnl_memory_t src, dnnl_memory_t dst, dnnl_primitive_t *out, char *err,
                        size_t err_len) {
    const dnnl_memory_desc_t *smd, *dmd;
    NNB_DNNL_TRY(dnnl_memory_get_memory_desc(src, &smd));
    NNB_DNNL_TRY(dnnl_memory_get_memory_desc(dst, &dmd));
    dnnl_primitive_desc_t pd;
    NNB_DNNL_TRY(dnnl_reorder_primitive_desc_create(&pd, smd, m->eng, dmd, m->eng, NULL));
    dnnl_status_t st = dnnl_primitive_create(out, pd);
    dnnl_primitive_desc_destroy(pd);
    NNB_DNNL_TRY(st);
    return keep_prim(m, *out, err, err_len);
}

static int run_reorder(cd_model *m, dnnl_primitive_t r, dnnl_memory_t src, dnnl_memory_t dst, char *err,
                       size_t err_len) {
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}};
    NNB_DNNL_TRY(dnnl_primitive_execute(r, m->stream, 2, args));
    NNB_DNNL_TRY(dnnl_stream_wait(m->stream));
    return 0;
}

/* Host input `user` (layout user_md) as a primitive reads it (md): the host buffer itself when md is the host
 * layout, else a copy made now by a reorder (exact: the host values are already rounded to the precision),
 * shared by every primitive that wants that layout. */
static int input_in(cd_model *m, const float *user, const dnnl_memory_desc_t *user_md, const dnnl_memory_desc_t *md,
                    dnnl_memory_t *out, char *err, size_t err_len) {
    for (int i = 0; i < m->ncopies; i++)
        if (m->copies[i].user == user && dnnl_memory_desc_equal(&m->copies[i].md, md)) {
            *out = m->copies[i].mem;
            return 0;
        }
    if (nnb_grow(&m->copies, &m->cap_copies, m->ncopies + 1, sizeof *m->copies))
        return nnb_fail(err, err_len, "conv: out of memory");
    cd_copy *c = &m->copies[m->ncopies];
    memset(c, 0, sizeof *c);
    c->user = user;
    c->md = *md;
    CD_TRY(nnb_dnnl_wrap(&m->mems, m->eng, user_md, (void *)user, &c->host, err, err_len));
    if (dnnl_memory_desc_equal(user_md, md)) {
        c->mem = c->host;
    } else {
        CD_TRY(alloc_mem(m, md, &c->mem, err, err_len));
        CD_TRY(make_reorder(m, c->host, c->mem, &c->reorder, err, err_len));
        CD_TRY(run_reorder(m, c->reorder, c->host, c->mem, err, err_len));
    }
    m->ncopies++;
    *out = c->mem;
    return 0;
}

/* A result the primitive writes in md, fetched into the host buffer `user` (layout user_md) by cd_fetch. */
static int result_in(cd_model *m, float *user, const dnnl_memory_desc_t *user_md, const dnnl_memory_desc_t *md,
                     cd_result *r, char *err, size_t err_len) {
    CD_TRY(nnb_dnnl_wrap(&m->mems, m->eng, user_md, user, &r->user, err, err_len));
    r->reorder = NULL;
    if (dnnl_memory_desc_equal(user_md, md)) {
        r->lib = r->user;
        return 0;
    }
    CD_TRY(alloc_mem(m, md, &r->lib, err, err_len));
    return make_reorder(m, r->lib, r->user, &r->reorder, err, err_len);
}

int cd_refresh_copies(cd_model *m, const float *user, char *err, size_t err_len) {
    for (int i = 0; i < m->ncopies; i++) {
        const cd_copy *c = &m->copies[i];
        if (c->user == user && c->reorder)
            CD_TRY(run_reorder(m, c->reorder, c->host, c->mem, err, err_len));
    }
    return 0;
}

int cd_fetch(cd_model *m, const cd_result *r, char *err, size_t err_len) {
    return r->reorder ? run_reorder(m, r->reorder, r->lib, r->user, err, err_len) : 0;
}

/* ---- primitives ---- */

const dnnl_memory_desc_t *cd_pd_md(const_dnnl_primitive_desc_t pd, int exec_arg) {
    return dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, exec_arg);
}

static void add_arg(cd_prim *p, int name, dnnl_memory_t mem) {
    p->args[p->nargs].arg = name;
    p->args[p->nargs++].memory = mem;
}

/* p's scratchpad over the shared buffer, grown (and every earlier scratchpad memory moved) when p needs more. */
static int attach_scratchpad(cd_model *m, cd_prim *p, char *err, size_t err_len) {
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(p->pd, dnnl_query_scratchpad_md, 0);
    size_t bytes = md ? dnnl_memory_desc_get_size(md) : 0;
    if (!bytes)
        return 0;
    if (bytes > m->scratch_bytes) {
        void *bigger = nnb_alloc_bytes(bytes);
        if (!bigger)
            return nnb_fail(err, err_len, "conv: out of memory (%zu bytes of scratchpad)", bytes);
        for (int i = 0; i < m->nscratch; i++)
            NNB_DNNL_TRY(dnnl_memory_set_data_handle(m->scratch_mems[i], bigger));
        nnb_free(m->scratch);
        m->scratch = bigger;
        m->scratch_bytes = bytes;
    }
    if (nnb_grow(&m->scratch_mems, &m->cap_scratch, m->nscratch + 1, sizeof *m->scratch_mems))
        return nnb_fail(err, err_len, "conv: out of memory");
    dnnl_memory_t mem;
    CD_TRY(nnb_dnnl_wrap(&m->mems, m->eng, md, m->scratch, &mem, err, err_len));
    m->scratch_mems[m->nscratch++] = mem;
    add_arg(p, DNNL_ARG_SCRATCHPAD, mem);
    return 0;
}

static const char *const which_name[CD_NPRIMS] = {"forward", "backward data", "backward weights"};

/* Primitive descriptor and primitive of one direction (user scratchpad); a clear refusal when oneDNN has no
 * implementation (winograd on most shapes and ISAs). */
static int make_prim(cd_model *m, int which, dnnl_prop_kind_t prop, int64_t n, const_dnnl_primitive_desc_t hint,
                     cd_prim *p, char *err, size_t err_len) {
    dnnl_convolution_desc_t cd;
    CD_TRY(conv_desc(m, which, prop, n, &cd, err, err_len));
    dnnl_primitive_attr_t attr;
    NNB_DNNL_TRY(dnnl_primitive_attr_create(&attr));
    dnnl_status_t st = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (st == dnnl_success)
        st = dnnl_primitive_desc_create(&p->pd, &cd, attr, m->eng, hint);
    dnnl_primitive_attr_destroy(attr);
    if (st == dnnl_unimplemented && m->alg == dnnl_convolution_winograd)
        return nnb_fail(err, err_len,
                        "conv: --conv-algo winograd: oneDNN has no winograd implementation for this problem on this "
                        "CPU (%s, %s); use direct or auto",
                        which_name[which], dnnl_dt2str(m->dt));
    if (st == dnnl_unimplemented)
        return nnb_fail(err, err_len,
                        "conv: oneDNN %s has no %s implementation for this problem in %s (--conv-algo %s)", "2.6",
                        which_name[which], dnnl_dt2str(m->dt), m->algo_name);
    NNB_DNNL_TRY(st);
    NNB_DNNL_TRY(dnnl_primitive_create(&p->prim, p->pd));
    CD_TRY(keep_prim(m, p->prim, err, err_len));
    const char *impl = NULL;
    if (dnnl_primitive_desc_query(p->pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success || !impl)
        impl = "?";
    snprintf(p->impl, sizeof p->impl, "%s", impl);
    const_dnnl_op_desc_t od = NULL;
    p->alg = m->alg;
    if (dnnl_primitive_desc_query(p->pd, dnnl_query_convolution_d, 0, &od) == dnnl_success && od)
        p->alg = ((const dnnl_convolution_desc_t *)od)->alg_kind;
    return attach_scratchpad(m, p, err, err_len);
}

/* Host memory descriptors of x, w, b, y (fp32, plain), n samples. */
typedef struct host_mds {
    dnnl_memory_desc_t x, w, b, y;
} host_mds;

static int host_mds_of(const cd_model *m, int64_t n, host_mds *h, char *err, size_t err_len) {
    CD_TRY(tensor_md(m, 'x', n, 0, dnnl_f32, &h->x, err, err_len));
    CD_TRY(tensor_md(m, 'w', n, 0, dnnl_f32, &h->w, err, err_len));
    CD_TRY(tensor_md(m, 'b', n, 0, dnnl_f32, &h->b, err, err_len));
    return tensor_md(m, 'y', n, 0, dnnl_f32, &h->y, err, err_len);
}

/* Forward over n samples: x, w, b read in the primitive's layouts, y written to a result. */
static int build_forward(cd_model *m, cd_prim *p, dnnl_prop_kind_t prop, int64_t n, cd_result *y, char *err,
                         size_t err_len) {
    host_mds h;
    CD_TRY(host_mds_of(m, n, &h, err, err_len));
    CD_TRY(make_prim(m, CD_FWD, prop, n, NULL, p, err, err_len));
    dnnl_memory_t mem;
    CD_TRY(input_in(m, m->d.x, &h.x, cd_pd_md(p->pd, DNNL_ARG_SRC), &mem, err, err_len));
    add_arg(p, DNNL_ARG_SRC, mem);
    CD_TRY(input_in(m, m->d.w, &h.w, cd_pd_md(p->pd, DNNL_ARG_WEIGHTS), &mem, err, err_len));
    add_arg(p, DNNL_ARG_WEIGHTS, mem);
    if (m->d.has_bias) {
        CD_TRY(input_in(m, m->d.b, &h.b, cd_pd_md(p->pd, DNNL_ARG_BIAS), &mem, err, err_len));
        add_arg(p, DNNL_ARG_BIAS, mem);
    }
    CD_TRY(result_in(m, m->d.y, &h.y, cd_pd_md(p->pd, DNNL_ARG_DST), y, err, err_len));
    add_arg(p, DNNL_ARG_DST, y->lib);
    return 0;
}

static int build_backward_data(cd_model *m, char *err, size_t err_len) {
    cd_prim *p = &m->p[CD_BWD_DATA];
    host_mds h;
    CD_TRY(host_mds_of(m, m->d.geom.mb, &h, err, err_len));
    CD_TRY(make_prim(m, CD_BWD_DATA, dnnl_backward_data, m->d.geom.mb, m->p[CD_FWD].pd, p, err, err_len));
    dnnl_memory_t mem;
    CD_TRY(input_in(m, m->d.grad_y, &h.y, cd_pd_md(p->pd, DNNL_ARG_DIFF_DST), &mem, err, err_len));
    add_arg(p, DNNL_ARG_DIFF_DST, mem);
    CD_TRY(input_in(m, m->d.w, &h.w, cd_pd_md(p->pd, DNNL_ARG_WEIGHTS), &mem, err, err_len));
    add_arg(p, DNNL_ARG_WEIGHTS, mem);
    CD_TRY(result_in(m, m->d.dx, &h.x, cd_pd_md(p->pd, DNNL_ARG_DIFF_SRC), &m->dx, err, err_len));
    add_arg(p, DNNL_ARG_DIFF_SRC, m->dx.lib);
    return 0;
}

static int build_backward_weights(cd_model *m, char *err, size_t err_len) {
    cd_prim *p = &m->p[CD_BWD_WEIGHTS];
    host_mds h;
    CD_TRY(host_mds_of(m, m->d.geom.mb, &h, err, err_len));
    CD_TRY(make_prim(m, CD_BWD_WEIGHTS, dnnl_backward_weights, m->d.geom.mb, m->p[CD_FWD].pd, p, err, err_len));
    dnnl_memory_t mem;
    CD_TRY(input_in(m, m->d.x, &h.x, cd_pd_md(p->pd, DNNL_ARG_SRC), &mem, err, err_len));
    add_arg(p, DNNL_ARG_SRC, mem);
    CD_TRY(input_in(m, m->d.grad_y, &h.y, cd_pd_md(p->pd, DNNL_ARG_DIFF_DST), &mem, err, err_len));
    add_arg(p, DNNL_ARG_DIFF_DST, mem);
    CD_TRY(result_in(m, m->d.dw, &h.w, cd_pd_md(p->pd, DNNL_ARG_DIFF_WEIGHTS), &m->dw, err, err_len));
    add_arg(p, DNNL_ARG_DIFF_WEIGHTS, m->dw.lib);
    if (m->d.has_bias) {
        CD_TRY(result_in(m, m->d.db, &h.b, cd_pd_md(p->pd, DNNL_ARG_DIFF_BIAS), &m->db, err, err_len));
        add_arg(p, DNNL_ARG_DIFF_BIAS, m->db.lib);
    }
    return 0;
}

int cd_build(cd_model *m, char *err, size_t err_len) {
    NNB_DNNL_TRY(dnnl_engine_create(&m->eng, dnnl_cpu, 0));
    NNB_DNNL_TRY(dnnl_stream_create(&m->stream, m->eng, dnnl_stream_default_flags));
    int backward = (m->d.dirs & (NNB_CONV_DIR_BWD_D | NNB_CONV_DIR_BWD_W)) != 0;
    /* The backward primitives take the training forward as their hint (and so its layouts, where they can). */
    CD_TRY(build_forward(m, &m->p[CD_FWD], backward ? dnnl_forward_training : dnnl_forward_inference, m->d.geom.mb,
                         &m->y, err, err_len));
    if (m->d.dirs & NNB_CONV_DIR_BWD_D)
        CD_TRY(build_backward_data(m, err, err_len));
    if (m->d.dirs & NNB_CONV_DIR_BWD_W)
        CD_TRY(build_backward_weights(m, err, err_len));
    return 0;
}

int cd_infer_net(cd_model *m, int64_t n, cd_infer **out, char *err, size_t err_len) {
    if (m->infer[n]) {
        *out = m->infer[n];
        return 0;
    }
    cd_infer *net = calloc(1, sizeof *net);
    if (!net)
        return nnb_fail(err, err_len, "conv: out of memory");
    m->infer[n] = net; /* freed with the model, built or not */
    CD_TRY(build_forward(m, &net->p, dnnl_forward_inference, n, &net->y, err, err_len));
    *out = net;
    return 0;
}

int cd_execute(cd_model *m, const cd_prim *p, char *err, size_t err_len) {
    NNB_DNNL_TRY(dnnl_primitive_execute(p->prim, m->stream, p->nargs, p->args));
    NNB_DNNL_TRY(dnnl_stream_wait(m->stream));
    return 0;
}

void cd_format_string(const dnnl_memory_desc_t *md, char *out, size_t len) {
    if (!md || md->format_kind != dnnl_blocked) {
        snprintf(out, len, "%s", md ? "opaque" : "none");
        return;
    }
    const dnnl_blocking_desc_t *b = &md->format_desc.blocking;
    int order[DNNL_MAX_NDIMS], nd = md->ndims;
    for (int i = 0; i < nd; i++)
        order[i] = i;
    for (int i = 1; i < nd; i++) /* outer dimensions by decreasing stride (insertion sort) */
        for (int j = i; j > 0 && b->strides[order[j]] > b->strides[order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1], order[j - 1] = t;
        }
    size_t pos = 0;
    for (int i = 0; i < nd && pos + 1 < len; i++) {
        int blocked = 0;
        for (int k = 0; k < b->inner_nblks; k++)
            blocked |= b->inner_idxs[k] == order[i];
        out[pos++] = (char)((blocked ? 'A' : 'a') + order[i]);
    }
    out[pos] = '\0';
    for (int k = 0; k < b->inner_nblks && pos + 1 < len; k++) {
        int w = snprintf(out + pos, len - pos, "%lld%c", (long long)b->inner_blks[k], 'a' + (int)b->inner_idxs[k]);
        pos = w < 0 ? pos : pos + (size_t)w < len ? pos + (size_t)w : len - 1;
    }
}

void cd_model_free(cd_model *m) {
    for (int i = 0; i < m->nprims_all; i++)
        dnnl_primitive_destroy(m->prims[i]);
    for (int i = 0; i < CD_NPRIMS; i++)
        if (m->p[i].pd)
            dnnl_primitive_desc_destroy(m->p[i].pd);
    for (int64_t n = 0; m->infer && n <= m->d.geom.mb; n++)
        if (m->infer[n]) {
            if (m->infer[n]->p.pd)
                dnnl_primitive_desc_destroy(m->infer[n]->p.pd);
            free(m->infer[n]);
        }
    nnb_dnnl_release(&m->mems);
    for (int i = 0; i < m->nbufs; i++)
        nnb_free(m->bufs[i]);
    nnb_free(m->scratch);
    if (m->stream)
        dnnl_stream_destroy(m->stream);
    if (m->eng)
        dnnl_engine_destroy(m->eng);
    free(m->prims), free(m->bufs), free(m->copies), free(m->scratch_mems), free(m->infer);
    nnb_conv_data_free(&m->d);
}
