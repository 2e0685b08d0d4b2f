/* What nnbench sweep needs of nnbench's command line (cli.h): axis flags, common flags, whole argvs. */
#define _GNU_SOURCE
#include "cli_internal.h"
#include "cmdline.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t err_len, const char *fmt, const char *a, const char *b) {
    snprintf(err, err_len, fmt, a, b);
    return -1;
}

/* Flags a sweep point may not set: the sweep owns the child's outputs and mode. */
static int is_sweep_owned(const char *flag) {
    static const char *const owned[] = {"--json-out", "--print-json", "--list", "--help",       "--version",
                                        "--profile",  "--ab",         "--dump", "--runner-path"};
    for (size_t i = 0; i < sizeof owned / sizeof *owned; i++)
        if (!strcmp(flag, owned[i]))
            return 1;
    return 0;
}

int nnb_cli_axis_flag(const char *name, char *canonical, size_t cap, char *err, size_t err_len) {
    char dashed[80];
    snprintf(dashed, sizeof dashed, "%s%s", strncmp(name, "--", 2) ? "--" : "", name);
    const flag_spec *f = nnb_cli_lookup(dashed, 0);
    if (!f) {
        const char *names[256];
        size_t n = nnb_cli_flag_names(names, sizeof names / sizeof *names);
        for (size_t i = 0; i < n; i++)
            names[i] += 2; /* axes are written without dashes */
        fail(err, err_len, "'%s' is not an nnbench flag (see nnbench --help)%s", name, "");
        nnb_cmd_append_suggestion(err, err_len, name, names, n);
        return -1;
    }
    if (f->kind == ARG_NONE || f->kind == ARG_OPT_JSON)
        return fail(err, err_len, "%s takes no value, so it cannot vary along an axis%s", f->name, "");
    if (is_sweep_owned(f->name))
        return fail(err, err_len, "%s is set by the sweep itself and cannot vary along an axis%s", f->name, "");
    snprintf(canonical, cap, "%s", f->name);
    return 0;
}

int nnb_cli_sweep_base_flag(const char *flag, char *err, size_t err_len) {
    char canon[64];
    nnb_cmd_flag_spelling(flag, canon, sizeof canon);
    if (is_sweep_owned(canon) && strcmp(canon, "--runner-path"))
        return fail(err, err_len, "%s cannot be given to a sweep: the sweep sets each run's outputs itself%s", canon,
                    "");
    return 0;
}

char **nnb_cli_copy_argv(int argc, char **argv) {
    char **copy = calloc((size_t)argc + 1, sizeof *copy);
    for (int i = 0; copy && i < argc; i++)
        if (!(copy[i] = strdup(argv[i]))) {
            nnb_cli_free_argv(copy);
            return NULL;
        }
    return copy;
}

void nnb_cli_free_argv(char **argv) {
    for (int i = 0; argv && argv[i]; i++)
        free(argv[i]);
    free(argv);
}

int nnb_cli_check_run_argv(int argc, char **argv, char *err, size_t err_len) {
    static nnb_options o;
    char **copy = nnb_cli_copy_argv(argc, argv); /* the parser cuts list values in place */
    int rc = copy ? nnb_cli_parse(argc, copy, &o, err, err_len) || nnb_cli_check_sizes(&o, err, err_len)
                  : (snprintf(err, err_len, "out of memory"), -1);
    nnb_cli_free_argv(copy);
    return rc ? -1 : 0;
}
