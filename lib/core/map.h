/*
 * A string-keyed hash map (open addressing, linear probing, tombstones)
 * for the server's tables: vhosts, the session manager's users. Keys are
 * borrowed: the value must own its key and outlive its entry. Hashing is
 * SipHash (libsodium crypto_shorthash) under a per-map random key, so
 * usernames chosen by an attacker cannot be made to collide.
 */
#ifndef XI_MAP_H
#define XI_MAP_H

#include "core/core.h"

typedef struct xi_map_slot {
    const char *key; /* NULL: empty; XI_MAP_TOMB: deleted */
    void *value;
    uint64_t hash;
} xi_map_slot;

typedef struct xi_map {
    const xmppcore_mem *mem;
    xi_map_slot *slots;
    size_t cap;   /* power of two, or 0 */
    size_t count; /* live entries */
    size_t used;  /* live + tombstones */
    unsigned char key[16];
} xi_map;

/* rng seeds the hash key (NULL: default). */
void xi_map_init(xi_map *m, const xmppcore_mem *mem, xmppcore_rng_fn rng,
                 void *rng_ud);
void xi_map_free(xi_map *m);
void *xi_map_get(const xi_map *m, const char *key);
/* Inserts or replaces. 0 or XMPPCORE_E_NOMEM. */
int xi_map_put(xi_map *m, const char *key, void *value);
/* Removes; returns the value or NULL. */
void *xi_map_del(xi_map *m, const char *key);
/* Iteration: *pos starts at 0; returns false at the end. */
bool xi_map_next(const xi_map *m, size_t *pos, const char **key, void **value);

#endif
