/* The fuzz targets' entry points (tests/fuzz/fuzz_*.c, built here without
 * libFuzzer) on every file of <dir>/<target>/ for each folder given: the seed
 * corpora (tests/fuzz/corpus, every target must have seeds) and the crash
 * reproducers (tests/fuzz/regressions). An input that still crashes kills this
 * test; the last "fuzz: <target> <file>" line it printed names the input. */
#include "test_support.h"

#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int nnb_fuzz_cli_one_input(const uint8_t *data, size_t size);
int nnb_fuzz_npy_one_input(const uint8_t *data, size_t size);
int nnb_fuzz_compare_json_one_input(const uint8_t *data, size_t size);
int nnb_fuzz_sweep_inputs_one_input(const uint8_t *data, size_t size);

static const struct {
    const char *name;
    int (*entry)(const uint8_t *data, size_t size);
} TARGETS[] = {
    {"fuzz_cli", nnb_fuzz_cli_one_input},
    {"fuzz_npy", nnb_fuzz_npy_one_input},
    {"fuzz_compare_json", nnb_fuzz_compare_json_one_input},
    {"fuzz_sweep_inputs", nnb_fuzz_sweep_inputs_one_input},
};
enum { TARGET_COUNT = sizeof TARGETS / sizeof TARGETS[0] };

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Runs entry on the file at path; 0 when it could be read. */
static int run_file(int target, const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 4096, len = 0, n;
    uint8_t *data = malloc(cap);
    while (data && (n = fread(data + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            uint8_t *grown = realloc(data, cap * 2);
            if (!grown) {
                free(data);
                data = NULL;
                break;
            }
            data = grown, cap *= 2;
        }
    }
    int bad = ferror(f) || !data;
    fclose(f);
    if (bad) {
        free(data);
        return -1;
    }
    printf("fuzz: %s %s (%zu bytes)\n", TARGETS[target].name, path, len);
    fflush(stdout); /* the line that names the input if the call below crashes */
    TARGETS[target].entry(data, len);
    free(data);
    return 0;
}

/* Every regular file of dir/<target>/ (dot files skipped); returns how many. */
static int run_target_dir(int target, const char *dir) {
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int count = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        struct stat st;
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path || stat(path, &st) != 0 ||
            !S_ISREG(st.st_mode))
            continue;
        CHECK_MSG(run_file(target, path) == 0, "cannot read %s", path);
        count++;
    }
    closedir(d);
    return count;
}

/* Each subfolder of root must be named after a target, so none is skipped unnoticed. */
static void check_subfolders(const char *root) {
    DIR *d = opendir(root);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d));) {
        char path[4096];
        if (snprintf(path, sizeof path, "%s/%s", root, e->d_name) >= (int)sizeof path || e->d_name[0] == '.' ||
            !is_dir(path))
            continue;
        int known = 0;
        for (int t = 0; t < TARGET_COUNT; t++)
            known |= !strcmp(e->d_name, TARGETS[t].name);
        CHECK_MSG(known, "%s: no fuzz target named %s", root, e->d_name);
    }
    closedir(d);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR [REGRESSIONS_DIR...]\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        /* The corpus must be there; reproducer folders exist only once something was found. */
        CHECK_MSG(i > 1 || is_dir(argv[i]), "%s: not a folder", argv[i]);
        check_subfolders(argv[i]);
        for (int t = 0; t < TARGET_COUNT; t++) {
            char dir[2048];
            if (snprintf(dir, sizeof dir, "%s/%s", argv[i], TARGETS[t].name) >= (int)sizeof dir) {
                CHECK_MSG(0, "%s: path too long", argv[i]);
                continue;
            }
            int n = run_target_dir(t, dir);
            CHECK_MSG(i > 1 || n > 0, "%s: no seed inputs", dir);
            printf("fuzz: %s: %d inputs from %s\n", TARGETS[t].name, n, dir);
        }
    }
    return nnb_test_finish();
}
