/* SHA-256 (FIPS 180-4) of a byte buffer, as 64 lowercase hex digits: how `history add` recognises a file
 * it has already stored. A leaf: libc only. */
#ifndef NNB_SHA256_H
#define NNB_SHA256_H

#include <stddef.h>

/* hex gets 64 hex digits and a NUL (65 bytes). */
void nnb_sha256_hex(const void *data, size_t len, char hex[65]);

#endif
