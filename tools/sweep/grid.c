/* Sweep grids: axes, shape sets, their expansion into points, and shard specs. */
#define _GNU_SOURCE
#include "sweep.h"
#include "sweep_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int set_setting(nnb_sweep_setting *s, const char *flag, const char *key, const char *value) {
    s->flag = nnb_sweep_strdup(flag);
    s->key = nnb_sweep_strdup(key);
    s->value = nnb_sweep_strdup(value);
    return s->flag && s->key && s->value ? 0 : -1;
}

static void free_point(nnb_sweep_point *p) {
    free(p->label);
    free(p->model);
    for (int i = 0; i < p->setting_count; i++) {
        free(p->settings[i].flag);
        free(p->settings[i].key);
        free(p->settings[i].value);
    }
    memset(p, 0, sizeof *p);
}

/* A value must be one token a shell and a CSV cell carry unchanged. */
static int check_value(const char *what, const char *key, const char *v, char *err, size_t err_len) {
    if (!*v)
        return nnb_sweep_fail(err, err_len, "%s: %s has an empty value", what, key);
    for (const char *c = v; *c; c++)
        if ((unsigned char)*c <= ' ' || strchr("\"'`$\\;|&<>(){}*?!#,", *c))
            return nnb_sweep_fail(err, err_len,
                                  "%s: %s value '%s' has the character '%c', which a sweep value may not contain", what,
                                  key, v, *c);
    return 0;
}

int nnb_sweep_grid_add_axis(nnb_sweep_grid *g, const char *spec, const nnb_sweep_hooks *hooks, char *err,
                            size_t err_len) {
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec)
        return nnb_sweep_fail(err, err_len, "--axis '%s': expected NAME=V1,V2,... (e.g. hiddenSize=256,512)", spec);
    if (g->axis_count == NNB_SWEEP_MAX_AXES)
        return nnb_sweep_fail(err, err_len, "--axis '%s': at most %d axes", spec, NNB_SWEEP_MAX_AXES);
    char key[64], flag[64], msg[256];
    if ((size_t)(eq - spec) >= sizeof key)
        return nnb_sweep_fail(err, err_len, "--axis '%s': name too long", spec);
    snprintf(key, sizeof key, "%.*s", (int)(eq - spec), spec);
    if (hooks->axis_flag(key, flag, sizeof flag, msg, sizeof msg))
        return nnb_sweep_fail(err, err_len, "--axis '%s': %s", spec, msg);
    for (int a = 0; a < g->axis_count; a++)
        if (!strcmp(g->axes[a].flag, flag))
            return nnb_sweep_fail(err, err_len, "--axis '%s': %s already has an axis", spec, flag);

    nnb_sweep_axis *ax = &g->axes[g->axis_count];
    memset(ax, 0, sizeof *ax);
    ax->flag = nnb_sweep_strdup(flag);
    ax->key = nnb_sweep_strdup(key);
    char *list = nnb_sweep_strdup(eq + 1);
    int cap = 1;
    for (const char *c = eq + 1; *c; c++)
        cap += *c == ',';
    ax->values = calloc((size_t)cap, sizeof *ax->values);
    if (!ax->flag || !ax->key || !list || !ax->values) {
        free(list);
        return nnb_sweep_fail(err, err_len, "--axis '%s': out of memory", spec);
    }
    g->axis_count++; /* from here nnb_sweep_grid_free releases it */
    char what[96];
    snprintf(what, sizeof what, "--axis %s", key);
    int rc = 0;
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
        for (int v = 0; v < ax->value_count && !rc; v++)
            if (!strcmp(ax->values[v], tok))
                rc = nnb_sweep_fail(err, err_len, "%s: value '%s' given twice", what, tok);
        if (!rc)
            rc = check_value(what, key, tok, err, err_len);
        if (!rc && !(ax->values[ax->value_count++] = nnb_sweep_strdup(tok)))
            rc = nnb_sweep_fail(err, err_len, "%s: out of memory", what);
    }
    free(list);
    if (!rc && ax->value_count == 0)
        rc = nnb_sweep_fail(err, err_len, "%s: no values (expected NAME=V1,V2,...)", what);
    /* An empty piece ("256,,512") is a typo, not a value. */
    if (!rc && (strstr(eq + 1, ",,") || eq[1] == ',' || eq[strlen(eq) - 1] == ','))
        rc = nnb_sweep_fail(err, err_len, "%s: empty value in '%s'", what, eq + 1);
    return rc;
}

/* ---- shape sets ----------------------------------------------------------------- */

