/*
 * nnbench runner plugin ABI.
 *
 * This header is the only contract between the nnbench driver and its runner
 * plugins. A plugin is a shared object that exports exactly one entry symbol,
 * NNB_PLUGIN_ENTRY_SYMBOL, returning a static descriptor that lists one or more
 * runners. The driver dlopen()s every plugin it finds, checks the descriptor,
 * and from then on talks to runners only through the function pointers below.
 *
 * Versioning
 *   NNB_ABI_MAJOR changes when an existing field changes meaning or position:
 *   the driver refuses a plugin whose major differs from its own.
 *   NNB_ABI_MINOR grows when fields are appended: every struct carries its own
 *   size (struct_size) so either side can tell which fields the other knows.
 *   Fields are only ever appended, never reordered or removed.
 *
 * Ownership
 *   - Descriptors and every string in them are static, owned by the plugin,
 *     valid until the plugin is unloaded.
 *   - The nnb_config passed to create() is owned by the driver and valid only
 *     during the call: a runner copies what it needs.
 *   - create() returns a model owned by the runner; the driver releases it with
 *     destroy() exactly once. destroy(NULL) must be a no-op.
 *   - Tensors handed out by params() and outputs() point at host memory owned by
 *     the model. They stay valid until the next call into the same model.
 *
 * Threading
 *   The driver calls one model from one thread at a time. A runner may use
 *   threads internally (OpenMP, BLAS) but must honour nnb_config.threads.
 *
 * Errors
 *   Functions that can fail return 0 on success and non-zero on failure, after
 *   writing a one-line, NUL-terminated message into err (at most err_len bytes,
 *   always >= 1). Runners never print; the driver reports.
 *
 * Devices
 *   CUDA runners enqueue all of their work on nnb_config.cuda_stream (a
 *   cudaStream_t, NULL on cpu). The driver times that stream with CUDA events and
 *   synchronises after each phase; forward/backward need not synchronise.
 */
#ifndef NNBENCH_RUNNER_H
#define NNBENCH_RUNNER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NNB_ABI_MAJOR 1
#define NNB_ABI_MINOR 3

/* The one symbol every plugin exports, and its type. */
#define NNB_PLUGIN_ENTRY_SYMBOL "nnbench_plugin_entry"
#define NNB_MAX_DIMS 8

#if defined(__GNUC__)
#define NNB_EXPORT __attribute__((visibility("default")))
#else
#define NNB_EXPORT
#endif

/* Group names a runner may declare. */
#define NNB_GROUP_RNNS "rnns"
#define NNB_GROUP_CNNS "cnns"
#define NNB_GROUP_VL_RNNS "vl_rnns"
#define NNB_GROUP_CONVS "convs" /* ABI 1.3: single convolution layers (nnb_config.conv) */

/* Device names a runner may declare. */
#define NNB_DEVICE_CPU "cpu"
#define NNB_DEVICE_CUDA "cuda"

/* ABI 1.3: the precision a run computes in (--dtype). Every precision sees the same problem: the seeded
 * fp32 inputs and weights rounded to the precision (round-to-nearest-even). params() and outputs() still
 * hand out fp32 tensors: the values actually used and the results, widened to fp32.
 *   NNB_PRECISION_FP32  fp32 data, fp32 math (the default; every runner supports it)
 *   NNB_PRECISION_TF32  fp32 data, TF32 tensor-op math (CUDA only)
 *   NNB_PRECISION_BF16  bfloat16 data, fp32 accumulation (and fp32 where a library requires it)
 *   NNB_PRECISION_FP16  IEEE half data, fp32 accumulation */
typedef enum nnb_precision {
    NNB_PRECISION_FP32 = 0,
    NNB_PRECISION_TF32 = 1,
    NNB_PRECISION_BF16 = 2,
    NNB_PRECISION_FP16 = 3,
} nnb_precision;
#define NNB_PRECISION_COUNT 4
/* nnb_runner_desc.precisions: a bit per nnb_precision. 0 (every plugin before ABI 1.3) means fp32 only. */
#define NNB_PRECISION_BIT(p) (1u << (unsigned)(p))

