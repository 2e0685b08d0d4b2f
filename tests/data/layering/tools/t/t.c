#include "t.h"
#include "../../bench/b.h"
