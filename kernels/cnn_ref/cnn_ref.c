/* Plain C reference CNN layers and whole ResNet: see cnn_ref.h. */
#include "cnn_ref.h"

#include "../kernel_util.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Zeroed, 64-byte aligned; release with free(). */
static void *alloc_zeroed(size_t bytes) {
    size_t rounded = (bytes + 63) / 64 * 64;
    if (rounded < bytes)
        return NULL;
    if (rounded == 0)
        rounded = 64;
    void *p = aligned_alloc(64, rounded);
    if (p)
        memset(p, 0, rounded);
    return p;
}

nnb_conv_dims nnb_conv_dims_make(int64_t n, int64_t c, int64_t h, int64_t w, int64_t k, int64_t r, int64_t stride,
                                 int64_t pad) {
    nnb_conv_dims d = {n, c, h, w, k, r, stride, pad, (h + 2 * pad - r) / stride + 1, (w + 2 * pad - r) / stride + 1};
    return d;
}

/* Output positions o in [*lo, *hi) whose input index o*stride - pad + off lies in [0, in_len). */
static void valid_range(int64_t out_len, int64_t in_len, int64_t stride, int64_t pad, int64_t off, int64_t *lo,
                        int64_t *hi) {
    int64_t first = pad - off > 0 ? (pad - off + stride - 1) / stride : 0;
    int64_t last_in = in_len - 1 + pad - off; /* o*stride <= last_in */
    int64_t end = last_in < 0 ? 0 : last_in / stride + 1;
    *lo = first;
    *hi = end < out_len ? end : out_len;
    if (*hi < *lo)
        *hi = *lo;
}

/* Unfolds image x (c, h, w) into col (c*r*r, oh*ow), zero where the window hangs over the padding. */
static void im2col(const nnb_conv_dims *d, const double *x, double *col) {
    const int64_t p_out = d->oh * d->ow;
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < d->c; c++)
        for (int64_t r1 = 0; r1 < d->r; r1++)
            for (int64_t r2 = 0; r2 < d->r; r2++) {
                double *row = col + ((c * d->r + r1) * d->r + r2) * p_out; // (oh, ow)
                memset(row, 0, (size_t)p_out * sizeof *row);
                int64_t oh0, oh1, ow0, ow1;
                valid_range(d->oh, d->h, d->stride, d->pad, r1, &oh0, &oh1);
                valid_range(d->ow, d->w, d->stride, d->pad, r2, &ow0, &ow1);
                for (int64_t oh = oh0; oh < oh1; oh++) {
                    const int64_t xrow = (c * d->h + oh * d->stride - d->pad + r1) * d->w - d->pad + r2;
                    for (int64_t ow = ow0; ow < ow1; ow++)
                        row[oh * d->ow + ow] = x[xrow + ow * d->stride];
                }
            }
}

/* dx (c, h, w) += fold of dcol (c*r*r, oh*ow): the adjoint of im2col. */
static void col2im_add(const nnb_conv_dims *d, const double *dcol, double *dx) {
    const int64_t p_out = d->oh * d->ow;
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < d->c; c++) /* each thread owns whole input channels */
        for (int64_t r1 = 0; r1 < d->r; r1++)
            for (int64_t r2 = 0; r2 < d->r; r2++) {
                const double *row = dcol + ((c * d->r + r1) * d->r + r2) * p_out;
                int64_t oh0, oh1, ow0, ow1;
                valid_range(d->oh, d->h, d->stride, d->pad, r1, &oh0, &oh1);
                valid_range(d->ow, d->w, d->stride, d->pad, r2, &ow0, &ow1);
                for (int64_t oh = oh0; oh < oh1; oh++) {
                    const int64_t xrow = (c * d->h + oh * d->stride - d->pad + r1) * d->w - d->pad + r2;
                    for (int64_t ow = ow0; ow < ow1; ow++)
                        dx[xrow + ow * d->stride] += row[oh * d->ow + ow];
                }
            }
}

size_t nnb_ref_conv_work_size(const nnb_conv_dims *d) {
    size_t n;
    size_t rows;
    if (nnb_kernel_mul_size(&rows, 2, (size_t)(d->c * d->r * d->r)) ||
        nnb_kernel_mul_size(&n, rows, (size_t)(d->oh * d->ow)))
        return 0;
    return n;
}

/* The convolution as im2col + a plain triple loop per image:
 *   y[n] (k, oh*ow) = w (k, c*r*r) . col[n] (c*r*r, oh*ow) */
