#define NNB_VEC_SFX avx2
#include "cell_vector_impl.h"
