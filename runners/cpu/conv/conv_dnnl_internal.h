/*
 * Internals of the oneDNN convolution runner `conv` (plugin nnb_cpu_conv). Not an interface: only
 * conv_dnnl.c (runner entry points) and conv_dnnl_build.c (descriptors, primitives, layouts) include it.
 *
 * Ownership: the model owns every primitive, primitive descriptor, memory object and host buffer it makes;
 * cd_model_free releases them. Every function with `char *err, size_t err_len` returns 0, or -1 with one line
 * in err.
 */
#ifndef NNB_CONV_DNNL_INTERNAL_H
#define NNB_CONV_DNNL_INTERNAL_H

#include "conv_data.h"
#include "nnb_dnnl_support.h"

#include <oneapi/dnnl/dnnl.h>

#define CD_TRY(expr)                                                                                                   \
    do {                                                                                                               \
        if ((expr) != 0)                                                                                               \
            return -1;                                                                                                 \
    } while (0)

/* The three primitives of the training step, in the order backward runs them after forward. */
enum { CD_FWD = 0, CD_BWD_DATA = 1, CD_BWD_WEIGHTS = 2, CD_NPRIMS = 3 };

/* One primitive with its arguments (the memories stay the model's). */
typedef struct cd_prim {
    dnnl_primitive_desc_t pd; /* NULL: not built (its direction was not asked for) */
    dnnl_primitive_t prim;
    dnnl_exec_arg_t args[8];
    int nargs;
    char impl[96];       /* oneDNN's implementation name, e.g. "brg:avx512_core" */
    dnnl_alg_kind_t alg; /* what oneDNN resolved the requested algorithm to */
} cd_prim;

/* A host fp32 tensor in the user's layout (NCHW / OIHW) in one library layout: made once by a reorder. */
typedef struct cd_copy {
    const float *user;        /* the host buffer it was made from */
    dnnl_memory_desc_t md;    /* the library layout and data type */
    dnnl_memory_t host, mem;  /* over user; the copy (host itself when md is the host layout) */
    dnnl_primitive_t reorder; /* host -> mem, NULL when mem is host; run again by load_param */
} cd_copy;

/* A result in the library layout, and the reorder that writes it to the host buffer (NULL: written there). */
typedef struct cd_result {
    dnnl_memory_t lib, user;
    dnnl_primitive_t reorder;
} cd_result;

/* infer(n): a forward_inference primitive over the first n samples (built on the first infer(n)). */
typedef struct cd_infer {
    cd_prim p;
    cd_result y; /* into the first n samples of the host y */
} cd_infer;

typedef struct cd_model {
    nnb_conv_data d; /* host tensors: inputs rounded to the precision, results widened to fp32 */
    int threads;
    dnnl_alg_kind_t alg; /* requested: direct, winograd or auto */
    const char *algo_name;
    dnnl_data_type_t dt;    /* src, weights, dst, diff_src, diff_dst: f32 or bf16 */
    dnnl_data_type_t dw_dt; /* diff_weights: f32 in every precision (oneDNN 2.6 takes bf16 too) */

    dnnl_engine_t eng;
    dnnl_stream_t stream;
    nnb_dnnl_memories mems; /* every memory object */
    void **bufs;            /* host buffers under library-layout memories */
    int nbufs, cap_bufs;
    dnnl_primitive_t *prims; /* every primitive (convolutions and reorders), destroyed at the end */
    int nprims_all, cap_prims;

    cd_prim p[CD_NPRIMS];
    cd_copy *copies; /* inputs (x, w, b, grad_y) in each layout a primitive reads */
    int ncopies, cap_copies;
    cd_result y, dx, dw, db;

    /* One scratchpad buffer for every primitive (user scratchpad mode: nothing allocated in a timed call). */
    void *scratch;
    size_t scratch_bytes;
    dnnl_memory_t *scratch_mems; /* each primitive's scratchpad memory over scratch */
    int nscratch, cap_scratch;

    cd_infer **infer; /* (mb + 1) by n; NULL until infer(n) first runs */
    int64_t last_infer_n;
    nnb_tensor infer_y; /* outputs() after infer: y (n, ...) */
    double create_ms;
} cd_model;

/* ---- conv_dnnl_build.c ---- */

/* Engine, stream and the primitives of the directions asked for (m->d.dirs), inputs reordered into their
 * layouts. m->d, threads, alg, dt, dw_dt set by the caller. */
int cd_build(cd_model *m, char *err, size_t err_len);
/* The inference primitive for the first n samples (1 <= n <= mb), built once. */
int cd_infer_net(cd_model *m, int64_t n, cd_infer **out, char *err, size_t err_len);
/* Every copy of the host tensor `user` made again (after load_param changed it). */
int cd_refresh_copies(cd_model *m, const float *user, char *err, size_t err_len);
/* Runs primitive p and waits. */
int cd_execute(cd_model *m, const cd_prim *p, char *err, size_t err_len);
/* Writes a result to its host buffer (a no-op when the primitive wrote it there). */
int cd_fetch(cd_model *m, const cd_result *r, char *err, size_t err_len);
/* oneDNN-style layout of md ("aBcd16b", "abcd"), for describe(). */
void cd_format_string(const dnnl_memory_desc_t *md, char *out, size_t len);
const dnnl_memory_desc_t *cd_pd_md(const_dnnl_primitive_desc_t pd, int exec_arg);
void cd_model_free(cd_model *m);

#endif
