/* String-keyed hash map; see map.h. */
#include <sodium.h>

#include "core/map.h"

static const char tomb_marker;
#define XI_MAP_TOMB (&tomb_marker)

void xi_map_init(xi_map *m, const xmppcore_mem *mem, xmppcore_rng_fn rng,
                 void *rng_ud)
{
    memset(m, 0, sizeof *m);
    m->mem = xi_mem(mem);
    if (!rng || rng(m->key, sizeof m->key, rng_ud) != 0)
        randombytes_buf(m->key, sizeof m->key);
}

void xi_map_free(xi_map *m)
{
    xi_free(m->mem, m->slots);
    m->slots = NULL;
    m->cap = m->count = m->used = 0;
}

static uint64_t hash_of(const xi_map *m, const char *key)
{
    unsigned char out[crypto_shorthash_BYTES];
    uint64_t h;
    crypto_shorthash(out, (const unsigned char *)key, strlen(key), m->key);
    memcpy(&h, out, sizeof h);
    return h;
}

static xi_map_slot *find(const xi_map *m, const char *key, uint64_t h)
{
    if (!m->cap)
        return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        xi_map_slot *s = &m->slots[i];
        if (!s->key)
            return NULL;
        if (s->key != XI_MAP_TOMB && s->hash == h && strcmp(s->key, key) == 0)
            return s;
    }
}

void *xi_map_get(const xi_map *m, const char *key)
{
    xi_map_slot *s = find(m, key, m->cap ? hash_of(m, key) : 0);
    return s ? s->value : NULL;
}

static int grow(xi_map *m)
{
    size_t cap = m->cap ? m->cap : 8;
    /* Double only when live entries fill half; otherwise rehash in place
     * to drop tombstones. */
    if (m->count * 2 >= cap)
        cap *= 2;
    xi_map_slot *slots = xi_calloc(m->mem, cap * sizeof *slots);
    if (!slots)
        return XMPPCORE_E_NOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        xi_map_slot *o = &m->slots[i];
        if (!o->key || o->key == XI_MAP_TOMB)
            continue;
        size_t j = o->hash & (cap - 1);
        while (slots[j].key)
            j = (j + 1) & (cap - 1);
        slots[j] = *o;
    }
    xi_free(m->mem, m->slots);
    m->slots = slots;
    m->cap = cap;
    m->used = m->count;
    return 0;
}

int xi_map_put(xi_map *m, const char *key, void *value)
{
    uint64_t h = hash_of(m, key);
    xi_map_slot *s = find(m, key, h);
    if (s) {
        s->key = key;
        s->value = value;
        return 0;
    }
    if ((m->used + 1) * 4 > m->cap * 3 && grow(m) < 0)
        return XMPPCORE_E_NOMEM;
    size_t mask = m->cap - 1, i = h & mask;
    while (m->slots[i].key && m->slots[i].key != XI_MAP_TOMB)
        i = (i + 1) & mask;
    if (!m->slots[i].key)
        m->used++;
    m->slots[i].key = key;
    m->slots[i].value = value;
    m->slots[i].hash = h;
    m->count++;
    return 0;
}

void *xi_map_del(xi_map *m, const char *key)
{
    xi_map_slot *s = find(m, key, m->cap ? hash_of(m, key) : 0);
    if (!s)
        return NULL;
    void *v = s->value;
    s->key = XI_MAP_TOMB;
    s->value = NULL;
    m->count--;
    if (m->count == 0) {
        /* Empty: give the memory back (many users come and go). */
        xi_map_free(m);
    }
    return v;
}

bool xi_map_next(const xi_map *m, size_t *pos, const char **key, void **value)
{
    for (; *pos < m->cap; (*pos)++) {
        const xi_map_slot *s = &m->slots[*pos];
        if (s->key && s->key != XI_MAP_TOMB) {
            if (key)
                *key = s->key;
            if (value)
                *value = s->value;
            (*pos)++;
            return true;
        }
    }
    return false;
}
