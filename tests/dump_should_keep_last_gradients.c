#define _GNU_SOURCE
/* --dump through the nnbench binary for every CPU runner with a backward, next
 * to its reference: each runner's dumped gradients (d*.npy, taken after the
 * last measured backward and before that iteration's zero_grad) must match the
 * reference's dump within --check's tolerance, and none may be all zero. */
#include "test_support.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { MAX_TENSORS = 256 };

typedef struct dumped {
    int count;
    nnb_npy_array arrays[MAX_TENSORS];
    nnb_tensor tensors[MAX_TENSORS];
    char names[MAX_TENSORS][64];
} dumped;

static void free_dumped(dumped *d) {
    for (int i = 0; i < d->count; i++)
        nnb_npy_free(&d->arrays[i]);
    d->count = 0;
}

/* Every .npy in dir as a tensor list; gradients_only keeps the d* tensors. */
static int read_dump(const char *dir, int gradients_only, dumped *out, nnb_tensor_list *list) {
    memset(out, 0, sizeof *out);
    DIR *dp = opendir(dir);
    if (!dp)
        return -1;
    for (struct dirent *e; (e = readdir(dp)) && out->count < MAX_TENSORS;) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".npy") || (gradients_only && e->d_name[0] != 'd'))
            continue;
        char path[2048], err[256];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        int i = out->count;
        if (nnb_npy_read(path, &out->arrays[i], err, sizeof err)) {
            CHECK_MSG(0, "%s", err);
            continue;
        }
        snprintf(out->names[i], sizeof out->names[i], "%.*s", (int)(len - 4), e->d_name);
        nnb_tensor *t = &out->tensors[i];
        t->name = out->names[i];
        t->dtype = out->arrays[i].dtype;
        t->ndim = out->arrays[i].ndim;
        memcpy(t->shape, out->arrays[i].shape, sizeof t->shape);
        t->data = out->arrays[i].data;
        out->count++;
    }
    closedir(dp);
    list->count = out->count;
    list->items = out->tensors;
    return 0;
}

static double l2_norm(const nnb_npy_array *a) {
    double s = 0;
    for (int64_t i = 0; i < a->count; i++) {
        double v = a->dtype == NNB_F32 ? ((const float *)a->data)[i] : ((const double *)a->data)[i];
        s += v * v;
    }
    return sqrt(s);
}

/* --check's tolerance, or the test's own where its unit test of the runner family uses a larger one. */
static double tolerance_of(const nnb_runner_desc *d, const nnb_config *cfg, double tol) {
    double t = d->check_tolerance ? d->check_tolerance(cfg) : 0;
    return tol > 0 ? tol : t > 0 ? t : nnb_default_tolerance(cfg, d->group);
}

/* Compare DIR/<runner>/d*.npy with DIR/<its reference>/. */
static void compare_with_reference(const char *dir, const nnb_runner_desc *d, const nnb_config *cfg, double tol_given) {
    char got_dir[1024], ref_dir[1024], err[512] = "";
    snprintf(got_dir, sizeof got_dir, "%s/%s", dir, d->name);
    snprintf(ref_dir, sizeof ref_dir, "%s/%s", dir, d->reference);
    static dumped got, ref;
    nnb_tensor_list got_list, ref_list;
    int ok_got = read_dump(got_dir, 1, &got, &got_list) == 0, ok_ref = read_dump(ref_dir, 1, &ref, &ref_list) == 0;
    CHECK_MSG(ok_got && ok_ref, "%s: no dump in %s or %s", d->name, got_dir, ref_dir);
    if (!ok_got || !ok_ref)
        return;
    CHECK_MSG(got.count >= 2, "%s: only %d gradients dumped", d->name, got.count);
    for (int i = 0; i < got.count; i++)
        CHECK_MSG(l2_norm(&got.arrays[i]) > 0, "%s: %s dumped all zero (taken after zero_grad?)", d->name,
                  got.names[i]);
    double tol = tolerance_of(d, cfg, tol_given), grad_tol = d->flags & NNB_FLAG_CHECK_GRADIENTS_L2 ? 10 * tol : 0;
    if (!strcmp(d->name, "resnet50") && !strcmp(d->reference, "resnet50_ref"))
        grad_tol = 0.05; /* fp32 ReLU flips spread by BatchNorm: see resnet_runners_should_match_reference.c */
    nnb_tensor_check *checks = NULL;
    int count = 0;
    int failing = nnb_compare_tensors_l2_grads(&ref_list, &got_list, tol, grad_tol, &checks, &count, err, sizeof err);
    CHECK_MSG(failing == 0, "%s vs %s: %d gradients differ %s", d->name, d->reference, failing, err);
    for (int i = 0; i < count; i++)
        if (!checks[i].pass)
            printf("  %s %s: max_rel %.3g l2_rel %.3g tol %.3g\n", d->name, checks[i].name, checks[i].max_rel_err,
                   checks[i].l2_rel_err, checks[i].tolerance);
    printf("%-18s vs %-16s %2d gradients match\n", d->name, d->reference, count);
    free(checks);
    free_dumped(&got);
    free_dumped(&ref);
}

