/*
 * nnbench's main(): routes `nnbench [flags]` to the driver run and `nnbench sweep|merge|serve|compare ...`
 * to their modules, and `nnbench help [CMD]` to their help. The modules do not include each other's
 * headers; what the sweep needs to know of nnbench's and serve's command lines is wired here (hooks).
 */
#define _GNU_SOURCE
#include "cli.h"
#include "cmdline.h"
#include "compare.h"
#include "driver.h"
#include "exit_codes.h"
#include "history.h"
#include "html_report.h"
#include "serve.h"
#include "sweep.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const commands[] = {"sweep", "merge", "serve", "compare", "history", "report"};
#define COMMAND_COUNT (sizeof commands / sizeof *commands)

static int sweep_command(int argc, char **argv) {
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        fprintf(stderr, "nnbench sweep: cannot find this program's path (/proc/self/exe): %s\n", strerror(errno));
        return NNB_EXIT_USAGE;
    }
    exe[n] = 0;
    nnb_sweep_hooks hooks = {nnb_cli_axis_flag,   nnb_cli_sweep_base_flag, nnb_cli_check_run_argv, exe,
                             nnb_serve_axis_flag, nnb_serve_base_flag,     nnb_serve_check_argv,   nnb_cli_flag_names,
                             nnb_serve_flag_names};
    return nnb_sweep_main(argc, argv, &hooks);
}

/* argv[0] is the command's name; the modules take what follows it (compare: argv[0] too). */
static int run_command(const char *name, int argc, char **argv) {
    if (!strcmp(name, "sweep"))
        return sweep_command(argc - 1, argv + 1);
    if (!strcmp(name, "merge"))
        return nnb_merge_main(argc - 1, argv + 1);
    if (!strcmp(name, "serve"))
        return nnb_serve_main(argc - 1, argv + 1);
    if (!strcmp(name, "history"))
        return nnb_history_main(argc - 1, argv + 1);
    if (!strcmp(name, "report"))
        return nnb_report_main(argc - 1, argv + 1);
    return nnb_compare_main(argc, argv);
}

static int is_command(const char *word) {
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (!strcmp(word, commands[i]))
            return 1;
    return 0;
}

/* `nnbench help [CMD]`: the command's own --help. */
static int help_command(int argc, char **argv) {
    if (argc < 2) {
        nnb_cli_print_help(stdout);
        return NNB_EXIT_OK;
    }
    if (argc > 2 || !is_command(argv[1])) {
        const char *close = nnb_cmd_suggest(argv[1], commands, COMMAND_COUNT);
        if (argc > 2)
            fprintf(stderr, "nnbench help: takes one command;");
        else
            fprintf(stderr, "nnbench help: unknown command '%s';", argv[1]);
        if (argc == 2 && close)
            fprintf(stderr, " did you mean '%s'?", close);
        fprintf(stderr, " commands: sweep, merge, serve, compare, history, report\n");
        return NNB_EXIT_USAGE;
    }
    char *cmd_argv[] = {argv[1], "--help", NULL};
    return run_command(argv[1], 2, cmd_argv);
}

int main(int argc, char **argv) {
    if (argc > 1 && is_command(argv[1]))
        return run_command(argv[1], argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "help"))
        return help_command(argc - 1, argv + 1);
    /* A bare word close to a command is a mistyped command; any other goes to the driver's parser. */
    if (argc > 1 && argv[1][0] != '-' && nnb_cmd_suggest(argv[1], commands, COMMAND_COUNT)) {
        fprintf(stderr,
                "nnbench: unknown command '%s'; did you mean '%s'? commands: sweep, merge, serve, compare, history, "
                "report\n",
                argv[1], nnb_cmd_suggest(argv[1], commands, COMMAND_COUNT));
        return NNB_EXIT_USAGE;
    }
    return nnb_driver_main(argc, argv);
}
