/* Fixture: a kernels/ header that breaks no rule. */
#include <math.h>