static int parse_count(const char *v, long *out) {
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (!*v || *end || errno || x < 1 || x > 1000000000L)
        return -1;
    *out = x;
    return 0;
}

/* One line's tokens into p; "where" is "path:line". */
static int parse_shape_line(char *line, const char *where, const nnb_sweep_hooks *hooks, nnb_sweep_point *p, char *err,
                            size_t err_len) {
    char *name = NULL;
    p->count = 1;
    for (char *save = NULL, *tok = strtok_r(line, " \t\r", &save); tok; tok = strtok_r(NULL, " \t\r", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok || !eq[1])
            return nnb_sweep_fail(err, err_len, "%s: '%s' is not key=value", where, tok);
        *eq = 0;
        const char *key = tok, *value = eq + 1;
        if (!strcmp(key, "model")) {
            if (p->model)
                return nnb_sweep_fail(err, err_len, "%s: model given twice", where);
            if (check_value(where, key, value, err, err_len) || !(p->model = nnb_sweep_strdup(value)))
                return -1;
        } else if (!strcmp(key, "count")) {
            if (parse_count(value, &p->count))
                return nnb_sweep_fail(err, err_len, "%s: count '%s' is not a positive integer", where, value);
        } else if (!strcmp(key, "name")) {
            if (check_value(where, key, value, err, err_len))
                return -1;
            name = (char *)value;
        } else {
            char flag[64], msg[256];
            if (hooks->axis_flag(key, flag, sizeof flag, msg, sizeof msg))
                return nnb_sweep_fail(err, err_len, "%s: %s", where, msg);
            for (int i = 0; i < p->setting_count; i++)
                if (!strcmp(p->settings[i].flag, flag))
                    return nnb_sweep_fail(err, err_len, "%s: %s set twice", where, flag);
            if (p->setting_count == NNB_SWEEP_MAX_KEYS)
                return nnb_sweep_fail(err, err_len, "%s: more than %d settings", where, NNB_SWEEP_MAX_KEYS);
            if (check_value(where, key, value, err, err_len) ||
                set_setting(&p->settings[p->setting_count++], flag, key, value))
                return -1;
        }
    }
    if (!p->model)
        return nnb_sweep_fail(err, err_len, "%s: no model= (every shape names the model it belongs to)", where);
    if (p->setting_count == 0)
        return nnb_sweep_fail(err, err_len, "%s: no settings (e.g. hiddenSize=512)", where);
    p->label = name ? nnb_sweep_strdup(name) : nnb_sweep_settings_label(p->settings, p->setting_count);
    return p->label ? 0 : nnb_sweep_fail(err, err_len, "%s: out of memory", where);
}

/* "# group: rnns": the nnbench group every shape of the file belongs to. */
static int parse_group(const char *text, const char *where, nnb_shape_set *out, char *err, size_t err_len) {
    static const char *const groups[] = {"rnns", "cnns", "vl_rnns", "convs"};
    char name[32] = "";
    sscanf(text, " %31s", name);
    int known = 0;
    for (size_t i = 0; i < sizeof groups / sizeof *groups; i++)
        known |= !strcmp(name, groups[i]);
    if (!known)
        return nnb_sweep_fail(err, err_len, "%s: group '%s' is not rnns, cnns, vl_rnns or convs", where, name);
    if (out->group && strcmp(out->group, name))
        return nnb_sweep_fail(err, err_len, "%s: a second group '%s' (the file says '%s' already)", where, name,
                              out->group);
    free(out->group);
    return (out->group = nnb_sweep_strdup(name)) ? 0 : nnb_sweep_fail(err, err_len, "%s: out of memory", where);
}