/* ABI 1.3: one convolution problem (--conv, benchdnn's descriptor), every field already deduced and checked
 * by the driver. Layouts: x (mb, ic, [id,] ih, iw), w (oc, ic / g, [kd,] kh, kw), b (oc), y (mb, oc, [od,]
 * oh, ow): NCHW / OIHW. Dilation as in benchdnn: 0 is dense (PyTorch's dilation = d + 1). 2-D problems
 * have ndims 4 and id = od = kd = sd = 1, pd = dd = 0. */
typedef struct nnb_conv_problem {
    size_t struct_size; /* sizeof(nnb_conv_problem) as the driver knows it */
    int ndims;          /* 4 (2-D) or 5 (3-D) */
    int64_t g, mb, ic, oc;
    int64_t id, ih, iw;
    int64_t od, oh, ow;
    int64_t kd, kh, kw;
    int64_t sd, sh, sw;
    int64_t pd, ph, pw; /* padding at the front; the back padding follows from the output size */
    int64_t dd, dh, dw;
    int has_bias;     /* 1: forward adds b, backward gives db */
    const char *name; /* the descriptor's n"..." or NULL */
} nnb_conv_problem;

/* ABI 1.3: which convolution phases --conv-dir times (nnb_config.conv_dirs, a bit each). */
#define NNB_CONV_DIR_FWD 0x1u
#define NNB_CONV_DIR_BWD_D 0x2u
#define NNB_CONV_DIR_BWD_W 0x4u
#define NNB_CONV_DIR_ALL 0x7u

/* Everything the command line says about a run. Sizes are validated by the
 * driver (positive, buffers fit in size_t) before any create() sees them. */
typedef struct nnb_config {
    size_t struct_size; /* sizeof(nnb_config) as the driver knows it */

    /* LSTM sizes (fastrnns names). */
    int64_t seq_length;  /* T; ignored by variable-length runners */
    int64_t num_layers;  /* L */
    int64_t input_size;  /* I */
    int64_t hidden_size; /* H */
    int64_t mini_batch;  /* B */

    /* CNN sizes. */
    int64_t cnn_batch;  /* N */
    int64_t image_size; /* S: input is (N, 3, S, S) */

    uint64_t seed; /* every input, weight, upstream gradient and mask */
    int threads;   /* CPU threads to use (OpenMP and BLAS), >= 1 */

    const char *fuser;    /* "te", "old" or "none" */
    const char *executor; /* NULL: the runner's default; else e.g. "eager", "graph" */

    /* CUDA pointwise launch geometry; 0 means "runner's choice". */
    int cuda_pointwise_loop_level;
    int cuda_pointwise_block_count;
    int cuda_pointwise_block_size;

    int allow_tf32;    /* CUDA: tensor-op TF32 math allowed (default 0) */
    int cuda_device;   /* CUDA device ordinal */
    void *cuda_stream; /* cudaStream_t owned by the driver; NULL on cpu */

    /* ---- ABI 1.3 ---- */
    int precision; /* nnb_precision (--dtype); NNB_PRECISION_TF32 also sets allow_tf32 for older runners */
    const nnb_conv_problem *conv; /* convs group: the problem (--conv); NULL for other groups */
    uint32_t conv_dirs;           /* NNB_CONV_DIR_* bits --conv-dir asks for (default ALL) */
    const char *conv_algo;        /* --conv-algo: "auto" (default), "find", "direct", "winograd" or a name */
} nnb_config;

typedef enum nnb_dtype { NNB_F32 = 0, NNB_F64 = 1, NNB_I64 = 2, NNB_I32 = 3 } nnb_dtype;

/* A named, dense, C-ordered host array. */
typedef struct nnb_tensor {
    const char *name; /* e.g. "x", "w_ih_l0", "dw_ih_l0" (see docs/json-schema.md) */
    nnb_dtype dtype;
    int ndim;
    int64_t shape[NNB_MAX_DIMS];
    const void *data; /* host memory owned by the model */
} nnb_tensor;

typedef struct nnb_tensor_list {
    int count;
    const nnb_tensor *items; /* owned by the model */
} nnb_tensor_list;