void nnb_ref_conv_forward(const nnb_conv_dims *d, const double *x, const double *w, double *y, double *work) {
    const int64_t p_out = d->oh * d->ow, j_len = d->c * d->r * d->r;
    double *col = work; // (c*r*r, oh*ow)
    for (int64_t n = 0; n < d->n; n++) {
        im2col(d, x + n * d->c * d->h * d->w, col);
#pragma omp parallel for schedule(static)
        for (int64_t k = 0; k < d->k; k++) {
            double *yk = y + (n * d->k + k) * p_out; // (oh*ow)
            memset(yk, 0, (size_t)p_out * sizeof *yk);
            for (int64_t j = 0; j < j_len; j++) {
                const double wv = w[k * j_len + j];
                const double *cj = col + j * p_out;
                for (int64_t p = 0; p < p_out; p++)
                    yk[p] += wv * cj[p];
            }
        }
    }
}

/*   dw (k, c*r*r) = sum_n dy[n] (k, oh*ow) . col[n]^T
 *   dcol[n] (c*r*r, oh*ow) = w^T . dy[n], folded back into dx[n] */
void nnb_ref_conv_backward(const nnb_conv_dims *d, const double *x, const double *w, const double *dy, double *dx,
                           double *dw, double *work) {
    const int64_t p_out = d->oh * d->ow, j_len = d->c * d->r * d->r;
    double *col = work, *dcol = work + j_len * p_out; // both (c*r*r, oh*ow)
    memset(dw, 0, (size_t)(d->k * j_len) * sizeof *dw);
    for (int64_t n = 0; n < d->n; n++) {
        const double *dyn = dy + n * d->k * p_out; // (k, oh*ow)
        im2col(d, x + n * d->c * d->h * d->w, col);
#pragma omp parallel for schedule(static)
        for (int64_t k = 0; k < d->k; k++)
            for (int64_t j = 0; j < j_len; j++) {
                double acc = 0.0;
                for (int64_t p = 0; p < p_out; p++)
                    acc += dyn[k * p_out + p] * col[j * p_out + p];
                dw[k * j_len + j] += acc;
            }
        if (!dx)
            continue;
#pragma omp parallel for schedule(static)
        for (int64_t j = 0; j < j_len; j++) {
            double *dcj = dcol + j * p_out;
            memset(dcj, 0, (size_t)p_out * sizeof *dcj);
            for (int64_t k = 0; k < d->k; k++) {
                const double wv = w[k * j_len + j];
                for (int64_t p = 0; p < p_out; p++)
                    dcj[p] += wv * dyn[k * p_out + p];
            }
        }
        col2im_add(d, dcol, dx + n * d->c * d->h * d->w);
    }
}

void nnb_ref_bn_forward(int64_t n, int64_t c, int64_t hw, const double *x, const double *gamma, const double *beta,
                        double eps, double momentum, double *running_mean, double *running_var, double *save_mean,
                        double *save_invstd, double *y) {
    const double m = (double)(n * hw); /* values per channel */
#pragma omp parallel for schedule(static)
    for (int64_t ch = 0; ch < c; ch++) {
        double sum = 0.0;
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < hw; j++)
                sum += x[(i * c + ch) * hw + j];
        const double mean = sum / m;
        double ss = 0.0; /* two-pass variance: exact enough to be a reference */
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < hw; j++) {
                double t = x[(i * c + ch) * hw + j] - mean;
                ss += t * t;
            }
        const double var = ss / m, invstd = 1.0 / sqrt(var + eps);
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < hw; j++) {
                int64_t e = (i * c + ch) * hw + j;
                y[e] = (x[e] - mean) * invstd * gamma[ch] + beta[ch];
            }
        save_mean[ch] = mean;
        save_invstd[ch] = invstd;
        if (running_mean)
            running_mean[ch] = (1.0 - momentum) * running_mean[ch] + momentum * mean;
        if (running_var)
            running_var[ch] = (1.0 - momentum) * running_var[ch] + momentum * ss / (m - 1.0);
    }
}

