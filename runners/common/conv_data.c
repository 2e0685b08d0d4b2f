#include "conv_data.h"

#include "nnb_precision.h"

#include <float.h>
#include <math.h>
#include <string.h>

const char *nnb_conv_part_name(nnb_conv_part part) {
    return part == NNB_CONV_PART_BWD_DATA ? "bwd_data" : part == NNB_CONV_PART_BWD_WEIGHTS ? "bwd_weights" : NULL;
}

uint32_t nnb_conv_dirs(const nnb_config *cfg) {
    int has_field = cfg->struct_size >= offsetof(nnb_config, conv_dirs) + sizeof cfg->conv_dirs;
    uint32_t dirs = has_field ? cfg->conv_dirs & NNB_CONV_DIR_ALL : 0;
    return dirs ? dirs : NNB_CONV_DIR_ALL;
}

int nnb_conv_backward_parts(uint32_t dirs, nnb_conv_part *parts) {
    int n = 0;
    if (dirs & NNB_CONV_DIR_BWD_D)
        parts[n++] = NNB_CONV_PART_BWD_DATA;
    if (dirs & NNB_CONV_DIR_BWD_W)
        parts[n++] = NNB_CONV_PART_BWD_WEIGHTS;
    return n;
}

nnb_conv_geom nnb_conv_geom_from_problem(const nnb_conv_problem *p) {
    nnb_conv_geom g = {
        .g = p->g,
        .mb = p->mb,
        .ic = p->ic,
        .oc = p->oc,
        .id = p->id,
        .ih = p->ih,
        .iw = p->iw,
        .od = p->od,
        .oh = p->oh,
        .ow = p->ow,
        .kd = p->kd,
        .kh = p->kh,
        .kw = p->kw,
        .sd = p->sd,
        .sh = p->sh,
        .sw = p->sw,
        .pd = p->pd,
        .ph = p->ph,
        .pw = p->pw,
        .dd = p->dd,
        .dh = p->dh,
        .dw = p->dw,
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
    if (d->dirs & NNB_CONV_DIR_BWD_D)
        set_view(&d->outputs[o++], "dx", d->dx, nx, sx);
    if (d->dirs & NNB_CONV_DIR_BWD_W)
        set_view(&d->outputs[o++], "dw", d->dw, nw, sw);
    if (d->has_bias && (d->dirs & NNB_CONV_DIR_BWD_W))
        set_view(&d->outputs[o++], "db", d->db, 1, sb);
    set_view(&d->infer_output, "y", d->y, ny, sy);
    d->param_count = p;
    d->output_count = o;
}

int nnb_conv_data_init(nnb_conv_data *d, const nnb_config *cfg, char *err, size_t err_len) {
    memset(d, 0, sizeof *d);
    if (cfg->struct_size < offsetof(nnb_config, conv_algo) + sizeof cfg->conv_algo || !cfg->conv)
        return nnb_fail(err, err_len,
                        "no convolution problem: give one with --conv DESC (e.g. --conv "
                        "mb32ic64ih56oc64oh56kh3ph1)");
    if (cfg->conv->struct_size < offsetof(nnb_conv_problem, name) + sizeof cfg->conv->name)
        return nnb_fail(err, err_len, "convolution problem from an older driver (struct_size %zu): rebuild nnbench",
                        cfg->conv->struct_size);
    d->geom = nnb_conv_geom_from_problem(cfg->conv);
    d->ndims = cfg->conv->ndims;
    d->has_bias = cfg->conv->has_bias != 0;
    d->precision = cfg->precision;
    d->dirs = nnb_conv_dirs(cfg);
    d->part_count = nnb_conv_backward_parts(d->dirs, d->parts);
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

nnb_tensor_list nnb_conv_data_infer_outputs(nnb_conv_data *d, int64_t n) {
    d->infer_output.shape[0] = n;
    nnb_tensor_list l = {1, &d->infer_output};
    return l;
}

int nnb_conv_data_infer_geom(const nnb_conv_data *d, int64_t n, nnb_conv_geom *out, char *err, size_t err_len) {
    if (n < 1 || n > d->geom.mb)
        return nnb_fail(err, err_len, "infer: batch %lld is outside 1..%lld (the problem's mb)", (long long)n,
                        (long long)d->geom.mb);
    *out = d->geom;
    out->mb = n;
    return 0;
}

int nnb_conv_data_load_param(nnb_conv_data *d, const char *runner, const nnb_tensor *v, char *err, size_t err_len) {
    if (!v || !v->name)
        return nnb_fail(err, err_len, "%s: load_param: no tensor (or no name) given", runner);
    if (!strcmp(v->name, "x") || !strcmp(v->name, "grad_y"))
        return nnb_fail(err, err_len, "%s: load_param '%s': an input of the benchmark, not a loadable parameter",
                        runner, v->name);
    const nnb_tensor *p = NULL;
    for (int i = 0; i < d->param_count; i++)
        if (!strcmp(d->params[i].name, v->name))
            p = &d->params[i];
    if (!p)
        return nnb_fail(err, err_len, "%s: load_param '%.64s': no such parameter (this problem has w%s)", runner,
                        v->name, d->has_bias ? " and b" : ", no bias");
    if (nnb_check_param_value(runner, p->name, p->ndim, p->shape, v, err, err_len))
        return -1;
    float *dst = p->data == d->w ? d->w : d->b;
    size_t n = (size_t)(p->data == d->w ? d->w_count : d->geom.oc);
    memcpy(dst, v->data, n * sizeof *dst);
    nnb_round_to_precision(dst, n, d->precision);
    return 0;
}

double nnb_conv_check_tolerance(const nnb_config *cfg) {
    if (cfg->struct_size < offsetof(nnb_config, conv) + sizeof cfg->conv || !cfg->conv)
        return 0.0;
    nnb_conv_geom g = nnb_conv_geom_from_problem(cfg->conv);
    if (!nnb_conv_geom_valid(&g))
        return 0.0;
    double taps = (double)g.kd * (double)g.kh * (double)g.kw;
    double k = fmax(fmax((double)(g.ic / g.g) * taps, (double)(g.oc / g.g) * taps),
                    (double)g.mb * (double)g.od * (double)g.oh * (double)g.ow);
    double tol = fmax(1e-4, 8.0 * FLT_EPSILON * sqrt(k));
    if (cfg->precision != NNB_PRECISION_FP32)
        tol += 4.0 * nnb_precision_unit_roundoff(cfg->precision);
    return tol;
}
