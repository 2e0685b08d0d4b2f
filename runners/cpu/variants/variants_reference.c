/* The variant references, instantiated in double (see variants_reference.h). */
#include "variants_reference.h"

#include "nnb_support.h"
#include "variants_cell.h"

#include <math.h>

#define R double
#define SFX d
#define SQRT sqrt
#include "variants_reference_impl.h"
#undef R
#undef SFX
#undef SQRT
