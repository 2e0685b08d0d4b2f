/* Fixture of kernels_layering_check_should_reject_includes_from_above: a kernels/ file that includes a runner
 * header by name and a driver header by path (two violations), and a header of its own (fine). */
#include "leaf_math.h"
#include "plugin_state.h"
#include "bench/driver.h"