/* Runner flags. */
#define NNB_FLAG_SINGLE_LAYER 0x1u /* ignores --numLayers beyond 1, by definition */
#define NNB_FLAG_REFERENCE 0x2u    /* a plain reference other runners check against */
#define NNB_FLAG_HIDDEN 0x4u       /* not in default selections; runs only when named */
/* ABI 1.1: --check compares gradients (outputs named d*) by the normwise L2
 * relative error instead of the max-norm one, against ten times the forward
 * tolerance (check_tolerance's value, or the default).
 * For networks where fp32 rounding legitimately flips a few discrete decisions
 * (ReLU, max-pool) whose effect BatchNorm's backward then spreads. */
#define NNB_FLAG_CHECK_GRADIENTS_L2 0x8u

/* ABI 1.2: where a CUDA runner's infer() reads its input and writes its output, so a server can copy
 * requests in and responses out on streams of its own (nnbench serve: H2D, compute, D2H). Device memory
 * owned by the model. Sample i of a batch of n occupies sample_bytes at offset i * sample_bytes of each of
 * `rows` rows, rows row_pitch bytes apart: a CNN's (N, 3, S, S) input is 1 row (pitch 0); an LSTM's
 * (T, B, I) input is T rows of pitch B * I * 4 and sample_bytes I * 4. */
typedef struct nnb_infer_io {
    size_t struct_size; /* sizeof(nnb_infer_io) as the caller knows it */
    void *input;
    size_t input_rows, input_row_pitch, input_sample_bytes;
    void *output;
    size_t output_rows, output_row_pitch, output_sample_bytes;
} nnb_infer_io;

typedef struct nnb_runner_desc {
    size_t struct_size; /* sizeof(nnb_runner_desc) as the plugin knows it */

    const char *name;        /* unique across all plugins, e.g. "jit_premul" */
    const char *group;       /* NNB_GROUP_* */
    const char *device;      /* NNB_DEVICE_* */
    const char *description; /* one line */
    const char *reference;   /* runner to check against ("py"); NULL for none */
    uint32_t flags;          /* NNB_FLAG_* */

    /* Optional: can this runner run here with this config? Returns 1 if yes,
     * else 0 with the reason in reason (e.g. "built without cuDNN"). */
    int (*available)(const nnb_config *cfg, char *reason, size_t reason_len);

    /* Builds the model: buffers, weights and inputs from cfg->seed. Untimed. */
    void *(*create)(const nnb_config *cfg, char *err, size_t err_len);

    /* Timed: one forward pass. */
    int (*forward)(void *model, char *err, size_t err_len);

    /* Optional, untimed: whatever backward needs after forward (e.g. seeding
     * the upstream gradient). */
    int (*backward_setup)(void *model, char *err, size_t err_len);

    /* Optional, timed: one backward pass. NULL means forward-only. */
    int (*backward)(void *model, char *err, size_t err_len);

    /* Optional, untimed: zero accumulated gradients before the next iteration. */
    int (*zero_grad)(void *model, char *err, size_t err_len);

    /* Inputs, parameters and the upstream gradient (names as in the golden data:
     * x, hx, cx, w_ih_l0, ..., grad_y). */
    int (*params)(void *model, nnb_tensor_list *out, char *err, size_t err_len);

    /* Results of the last forward/backward: y, hy, cy, dx, dhx, dcx, dw_ih_l0, ... */
    int (*outputs)(void *model, nnb_tensor_list *out, char *err, size_t err_len);

    /* Optional: a JSON object (text) saying what actually ran: library and
     * kernel names, fuser, launch geometry, creation time... Embedded verbatim
     * (after parsing) in the full JSON results as "runner_info". */
    int (*describe)(void *model, char *buf, size_t buf_len);

    /* FLOPs of one forward and one backward pass (0 if unknown). */
    double (*forward_flops)(void *model);
    double (*backward_flops)(void *model);

    void (*destroy)(void *model);

    /* ---- ABI 1.1 ---- */

    /* Optional: --check tolerance (normwise relative error) for this config,
     * for runners whose math amplifies rounding (e.g. LayerNorm LSTMs over long
     * sequences). NULL or a value <= 0: the driver's default. */
    double (*check_tolerance)(const nnb_config *cfg);

    /* ---- ABI 1.2: inference (nnbench serve) ---- */

    /* Optional: one inference pass over the first n samples of the batch the model was created for
     * (1 <= n <= cnn_batch for CNNs, mini_batch for LSTMs): forward only, no state kept for a backward,
     * inference-mode weights (BatchNorm normalises with its running statistics, dropout is off). It must
     * not change the model's parameters (no running-statistics update), so any sequence of calls gives the
     * same outputs. Timed by the caller, like forward; CUDA runners enqueue on nnb_config.cuda_stream.
     * outputs() afterwards gives the inference results under the forward's names ("y", "hy", "cy",
     * "logits"), their batch axis n long. NULL: the runner cannot serve. */
    int (*infer)(void *model, int64_t n, char *err, size_t err_len);

    /* Optional (CUDA runners): infer()'s device input and output (nnb_infer_io). NULL: the input stays as
     * create() made it and outputs() is the only way out (CPU runners). */
    int (*infer_io)(void *model, nnb_infer_io *io, char *err, size_t err_len);

    /* Optional: replace one parameter that params() lists (weights, biases, BatchNorm running statistics;
     * not the inputs x, hx, cx or grad_y) by value: same name, dtype and shape, else an error naming the
     * tensor and both shapes. Untimed; what --weights DIR uses to serve exported weights. */
    int (*load_param)(void *model, const nnb_tensor *value, char *err, size_t err_len);

    /* ---- ABI 1.3: precision and backward parts ---- */

    /* NNB_PRECISION_BIT()s of the precisions this runner computes in; 0 means fp32 only. A precision outside
     * the mask is refused by the driver in its own words; one inside it that this machine cannot run (no
     * avx512_bf16, no tensor cores) is refused by available() with the reason, written with
     * nnb_precision_refusal()'s wording: "bf16 needs a CPU with avx512_bf16 or AMX; this CPU has neither". */
    uint32_t precisions;

    /* Optional: backward() as parts the driver also times one by one (a convolution's "bwd_data" then
     * "bwd_weights"). backward() must do the same work as backward_part(0 .. count-1) in order, and
     * backward_setup() precedes either. backward_part_count NULL or returning 0: no parts. Names are static. */
    int (*backward_part_count)(void *model);
    const char *(*backward_part_name)(void *model, int part);
    int (*backward_part)(void *model, int part, char *err, size_t err_len);
} nnb_runner_desc;

