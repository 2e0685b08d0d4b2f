/*
 * Test hooks of the emulated CUDA runtime and cuBLAS (fake_cuda.c): counts of what a real GPU would punish
 * but a CPU run cannot show, and a switch that makes cuBLAS fail inside a graph capture. Test-only.
 */
#ifndef NNB_FAKE_CUDA_H
#define NNB_FAKE_CUDA_H

typedef struct nnb_fake_cuda_counts {
    int stream_changes;           /* cublasSetStream calls */
    int workspace_sets;           /* cublasSetWorkspace calls */
    int captures;                 /* cudaStreamBeginCapture calls */
    int calls_on_default_pool;    /* cuBLAS calls while the handle was on cuBLAS's default workspace pool */
    int captured_cublas_calls;    /* cuBLAS calls recorded into a graph */
    int captured_on_default_pool; /* ... while the handle was on cuBLAS's default workspace pool (would allocate) */
    int captured_cold;            /* ... on a handle that had never run outside a capture (first use captured) */
    int captured_cold_kernels;    /* kernel launches captured before that kernel ever ran outside a capture */
    int set_device_calls;         /* successful cudaSetDevice calls */
    int current_device;           /* the last device set */
} nnb_fake_cuda_counts;

/* Zeroes the counts and clears the failure switch. */
void nnb_fake_cuda_reset(void);
nnb_fake_cuda_counts nnb_fake_cuda_get_counts(void);
/* on: every cuBLAS call on a capturing stream returns CUBLAS_STATUS_EXECUTION_FAILED. */
void nnb_fake_cuda_fail_cublas_in_capture(int on);

#endif
