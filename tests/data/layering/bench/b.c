#include "b.h"
#include "s.h"
#include "t.h"
#include <stdio.h>
