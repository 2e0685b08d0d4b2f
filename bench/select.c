#define _GNU_SOURCE
#include "driver.h"

#include "cmdline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The configured install prefix's runner folder: only a fallback, see nnb_runner_dirs. */
#ifndef NNB_INSTALL_RUNNER_DIR
#define NNB_INSTALL_RUNNER_DIR "/usr/local/lib/nnbench/runners"
#endif

static int add_dir(char dirs[][1024], int n, int max_dirs, const char *d) {
    if (n >= max_dirs || !*d)
        return n;
    for (int i = 0; i < n; i++)
        if (!strcmp(dirs[i], d))
            return n;
    snprintf(dirs[n], 1024, "%s", d);
    return n + 1;
}

/* <directory of the running executable>/../lib/nnbench/runners, resolved, if it exists. */
static int exe_runner_dir(char *out, size_t cap) {
    char exe[1024];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0 || (size_t)len >= sizeof exe - 1)
        return -1;
    exe[len] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash)
        return -1;
    *slash = 0;
    char d[1100];
    snprintf(d, sizeof d, "%s/../lib/nnbench/runners", exe);
    char *real = realpath(d, NULL);
    if (!real)
        return -1;
    int ok = strlen(real) < cap;
    if (ok)
        snprintf(out, cap, "%s", real);
    free(real);
    return ok ? 0 : -1;
}

/*
 * Where plugins are looked for, in this order (a runner name given twice keeps the first):
 *   1. <exe dir>/../lib/nnbench/runners, the executable found through /proc/self/exe: the build
 *      tree's runners for build/bin/nnbench, the installed ones for <prefix>/bin/nnbench, wherever
 *      that tree has been moved;
 *      only when that folder does not exist (a lone copied binary, no /proc), the configured
 *      ${CMAKE_INSTALL_PREFIX}/lib/nnbench/runners instead, so that a build or an installed tree
 *      never also picks up another installation's plugins;
 *   2. each folder of $NNBENCH_RUNNER_PATH (':'-separated);
 *   3. each --runner-path DIR, in command-line order.
 * docs/installing.md documents this order.
 */
int nnb_runner_dirs(const nnb_options *o, char dirs[][1024], int max_dirs) {
    int n = 0;
    char own[1024];
    if (exe_runner_dir(own, sizeof own) == 0)
        n = add_dir(dirs, n, max_dirs, own);
    else
        n = add_dir(dirs, n, max_dirs, NNB_INSTALL_RUNNER_DIR);
    const char *env = getenv("NNBENCH_RUNNER_PATH");
    if (env) {
        char buf[4096];
        snprintf(buf, sizeof buf, "%s", env);
        for (char *save = NULL, *tok = strtok_r(buf, ":", &save); tok; tok = strtok_r(NULL, ":", &save))
            n = add_dir(dirs, n, max_dirs, tok);
    }
    for (int i = 0; i < o->runner_path_count; i++)
        n = add_dir(dirs, n, max_dirs, o->runner_paths[i]);
    return n;
}

/* fastrnns' default order; runners it does not know follow in discovery order. */
static const char *const preferred_order[] = {
    "cudnn",    "aten",   "jit",   "jit_premul", "jit_premul_bias", "jit_simple", "jit_multilayer", "py",
    "vl_cudnn", "vl_jit", "vl_py", "resnet18",   "resnet18_jit",    "resnet50",   "resnet50_jit"};

static int rank_of(const char *name) {
    int n = (int)(sizeof preferred_order / sizeof *preferred_order);
    for (int i = 0; i < n; i++)
        if (!strcmp(preferred_order[i], name))
            return i;
    return n;
}

static int in_list(const nnb_name_list *l, const char *name) {
    for (int i = 0; i < l->count; i++)
        if (!strcmp(l->names[i], name))
            return 1;
    return 0;
}

