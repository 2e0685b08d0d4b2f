#include "s.h"