void nnb_ref_bn_backward(int64_t n, int64_t c, int64_t hw, const double *x, const double *gamma,
                         const double *save_mean, const double *save_invstd, const double *dy, double *dx,
                         double *dgamma, double *dbeta) {
    const double m = (double)(n * hw);
#pragma omp parallel for schedule(static)
    for (int64_t ch = 0; ch < c; ch++) {
        const double mean = save_mean[ch], invstd = save_invstd[ch];
        double sum_dy = 0.0, sum_dy_xhat = 0.0;
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < hw; j++) {
                int64_t e = (i * c + ch) * hw + j;
                sum_dy += dy[e];
                sum_dy_xhat += dy[e] * (x[e] - mean) * invstd;
            }
        dgamma[ch] = sum_dy_xhat;
        dbeta[ch] = sum_dy;
        if (!dx)
            continue;
        /* dx = gamma * invstd / m * (m dy - sum(dy) - xhat sum(dy xhat)) */
        const double scale = gamma[ch] * invstd / m;
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < hw; j++) {
                int64_t e = (i * c + ch) * hw + j;
                double xhat = (x[e] - mean) * invstd;
                dx[e] += scale * (m * dy[e] - sum_dy - xhat * sum_dy_xhat);
            }
    }
}

void nnb_ref_bn_eval_forward(int64_t n, int64_t c, int64_t hw, const double *x, const double *gamma, const double *beta,
                             const double *running_mean, const double *running_var, double eps, double *y) {
#pragma omp parallel for schedule(static)
    for (int64_t ch = 0; ch < c; ch++) {
        const double invstd = 1.0 / sqrt(running_var[ch] + eps), mean = running_mean[ch];
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < hw; j++) {
                int64_t e = (i * c + ch) * hw + j;
                y[e] = (x[e] - mean) * invstd * gamma[ch] + beta[ch];
            }
    }
}

void nnb_ref_relu_forward(size_t count, const double *x, double *y) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < count; i++)
        y[i] = x[i] > 0.0 ? x[i] : 0.0;
}

void nnb_ref_relu_backward(size_t count, const double *x, const double *dy, double *dx) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < count; i++)
        dx[i] += x[i] > 0.0 ? dy[i] : 0.0;
}

/* Index (within the (h, w) plane) of the window's first maximum. */
static int64_t window_argmax(const double *xp, int64_t h, int64_t w, int64_t r, int64_t stride, int64_t pad, int64_t oh,
                             int64_t ow) {
    int64_t best = -1;
    double best_v = 0.0;
    for (int64_t r1 = 0; r1 < r; r1++) {
        int64_t ih = oh * stride - pad + r1;
        if (ih < 0 || ih >= h)
            continue;
        for (int64_t r2 = 0; r2 < r; r2++) {
            int64_t iw = ow * stride - pad + r2;
            if (iw < 0 || iw >= w)
                continue;
            double v = xp[ih * w + iw];
            if (best < 0 || v > best_v) {
                best = ih * w + iw;
                best_v = v;
            }
        }
    }
    return best; /* pad < r guarantees a non-empty window */
}

void nnb_ref_maxpool_forward(int64_t n, int64_t c, int64_t h, int64_t w, int64_t r, int64_t stride, int64_t pad,
                             int64_t oh, int64_t ow, const double *x, double *y) {
#pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < n * c; p++) {
        const double *xp = x + p * h * w;
        for (int64_t i = 0; i < oh; i++)
            for (int64_t j = 0; j < ow; j++)
                y[(p * oh + i) * ow + j] = xp[window_argmax(xp, h, w, r, stride, pad, i, j)];
    }
}

void nnb_ref_maxpool_backward(int64_t n, int64_t c, int64_t h, int64_t w, int64_t r, int64_t stride, int64_t pad,
                              int64_t oh, int64_t ow, const double *x, const double *dy, double *dx) {
#pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < n * c; p++) {
        const double *xp = x + p * h * w;
        for (int64_t i = 0; i < oh; i++)
            for (int64_t j = 0; j < ow; j++)
                dx[p * h * w + window_argmax(xp, h, w, r, stride, pad, i, j)] += dy[(p * oh + i) * ow + j];
    }
}

void nnb_ref_avgpool_forward(int64_t n, int64_t c, int64_t hw, const double *x, double *y) {
    for (int64_t p = 0; p < n * c; p++) {
        double sum = 0.0;
        for (int64_t j = 0; j < hw; j++)
            sum += x[p * hw + j];
        y[p] = sum / (double)hw;
    }
}

void nnb_ref_avgpool_backward(int64_t n, int64_t c, int64_t hw, const double *dy, double *dx) {
    for (int64_t p = 0; p < n * c; p++)
        for (int64_t j = 0; j < hw; j++)
            dx[p * hw + j] += dy[p] / (double)hw;
}

