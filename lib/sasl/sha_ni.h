/*
 * SHA-1 and SHA-256 compression functions on the x86 SHA extensions, for
 * the PBKDF2 inner loop (account creation, PLAIN logins). mbedTLS 2.28 and
 * libsodium hash in portable C; with SHA-NI one block costs a fraction of
 * that. Callers check xi_sha_ni_available() first.
 */
#ifndef XI_SHA_NI_H
#define XI_SHA_NI_H

#include <stdbool.h>
#include <stdint.h>

/* True when the CPU (and this build) can run the functions below. */
bool xi_sha_ni_available(void);

/* One 64-byte block into the state (standard word order: state[0] is A).
 * Only call when xi_sha_ni_available() is true. */
void xi_sha256_ni_block(uint32_t state[8], const unsigned char block[64]);
void xi_sha1_ni_block(uint32_t state[5], const unsigned char block[64]);

#endif
