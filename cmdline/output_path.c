/* The one output-path rule (cmdline.h): create missing folders, refuse a file/directory mix-up. */
#include "cmdline.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int nnb_cmd_make_dirs(const char *dir, char *err, size_t err_len) {
    char path[4096];
    size_t len = strlen(dir);
    if (!len || len >= sizeof path) {
        snprintf(err, err_len, "'%s': %s", dir, len ? "path too long" : "empty path");
        return -1;
    }
    memcpy(path, dir, len + 1);
    /* Each prefix ending before a '/', then the whole path. */
    for (size_t i = 1; i <= len; i++) {
        if (path[i] != '/' && path[i] != 0)
            continue;
        char keep = path[i];
        path[i] = 0;
        struct stat st;
        if (stat(path, &st) != 0) {
            if (mkdir(path, 0777) != 0 && errno != EEXIST) {
                snprintf(err, err_len, "cannot create folder '%s': %s", path, strerror(errno));
                return -1;
            }
        } else if (!S_ISDIR(st.st_mode)) {
            snprintf(err, err_len, "'%s' is a file, not a folder", path);
            return -1;
        }
        path[i] = keep;
    }
    return 0;
}

/* The folder part of path ("a/b/c.json" -> "a/b"), empty when there is none. */
static void parent_of(const char *path, char *out, size_t cap) {
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    if (slash == path)
        n = 1; /* "/x": the root */
    snprintf(out, cap, "%.*s", (int)n, path);
}

int nnb_cmd_prepare_output(const char *flag, const char *path, int is_dir, char *err, size_t err_len) {
    char msg[4400], parent[4096];
    struct stat st;
    if (!path || !*path) {
        snprintf(err, err_len, "%s: empty %s name", flag, is_dir ? "folder" : "file");
        return -1;
    }
    if (stat(path, &st) == 0) {
        if (is_dir && !S_ISDIR(st.st_mode)) {
            snprintf(err, err_len, "%s: '%s' is a file; give a folder (it is created when missing)", flag, path);
            return -1;
        }
        if (!is_dir && S_ISDIR(st.st_mode)) {
            snprintf(err, err_len, "%s: '%s' is a folder; give a file name, e.g. %s/results.%s", flag, path, path,
                     !strcmp(flag, "--csv") ? "csv" : "json");
            return -1;
        }
        return 0;
    }
    if (!is_dir && path[strlen(path) - 1] == '/') {
        snprintf(err, err_len, "%s: '%s' ends in '/'; give a file name", flag, path);
        return -1;
    }
    if (is_dir)
        snprintf(parent, sizeof parent, "%s", path);
    else
        parent_of(path, parent, sizeof parent);
    if (parent[0] && nnb_cmd_make_dirs(parent, msg, sizeof msg)) {
        snprintf(err, err_len, "%s: %s (give a path in a folder you can write to)", flag, msg);
        return -1;
    }
    return 0;
}