static void known_names(const nnb_registry *reg, const char *group, const char *device, char *out, size_t cap) {
    size_t used = 0;
    out[0] = 0;
    for (int i = 0; i < reg->count && used < cap; i++) {
        const nnb_runner_desc *d = reg->runners[i].desc;
        if (strcmp(d->group, group) || strcmp(d->device, device))
            continue;
        used += (size_t)snprintf(out + used, cap - used, "%s%s", used ? ", " : "", d->name);
    }
    if (!used)
        snprintf(out, cap, "none");
}

/* The group of a loaded runner of that name on any device, or NULL. */
static const char *group_of(const nnb_registry *reg, const char *name) {
    const nnb_loaded_runner *any = nnb_registry_find(reg, name);
    return any ? any->desc->group : NULL;
}

static const char *flag_of_group(const char *group) {
    if (!strcmp(group, NNB_GROUP_CONVS))
        return "--convs";
    return !strcmp(group, NNB_GROUP_CNNS) ? "--cnns" : "--rnns"; /* vl_rnns runners are named with --rnns */
}

/* The list of runner names that picks group's runners: --cnns, --convs or --rnns (rnns and vl_rnns). */
static const nnb_name_list *list_of_group(const nnb_options *o, const char *group) {
    if (!strcmp(group, NNB_GROUP_CONVS))
        return &o->convs;
    return strcmp(group, NNB_GROUP_CNNS) ? &o->rnns : &o->cnns;
}

/* "unknown runner 'x' (known ...); did you mean 'y'?": the candidates are every loaded runner. */
static void unknown_runner(const nnb_registry *reg, const char *flag, const char *group, const char *device,
                           const char *name, char *err, size_t err_len) {
    char known[2048];
    const char *names[512];
    size_t n = 0;
    for (int i = 0; i < reg->count && n < sizeof names / sizeof *names; i++)
        names[n++] = reg->runners[i].desc->name;
    known_names(reg, group, device, known, sizeof known);
    snprintf(err, err_len, "%s: unknown runner '%s' (known %s runners on %s: %s)", flag, name, group, device, known);
    nnb_cmd_append_suggestion(err, err_len, name, names, n);
}

/* Every name of --rnns, --cnns and --convs is a loaded runner of that flag's groups; a name given to another
 * flag is refused with the flag that takes it. */
static int check_names(const nnb_options *o, const nnb_registry *reg, const char *device, char *err, size_t err_len) {
    const nnb_name_list *lists[3] = {&o->rnns, &o->cnns, &o->convs};
    static const char *const flags[3] = {"--rnns", "--cnns", "--convs"};
    static const char *const groups[3] = {NNB_GROUP_RNNS, NNB_GROUP_CNNS, NNB_GROUP_CONVS};
    for (int l = 0; l < 3; l++)
        for (int i = 0; i < lists[l]->count; i++) {
            const char *name = lists[l]->names[i], *flag = flags[l];
            const char *group = group_of(reg, name);
            if (!group) {
                unknown_runner(reg, flag, groups[l], device, name, err, err_len);
                return -1;
            }
            if (strcmp(flag_of_group(group), flag)) {
                snprintf(err, err_len, "%s: '%s' is a%s %s runner: use %s %s", flag, name, group[0] == 'r' ? "n" : "",
                         group, flag_of_group(group), name);
                return -1;
            }
        }
    return 0;
}

/* The names of list that belong to group (--rnns names go to rnns or vl_rnns, each to its own). */
static int names_in_group(const nnb_name_list *list, const nnb_registry *reg, const char *group, const char **out) {
    int n = 0;
    for (int i = 0; i < list->count; i++)
        if (!strcmp(group_of(reg, list->names[i]), group))
            out[n++] = list->names[i];
    return n;
}

