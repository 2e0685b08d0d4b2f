#define NNB_VEC_SFX generic
#include "cell_vector_impl.h"
