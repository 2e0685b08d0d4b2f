/* The reference LSTM, instantiated in float and double from lstm_ref_impl.h. */
#include "lstm_ref.h"

#include "lstm_cell_math.h"
#include "nnb_support.h"

#include <string.h>

/* Parallel loop over independent rows, only when there is enough work to pay for waking the threads. */
#ifdef _OPENMP
#define NNB_PRAGMA(x) _Pragma(#x)
#define NNB_OMP_FOR_IF(cond) NNB_PRAGMA(omp parallel for schedule(static) if (cond))
#else
#define NNB_OMP_FOR_IF(cond)
#endif
#define PARALLEL_MIN_WORK ((int64_t)1 << 15) /* multiply-adds or elements */

/* The GEMM tile is compiled for several instruction sets and picked at load time (ifunc), so the plugin stays
 * portable but uses AVX-512 where there is one. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define NNB_REF_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#define NNB_REF_HAVE_CLONES 1
#else
#define NNB_REF_CLONES
#define NNB_REF_HAVE_CLONES 0
#endif
/* Helpers of the tile must be inlined into each clone to be compiled for its instruction set. */
#if defined(__GNUC__)
#define NNB_REF_INLINE static inline __attribute__((always_inline))
#else
#define NNB_REF_INLINE static inline
#endif

/* GEMM blocking: rows per block (the unit of parallel work), a (KC, NC) tile of B (256 KiB in float) kept in L2,
 * and the (4, TILE_COLS) block of C kept close. */
enum { GEMM_MB = 32, GEMM_KC = 128, GEMM_NC = 512, TILE_COLS = 64 };

static inline int64_t min_i64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Does row b exist at step t? (lengths NULL: every row has every step.) */
static inline int row_exists(const int64_t *lengths, int64_t b, int64_t t) { return !lengths || t < lengths[b]; }

/* *out = a*b*c*d elements, or -1 on overflow (all factors positive). */
static int checked_count(size_t *out, int64_t a, int64_t b, int64_t c, int64_t d) {
    size_t ab, abc;
    if (a < 0 || b < 0 || c < 0 || d < 0)
        return -1;
    if (nnb_mul_size(&ab, (size_t)a, (size_t)b) || nnb_mul_size(&abc, ab, (size_t)c))
        return -1;
    return nnb_mul_size(out, abc, (size_t)d);
}

#define REAL float
#define NNB_REF(name) NNB_REF_PASTE(name, f)
#define CELL_FWD nnb_lstm_cell_fwdf
#define CELL_BWD nnb_lstm_cell_bwdf
#include "lstm_ref_impl.h"
#undef REAL
#undef NNB_REF
#undef CELL_FWD
#undef CELL_BWD

#define REAL double
#define NNB_REF(name) NNB_REF_PASTE(name, d)
#define CELL_FWD nnb_lstm_cell_fwdd
#define CELL_BWD nnb_lstm_cell_bwdd
#include "lstm_ref_impl.h"
#undef REAL
#undef NNB_REF
#undef CELL_FWD
#undef CELL_BWD

const char *nnb_ref_lstm_isa(void) {
#if NNB_REF_HAVE_CLONES
    /* Same priority order as the clones' resolver. */
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return "avx512f";
    if (__builtin_cpu_supports("avx2"))
        return "avx2";
#endif
    return "baseline";
}
