#include <nnbench/pub.h>
