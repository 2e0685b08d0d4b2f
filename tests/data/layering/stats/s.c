#include "s.h"
#include "r.h"
#include <math.h>
