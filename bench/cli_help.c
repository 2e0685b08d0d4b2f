/* nnbench's help text (cli.h): the usage lines, every flag of cli.c's table with its metavar, the exit codes. */
#include "cli.h"
#include "cli_internal.h"

#include "cmdline.h"

#include <stdio.h>
#include <string.h>

/* The metavar of a flag's value in the help (cmdline.h's convention). */
static const char *metavar_of(const flag_spec *f) {
    static const char *const named[][2] = {{"--device", "cpu|cuda"},
                                           {"--sep", "TEXT"},
                                           {"--fuser", "te|old|none"},
                                           {"--executor", "eager|graph"},
                                           {"--json-out", "FILE"},
                                           {"--dump", "DIR"},
                                           {"--runner-path", "DIR"},
                                           {"--stats", "mean|robust"},
                                           {"--max-noise", "P"},
                                           {"--noise-threshold", "P"},
                                           {"--fail-above", "R"},
                                           {"--ab-phase", "total|forward|backward"},
                                           {"--ab", "A B"},
                                           {"--group", "NAME..."},
                                           {"--seed", "N"},
                                           {"--dtype", "fp32|tf32|bf16|fp16"},
                                           {"--conv", "DESC"},
                                           {"--conv-dir", "fwd|bwd_d|bwd_w|all"}};
    for (size_t i = 0; i < sizeof named / sizeof *named; i++)
        if (!strcmp(f->name, named[i][0]))
            return named[i][1];
    switch (f->kind) {
    case ARG_INT:
    case ARG_U64: return "N";
    case ARG_NUM: return "S"; /* seconds, unless named above */
    case ARG_STR: return "NAME";
    case ARG_LIST: return "NAME...";
    case ARG_OPT_JSON: return "[oss|pep]";
    default: return "";
    }
}

void nnb_cli_print_help(FILE *f) {
    fprintf(f, "usage: nnbench [flags]                    time runners (below)\n"
               "       nnbench sweep [sweep flags] [flags]  grids of runs (nnbench sweep --help, docs/sweeps.md)\n"
               "       nnbench merge [--out DIR] FILE_OR_DIR...   merge sweep shards (nnbench merge --help)\n"
               "       nnbench serve --runner NAME ...      inference serving (nnbench serve --help)\n"
               "       nnbench compare [flags] OLD NEW      compare two result files (nnbench compare --help)\n"
               "       nnbench history add|changes|list|show|export ...   results over time (nnbench history --help)\n"
               "       nnbench report --out DIR FILE... | --store S   static HTML report (nnbench report --help)\n"
               "       nnbench help [COMMAND]\n"
               "\nflags (dash and underscore spellings are equivalent; -h is --help):\n");
    size_t count = 0;
    const flag_spec *flags = nnb_cli_flags(&count);
    for (size_t i = 0; i < count; i++)
        nnb_cmd_print_flag(f, 34, flags[i].name, metavar_of(&flags[i]), flags[i].help);
    fprintf(f, "\nexit status: 0 all selected runners ran; 1 a runner failed or failed its check;\n"
               "             2 bad command line or output path; 3 nothing could run (every runner skipped);\n"
               "             4 --ab --fail-above R: the B/A ratio's 95%% interval lies above R;\n"
               "             130 interrupted (docs/exit-codes.md)\n");
}
