#include "b.h"
#include "t.h"
#include "c.h"
