#include "b.h"
#include "c.h"
#include "t.h"