int nnb_shape_set_load(const char *path, const nnb_sweep_hooks *hooks, nnb_shape_set *out, char *err, size_t err_len) {
    memset(out, 0, sizeof *out);
    size_t len;
    char *text = nnb_sweep_read_file(path, &len, err, err_len);
    if (!text)
        return -1;
    if (memchr(text, 0, len)) {
        free(text);
        return nnb_sweep_fail(err, err_len, "--shapes %s: not a text file (NUL byte)", path);
    }
    out->path = nnb_sweep_strdup(path);
    out->content_hash = nnb_sweep_hash(NNB_SWEEP_HASH_INIT, text, len);
    int cap = 0, lineno = 0, rc = 0;
    for (char *line = text, *next; line && *line && !rc; line = next) {
        lineno++;
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        char where[4200];
        snprintf(where, sizeof where, "--shapes %s:%d", path, lineno);
        if (!strncmp(line, "# group:", 8)) {
            rc = parse_group(line + 8, where, out, err, err_len);
            continue;
        }
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        if (strspn(line, " \t\r") == strlen(line))
            continue;
        if (out->count == NNB_SWEEP_MAX_POINTS) {
            rc = nnb_sweep_fail(err, err_len, "--shapes %s: more than %d shapes", path, NNB_SWEEP_MAX_POINTS);
            break;
        }
        if (out->count == cap) {
            int ncap = cap ? 2 * cap : 16;
            nnb_sweep_point *n = realloc(out->shapes, (size_t)ncap * sizeof *n);
            if (!n) {
                rc = nnb_sweep_fail(err, err_len, "--shapes %s: out of memory", path);
                break;
            }
            memset(n + cap, 0, (size_t)(ncap - cap) * sizeof *n);
            out->shapes = n;
            cap = ncap;
        }
        rc = parse_shape_line(line, where, hooks, &out->shapes[out->count++], err, err_len);
    }
    free(text);
    if (!rc && out->count == 0)
        rc = nnb_sweep_fail(err, err_len, "--shapes %s: no shapes in the file", path);
    if (rc)
        nnb_shape_set_free(out);
    return rc;
}

void nnb_shape_set_free(nnb_shape_set *s) {
    for (int i = 0; i < s->count; i++)
        free_point(&s->shapes[i]);
    free(s->shapes);
    free(s->path);
    free(s->group);
    memset(s, 0, sizeof *s);
}

/* ---- expansion ------------------------------------------------------------------ */

static long long axes_combinations(const nnb_sweep_grid *g, char *err, size_t err_len) {
    if (g->axis_count == 0)
        return 1;
    if (g->zip) {
        for (int a = 1; a < g->axis_count; a++)
            if (g->axes[a].value_count != g->axes[0].value_count)
                return nnb_sweep_fail(err, err_len, "--zip: axis %s has %d values but %s has %d", g->axes[a].key,
                                      g->axes[a].value_count, g->axes[0].key, g->axes[0].value_count);
        return g->axes[0].value_count;
    }
    long long n = 1;
    for (int a = 0; a < g->axis_count; a++) {
        n *= g->axes[a].value_count;
        if (n > NNB_SWEEP_MAX_POINTS)
            return nnb_sweep_fail(err, err_len, "the grid has more than %d points", NNB_SWEEP_MAX_POINTS);
    }
    return n;
}

static int copy_settings(nnb_sweep_point *dst, const nnb_sweep_point *src) {
    for (int i = 0; i < src->setting_count; i++)
        if (set_setting(&dst->settings[dst->setting_count++], src->settings[i].flag, src->settings[i].key,
                        src->settings[i].value))
            return -1;
    return 0;
}

/* Settings of axis combination c (mixed radix, last axis fastest; or the c-th value of every axis). */
static int add_axis_settings(const nnb_sweep_grid *g, long long c, nnb_sweep_point *p) {
    long long rest = c;
    int first = p->setting_count;
    p->setting_count += g->axis_count;
    for (int a = g->axis_count - 1; a >= 0; a--) {
        const nnb_sweep_axis *ax = &g->axes[a];
        int v = g->zip ? (int)c : (int)(rest % ax->value_count);
        rest /= ax->value_count;
        if (set_setting(&p->settings[first + a], ax->flag, ax->key, ax->values[v]))
            return -1;
    }
    return 0;
}

static int check_no_clash(const nnb_sweep_grid *g, char *err, size_t err_len) {
    for (int s = 0; s < g->shapes.count; s++)
        for (int i = 0; i < g->shapes.shapes[s].setting_count; i++)
            for (int a = 0; a < g->axis_count; a++)
                if (!strcmp(g->shapes.shapes[s].settings[i].flag, g->axes[a].flag))
                    return nnb_sweep_fail(err, err_len, "--axis %s: the shape set %s already sets %s", g->axes[a].key,
                                          g->shapes.path, g->axes[a].flag);
    for (int s = 0; s < g->shapes.count; s++)
        if (g->shapes.shapes[s].setting_count + g->axis_count > NNB_SWEEP_MAX_KEYS)
            return nnb_sweep_fail(err, err_len, "a point would have more than %d settings", NNB_SWEEP_MAX_KEYS);
    return 0;
}