/* Names of the CPU runners of group with a backward and a reference (single-layer ones or the others), then
 * their references. */
static int runners_of(const nnb_registry *reg, const char *group, int single_layer, const char *names[], int max,
                      int *total) {
    int n = 0;
    for (int i = 0; i < reg->count && n < max; i++) {
        const nnb_runner_desc *d = reg->runners[i].desc;
        if (!strcmp(d->group, group) && !strcmp(d->device, NNB_DEVICE_CPU) && d->backward && d->reference &&
            !(d->flags & NNB_FLAG_SINGLE_LAYER) == !single_layer)
            names[n++] = d->name;
    }
    int runners = n;
    for (int i = 0; i < runners && n < max; i++) {
        const char *ref = nnb_registry_find_on(reg, names[i], NNB_DEVICE_CPU)->desc->reference;
        int seen = 0;
        for (int j = 0; j < n; j++)
            seen |= !strcmp(names[j], ref);
        if (!seen)
            names[n++] = ref;
    }
    *total = n;
    return runners;
}

typedef struct dump_case {
    const char *group;
    int single_layer; /* the group's single-layer runners, else the others */
    const char *flag; /* "--rnns"/"--cnns" before the names, "" for the group's default selection */
    const char *sizes;
    nnb_config cfg; /* the same sizes, for the tolerance */
    double tol;     /* 0: --check's */
} dump_case;

static void dump_group_and_compare(const nnb_registry *reg, const dump_case *c) {
    const char *names[128], *group = c->group, *flag = c->flag, *sizes = c->sizes;
    int total, runners = runners_of(reg, group, c->single_layer, names, 128, &total);
    if (runners == 0) {
        printf("no %s runners with a backward here (backends not built): nothing to dump\n", group);
        return;
    }
    char dir[256], cmd[8192], err[1 << 14];
    snprintf(dir, sizeof dir, "/tmp/nnb-dump-test-%ld-%s", (long)getpid(), group);
    int used = snprintf(cmd, sizeof cmd, "%s --device cpu %s --warmup 1 --nloops 2 --threads 2 --dump %s %s",
                        nnb_test_env("NNBENCH_BIN"), sizes, dir, flag);
    for (int i = 0; flag[0] && i < total; i++) /* no flag: the group's default selection holds them all */
        used += snprintf(cmd + used, sizeof cmd - (size_t)used, " %s", names[i]);
    printf("%s\n", cmd);
    int rc = nnb_test_run(cmd, NULL, 0, err, sizeof err);
    CHECK_MSG(rc == 0, "%s: exit %d: %s", cmd, rc, err);
    for (int i = 0; i < runners; i++)
        compare_with_reference(dir, nnb_registry_find_on(reg, names[i], NNB_DEVICE_CPU)->desc, &c->cfg, c->tol);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

int main(void) {
    static nnb_registry reg;
    nnb_test_load_runners(&reg);
    /* The sizes of the bug report: odd sizes and three layers, so no dimension hides another. */
    const char *lstm = "--seqLength 11 --miniBatch 5 --inputSize 37 --hiddenSize 41 --numLayers 3";
    nnb_config cfg = nnb_test_lstm_config(11, 5, 37, 41, 3, 0), one_layer = nnb_test_lstm_config(11, 5, 37, 41, 1, 0);
    nnb_config cnn = cfg;
    cnn.cnn_batch = 2;
    cnn.image_size = 33;
    const dump_case cases[] = {
        {NNB_GROUP_RNNS, 0, "--rnns", lstm, cfg, 0},
        {NNB_GROUP_RNNS, 1, "--rnns", "--seqLength 11 --miniBatch 5 --inputSize 37 --hiddenSize 41", one_layer, 0},
        {NNB_GROUP_VL_RNNS, 0, "", "--group vl_rnns --numLayers 3 --miniBatch 5 --inputSize 37 --hiddenSize 41", cfg,
         0},
        /* fp32 flips a few ReLU decisions against the double reference: resnet_runners_should_match_reference's
         * tolerance (2e-4, gradients in L2 against ten times that). */
        {NNB_GROUP_CNNS, 0, "--cnns", "--cnn-batch 2 --image-size 33", cnn, 2e-4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        dump_group_and_compare(&reg, &cases[i]);
    nnb_registry_free(&reg);
    return nnb_test_finish();
}