void nnb_ref_linear_forward(int64_t n, int64_t in, int64_t out, const double *x, const double *w, const double *b,
                            double *y) {
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t i = 0; i < n; i++)
        for (int64_t o = 0; o < out; o++) {
            double acc = b[o];
            for (int64_t j = 0; j < in; j++)
                acc += x[i * in + j] * w[o * in + j];
            y[i * out + o] = acc;
        }
}

void nnb_ref_linear_backward(int64_t n, int64_t in, int64_t out, const double *x, const double *w, const double *dy,
                             double *dx, double *dw, double *db) {
    if (dx) {
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < n; i++)
            for (int64_t o = 0; o < out; o++)
                for (int64_t j = 0; j < in; j++)
                    dx[i * in + j] += dy[i * out + o] * w[o * in + j];
    }
#pragma omp parallel for schedule(static)
    for (int64_t o = 0; o < out; o++) {
        double bsum = 0.0;
        for (int64_t j = 0; j < in; j++)
            dw[o * in + j] = 0.0;
        for (int64_t i = 0; i < n; i++) {
            bsum += dy[i * out + o];
            for (int64_t j = 0; j < in; j++)
                dw[o * in + j] += dy[i * out + o] * x[i * in + j];
        }
        db[o] = bsum;
    }
}

void nnb_ref_accumulate(size_t count, const double *src, double *dst) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < count; i++)
        dst[i] += src[i];
}

/* ---- whole network ---- */

static double *alloc_doubles(size_t n) {
    size_t bytes;
    if (nnb_kernel_mul_size(&bytes, n, sizeof(double)))
        return NULL;
    return alloc_zeroed(bytes);
}

static nnb_conv_dims layer_conv_dims(const nnb_resnet_layer *l) {
    return nnb_conv_dims_make(l->in.n, l->in.c, l->in.h, l->in.w, l->out.c, l->kernel, l->stride, l->pad);
}

int nnb_cnn_ref_net_create(nnb_cnn_ref_net *net, const nnb_resnet_arch *a, char *err, size_t err_len) {
    memset(net, 0, sizeof *net);
    net->arch = a;
    net->params = alloc_doubles(a->param_floats);
    net->grads = alloc_doubles(a->param_floats);
    net->acts = calloc((size_t)a->num_acts, sizeof *net->acts);
    net->dacts = calloc((size_t)a->num_acts, sizeof *net->dacts);
    net->bn_offset = calloc((size_t)a->num_layers, sizeof *net->bn_offset);
    if (!net->params || !net->grads || !net->acts || !net->dacts || !net->bn_offset)
        goto oom;
    for (int i = 0; i < a->num_acts; i++) {
        size_t count = nnb_resnet_shape_count(a->acts[i]);
        if (count == 0)
            goto oom;
        net->acts[i] = alloc_doubles(count);
        net->dacts[i] = alloc_doubles(count);
        if (!net->acts[i] || !net->dacts[i])
            goto oom;
    }
    size_t save = 0, work = 1;
    for (int i = 0; i < a->num_layers; i++) {
        const nnb_resnet_layer *l = &a->layers[i];
        net->bn_offset[i] = save;
        if (l->op == NNB_RESNET_BN)
            save += 2 * (size_t)l->out.c;
        if (l->op == NNB_RESNET_CONV) {
            nnb_conv_dims d = layer_conv_dims(l);
            size_t need = nnb_ref_conv_work_size(&d);
            if (need == 0)
                goto oom;
            if (need > work)
                work = need;
        }
    }
    net->bn_save = alloc_doubles(save ? save : 1);
    net->conv_work = alloc_doubles(work);
    if (!net->bn_save || !net->conv_work)
        goto oom;
    return 0;
oom:
    nnb_cnn_ref_net_free(net);
    return nnb_kernel_fail(err, err_len, "resnet%d reference: out of memory (N=%lld, S=%lld, double precision)",
                           a->depth, (long long)a->batch, (long long)a->image_size);
}

void nnb_cnn_ref_net_free(nnb_cnn_ref_net *net) {
    if (!net)
        return;
    if (net->arch && net->acts)
        for (int i = 0; i < net->arch->num_acts; i++)
            free(net->acts[i]);
    if (net->arch && net->dacts)
        for (int i = 0; i < net->arch->num_acts; i++)
            free(net->dacts[i]);
    free(net->acts);
    free(net->dacts);
    free(net->params);
    free(net->grads);
    free(net->bn_save);
    free(net->conv_work);
    free(net->bn_offset);
    if (net->infer_bufs)
        for (int i = 0; i < net->infer_num_slots; i++)
            free(net->infer_bufs[i]);
    free(net->infer_bufs);
    free(net->infer_slot);
    memset(net, 0, sizeof *net);
}

