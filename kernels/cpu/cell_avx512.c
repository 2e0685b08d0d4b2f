#define NNB_VEC_SFX avx512
#include "cell_vector_impl.h"
