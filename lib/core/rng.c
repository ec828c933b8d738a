/*
 * A buffered random generator for the library's many small draws (SCRAM
 * nonces, stream ids, resources: about seven per login), so each is a
 * copy from a buffer instead of a getrandom system call.
 *
 * Construction ("fast key erasure"): a 32-byte key expands with ChaCha20
 * into a block; the block's first 32 bytes replace the key at once and
 * the rest is handed out, each byte wiped as it leaves. A later
 * compromise of the state therefore reveals nothing already drawn. The
 * key is drawn afresh from the seed source (the host's RNG or libsodium)
 * every XI_RNG_RESEED bytes.
 *
 * Fork: the state lives in its own page marked MADV_WIPEONFORK, so a
 * child process sees it zeroed and reseeds instead of repeating the
 * parent's stream. Where the kernel refuses the flag (Linux < 4.14),
 * the generator compares getpid() on every draw instead.
 */
#include <sodium.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/rng.h"

#define XI_RNG_BLOCK 512
#define XI_RNG_RESEED (1u << 20)
#define XI_RNG_SEEDED 0x5eedu

struct xi_rng_state {
    unsigned seeded; /* XI_RNG_SEEDED; 0 after fork (wiped page) */
    size_t pos;      /* next unread byte of block, XI_RNG_BLOCK: empty */
    size_t since_seed;
    unsigned char key[crypto_stream_chacha20_KEYBYTES];
    unsigned char block[XI_RNG_BLOCK];
};

struct xi_rng {
    const xmppcore_mem *mem;
    xmppcore_rng_fn seed;
    void *seed_ud;
    struct xi_rng_state *st; /* mmap'ed page */
    size_t st_len;
    bool check_pid;
    pid_t pid;
};

xi_rng *xi_rng_new(const xmppcore_mem *mem, xmppcore_rng_fn seed,
                   void *seed_user_data)
{
    mem = xi_mem(mem);
    xi_rng *r = xi_calloc(mem, sizeof *r);
    if (!r)
        return NULL;
    r->mem = mem;
    r->seed = seed ? seed : xmppcore_rng_default;
    r->seed_ud = seed ? seed_user_data : NULL;
    long page = sysconf(_SC_PAGESIZE);
    r->st_len = page > 0 && (size_t)page >= sizeof *r->st
                    ? (size_t)page
                    : sizeof *r->st;
    void *p = mmap(NULL, r->st_len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        xi_free(mem, r);
        return NULL;
    }
    r->st = p;
#ifdef MADV_WIPEONFORK
    r->check_pid = madvise(p, r->st_len, MADV_WIPEONFORK) != 0;
#else
    r->check_pid = true;
#endif
    /* Never written to swap or core dumps where the system allows. */
    (void)mlock(p, r->st_len);
#ifdef MADV_DONTDUMP
    (void)madvise(p, r->st_len, MADV_DONTDUMP);
#endif
    r->pid = getpid();
    return r;
}

void xi_rng_free(xi_rng *r)
{
    if (!r)
        return;
    sodium_memzero(r->st, sizeof *r->st);
    munlock(r->st, r->st_len);
    munmap(r->st, r->st_len);
    xi_free(r->mem, r);
}

static int reseed(xi_rng *r)
{
    struct xi_rng_state *st = r->st;
    if (r->seed(st->key, sizeof st->key, r->seed_ud) != 0)
        return XMPPCORE_E_INTERNAL;
    st->pos = XI_RNG_BLOCK;
    st->since_seed = 0;
    st->seeded = XI_RNG_SEEDED;
    return 0;
}

static void refill(struct xi_rng_state *st)
{
    static const unsigned char nonce[crypto_stream_chacha20_NONCEBYTES];
    /* Each key is used for exactly one block, so a fixed nonce is safe. */
    crypto_stream_chacha20(st->block, sizeof st->block, nonce, st->key);
    memcpy(st->key, st->block, sizeof st->key);
    sodium_memzero(st->block, sizeof st->key);
    st->pos = sizeof st->key;
}

int xi_rng_fill(void *buf, size_t len, void *user_data)
{
    xi_rng *r = user_data;
    struct xi_rng_state *st = r->st;
    unsigned char *out = buf;

    if (r->check_pid) {
        pid_t pid = getpid();
        if (pid != r->pid) {
            r->pid = pid;
            st->seeded = 0;
        }
    }
    /* Large draws (certificate serials, secrets) are rare: straight from
     * the seed source. */
    if (len > XI_RNG_BLOCK / 2)
        return r->seed(buf, len, r->seed_ud);
    if (st->seeded != XI_RNG_SEEDED || st->since_seed >= XI_RNG_RESEED) {
        int rc = reseed(r);
        if (rc != 0)
            return rc;
    }
    while (len > 0) {
        if (st->pos == XI_RNG_BLOCK)
            refill(st);
        size_t k = XI_RNG_BLOCK - st->pos;
        if (k > len)
            k = len;
        memcpy(out, st->block + st->pos, k);
        sodium_memzero(st->block + st->pos, k);
        st->pos += k;
        st->since_seed += k;
        out += k;
        len -= k;
    }
    return 0;
}