static double *param_ptr(double *base, const nnb_resnet_arch *a, const nnb_resnet_layer *l, int i) {
    return base + a->params[l->param + i].offset;
}

/* Layer li on the first n samples: x (and x2, the shortcut, for add) -> y. BatchNorm in train mode (batch
 * statistics, saved for backward, running statistics updated) or, with eval, with the running statistics. */
static void forward_layer(nnb_cnn_ref_net *net, int li, int64_t n, int eval, const double *x, const double *x2,
                          double *y) {
    const nnb_resnet_arch *a = net->arch;
    const nnb_resnet_layer *l = &a->layers[li];
    nnb_resnet_shape in = l->in, out = l->out;
    in.n = out.n = n;
    const int64_t hw = in.h * in.w;
    switch (l->op) {
    case NNB_RESNET_CONV: {
        nnb_conv_dims d = nnb_conv_dims_make(n, in.c, in.h, in.w, out.c, l->kernel, l->stride, l->pad);
        nnb_ref_conv_forward(&d, x, param_ptr(net->params, a, l, 0), y, net->conv_work);
        break;
    }
    case NNB_RESNET_BN: {
        double *gamma = param_ptr(net->params, a, l, 0), *beta = param_ptr(net->params, a, l, 1);
        double *rm = param_ptr(net->params, a, l, 2), *rv = param_ptr(net->params, a, l, 3);
        double *save = net->bn_save + net->bn_offset[li];
        if (eval)
            nnb_ref_bn_eval_forward(n, in.c, hw, x, gamma, beta, rm, rv, NNB_RESNET_BN_EPS, y);
        else
            nnb_ref_bn_forward(n, in.c, hw, x, gamma, beta, NNB_RESNET_BN_EPS, NNB_RESNET_BN_MOMENTUM, rm, rv, save,
                               save + in.c, y);
        break;
    }
    case NNB_RESNET_RELU: nnb_ref_relu_forward(nnb_resnet_shape_count(in), x, y); break;
    case NNB_RESNET_MAXPOOL:
        nnb_ref_maxpool_forward(n, in.c, in.h, in.w, l->kernel, l->stride, l->pad, out.h, out.w, x, y);
        break;
    case NNB_RESNET_ADD: {
        size_t count = nnb_resnet_shape_count(out);
        memcpy(y, x, count * sizeof *y);
        nnb_ref_accumulate(count, x2, y);
        break;
    }
    case NNB_RESNET_AVGPOOL: nnb_ref_avgpool_forward(n, in.c, hw, x, y); break;
    case NNB_RESNET_FC:
        nnb_ref_linear_forward(n, in.c, out.c, x, param_ptr(net->params, a, l, 0), param_ptr(net->params, a, l, 1), y);
        break;
    }
}

void nnb_cnn_ref_net_forward(nnb_cnn_ref_net *net) {
    const nnb_resnet_arch *a = net->arch;
    for (int li = 0; li < a->num_layers; li++) {
        const nnb_resnet_layer *l = &a->layers[li];
        forward_layer(net, li, a->batch, 0, net->acts[l->src], l->src2 >= 0 ? net->acts[l->src2] : NULL,
                      net->acts[l->dst]);
    }
}

/* The inference buffers, once: a slot plan without in-place layers (the loops read x while writing y), each
 * slot as large as the largest activation (at the full batch) it holds. */
static int infer_alloc(nnb_cnn_ref_net *net, char *err, size_t err_len) {
    const nnb_resnet_arch *a = net->arch;
    int *slot = malloc((size_t)a->num_acts * sizeof *slot);
    int ns = slot ? nnb_resnet_plan_inference_slots(a, 0, slot) : -1;
    size_t *need = ns > 0 ? calloc((size_t)ns, sizeof *need) : NULL;
    double **bufs = ns > 0 ? calloc((size_t)ns, sizeof *bufs) : NULL;
    int ok = need && bufs;
    for (int i = 0; ok && i < a->num_acts; i++) {
        size_t c = nnb_resnet_shape_count(a->acts[i]);
        need[slot[i]] = c > need[slot[i]] ? c : need[slot[i]];
    }
    for (int s = 0; ok && s < ns; s++)
        ok = (bufs[s] = alloc_doubles(need[s])) != NULL;
    free(need);
    if (!ok) {
        for (int s = 0; bufs && s < ns; s++)
            free(bufs[s]);
        free(bufs), free(slot);
        return nnb_kernel_fail(err, err_len, "resnet%d reference: out of memory for the inference buffers", a->depth);
    }
    net->infer_slot = slot, net->infer_bufs = bufs, net->infer_num_slots = ns;
    return 0;
}

