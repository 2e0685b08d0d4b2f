/* Fixture: a runner header, which kernels/ must not include. */
