/*
 * Deliberately broken plugins for the loader tests. One source, several
 * shared objects, chosen by BROKEN_KIND at compile time:
 *   1 no entry symbol   2 wrong ABI major   3 invalid descriptor (bad group)
 *   4 duplicate of runner "dup" (built twice as dup_a.so and dup_b.so)
 *   5 a valid plugin next to the broken ones ("survivor")
 *   6 a valid plugin built against ABI 1.0, whose descriptors are shorter
 *     (no check_tolerance): two runners, to exercise the descriptor stride
 */
#include <nnbench/runner.h>

#include <stddef.h>

static void *never_create(const nnb_config *cfg, char *err, size_t err_len) {
    (void)cfg, (void)err, (void)err_len;
    return NULL;
}
static int nothing(void *model, char *err, size_t err_len) {
    (void)model, (void)err, (void)err_len;
    return 0;
}
static int no_tensors(void *model, nnb_tensor_list *out, char *err, size_t err_len) {
    (void)model, (void)err, (void)err_len;
    out->count = 0;
    out->items = NULL;
    return 0;
}
static void destroy(void *model) { (void)model; }

#if BROKEN_KIND == 3
#define GROUP "not_a_group"
#else
#define GROUP NNB_GROUP_RNNS
#endif
#if BROKEN_KIND == 4
#define NAME "dup"
#elif BROKEN_KIND == 5
#define NAME "survivor"
#else
#define NAME "broken"
#endif

__attribute__((unused)) static const nnb_runner_desc runners[] = {{.struct_size = sizeof(nnb_runner_desc),
                                                                   .name = NAME,
                                                                   .group = GROUP,
                                                                   .device = NNB_DEVICE_CPU,
                                                                   .description = "broken test plugin",
                                                                   .create = never_create,
                                                                   .forward = nothing,
                                                                   .params = no_tensors,
                                                                   .outputs = no_tensors,
                                                                   .destroy = destroy}};

#if BROKEN_KIND == 2
#define MAJOR (NNB_ABI_MAJOR + 98)
#else
#define MAJOR NNB_ABI_MAJOR
#endif

__attribute__((unused)) static const nnb_plugin plugin = {MAJOR, 0, sizeof(nnb_plugin), "broken", 1, runners};

#if BROKEN_KIND == 6
/* nnb_runner_desc as ABI 1.0 laid it out. */
typedef struct runner_desc_1_0 {
    size_t struct_size;
    const char *name, *group, *device, *description, *reference;
    uint32_t flags;
    int (*available)(const nnb_config *, char *, size_t);
    void *(*create)(const nnb_config *, char *, size_t);
    int (*forward)(void *, char *, size_t);
    int (*backward_setup)(void *, char *, size_t);
    int (*backward)(void *, char *, size_t);
    int (*zero_grad)(void *, char *, size_t);
    int (*params)(void *, nnb_tensor_list *, char *, size_t);
    int (*outputs)(void *, nnb_tensor_list *, char *, size_t);
    int (*describe)(void *, char *, size_t);
    double (*forward_flops)(void *);
    double (*backward_flops)(void *);
    void (*destroy)(void *);
} runner_desc_1_0;

#define OLD_RUNNER(NAME)                                                                                               \
    {                                                                                                                  \
        .struct_size = sizeof(runner_desc_1_0), .name = NAME, .group = NNB_GROUP_CNNS, .device = NNB_DEVICE_CPU,       \
        .description = "built against ABI 1.0", .create = never_create, .forward = nothing, .params = no_tensors,      \
        .outputs = no_tensors, .destroy = destroy                                                                      \
    }
static const runner_desc_1_0 old_runners[] = {OLD_RUNNER("old_minor_a"), OLD_RUNNER("old_minor_b")};
static const nnb_plugin old_plugin = {NNB_ABI_MAJOR, 0, sizeof(nnb_plugin),
                                      "old_minor",   2, (const nnb_runner_desc *)(const void *)old_runners};
NNB_DEFINE_PLUGIN(old_plugin)
#elif BROKEN_KIND == 1
NNB_EXPORT const nnb_plugin *some_other_symbol(void);
NNB_EXPORT const nnb_plugin *some_other_symbol(void) { return &plugin; }
#else
NNB_DEFINE_PLUGIN(plugin)
#endif
