/*
 * The convs group's command line (docs/convs.md): --conv DESC (kernels/conv_desc's benchdnn-style descriptor),
 * --conv-batch N, --conv-no-bias, --conv-dir fwd|bwd_d|bwd_w|all and --conv-algo NAME. cli.c hands these flags
 * here; nnb_cli_conv_finish turns them into nnb_config.conv once the whole command line is read.
 */
#include "cli.h"

#include "conv_desc.h"

#include <stdio.h>
#include <string.h>

#define CONV_EXAMPLE "--conv mb32ic64ih56oc64oh56kh3ph1"

void nnb_cli_conv_missing(char *err, size_t err_len) {
    snprintf(err, err_len,
             "the convs group needs a convolution problem: give --conv DESC (benchdnn's descriptor, e.g. %s; "
             "docs/convs.md)",
             CONV_EXAMPLE);
}

/* --conv-dir: fwd times the forward only; bwd_d / bwd_w time the forward and that part as the backward. */
static int parse_dirs(const char *v, uint32_t *dirs) {
    static const struct {
        const char *name;
        uint32_t bits;
    } dirs_by_name[] = {{"fwd", NNB_CONV_DIR_FWD},
                        {"bwd_d", NNB_CONV_DIR_FWD | NNB_CONV_DIR_BWD_D},
                        {"bwd_w", NNB_CONV_DIR_FWD | NNB_CONV_DIR_BWD_W},
                        {"all", NNB_CONV_DIR_ALL}};
    for (size_t i = 0; i < sizeof dirs_by_name / sizeof *dirs_by_name; i++)
        if (!strcmp(v, dirs_by_name[i].name)) {
            *dirs = dirs_by_name[i].bits;
            return 0;
        }
    return -1;
}

const char *nnb_conv_dir_name(uint32_t dirs) {
    if (dirs == NNB_CONV_DIR_FWD)
        return "fwd";
    if (dirs == (NNB_CONV_DIR_FWD | NNB_CONV_DIR_BWD_D))
        return "bwd_d";
    return dirs == (NNB_CONV_DIR_FWD | NNB_CONV_DIR_BWD_W) ? "bwd_w" : "all";
}

int nnb_cli_conv_flag(nnb_options *o, const char *flag, const char *v, char *err, size_t err_len) {
    if (!strcmp(flag, "--conv")) {
        o->conv_text = v;
        return 0;
    }
    if (!strcmp(flag, "--conv-dir")) {
        if (parse_dirs(v, &o->config.conv_dirs) == 0)
            return 0;
        snprintf(err, err_len, "--conv-dir: unknown direction '%s' (valid: fwd, bwd_d, bwd_w, all)", v);
        return -1;
    }
    if (!strcmp(flag, "--conv-algo")) {
        /* the runners know their algorithms and refuse others in available(); only the shape is checked here */
        if (!*v || strlen(v) > 64 ||
            strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:-.") != strlen(v)) {
            snprintf(err, err_len,
                     "--conv-algo: '%s' is not an algorithm name (auto, find, direct, winograd or a library's name)",
                     v);
            return -1;
        }
        o->config.conv_algo = v;
        return 0;
    }
    snprintf(err, err_len, "%s: not a convs flag", flag);
    return -1;
}

int nnb_cli_conv_check_memory(const nnb_options *o, unsigned long long phys, char *err, size_t err_len) {
    const nnb_conv_problem *p = o->config.conv;
    if (!p)
        return 0;
    /* x, w, y, b and as many gradients (dx, dw, grad_y, db) in fp32: the parser bounded each count */
    double x = (double)p->mb * p->ic * p->id * p->ih * p->iw,
           w = (double)p->oc * (p->ic / p->g) * p->kd * p->kh * p->kw,
           y = (double)p->mb * p->oc * p->od * p->oh * p->ow;
    double need = 2 * (x + w + y + (double)p->oc) * sizeof(float);
    if (need <= (double)phys)
        return 0;
    snprintf(err, err_len,
             "--conv '%.120s': its tensors (x, w, y and their gradients) need about %.1f GiB, more than this "
             "machine's %.1f GiB",
             o->conv_canonical, need / 1073741824.0, phys / 1073741824.0);
    return -1;
}

static void to_problem(const nnb_conv_desc *d, int has_bias, const char *name, nnb_conv_problem *p) {
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->ndims = d->ndims;
    p->g = d->g, p->mb = d->mb, p->ic = d->ic, p->oc = d->oc;
    p->id = d->id, p->ih = d->ih, p->iw = d->iw;
    p->od = d->od, p->oh = d->oh, p->ow = d->ow;
    p->kd = d->kd, p->kh = d->kh, p->kw = d->kw;
    p->sd = d->sd, p->sh = d->sh, p->sw = d->sw;
    p->pd = d->pd, p->ph = d->ph, p->pw = d->pw;
    p->dd = d->dd, p->dh = d->dh, p->dw = d->dw;
    p->has_bias = has_bias;
    p->name = name[0] ? name : NULL;
}

int nnb_cli_conv_finish(nnb_options *o, char *err, size_t err_len) {
    /* --conv-batch, --conv-dir... without --conv are accepted and unused, like --cnn-batch on an LSTM run: a sweep
     * gives them among its common arguments and --conv per point */
    o->config.conv = NULL;
    if (!o->conv_text)
        return 0;
    nnb_conv_desc d;
    char msg[400];
    if (nnb_conv_desc_parse(o->conv_text, &d, msg, sizeof msg) ||
        (o->conv_batch && nnb_conv_desc_set_mb(&d, o->conv_batch, msg, sizeof msg))) {
        snprintf(err, err_len, "--conv '%.120s': %s", o->conv_text, msg);
        return -1;
    }
    snprintf(o->conv_name, sizeof o->conv_name, "%s", d.name);
    to_problem(&d, !o->conv_no_bias, o->conv_name, &o->conv_problem);
    nnb_conv_desc_format(&d, o->conv_canonical, sizeof o->conv_canonical);
    o->config.conv = &o->conv_problem;
    return 0;
}
