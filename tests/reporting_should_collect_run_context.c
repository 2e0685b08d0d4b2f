/*
 * nnb_context_collect: version from the build (compared with CMake's
 * PROJECT_VERSION), a current UTC date, host and CPU model from the system;
 * library and CUDA fields are left to the driver.
 */
#define _GNU_SOURCE
#include "report.h"
#include "test_support.h"

#include <ctype.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* "YYYY-MM-DDTHH:MM:SSZ" within a minute of now. */
static void check_date(const char *date) {
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    CHECK_MSG(end && *end == '\0', "date '%s' is not ISO 8601 UTC", date);
    time_t t = timegm(&tm);
    CHECK_MSG(llabs((long long)(time(NULL) - t)) < 60, "date '%s' is not now", date);
}

static int is_short_sha(const char *s) {
    size_t n = strlen(s);
    if (n < 7)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

int main(void) {
    nnb_run_context ctx;
    memset(&ctx, 0x55, sizeof ctx); // collect must initialise everything
    nnb_context_collect(&ctx, 3, "cpu");
    CHECK_MSG(strcmp(ctx.nnbench_version, NNB_EXPECTED_VERSION) == 0, "version %s", ctx.nnbench_version);
    CHECK_MSG(strcmp(ctx.git_sha, "unknown") == 0 || is_short_sha(ctx.git_sha), "git sha '%s'", ctx.git_sha);
    check_date(ctx.date);
    char host[128] = "";
    gethostname(host, sizeof host - 1);
    CHECK_MSG(strcmp(ctx.host, host) == 0, "host '%s', want '%s'", ctx.host, host);
#if defined(__x86_64__)
    CHECK_MSG(ctx.cpu_model[0] != '\0' && !strchr(ctx.cpu_model, '\n'), "cpu model '%s'", ctx.cpu_model);
#endif
    CHECK(ctx.threads == 3);
    CHECK(strcmp(ctx.device, "cpu") == 0);
    const char *cuda_fields[] = {ctx.cuda_runtime, ctx.cuda_driver, ctx.cudnn, ctx.cublas, ctx.gpu_name, ctx.gpu_sm};
    for (int i = 0; i < 6; i++)
        CHECK_MSG(cuda_fields[i][0] == '\0', "CUDA field %d filled: left to the driver", i);

    CHECK_MSG(ctx.blas[0] == '\0' && ctx.onednn[0] == '\0', "library fields filled: left to the driver");
    printf("context: version %s, git %s, date %s, host %s, cpu %s, onednn %s\n", ctx.nnbench_version, ctx.git_sha,
           ctx.date, ctx.host, ctx.cpu_model, ctx.onednn);
    return nnb_test_finish();
}
