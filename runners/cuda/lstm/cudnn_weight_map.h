/*
 * Mapping between PyTorch's LSTM weight layout and cuDNN's weight space.
 * Pure C (no CUDA): the runners fill the table from cudnnGetRNNWeightParams,
 * and the unit test fills it from cuDNN's documented layout.
 *
 * cuDNN (unidirectional LSTM) gives, per pseudo-layer k and linLayerID id:
 *   id 0..3: input-side matrices for gates i, f, g (c~), o: (H, in_k), row-major
 *   id 4..7: recurrent matrices for the same gates:          (H, H)
 *   and one bias vector (H) per id (b_ih gates for 0..3, b_hh gates for 4..7).
 * PyTorch keeps w_ih (4H, in_k), w_hh (4H, H), b_ih, b_hh (4H) with the gates
 * stacked i, f, g, o along the 4H axis, so gate q of id is rows q*H..q*H+H-1.
 * The same map moves gradients back (cuDNN's dweight space has the layout of
 * its weight space).
 */
#ifndef NNB_CUDNN_WEIGHT_MAP_H
#define NNB_CUDNN_WEIGHT_MAP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NNB_CUDNN_LSTM_LIN_LAYERS 8

/* Where cuDNN put one (layer, linLayerID): offsets in floats from the start of
 * the weight space, and element counts as cuDNN reported them. */
typedef struct nnb_cudnn_slot {
    int64_t m_offset, m_count; /* matrix */
    int64_t b_offset, b_count; /* bias */
} nnb_cudnn_slot;

typedef struct nnb_cudnn_weight_map {
    int64_t L, I, H;
    int64_t space_floats;  /* weight space size in floats */
    nnb_cudnn_slot *slots; /* (L, 8), slot of (k, id) at k * 8 + id */
} nnb_cudnn_weight_map;

/* Checks every slot against the PyTorch shapes (matrix H*in_k or H*H, bias H),
 * that each lies inside the weight space and that no two overlap. 0 or -1 with err. */
int nnb_cudnn_map_validate(const nnb_cudnn_weight_map *m, char *err, size_t err_len);

/* PyTorch layout -> weight space image (host). Bytes of the space not covered
 * by any slot are left as they are. w_ih[k] (4H, in_k), w_hh[k] (4H, H), b_ih[k], b_hh[k] (4H). */
void nnb_cudnn_pack(const nnb_cudnn_weight_map *m, float *const *w_ih, float *const *w_hh, float *const *b_ih,
                    float *const *b_hh, float *space);

/* Weight space image (host) -> PyTorch layout (used for the gradients). */
void nnb_cudnn_unpack(const nnb_cudnn_weight_map *m, const float *space, float **w_ih, float **w_hh, float **b_ih,
                      float **b_hh);

/* PyTorch source of (k, id): the first element of that gate's block and its
 * element count (matrix when bias == 0, else bias). */
const float *nnb_cudnn_torch_block(const nnb_cudnn_weight_map *m, float *const *w_ih, float *const *w_hh,
                                   float *const *b_ih, float *const *b_hh, int64_t k, int id, int bias, int64_t *count);

#ifdef __cplusplus
}
#endif
#endif
