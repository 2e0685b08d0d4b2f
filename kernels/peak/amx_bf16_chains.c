/* AMX bf16 tile multiply-adds (tdpbf16ps) on 6 independent accumulator tiles: built with -mamx-tile -mamx-bf16,
 * called only after nnb_cpu_amx_ready() (peak.c). Full tiles: A is 16 rows x 32 bf16, B is 16 rows x 64 bytes
 * (32 x 16 bf16 in pairs), C is 16 x 16 fp32, so one instruction is 16 x 16 x 32 = 8192 multiply-adds. */
#include "peak_internal.h"

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

/* The 64-byte tile configuration ldtilecfg reads (palette 1). */
typedef struct tile_config {
    uint8_t palette_id, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

static double tile_sum(const float c[16 * 16]) {
    double s = 0;
    for (int i = 0; i < 16 * 16; i++)
        s += c[i];
    return s;
}

#define C_STORE(t)                                                                                                     \
    do {                                                                                                               \
        _tile_stored(t, c, 64);                                                                                        \
        total += tile_sum(c);                                                                                          \
    } while (0)

double nnb_amx_bf16_chains(int64_t n, float one) {
    tile_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette_id = 1;
    for (int t = 0; t < 8; t++) /* tmm0..5 accumulators, tmm6 A, tmm7 B: all 16 rows x 64 bytes */
        cfg.colsb[t] = 64, cfg.rows[t] = 16;
    uint32_t bits;
    memcpy(&bits, &one, sizeof bits);
    uint16_t ab[16 * 32]; /* (16, 32) bf16, used as A and as B */
    for (int i = 0; i < 16 * 32; i++)
        ab[i] = (uint16_t)(bits >> 16);
    float c[16 * 16]; /* (16, 16) fp32 */
    _tile_loadconfig(&cfg);
    _tile_loadd(6, ab, 64);
    _tile_loadd(7, ab, 64);
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    _tile_zero(4);
    _tile_zero(5);
    for (int64_t k = 0; k < n; k++) { /* 6 accumulators: each tdpbf16ps waits only on its own tile */
        _tile_dpbf16ps(0, 6, 7);
        _tile_dpbf16ps(1, 6, 7);
        _tile_dpbf16ps(2, 6, 7);
        _tile_dpbf16ps(3, 6, 7);
        _tile_dpbf16ps(4, 6, 7);
        _tile_dpbf16ps(5, 6, 7);
    }
    double total = 0;
    C_STORE(0);
    C_STORE(1);
    C_STORE(2);
    C_STORE(3);
    C_STORE(4);
    C_STORE(5);
    _tile_release();
    return total;
}
