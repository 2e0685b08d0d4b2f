#include "conv_data.h"

#include "nnb_precision.h"

#include <math.h>
#include <string.h>

nnb_conv_geom nnb_conv_geom_from_problem(const nnb_conv_problem *p) {
    nnb_conv_geom g = {
        .g = p->g,   .mb = p->mb, .ic = p->ic, .oc = p->oc, .id = p->id, .ih = p->ih, .iw = p->iw, .od = p->od,
        .oh = p->oh, .ow = p->ow, .kd = p->kd, .kh = p->kh, .kw = p->kw, .sd = p->sd, .sh = p->sh, .sw = p->sw,
        .pd = p->pd, .ph = p->ph, .pw = p->pw, .dd = p->dd, .dh = p->dh, .dw = p->dw,
    };
    return g;
}

static void set_view(nnb_tensor *t, const char *name, const float *data, int ndim, const int64_t *shape) {
    memset(t, 0, sizeof *t);
    t->name = name;
    t->dtype = NNB_F32;
    t->ndim = ndim;
    memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    t->data = data;
}

/* Shapes of x, w and y with ndims axes (the depth axis only for 3-D problems). */
static int shape_of(const nnb_conv_data *d, char which, int64_t *s) {
    const nnb_conv_geom *g = &d->geom;
    int three = d->ndims == 5, k = 0;
    s[k++] = which == 'x' ? g->mb : which == 'w' ? g->oc : g->mb;
    s[k++] = which == 'x' ? g->ic : which == 'w' ? g->ic / g->g : g->oc;
    if (three)
        s[k++] = which == 'x' ? g->id : which == 'w' ? g->kd : g->od;
    s[k++] = which == 'x' ? g->ih : which == 'w' ? g->kh : g->oh;
    s[k++] = which == 'x' ? g->iw : which == 'w' ? g->kw : g->ow;
    return k;
}

static void make_views(nnb_conv_data *d) {
    int64_t sx[5], sw[5], sy[5], sb[1] = {d->geom.oc};
    int nx = shape_of(d, 'x', sx), nw = shape_of(d, 'w', sw), ny = shape_of(d, 'y', sy);
    int p = 0, o = 0;
    set_view(&d->params[p++], "x", d->x, nx, sx);
    set_view(&d->params[p++], "w", d->w, nw, sw);
    if (d->has_bias)
        set_view(&d->params[p++], "b", d->b, 1, sb);
    set_view(&d->params[p++], "grad_y", d->grad_y, ny, sy);
    set_view(&d->outputs[o++], "y", d->y, ny, sy);
    set_view(&d->outputs[o++], "dx", d->dx, nx, sx);
    set_view(&d->outputs[o++], "dw", d->dw, nw, sw);
    if (d->has_bias)
        set_view(&d->outputs[o++], "db", d->db, 1, sb);
    d->param_count = p;
    d->output_count = o;
}

int nnb_conv_data_init(nnb_conv_data *d, const nnb_config *cfg, char *err, size_t err_len) {
    memset(d, 0, sizeof *d);
    if (cfg->struct_size < offsetof(nnb_config, conv_algo) + sizeof cfg->conv_algo || !cfg->conv)
        return nnb_fail(err, err_len, "no convolution problem: give one with --conv DESC (e.g. --conv "
                                      "mb32ic64ih56oc64oh56kh3ph1)");
    d->geom = nnb_conv_geom_from_problem(cfg->conv);
    d->ndims = cfg->conv->ndims;
    d->has_bias = cfg->conv->has_bias != 0;
    d->precision = cfg->precision;
    d->x_count = nnb_conv_geom_x_count(&d->geom);
    d->w_count = nnb_conv_geom_w_count(&d->geom);
    d->y_count = nnb_conv_geom_y_count(&d->geom);
    if (!d->x_count || !d->w_count || !d->y_count || (d->ndims != 4 && d->ndims != 5))
        return nnb_fail(err, err_len, "convolution problem %s: sizes are not positive, or overflow",
                        cfg->conv->name ? cfg->conv->name : "(unnamed)");
    size_t oc = (size_t)d->geom.oc;
    d->x = nnb_alloc_floats((size_t)d->x_count);
    d->w = nnb_alloc_floats((size_t)d->w_count);
    d->grad_y = nnb_alloc_floats((size_t)d->y_count);
    d->y = nnb_alloc_floats((size_t)d->y_count);
    d->dx = nnb_alloc_floats((size_t)d->x_count);
    d->dw = nnb_alloc_floats((size_t)d->w_count);
    if (d->has_bias) {
        d->b = nnb_alloc_floats(oc);
        d->db = nnb_alloc_floats(oc);
    }
    if (!d->x || !d->w || !d->grad_y || !d->y || !d->dx || !d->dw || (d->has_bias && (!d->b || !d->db))) {
        nnb_conv_data_free(d);
        return nnb_fail(err, err_len, "out of memory for the convolution's buffers (x %lld, w %lld, y %lld floats)",
                        (long long)d->x_count, (long long)d->w_count, (long long)d->y_count);
    }
    double fan_in = (double)(d->geom.ic / d->geom.g) * (double)(d->geom.kd * d->geom.kh * d->geom.kw);
    float bound = (float)(1.0 / sqrt(fan_in));
    nnb_fill_normal(d->x, (size_t)d->x_count, cfg->seed, "x");
    nnb_fill_uniform(d->w, (size_t)d->w_count, cfg->seed, "w", -bound, bound);
    if (d->has_bias)
        nnb_fill_uniform(d->b, oc, cfg->seed, "b", -bound, bound);
    nnb_fill_normal(d->grad_y, (size_t)d->y_count, cfg->seed, "grad_y");
    nnb_round_to_precision(d->x, (size_t)d->x_count, d->precision);
    nnb_round_to_precision(d->w, (size_t)d->w_count, d->precision);
    if (d->has_bias)
        nnb_round_to_precision(d->b, oc, d->precision);
    nnb_round_to_precision(d->grad_y, (size_t)d->y_count, d->precision);
    make_views(d);
    return 0;
}

void nnb_conv_data_free(nnb_conv_data *d) {
    float *bufs[] = {d->x, d->w, d->b, d->grad_y, d->y, d->dx, d->dw, d->db};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        nnb_free(bufs[i]);
    memset(d, 0, sizeof *d);
}

void nnb_conv_data_zero_outputs(nnb_conv_data *d) {
    memset(d->y, 0, (size_t)d->y_count * sizeof *d->y);
    memset(d->dx, 0, (size_t)d->x_count * sizeof *d->dx);
    memset(d->dw, 0, (size_t)d->w_count * sizeof *d->dw);
    if (d->db)
        memset(d->db, 0, (size_t)d->geom.oc * sizeof *d->db);
}

nnb_tensor_list nnb_conv_data_params(const nnb_conv_data *d) {
    nnb_tensor_list l = {d->param_count, d->params};
    return l;
}

nnb_tensor_list nnb_conv_data_outputs(const nnb_conv_data *d) {
    nnb_tensor_list l = {d->output_count, d->outputs};
    return l;
}

double nnb_conv_forward_flops(const nnb_conv_data *d) { return 2.0 * nnb_conv_geom_macs(&d->geom); }

double nnb_conv_backward_flops(const nnb_conv_data *d, uint32_t dirs) {
    double one = nnb_conv_forward_flops(d);
    return ((dirs & NNB_CONV_DIR_BWD_D) ? one : 0.0) + ((dirs & NNB_CONV_DIR_BWD_W) ? one : 0.0);
}