typedef struct nnb_plugin {
    uint32_t abi_major; /* NNB_ABI_MAJOR the plugin was built against */
    uint32_t abi_minor;
    size_t struct_size; /* sizeof(nnb_plugin) */
    const char *name;   /* plugin name, e.g. "cpu_reference" */
    int runner_count;
    const nnb_runner_desc *runners;
} nnb_plugin;

typedef const nnb_plugin *(*nnb_plugin_entry_fn)(void);

/* ABI 1.3: the --dtype spelling of a precision ("fp32", "tf32", "bf16", "fp16"), or NULL if out of range. */
static inline const char *nnb_precision_name(int p) {
    static const char *const names[NNB_PRECISION_COUNT] = {"fp32", "tf32", "bf16", "fp16"};
    return p >= 0 && p < NNB_PRECISION_COUNT ? names[p] : (const char *)0;
}

/* Whether a runner descriptor (normalised by the driver, or a plugin's own) declares precision p. */
static inline int nnb_runner_supports_precision(const nnb_runner_desc *d, int p) {
    uint32_t mask = d->precisions ? d->precisions : NNB_PRECISION_BIT(NNB_PRECISION_FP32);
    return p >= 0 && p < NNB_PRECISION_COUNT && (mask & NNB_PRECISION_BIT(p)) != 0;
}

/* Declare the entry point in a plugin:  NNB_DEFINE_PLUGIN(my_plugin_descriptor) */
#define NNB_DEFINE_PLUGIN(descriptor)                                                                                  \
    NNB_EXPORT const nnb_plugin *nnbench_plugin_entry(void);                                                           \
    NNB_EXPORT const nnb_plugin *nnbench_plugin_entry(void) { return &(descriptor); }

#ifdef __cplusplus
}
#endif
#endif /* NNBENCH_RUNNER_H */