int nnb_sweep_grid_expand(nnb_sweep_grid *g, char *err, size_t err_len) {
    long long combos = axes_combinations(g, err, err_len);
    if (combos < 0 || check_no_clash(g, err, err_len))
        return -1;
    if (g->axis_count == 0 && g->shapes.count == 0)
        return nnb_sweep_fail(err, err_len, "nothing to sweep: give --axis NAME=V1,V2,... or --shapes FILE");
    long long shapes = g->shapes.count ? g->shapes.count : 1;
    if (combos * shapes > NNB_SWEEP_MAX_POINTS)
        return nnb_sweep_fail(err, err_len, "the grid has %lld points, more than %d", combos * shapes,
                              NNB_SWEEP_MAX_POINTS);
    g->point_count = (int)(combos * shapes);
    g->points = calloc((size_t)g->point_count, sizeof *g->points);
    if (!g->points)
        return nnb_sweep_fail(err, err_len, "out of memory for %d points", g->point_count);
    for (int k = 0; k < g->point_count; k++) {
        nnb_sweep_point *p = &g->points[k];
        const nnb_sweep_point *shape = g->shapes.count ? &g->shapes.shapes[k / combos] : NULL;
        p->index = k;
        p->count = shape ? shape->count : 1;
        if ((shape && (!(p->model = nnb_sweep_strdup(shape->model)) || copy_settings(p, shape))) ||
            add_axis_settings(g, k % combos, p))
            return nnb_sweep_fail(err, err_len, "out of memory expanding the grid");
        /* A named shape keeps its name, followed by the axes' settings. */
        char *axes = g->axis_count
                         ? nnb_sweep_settings_label(p->settings + (shape ? shape->setting_count : 0), g->axis_count)
                         : NULL;
        if (shape && axes) {
            size_t n = strlen(shape->label) + strlen(axes) + 2;
            if ((p->label = malloc(n)))
                snprintf(p->label, n, "%s %s", shape->label, axes);
            free(axes);
        } else {
            p->label = shape ? nnb_sweep_strdup(shape->label) : axes;
        }
        if (!p->label)
            return nnb_sweep_fail(err, err_len, "out of memory expanding the grid");
    }
    return 0;
}

void nnb_sweep_grid_free(nnb_sweep_grid *g) {
    for (int a = 0; a < g->axis_count; a++) {
        for (int v = 0; v < g->axes[a].value_count; v++)
            free(g->axes[a].values[v]);
        free(g->axes[a].values);
        free(g->axes[a].flag);
        free(g->axes[a].key);
    }
    for (int k = 0; k < g->point_count; k++)
        free_point(&g->points[k]);
    free(g->points);
    nnb_shape_set_free(&g->shapes);
    memset(g, 0, sizeof *g);
}

int nnb_sweep_parse_shard(const char *text, int *index, int *count, char *err, size_t err_len) {
    char *end;
    errno = 0;
    long i = strtol(text, &end, 10);
    if (end == text || *end != '/' || errno)
        return nnb_sweep_fail(err, err_len, "--shard '%s': expected I/N, e.g. 0/4", text);
    const char *rest = end + 1;
    long n = strtol(rest, &end, 10);
    if (end == rest || *end || errno)
        return nnb_sweep_fail(err, err_len, "--shard '%s': expected I/N, e.g. 0/4", text);
    if (n < 1 || n > 10000 || i < 0 || i >= n)
        return nnb_sweep_fail(err, err_len, "--shard '%s': need 0 <= I < N <= 10000", text);
    *index = (int)i;
    *count = (int)n;
    return 0;
}

/* Does the common argument list choose groups itself (--group or --variable-lstms)? */
static int base_chooses_group(const nnb_sweep_options *o) {
    for (int i = 0; i < o->base_argc; i++)
        if (!strcmp(o->base_argv[i], "--group") || !strncmp(o->base_argv[i], "--group=", 8) ||
            !strcmp(o->base_argv[i], "--variable-lstms"))
            return 1;
    return 0;
}

int nnb_sweep_apply_shape_group(nnb_sweep_options *o, char *err, size_t err_len) {
    o->shape_group = NULL;
    if (!o->grid.shapes.group || o->serve || base_chooses_group(o))
        return 0;
    char **grown = realloc(o->base_argv, sizeof *grown * (size_t)(o->base_argc + 3));
    if (!grown)
        return nnb_sweep_fail(err, err_len, "out of memory");
    o->base_argv = grown;
    o->base_argv[o->base_argc++] = (char *)"--group";
    o->base_argv[o->base_argc++] = o->grid.shapes.group;
    o->base_argv[o->base_argc] = NULL;
    o->shape_group = o->grid.shapes.group;
    return 0;
}