static int select_named(const char *const *names, int count, const nnb_registry *reg, const char *group,
                        const char *device, nnb_selection *s, char *err, size_t err_len) {
    for (int i = 0; i < count; i++) {
        const nnb_loaded_runner *here = nnb_registry_find_on(reg, names[i], device);
        if (!here) {
            snprintf(err, err_len, "%s: runner '%s' has no %s version (it runs on %s)", flag_of_group(group), names[i],
                     device, nnb_registry_find(reg, names[i])->desc->device);
            return -1;
        }
        if (s->count < (int)(sizeof s->runners / sizeof *s->runners))
            s->runners[s->count++] = here;
    }
    return 0;
}

static void select_default(const nnb_registry *reg, const char *group, const char *device, nnb_selection *s) {
    for (int rank = 0; rank <= (int)(sizeof preferred_order / sizeof *preferred_order); rank++)
        for (int i = 0; i < reg->count; i++) {
            const nnb_runner_desc *d = reg->runners[i].desc;
            if (strcmp(d->group, group) || strcmp(d->device, device) || (d->flags & NNB_FLAG_HIDDEN))
                continue;
            if (rank_of(d->name) != rank)
                continue;
            if (s->count < (int)(sizeof s->runners / sizeof *s->runners))
                s->runners[s->count++] = &reg->runners[i];
        }
}

/* Is group asked for? --group decides when given; else cnns and rnns as fastrnns, except that naming
 * runners with --rnns or --cnns restricts the run to the groups of the runners named. */
static int group_wanted(const nnb_options *o, const char *group, int named) {
    if (!strcmp(group, NNB_GROUP_VL_RNNS) && o->variable_lstms)
        return 1;
    if (o->groups.given)
        return in_list(&o->groups, group);
    if (!o->rnns.given && !o->cnns.given && !o->convs.given && o->conv_text) /* --conv alone: the convs group */
        return !strcmp(group, NNB_GROUP_CONVS);
    if (o->rnns.given || o->cnns.given || o->convs.given) {
        const nnb_name_list *l = list_of_group(o, group);
        /* a flag without names: its group's defaults */
        return named > 0 || (l->given && !l->count && strcmp(group, NNB_GROUP_VL_RNNS));
    }
    return strcmp(group, NNB_GROUP_VL_RNNS) != 0 && strcmp(group, NNB_GROUP_CONVS) != 0;
}

int nnb_select(const nnb_options *o, const nnb_registry *reg, const char *device, nnb_selection *sel, int max_sel,
               char *err, size_t err_len) {
    /* fastrnns order: variable-length LSTMs, then LSTMs, then ResNets. */
    static const char *const order[] = {NNB_GROUP_VL_RNNS, NNB_GROUP_RNNS, NNB_GROUP_CNNS, NNB_GROUP_CONVS};
    if (check_names(o, reg, device, err, err_len))
        return -1;
    int n = 0;
    for (int g = 0; g < 4 && n < max_sel; g++) {
        const char *group = order[g];
        const char *names[NNB_MAX_NAMES];
        int named = names_in_group(list_of_group(o, group), reg, group, names);
        if (!group_wanted(o, group, named)) {
            if (named) {
                snprintf(err, err_len, "%s: '%s' is a%s %s runner, which --group leaves out: add %s to --group",
                         flag_of_group(group), names[0], group[0] == 'r' ? "n" : "", group, group);
                return -1;
            }
            continue;
        }
        nnb_selection *s = &sel[n];
        memset(s, 0, sizeof *s);
        s->group = group;
        const nnb_name_list *list = list_of_group(o, group);
        if (!strcmp(group, NNB_GROUP_CONVS) && !o->config.conv) {
            nnb_cli_conv_missing(err, err_len);
            return -1;
        }
        if (named) {
            if (select_named(names, named, reg, group, device, s, err, err_len))
                return -1;
        } else if (list->count && strcmp(group, NNB_GROUP_VL_RNNS) && o->groups.given) {
            continue; /* --group rnns vl_rnns --rnns vl_jit: the names pick their group's runners only */
        } else {
            select_default(reg, group, device, s);
        }
        n++;
    }
    return n;
}
