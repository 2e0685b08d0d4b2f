#define _GNU_SOURCE
#include "test_support.h"

#include <cjson/cJSON.h>

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int nnb_test_passed, nnb_test_failed;

void nnb_test_record(int ok, const char *file, int line, const char *fmt, ...) {
    if (ok) {
        nnb_test_passed++;
        return;
    }
    nnb_test_failed++;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void nnb_test_contains(const char *hay, const char *needle, const char *file, int line) {
    nnb_test_record(hay && strstr(hay, needle) != NULL, file, line, "expected \"%s\" in: %s", needle,
                    hay ? hay : "(null)");
}

int nnb_test_finish(void) {
    printf("%d passed, %d failed\n", nnb_test_passed, nnb_test_failed);
    return nnb_test_failed ? 1 : 0;
}

const char *nnb_test_env(const char *name) {
    const char *v = getenv(name);
    if (!v) {
        fprintf(stderr, "test environment variable %s is not set (run through ctest)\n", name);
        exit(2);
    }
    return v;
}

void nnb_test_load_runners(nnb_registry *reg) {
    nnb_registry_init(reg);
    nnb_registry_load_dir(reg, nnb_test_env("NNBENCH_RUNNER_DIR"));
    for (int i = 0; i < reg->diag_count; i++)
        fprintf(stderr, "note: %s\n", reg->diags[i].message);
}

const nnb_runner_desc *nnb_test_runner(const nnb_registry *reg, const char *name) {
    const nnb_loaded_runner *r = nnb_registry_find(reg, name);
    CHECK_MSG(r != NULL, "runner '%s' not found in %s", name, nnb_test_env("NNBENCH_RUNNER_DIR"));
    return r ? r->desc : NULL;
}

void nnb_test_check_descs(const nnb_runner_desc *got, const nnb_runner_desc *ref, const nnb_config *cfg, double tol,
                          int min_tensors) {
    nnb_runner_result res;
    memset(&res, 0, sizeof res);
    char err[512] = "", what[384];
    snprintf(what, sizeof what, "%s vs %s (T=%lld B=%lld I=%lld H=%lld L=%lld fuser=%s exec=%s geo=%d/%d/%d)",
             got->name, ref->name, (long long)cfg->seq_length, (long long)cfg->mini_batch, (long long)cfg->input_size,
             (long long)cfg->hidden_size, (long long)cfg->num_layers, cfg->fuser ? cfg->fuser : "default",
             cfg->executor ? cfg->executor : "eager", cfg->cuda_pointwise_block_size, cfg->cuda_pointwise_block_count,
             cfg->cuda_pointwise_loop_level);
    int rc = nnb_check_runner(got, ref, cfg, tol, &res, err, sizeof err);
    CHECK_MSG(rc == 0, "%s: %s", what, err);
    CHECK_MSG(rc != 0 || res.check_count >= (min_tensors > 1 ? min_tensors : 1), "%s compared only %d tensors", what,
              res.check_count);
    for (int i = 0; i < res.check_count; i++) {
        const nnb_tensor_check *c = &res.checks[i];
        CHECK_MSG(c->pass, "%s: %s max_abs %.3g max_rel %.3g > tol %.3g", what, c->name, c->max_abs_err, c->max_rel_err,
                  c->tolerance);
    }
    free(res.checks);
}

void nnb_test_check_against(const nnb_registry *reg, const char *runner, const char *reference, const nnb_config *cfg,
                            double tol) {
    const nnb_runner_desc *got = nnb_test_runner(reg, runner), *ref = nnb_test_runner(reg, reference);
    if (got && ref)
        nnb_test_check_descs(got, ref, cfg, tol, 1);
}

nnb_config nnb_test_lstm_config(int64_t T, int64_t B, int64_t I, int64_t H, int64_t L, uint64_t seed) {
    nnb_config cfg;
    nnb_config_defaults(&cfg);
    cfg.seq_length = T, cfg.mini_batch = B, cfg.input_size = I, cfg.hidden_size = H, cfg.num_layers = L;
    cfg.seed = seed;
    return cfg;
}

static void read_all(int fd, char *buf, size_t cap) {
    size_t used = 0;
    char sink[4096];
    for (;;) {
        char *dst = buf && used + 1 < cap ? buf + used : sink;
        size_t room = buf && used + 1 < cap ? cap - 1 - used : sizeof sink;
        ssize_t n = read(fd, dst, room);
        if (n <= 0)
            break;
        if (dst != sink)
            used += (size_t)n;
    }
    if (buf && cap)
        buf[used] = 0;
}

int nnb_test_run(const char *cmd, char *out, size_t out_cap, char *err, size_t err_cap) {
    char errfile[] = "/tmp/nnbtest-stderr-XXXXXX";
    int efd = mkstemp(errfile);
    if (efd < 0)
        return -1;
    char full[8192];
    snprintf(full, sizeof full, "(%s) 2>%s", cmd, errfile);
    FILE *p = popen(full, "r");
    if (!p) {
        close(efd);
        unlink(errfile);
        return -1;
    }
    read_all(fileno(p), out, out_cap);
    int st = pclose(p);
    read_all(efd, err, err_cap);
    close(efd);
    unlink(errfile);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int nnb_test_runf(char *out, size_t out_cap, char *err, size_t err_cap, const char *fmt, ...) {
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof cmd)
        return -1;
    if (out && out_cap)
        out[0] = 0;
    if (err && err_cap)
        err[0] = 0;
    return nnb_test_run(cmd, out, out_cap, err, err_cap);
}

struct cJSON *nnb_test_read_json(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    for (size_t n; text && (n = fread(text + len, 1, cap - len - 1, f)) > 0;) {
        len += n;
        if (len + 1 == cap && cap < ((size_t)64 << 20)) {
            char *grown = realloc(text, cap *= 2);
            if (!grown)
                free(text);
            text = grown;
        }
    }
    fclose(f);
    if (!text)
        return NULL;
    text[len] = 0;
    cJSON *root = cJSON_Parse(text);
    free(text);
    return root;
}
