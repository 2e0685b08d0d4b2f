/*
 * What both oneDNN plugins (runners/cpu/onednn: the LSTM runners; runners/cpu/resnet: ResNet) need
 * of oneDNN bookkeeping, once: the status macro and the list of memory objects a model owns.
 * Built only when oneDNN is found (NNB_HAVE_DNNL).
 */
#ifndef NNB_DNNL_SUPPORT_H
#define NNB_DNNL_SUPPORT_H

#include "nnb_support.h"

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h> /* dnnl_status2str */

/* Every oneDNN call of a function with `char *err, size_t err_len` goes through this: on failure it
 * returns -1 with one line naming the call, oneDNN's status, file and line. */
#define NNB_DNNL_TRY(call)                                                                                             \
    do {                                                                                                               \
        dnnl_status_t nnb_dnnl_st_ = (call);                                                                           \
        if (nnb_dnnl_st_ != dnnl_success)                                                                              \
            return nnb_fail(err, err_len, "%s: %s (%s:%d)", #call, dnnl_status2str(nnb_dnnl_st_), __FILE__, __LINE__); \
    } while (0)

/* The memory objects of one model, released together at destroy. Zero-initialised is empty. */
typedef struct nnb_dnnl_memories {
    dnnl_memory_t *items; /* (count) */
    int count, cap;
} nnb_dnnl_memories;

/* Keeps mem (owned from now on). Out of memory: mem is destroyed at once, -1 with err. */
int nnb_dnnl_track(nnb_dnnl_memories *list, dnnl_memory_t mem, char *err, size_t err_len);

/* A memory object of md over ptr (host memory the caller owns and outlives it), kept in list. */
int nnb_dnnl_wrap(nnb_dnnl_memories *list, dnnl_engine_t engine, const dnnl_memory_desc_t *md, void *ptr,
                  dnnl_memory_t *out, char *err, size_t err_len);

/* Destroys every memory object and empties the list. */
void nnb_dnnl_release(nnb_dnnl_memories *list);

#endif
