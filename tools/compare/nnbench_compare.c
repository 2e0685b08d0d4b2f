/* nnbench-compare: the same command as `nnbench compare` (nnb_compare_main in main.c). */
#include "compare.h"

int main(int argc, char **argv) { return nnb_compare_main(argc, argv); }
