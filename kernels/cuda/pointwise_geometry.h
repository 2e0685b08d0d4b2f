/*
 * Launch geometry of the pointwise kernels, from cfg->cuda_pointwise_* (0 =
 * default). Plain C: shared by the runners (validation, describe()), the launch
 * wrappers and the CPU tests.
 *   block_size: threads per block, a multiple of 32 in [32, 1024]
 *   block_count: cap on the number of blocks along x (grid-stride beyond it), >= 0
 *   loop_level: elements per thread per grid-stride iteration, in [1, 64]
 */
#ifndef NNB_POINTWISE_GEOMETRY_H
#define NNB_POINTWISE_GEOMETRY_H

#include <stdio.h>

#define NNB_PW_DEFAULT_BLOCK_SIZE 256
#define NNB_PW_DEFAULT_LOOP_LEVEL 1
#define NNB_PW_MAX_LOOP_LEVEL 64
#define NNB_PW_MAX_GRID_X 2147483647LL

typedef struct nnb_pw_geometry {
    int block_size;  /* threads per block */
    int block_count; /* 0: as many blocks as the work needs; else the cap */
    int loop_level;  /* elements per thread per iteration */
} nnb_pw_geometry;

/* Fill *g from the three config values; 0 selects the default. Returns 0, or -1
 * with a one-line reason in err. */
static inline int nnb_pw_geometry_from_config(nnb_pw_geometry *g, int block_size, int block_count, int loop_level,
                                              char *err, size_t err_len) {
    g->block_size = block_size ? block_size : NNB_PW_DEFAULT_BLOCK_SIZE;
    g->block_count = block_count;
    g->loop_level = loop_level ? loop_level : NNB_PW_DEFAULT_LOOP_LEVEL;
    if (g->block_size < 32 || g->block_size > 1024 || g->block_size % 32 != 0) {
        snprintf(err, err_len, "cuda_pointwise_block_size %d: must be a multiple of 32 in [32, 1024] (0 = %d)",
                 block_size, NNB_PW_DEFAULT_BLOCK_SIZE);
        return -1;
    }
    if (block_count < 0) {
        snprintf(err, err_len, "cuda_pointwise_block_count %d: must be >= 0 (0 = no cap)", block_count);
        return -1;
    }
    if (g->loop_level < 1 || g->loop_level > NNB_PW_MAX_LOOP_LEVEL) {
        snprintf(err, err_len, "cuda_pointwise_loop_level %d: must be in [1, %d] (0 = %d)", loop_level,
                 NNB_PW_MAX_LOOP_LEVEL, NNB_PW_DEFAULT_LOOP_LEVEL);
        return -1;
    }
    return 0;
}

/* Blocks along x for n work items (elements or columns), at least 1. */
static inline unsigned nnb_pw_blocks(const nnb_pw_geometry *g, long long n) {
    long long per_block = (long long)g->block_size * g->loop_level;
    long long blocks = (n + per_block - 1) / per_block;
    if (blocks < 1)
        blocks = 1;
    if (g->block_count > 0 && blocks > g->block_count)
        blocks = g->block_count;
    if (blocks > NNB_PW_MAX_GRID_X)
        blocks = NNB_PW_MAX_GRID_X;
    return (unsigned)blocks;
}

#endif
