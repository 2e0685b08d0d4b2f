/*
 * benchdnn-style convolution problem descriptors ("mb32ic64ih56oc64oh56kh3ph1n\"resnet_50:res2a_branch2b\""):
 * parsing with benchdnn's defaults and deductions, checking, and the canonical text of a problem. A leaf used by
 * the driver (--conv) and the tools (sweep shape sets); it includes nothing of the project's (the driver copies
 * the result into <nnbench/runner.h>'s nnb_conv_problem).
 *
 * Grammar (docs/convs.md): a sequence of entries KEY NUMBER, in any order, optionally separated by '_', then an
 * optional name n"TEXT" (or nTEXT to the end, benchdnn's unquoted form). Keys: g mb ic id ih iw oc od oh ow
 * kd kh kw sd sh sw pd ph pw dd dh dw. Numbers are decimal, without sign.
 *
 * Defaults and deductions, per spatial triple (d, h, w):
 *   - 3-D when any of id, od, kd, sd, pd, dd is given, else 2-D (d is then 1 for sizes, 0 for padding/dilation);
 *   - a missing w takes h, a missing h takes w; in 3-D, when both are missing they take d, a missing d takes h;
 *   - g = 1, mb = 2 (benchdnn's), stride 1, dilation 0 (dense, benchdnn's convention), padding 0;
 *   - kernel, ic and oc are required, and an input or an output size;
 *   - a missing output size is computed: o = (i + 2p - ((k - 1)(d + 1) + 1)) / s + 1;
 *   - a missing input size is the smallest one giving the output: i = (o - 1) s - 2p + (k - 1)(d + 1) + 1;
 *   - with both sizes given and no padding key of that triple, the padding is deduced (benchdnn's rule)
 *     p = max(0, ((o - 1) s - i + (k - 1)(d + 1) + 1) / 2); then the output must equal the computed one.
 * Errors are one line naming the key and its 1-based character position in the text.
 */
#ifndef NNB_CONV_DESC_H
#define NNB_CONV_DESC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NNB_CONV_DESC_NAME_MAX 128           /* bytes of a name, NUL included */
#define NNB_CONV_DESC_DEFAULT_MB 2           /* benchdnn's default minibatch */
#define NNB_CONV_DESC_MAX_VALUE 2147483647LL /* any one number */

typedef struct nnb_conv_desc {
    int ndims; /* 4 (2-D) or 5 (3-D) */
    int64_t g, mb, ic, oc;
    int64_t id, ih, iw;
    int64_t od, oh, ow;
    int64_t kd, kh, kw;
    int64_t sd, sh, sw;
    int64_t pd, ph, pw;
    int64_t dd, dh, dw;
    int mb_given;                      /* the text had mb */
    char name[NNB_CONV_DESC_NAME_MAX]; /* "" when the text had none */
} nnb_conv_desc;

/* Parse and check text into out. 0, or -1 with a one-line message in err ("unknown key 'ix' at character 5 ..."). */
int nnb_conv_desc_parse(const char *text, nnb_conv_desc *out, char *err, size_t err_len);

/* Replace the minibatch (--conv-batch) and re-check the buffer sizes. 0, or -1 with err. */
int nnb_conv_desc_set_mb(nnb_conv_desc *d, int64_t mb, char *err, size_t err_len);

/* The canonical text of d: g (when not 1), mb, ic, [id,] ih, [iw,] oc, [od,] oh, [ow,] kernel, then stride,
 * padding and dilation only when not the defaults, each w (and h in 3-D) only when the deduction would not give
 * it, then n"name". Parsing it gives d back. Returns the length it needs (like snprintf). */
size_t nnb_conv_desc_format(const nnb_conv_desc *d, char *buf, size_t cap);

/* Element counts of x (mb, ic, id, ih, iw), w (oc, ic/g, kd, kh, kw) and y (mb, oc, od, oh, ow); multiply-adds of
 * one forward pass. The parser guarantees each count times 8 fits in int64. */
int64_t nnb_conv_desc_x_count(const nnb_conv_desc *d);
int64_t nnb_conv_desc_w_count(const nnb_conv_desc *d);
int64_t nnb_conv_desc_y_count(const nnb_conv_desc *d);
double nnb_conv_desc_macs(const nnb_conv_desc *d);

#ifdef __cplusplus
}
#endif
#endif /* NNB_CONV_DESC_H */
