/*
 * --isolate: each runner is created and timed in a forked child, which sends
 * its nnb_runner_result back through a pipe and exits. A child that dies by a
 * signal, exits without a result or outlives --runner-timeout is reported as
 * failed with that cause; the parent, which never ran the runner's code, goes
 * on with the next one.
 *
 * Wire format: parent and child are the same executable image (fork without
 * exec), so the result struct travels as raw bytes; the pointers in it are
 * rewritten by the parent (strings it owns itself), except stop_reason, which
 * points at a string literal of this executable and so is valid on both sides.
 * Then the forward and backward samples, describe()'s text and the checks.
 */
#define _GNU_SOURCE
#include "driver.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WIRE_MAGIC 0x6e6e6221u /* "nnb!" */

typedef struct wire_header {
    uint32_t magic;
    nnb_runner_result result; /* pointers meaningless on arrival except stop_reason */
    int32_t fwd_count, bwd_count, check_count;
    int32_t part_counts[NNB_MAX_BACKWARD_PARTS]; /* samples of each backward part, after the checks */
    uint32_t info_len;                           /* bytes of runner_info_json, without its NUL; 0 when absent */
} wire_header;

/* ---- child ---------------------------------------------------------------- */

static int write_all(int fd, const void *data, size_t len) {
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int send_result(int fd, const nnb_runner_result *r) {
    wire_header h;
    memset(&h, 0, sizeof h);
    h.magic = WIRE_MAGIC;
    h.result = *r;
    h.fwd_count = r->fwd.samples_ms ? r->fwd.count : 0;
    h.bwd_count = r->bwd.samples_ms ? r->bwd.count : 0;
    h.check_count = r->checks ? r->check_count : 0;
    h.info_len = r->runner_info_json ? (uint32_t)strlen(r->runner_info_json) : 0;
    for (int p = 0; p < r->part_count; p++)
        h.part_counts[p] = r->parts[p].samples_ms ? r->parts[p].count : 0;
    if (write_all(fd, &h, sizeof h) || write_all(fd, r->fwd.samples_ms, sizeof(double) * (size_t)h.fwd_count) ||
        write_all(fd, r->bwd.samples_ms, sizeof(double) * (size_t)h.bwd_count) ||
        write_all(fd, r->runner_info_json, h.info_len) ||
        write_all(fd, r->checks, sizeof(nnb_tensor_check) * (size_t)h.check_count))
        return -1;
    for (int p = 0; p < r->part_count; p++)
        if (write_all(fd, r->parts[p].samples_ms, sizeof(double) * (size_t)h.part_counts[p]))
            return -1;
    return 0;
}

static void run_child(nnb_run_env *env, const nnb_loaded_runner *lr, int fd, pid_t parent) {
    setpgid(0, 0);                    /* the terminal's Ctrl-C reaches the parent only; it forwards one */
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a parent that was killed */
    if (getppid() != parent)          /* the parent died before prctl took effect */
        _exit(3);
    nnb_stop_notice_quiet();
    nnb_runner_result r;
    nnb_run_runner(env, lr, &r);
    int rc = send_result(fd, &r) ? 4 : 0;
    _exit(rc); /* no atexit handlers, no stdio buffers of the parent flushed twice */
}

/* ---- parent --------------------------------------------------------------- */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct message {
    char *data;
    size_t len, cap;
} message;

static int append(message *m, const char *buf, size_t n) {
    if (m->len + n > m->cap) {
        size_t cap = m->cap ? m->cap : 1 << 16;
        while (cap < m->len + n)
            cap *= 2;
        char *grown = realloc(m->data, cap);
        if (!grown)
            return -1;
        m->data = grown, m->cap = cap;
    }
    memcpy(m->data + m->len, buf, n);
    m->len += n;
    return 0;
}

/* Reads the child's message until EOF. Returns 0 at EOF, 1 at the deadline, -1 on a read error. Forwards
 * the parent's first stop signal to the child once. */
static int read_until_eof(int fd, pid_t child, double deadline, message *m) {
    int forwarded = 0;
    for (;;) {
        if (nnb_stop_requested() && !forwarded) {
            kill(child, nnb_stop_requested());
            forwarded = 1;
        }
        int wait_ms = -1;
        if (deadline > 0) {
            double left = deadline - now_s();
            if (left <= 0)
                return 1;
            wait_ms = (int)(left * 1e3) + 1;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int ready = poll(&p, 1, wait_ms);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready < 0)
            return -1;
        if (ready == 0)
            continue; /* the deadline check above decides */
        char buf[1 << 16];
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        if (append(m, buf, (size_t)n))
            return -1;
    }
}

/* Copies n bytes out of the message at *pos into a fresh allocation (NULL for n == 0). */
static int take(const message *m, size_t *pos, size_t n, void **out) {
    *out = NULL;
    if (n > m->len - *pos)
        return -1;
    if (n == 0)
        return 0;
    *out = malloc(n + 1);
    if (!*out)
        return -1;
    memcpy(*out, m->data + *pos, n);
    ((char *)*out)[n] = 0;
    *pos += n;
    return 0;
}

/* The backward parts' names and samples (res->parts own them); -1 on a malformed message. */
static int decode_parts(const message *m, size_t *pos, const wire_header *h, nnb_runner_result *res) {
    int n = h->result.part_count;
    if (n < 0 || n > NNB_MAX_BACKWARD_PARTS)
        return -1;
    for (int p = 0; p < n; p++) {
        void *samples = NULL;
        if (h->part_counts[p] < 0 || take(m, pos, sizeof(double) * (size_t)h->part_counts[p], &samples)) {
            for (int q = 0; q < p; q++)
                free(res->parts[q].samples_ms);
            return -1;
        }
        res->parts[p] = h->result.parts[p];
        res->parts[p].samples_ms = samples, res->parts[p].count = res->parts[p].capacity = h->part_counts[p];
        memcpy(res->part_names[p], h->result.part_names[p], sizeof res->part_names[p]);
        res->part_names[p][sizeof res->part_names[p] - 1] = 0;
    }
    res->part_count = n;
    res->has_backward = h->result.has_backward;
    return 0;
}

/* The child's result into res (already initialised with the parent's own strings). */
static int decode(const message *m, const nnb_loaded_runner *lr, nnb_runner_result *res) {
    wire_header h;
    if (m->len < sizeof h)
        return -1;
    memcpy(&h, m->data, sizeof h);
    if (h.magic != WIRE_MAGIC || h.fwd_count < 0 || h.bwd_count < 0 || h.check_count < 0)
        return -1;
    size_t pos = sizeof h;
    void *fwd = NULL, *bwd = NULL, *info = NULL, *checks = NULL;
    if (take(m, &pos, sizeof(double) * (size_t)h.fwd_count, &fwd) ||
        take(m, &pos, sizeof(double) * (size_t)h.bwd_count, &bwd) || take(m, &pos, h.info_len, &info) ||
        take(m, &pos, sizeof(nnb_tensor_check) * (size_t)h.check_count, &checks) || decode_parts(m, &pos, &h, res) ||
        pos != m->len) {
        free(fwd), free(bwd), free(info), free(checks);
        return -1;
    }
    const nnb_runner_result *r = &h.result;
    res->status = r->status;
    memcpy(res->error, r->error, sizeof res->error);
    res->error[sizeof res->error - 1] = 0;
    res->fwd = r->fwd, res->bwd = r->bwd;
    res->fwd.samples_ms = fwd, res->fwd.count = res->fwd.capacity = h.fwd_count;
    res->bwd.samples_ms = bwd, res->bwd.count = res->bwd.capacity = h.bwd_count;
    res->fwd_flops = r->fwd_flops, res->bwd_flops = r->bwd_flops;
    res->create_ms = r->create_ms;
    res->runner_info_json = info;
    res->stop_reason = r->stop_reason;
    res->noise = r->noise;
    res->checked = r->checked, res->check_pass = r->check_pass;
    res->check_reference = r->checked ? lr->desc->reference : NULL;
    res->checks = checks, res->check_count = h.check_count;
    return 0;
}

static void report_death(nnb_runner_result *res, int status, int timed_out, double timeout_s, int got_message) {
    res->status = NNB_RUN_FAILED;
    if (timed_out)
        snprintf(res->error, sizeof res->error, "timed out: still running after %g s (--runner-timeout), killed",
                 timeout_s);
    else if (WIFSIGNALED(status))
        snprintf(res->error, sizeof res->error, "crashed: killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else if (WIFEXITED(status))
        snprintf(res->error, sizeof res->error, "its process exited with status %d %s", WEXITSTATUS(status),
                 got_message ? "with a corrupt result" : "without a result");
    else
        snprintf(res->error, sizeof res->error, "its process ended without a result");
}

void nnb_run_runner_isolated(nnb_run_env *env, const nnb_loaded_runner *lr, nnb_runner_result *res, double timeout_s) {
    nnb_result_init(res, lr);
    res->precision = env->config.precision;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        res->status = NNB_RUN_FAILED;
        snprintf(res->error, sizeof res->error, "--isolate: pipe: %s", strerror(errno));
        return;
    }
    fflush(NULL); /* nothing buffered may be written twice */
    pid_t parent = getpid(), child = fork();
    if (child < 0) {
        res->status = NNB_RUN_FAILED;
        snprintf(res->error, sizeof res->error, "--isolate: fork: %s", strerror(errno));
        close(fds[0]), close(fds[1]);
        return;
    }
    if (child == 0) {
        close(fds[0]);
        run_child(env, lr, fds[1], parent);
    }
    close(fds[1]);
    message m = {0};
    double deadline = timeout_s > 0 ? now_s() + timeout_s : 0;
    int rc = read_until_eof(fds[0], child, deadline, &m);
    close(fds[0]);
    if (rc != 0)
        kill(child, SIGKILL);
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    int clean_exit = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (rc == 0 && clean_exit && decode(&m, lr, res) == 0) {
        free(m.data);
        return;
    }
    report_death(res, status, rc == 1, timeout_s, m.len > 0);
    free(m.data);
}

/* ---- CUDA probe without a CUDA context in this process ---- */

/* Without a driver, the static CUDA runtime says "CUDA driver version is insufficient for CUDA runtime
 * version", which reads as "upgrade your driver". When the driver's library or device files are missing,
 * say that instead. Runs in the probe's child, so libcuda is never loaded into this process. */
static void explain_missing_driver(char *reason, size_t reason_len) {
    void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (lib)
        dlclose(lib);
    int have_dev = access("/dev/nvidiactl", F_OK) == 0;
    if (lib && have_dev)
        return; /* a driver is installed: CUDA's own reason stands */
    snprintf(reason, reason_len, "no NVIDIA driver found (%s%s%s)", lib ? "" : "no libcuda.so.1",
             !lib && !have_dev ? ", " : "", have_dev ? "" : "no /dev/nvidiactl");
}

static int usable_or_explained(char *reason, size_t reason_len) {
    if (nnb_cuda_usable(reason, reason_len))
        return 1;
    explain_missing_driver(reason, reason_len);
    return 0;
}

int nnb_cuda_usable_probe(char *reason, size_t reason_len) {
    static int known = -1;
    static char cached[300];
    if (known >= 0) {
        snprintf(reason, reason_len, "%s", cached);
        return known;
    }
    int fds[2];
    pid_t child;
    if (pipe2(fds, O_CLOEXEC) != 0 || (fflush(NULL), child = fork()) < 0) {
        known = usable_or_explained(cached, sizeof cached); /* no child to ask: ask here */
        snprintf(reason, reason_len, "%s", cached);
        return known;
    }
    if (child == 0) {
        close(fds[0]);
        char buf[1 + sizeof cached] = {0};
        buf[0] = (char)usable_or_explained(buf + 1, sizeof cached);
        _exit(write_all(fds[1], buf, sizeof buf) ? 1 : 0);
    }
    close(fds[1]);
    char buf[1 + sizeof cached] = {0};
    size_t got = 0;
    while (got < sizeof buf) {
        ssize_t n = read(fds[0], buf + got, sizeof buf - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fds[0]);
    int status;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    if (got == sizeof buf) {
        known = buf[0] != 0;
        snprintf(cached, sizeof cached, "%.*s", (int)sizeof cached - 1, buf + 1);
    } else {
        known = 0;
        snprintf(cached, sizeof cached, "the CUDA probe's process died (%s)",
                 WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "no answer");
    }
    snprintf(reason, reason_len, "%s", cached);
    return known;
}
