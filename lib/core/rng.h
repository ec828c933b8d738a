/*
 * A buffered random generator (ChaCha20, fast key erasure) over a seed
 * source, for the server's frequent small draws. See rng.c for the
 * construction and its fork safety.
 */
#ifndef XI_RNG_H
#define XI_RNG_H

#include "core/core.h"

typedef struct xi_rng xi_rng;

/* seed NULL: xmppcore_rng_default. Returns NULL when out of memory. */
xi_rng *xi_rng_new(const xmppcore_mem *mem, xmppcore_rng_fn seed,
                   void *seed_user_data);

/* Wipes and frees; NULL is a no-op. */
void xi_rng_free(xi_rng *r);

/* An xmppcore_rng_fn: user_data is the xi_rng. Not thread-safe: one
 * generator serves one thread (the server's). Returns 0, or the seed
 * source's failure code. */
int xi_rng_fill(void *buf, size_t len, void *user_data);

#endif
