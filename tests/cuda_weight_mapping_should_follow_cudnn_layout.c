/*
 * The PyTorch -> cuDNN weight-space mapping (runners/cuda/lstm/cudnn_weight_map.c)
 * against a table computed here from cuDNN's documented LSTM layout:
 *   per pseudo-layer k, linLayerID 0..3 = input-side W for gates i, f, c~(g), o
 *   (each H x in_k, row-major), 4..7 = recurrent R for the same gates (H x H),
 *   then one bias of H per linLayerID, layers one after another.
 * Each weight-space element's expected value is derived from the element's
 * position alone (layer, linLayerID, row, column), never through the code under
 * test. The same is checked for a shuffled layout (the map must follow the
 * offsets cuDNN reports, whatever they are), round-trips are exact, and the
 * validator rejects wrong shapes, out-of-range and overlapping slots.
 */
#include "cudnn_weight_map.h"
#include "test_support.h"

#include <stdlib.h>
#include <string.h>

static void expect_in(const char *msg, const char *needle) { CHECK_STR_CONTAINS(msg, needle); }

enum { L = 3, I = 5, H = 4, LIN = NNB_CUDNN_LSTM_LIN_LAYERS };

static int64_t in_of(int64_t k) { return k == 0 ? I : H; }

/* A distinct value for every PyTorch element: tensor kind t (0 w_ih, 1 w_hh,
 * 2 b_ih, 3 b_hh), layer k, flat index e. */
static float torch_value(int t, int64_t k, int64_t e) { return (float)(t * 100000 + k * 10000 + e); }

/* Documented layout: layer-major; in a layer the 8 matrices in linLayerID order, then the 8 biases. */
static int64_t documented_layout(nnb_cudnn_slot *slots) {
    int64_t off = 0;
    for (int64_t k = 0; k < L; k++) {
        for (int id = 0; id < LIN; id++) {
            slots[k * LIN + id].m_offset = off;
            slots[k * LIN + id].m_count = H * (id < 4 ? in_of(k) : H);
            off += slots[k * LIN + id].m_count;
        }
        for (int id = 0; id < LIN; id++) {
            slots[k * LIN + id].b_offset = off;
            slots[k * LIN + id].b_count = H;
            off += H;
        }
    }
    return off;
}

/* Expected space value of matrix (k, id) element (row r, col c) and of bias (k, id) element r:
 * gate q = id % 4 is PyTorch rows q*H .. q*H+H-1 of w_ih (id < 4) or w_hh. */
static float expected_matrix(int64_t k, int id, int64_t r, int64_t c) {
    int64_t cols = id < 4 ? in_of(k) : H, row = (id % 4) * H + r;
    return torch_value(id < 4 ? 0 : 1, k, row * cols + c);
}
static float expected_bias(int64_t k, int id, int64_t r) { return torch_value(id < 4 ? 2 : 3, k, (id % 4) * H + r); }

typedef struct torch_params {
    float *w_ih[L], *w_hh[L], *b_ih[L], *b_hh[L];
} torch_params;

static void torch_alloc(torch_params *p, int fill) {
    for (int64_t k = 0; k < L; k++) {
        int64_t n[4] = {4 * H * in_of(k), 4 * H * H, 4 * H, 4 * H};
        float **dst[4] = {&p->w_ih[k], &p->w_hh[k], &p->b_ih[k], &p->b_hh[k]};
        for (int t = 0; t < 4; t++) {
            *dst[t] = calloc((size_t)n[t], sizeof(float));
            if (fill)
                for (int64_t e = 0; e < n[t]; e++)
                    (*dst[t])[e] = torch_value(t, k, e);
        }
    }
}

static void torch_free(torch_params *p) {
    for (int64_t k = 0; k < L; k++)
        free(p->w_ih[k]), free(p->w_hh[k]), free(p->b_ih[k]), free(p->b_hh[k]);
}

