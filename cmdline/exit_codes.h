/*
 * The exit statuses every nnbench command shares (nnbench, sweep, merge, serve, compare,
 * nnbench-compare); docs/exit-codes.md explains when each is returned.
 */
#ifndef NNB_EXIT_CODES_H
#define NNB_EXIT_CODES_H

enum {
    NNB_EXIT_OK = 0,            /* everything asked for ran and passed */
    NNB_EXIT_FAILED = 1,        /* a runner, run or check failed (results still written) */
    NNB_EXIT_USAGE = 2,         /* bad command line or output path: nothing ran, nothing was written */
    NNB_EXIT_NOTHING_RAN = 3,   /* every selected runner was skipped here (no device, not built, ...) */
    NNB_EXIT_REGRESSION = 4,    /* --fail-above R: a confirmed regression beyond R */
    NNB_EXIT_SKIPPED = 77,      /* the test-harness convention for "skipped" (ctest SKIP_RETURN_CODE) */
    NNB_EXIT_INTERRUPTED = 130, /* SIGINT/SIGTERM, as a shell reports a process ended by SIGINT */
};

#endif
