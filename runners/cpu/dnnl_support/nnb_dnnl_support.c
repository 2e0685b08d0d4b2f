#include "nnb_dnnl_support.h"

#include <stdlib.h>

int nnb_dnnl_track(nnb_dnnl_memories *list, dnnl_memory_t mem, char *err, size_t err_len) {
    if (nnb_grow(&list->items, &list->cap, list->count + 1, sizeof *list->items)) {
        dnnl_memory_destroy(mem);
        return nnb_fail(err, err_len, "out of memory");
    }
    list->items[list->count++] = mem;
    return 0;
}

int nnb_dnnl_wrap(nnb_dnnl_memories *list, dnnl_engine_t engine, const dnnl_memory_desc_t *md, void *ptr,
                  dnnl_memory_t *out, char *err, size_t err_len) {
    NNB_DNNL_TRY(dnnl_memory_create(out, md, engine, ptr));
    return nnb_dnnl_track(list, *out, err, err_len);
}

void nnb_dnnl_release(nnb_dnnl_memories *list) {
    for (int i = 0; i < list->count; i++)
        dnnl_memory_destroy(list->items[i]);
    free(list->items);
    list->items = NULL;
    list->count = list->cap = 0;
}