static void check_layout(const char *what, nnb_cudnn_slot *slots, int64_t space_floats) {
    nnb_cudnn_weight_map m = {L, I, H, space_floats, slots};
    char err[256] = "";
    CHECK_MSG(nnb_cudnn_map_validate(&m, err, sizeof err) == 0, "%s: valid layout rejected: %s", what, err);
    torch_params p, back;
    torch_alloc(&p, 1);
    torch_alloc(&back, 0);
    float *space = malloc(sizeof(float) * (size_t)space_floats);
    for (int64_t e = 0; e < space_floats; e++)
        space[e] = -1;
    nnb_cudnn_pack(&m, p.w_ih, p.w_hh, p.b_ih, p.b_hh, space);
    int bad = 0, covered = 0;
    for (int64_t k = 0; k < L; k++)
        for (int id = 0; id < LIN; id++) {
            const nnb_cudnn_slot *s = &slots[k * LIN + id];
            int64_t cols = id < 4 ? in_of(k) : H;
            for (int64_t r = 0; r < H; r++) {
                for (int64_t c = 0; c < cols; c++, covered++)
                    bad += space[s->m_offset + r * cols + c] != expected_matrix(k, id, r, c);
                bad += space[s->b_offset + r] != expected_bias(k, id, r);
                covered++;
            }
        }
    CHECK_MSG(bad == 0, "%s: %d weight-space elements differ from the documented table", what, bad);
    int untouched_ok = 1;
    int64_t minus_one = 0;
    for (int64_t e = 0; e < space_floats; e++)
        minus_one += space[e] == -1;
    untouched_ok = minus_one == space_floats - covered;
    CHECK_MSG(untouched_ok, "%s: pack wrote outside the slots (%lld untouched, expected %lld)", what,
              (long long)minus_one, (long long)(space_floats - covered));
    nnb_cudnn_unpack(&m, space, back.w_ih, back.w_hh, back.b_ih, back.b_hh);
    int diff = 0;
    for (int64_t k = 0; k < L; k++) {
        diff += memcmp(back.w_ih[k], p.w_ih[k], sizeof(float) * (size_t)(4 * H * in_of(k))) != 0;
        diff += memcmp(back.w_hh[k], p.w_hh[k], sizeof(float) * 4 * H * H) != 0;
        diff += memcmp(back.b_ih[k], p.b_ih[k], sizeof(float) * 4 * H) != 0;
        diff += memcmp(back.b_hh[k], p.b_hh[k], sizeof(float) * 4 * H) != 0;
    }
    CHECK_MSG(diff == 0, "%s: unpack(pack(w)) != w for %d tensors", what, diff);
    free(space);
    torch_free(&p);
    torch_free(&back);
}

/* Same slots, placed in reverse order with a gap of 3 floats between them. */
static int64_t shuffled_layout(nnb_cudnn_slot *slots) {
    int64_t off = 7;
    for (int64_t k = L - 1; k >= 0; k--)
        for (int id = LIN - 1; id >= 0; id--) {
            nnb_cudnn_slot *s = &slots[k * LIN + id];
            s->b_count = H;
            s->b_offset = off;
            off += H + 3;
            s->m_count = H * (id < 4 ? in_of(k) : H);
            s->m_offset = off;
            off += s->m_count + 3;
        }
    return off;
}

static void check_validator(void) {
    nnb_cudnn_slot slots[L * LIN];
    int64_t n = documented_layout(slots);
    nnb_cudnn_weight_map m = {L, I, H, n, slots};
    char err[256] = "";
    /* the documented total: per layer 4H*(in+H) weights + 8H biases */
    int64_t want = 0;
    for (int64_t k = 0; k < L; k++)
        want += 4 * H * (in_of(k) + H) + 8 * H;
    CHECK(n == want);

    slots[1 * LIN + 2].m_count = H * I; /* layer 1 input matrices are H x H, not H x I */
    CHECK(nnb_cudnn_map_validate(&m, err, sizeof err) != 0);
    expect_in(err, "layer 1 linLayerID 2 matrix");
    documented_layout(slots);
    slots[0].b_count = 2 * H;
    CHECK(nnb_cudnn_map_validate(&m, err, sizeof err) != 0);
    documented_layout(slots);
    slots[2 * LIN + 7].b_offset = n - 1; /* runs past the end */
    CHECK(nnb_cudnn_map_validate(&m, err, sizeof err) != 0);
    expect_in(err, "outside");
    documented_layout(slots);
    slots[0 * LIN + 5].m_offset = slots[0 * LIN + 4].m_offset + 1; /* overlaps its neighbour */
    CHECK(nnb_cudnn_map_validate(&m, err, sizeof err) != 0);
    expect_in(err, "overlaps");
}

int main(void) {
    nnb_cudnn_slot slots[L * LIN];
    check_layout("documented layout", slots, documented_layout(slots));
    check_layout("shuffled layout", slots, shuffled_layout(slots));
    check_validator();
    return nnb_test_finish();
}