int nnb_cnn_ref_net_infer(nnb_cnn_ref_net *net, int64_t n, double *logits, char *err, size_t err_len) {
    const nnb_resnet_arch *a = net->arch;
    if (n < 1 || n > a->batch)
        return nnb_kernel_fail(err, err_len, "infer: n = %lld outside 1..%lld (the batch the model was created for)",
                               (long long)n, (long long)a->batch);
    if (!net->infer_slot && infer_alloc(net, err, err_len))
        return -1;
    double **buf = net->infer_bufs;
    const int *slot = net->infer_slot;
    const nnb_resnet_shape x = a->acts[0], y = a->acts[a->num_acts - 1];
    memcpy(buf[slot[0]], net->acts[0], (size_t)n * (size_t)(x.c * x.h * x.w) * sizeof(double)); /* (n, 3, S, S) */
    for (int li = 0; li < a->num_layers; li++) {
        const nnb_resnet_layer *l = &a->layers[li];
        forward_layer(net, li, n, 1, buf[slot[l->src]], l->src2 >= 0 ? buf[slot[l->src2]] : NULL, buf[slot[l->dst]]);
    }
    memcpy(logits, buf[slot[a->num_acts - 1]], (size_t)n * (size_t)(y.c * y.h * y.w) * sizeof(double));
    return 0;
}

void nnb_cnn_ref_net_backward(nnb_cnn_ref_net *net, const double *grad_logits) {
    const nnb_resnet_arch *a = net->arch;
    for (int i = 0; i < a->num_acts; i++)
        memset(net->dacts[i], 0, nnb_resnet_shape_count(a->acts[i]) * sizeof(double));
    memset(net->grads, 0, a->param_floats * sizeof(double));
    memcpy(net->dacts[a->num_acts - 1], grad_logits, nnb_resnet_shape_count(a->acts[a->num_acts - 1]) * sizeof(double));
    for (int li = a->num_layers - 1; li >= 0; li--) {
        const nnb_resnet_layer *l = &a->layers[li];
        const double *x = net->acts[l->src], *dy = net->dacts[l->dst];
        double *dx = net->dacts[l->src];
        const int64_t hw = l->in.h * l->in.w;
        switch (l->op) {
        case NNB_RESNET_CONV: {
            nnb_conv_dims d = layer_conv_dims(l);
            nnb_ref_conv_backward(&d, x, param_ptr(net->params, a, l, 0), dy, dx, param_ptr(net->grads, a, l, 0),
                                  net->conv_work);
            break;
        }
        case NNB_RESNET_BN: {
            const double *save = net->bn_save + net->bn_offset[li];
            nnb_ref_bn_backward(l->in.n, l->in.c, hw, x, param_ptr(net->params, a, l, 0), save, save + l->in.c, dy, dx,
                                param_ptr(net->grads, a, l, 0), param_ptr(net->grads, a, l, 1));
            break;
        }
        case NNB_RESNET_RELU: nnb_ref_relu_backward(nnb_resnet_shape_count(l->in), x, dy, dx); break;
        case NNB_RESNET_MAXPOOL:
            nnb_ref_maxpool_backward(l->in.n, l->in.c, l->in.h, l->in.w, l->kernel, l->stride, l->pad, l->out.h,
                                     l->out.w, x, dy, dx);
            break;
        case NNB_RESNET_ADD: {
            size_t count = nnb_resnet_shape_count(l->out);
            nnb_ref_accumulate(count, dy, dx);
            nnb_ref_accumulate(count, dy, net->dacts[l->src2]);
            break;
        }
        case NNB_RESNET_AVGPOOL: nnb_ref_avgpool_backward(l->in.n, l->in.c, hw, dy, dx); break;
        case NNB_RESNET_FC:
            nnb_ref_linear_backward(l->in.n, l->in.c, l->out.c, x, param_ptr(net->params, a, l, 0), dy, dx,
                                    param_ptr(net->grads, a, l, 0), param_ptr(net->grads, a, l, 1));
            break;
        }
    }
}
