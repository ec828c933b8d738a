/*
 * xmpp_load: a load generator that opens many XMPP client sessions
 * (RFC 6120) to one server on loopback and measures what the server
 * spends on them. One process, one epoll loop, no threads; it does not
 * link libxmppcore, so it measures every server alike.
 *
 * Each connection: stream header, features, optional STARTTLS (a client
 * over memory buffers, any certificate accepted: OpenSSL when built with
 * it, else mbedTLS; --tls-lib picks), SASL PLAIN or
 * SCRAM-SHA-1/-256, stream restart, resource binding, optional initial
 * presence. Then the selected phases run on the established sessions:
 *
 *   login       logins/s, failures, server CPU per login (/proc/PID/stat)
 *   idle        server RSS and PSS growth per idle session
 *   throughput  P pairs message each other through a window; msgs/s,
 *               server CPU per delivered message, lost messages
 *   latency     a fixed total rate; p50/p99/max delivery latency
 *
 * Each phase prints one line of key=value figures on stdout; progress and
 * errors go to stderr. Every loop is bounded by a count and a deadline.
 * Exit status: 0 all well, 1 fatal (bad usage, server not answering,
 * nothing logged in), 2 figures printed but some logins or messages failed.
 *
 * Run  xmpp_load --help  for the options.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/base64.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/ssl.h>
#if XL_HAVE_OPENSSL
#include <openssl/err.h>
#include <openssl/ssl.h>
#endif

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

/* ---------------------------------------------------------------- options */

enum mech { MECH_PLAIN, MECH_SCRAM_SHA1, MECH_SCRAM_SHA256 };

static struct {
    const char *host;
    int port;
    const char *domain;
    const char *users;    /* printf pattern with one %d */
    const char *password;
    int first;            /* number of the first account */
    int count;            /* sessions to log in */
    enum mech mech;
    int tls;              /* STARTTLS */
    int tls_openssl;      /* the client's TLS library: OpenSSL, not mbedTLS */
    int server_pid;
    int phase_login, phase_idle, phase_throughput, phase_latency;
    int concurrency;      /* logins in flight */
    int presence;         /* send initial presence after bind */
    double login_timeout; /* seconds for one login */
    double timeout;       /* seconds for the whole login phase */
    double idle_wait;     /* seconds sessions idle before memory is read */
    int pairs;
    int window;
    long messages;        /* cap on messages sent in a messaging phase */
    double duration;      /* seconds of sending in a messaging phase */
    double drain;         /* seconds to wait for stragglers */
    double rate;          /* msgs/s, latency phase */
    int src_ips;          /* spread source addresses over 127.0.0.1..N */
    const char *resource;
    const char *label;    /* echoed as server=LABEL */
    int verbose;
} opt = {
    .host = "127.0.0.1", .port = 5222, .domain = "localhost",
    .users = "user%d", .password = "pw", .first = 1, .count = 1000,
    .mech = MECH_PLAIN, .concurrency = 200, .login_timeout = 30,
    .timeout = 600, .idle_wait = 1, .pairs = 500, .window = 10,
    .messages = 1000000, .duration = 10, .drain = 5, .rate = 2000,
    .src_ips = 1, .resource = "load", .label = "-",
    .tls_openssl = XL_HAVE_OPENSSL,
};

static void usage(FILE *f)
{
    fprintf(f,
"usage: xmpp_load [options]\n"
"  --host ADDR          loopback address of the server (127.0.0.1)\n"
"  --port N             c2s port (5222)\n"
"  --domain D           XMPP domain (localhost)\n"
"  --users PATTERN      account names, printf pattern with %%d (user%%d)\n"
"  --first N            number of the first account (1)\n"
"  --password PW        password of every account (pw)\n"
"  --count N            sessions to log in (1000)\n"
"  --mech M             plain | scram-sha-1 | scram-sha-256 | scram (plain)\n"
"  --tls T              none | starttls (none)\n"
"  --tls-lib L          the client's TLS: openssl | mbedtls (openssl when\n"
"                       built with it: its ECC is fast, so the server, not\n"
"                       the client, limits the login rate)\n"
"  --server-pid PID     server process to read CPU and memory from\n"
"  --phase LIST         comma list of login,idle,throughput,latency (login)\n"
"  --concurrency N      logins in flight (200)\n"
"  --presence           send initial presence after binding (off)\n"
"  --login-timeout S    seconds allowed for one login (30)\n"
"  --timeout S          seconds allowed for the whole login phase (600)\n"
"  --idle-wait S        seconds sessions idle before memory is read (1)\n"
"  --pairs P            messaging pairs (500); needs 2P sessions\n"
"  --window W           messages in flight per sender, throughput (10)\n"
"  --messages N         cap on messages sent per messaging phase (1000000)\n"
"  --duration S         seconds of sending per messaging phase (10)\n"
"  --drain S            seconds to wait for messages in flight (5)\n"
"  --rate R             total msgs/s in the latency phase (2000)\n"
"  --src-ips K          spread source addresses over 127.0.0.1..K (1)\n"
"  --resource R         resource to bind (load)\n"
"  --label L            printed as server=L on each figures line\n"
"  --verbose            report each failure on stderr\n");
}

/* ------------------------------------------------------------------ time */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t sec_ns(double s)
{
    return (uint64_t)(s * 1e9);
}

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* utime+stime of the server process in seconds, all threads; -1 without
 * a pid or when it has gone. */
static double server_cpu_s(void)
{
    char path[64], buf[2048];
    if (opt.server_pid <= 0)
        return -1;
    snprintf(path, sizeof path, "/proc/%d/stat", opt.server_pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (!p)
        return -1;
    unsigned long long ut = 0, st = 0;
    /* after ')': state(3) ... utime(14) stime(15) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
               &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* A "Key:   123 kB" line of a /proc file, in kB; -1 if absent. */
static long proc_kb(const char *file, const char *key)
{
    char path[64], line[256];
    size_t kl = strlen(key);
    long v = -1;
    if (opt.server_pid <= 0)
        return -1;
    snprintf(path, sizeof path, "/proc/%d/%s", opt.server_pid, file);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
            v = strtol(line + kl + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

/* ---------------------------------------------------------------- buffers */

typedef struct {
    char *data;
    size_t off, len, cap; /* live bytes are data[off, len) */
} buf;

static void buf_reserve(buf *b, size_t more)
{
    if (b->off > 0 && (b->off == b->len || b->len + more > b->cap)) {
        memmove(b->data, b->data + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
    }
    if (b->len + more <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + more)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) {
        fprintf(stderr, "xmpp_load: out of memory\n");
        exit(1);
    }
    b->data = d;
    b->cap = cap;
}

static void buf_add(buf *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static size_t buf_size(const buf *b)
{
    return b->len - b->off;
}

static void buf_free(buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* -------------------------------------------------------------- the conns */

enum state {
    S_IDLE,       /* not started */
    S_CONNECTING,
    S_FEATURES,   /* waiting for the first features */
    S_PROCEED,    /* STARTTLS sent */
    S_HANDSHAKE,
    S_TLS_FEATURES,
    S_AUTH,       /* SASL exchange */
    S_FEATURES2,  /* after SASL success and restart */
    S_BIND,
    S_READY,
    S_DEAD,
};

static const char *state_name(enum state s)
{
    static const char *const names[] = {
        "idle", "connecting", "features", "proceed", "handshake",
        "tls-features", "auth", "features2", "bind", "ready", "dead"};
    return names[s];
}

typedef struct conn {
    int fd;
    int idx;
    enum state st;
    int need_header;  /* a new <stream:stream> is expected */
    int want_out;     /* EPOLLOUT registered */
    int dirty;        /* queued output not yet flushed */
    buf raw_in, out, in; /* in: plaintext to parse */
    void *ssl;        /* mbedtls_ssl_context or SSL; NULL: no TLS */
    uint64_t t_start;
    char *jid;        /* bound full JID */
    char *scram_first_bare;
    char cnonce[33];
    unsigned char server_sig[64];
    size_t server_sig_len;
    /* messaging */
    int outstanding;  /* own messages not yet received by the partner */
    long sent, received;
} conn;

static conn *conns;
static int nconns;
static int epfd;
static int *dirty_list;
static int ndirty;

static mbedtls_entropy_context entropy;
static mbedtls_ctr_drbg_context drbg;
static mbedtls_ssl_config tls_conf;

/* The client TLS engine, mbedTLS or OpenSSL (defined below). */
static void tls_free(conn *c);
static int tls_write(conn *c, const char *p, size_t n);

/* Login and messaging counters. */
static struct {
    int started, ready, failed, in_flight, dropped;
    long sent, received, errors;
    int tracking;     /* messaging phase running */
    uint64_t t_last_recv;
    /* latency samples in ns */
    uint64_t *lat;
    long nlat, caplat;
} g;

static int warned;

static void vwarn(conn *c, const char *fmt, va_list ap)
{
    if (!opt.verbose && warned >= 5)
        return;
    if (!opt.verbose && ++warned == 5)
        fprintf(stderr, "xmpp_load: (further failures not shown; --verbose)\n");
    fprintf(stderr, "xmpp_load: conn %d: ", c ? c->idx : -1);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

static void conn_fail(conn *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vwarn(c, fmt, ap);
    va_end(ap);
    if (c->st == S_DEAD)
        return;
    if (c->st == S_READY)
        g.dropped++;
    else {
        g.failed++;
        g.in_flight--;
    }
    c->st = S_DEAD;
    if (c->fd >= 0) {
        epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->fd = -1;
    }
    tls_free(c);
    buf_free(&c->raw_in);
    buf_free(&c->out);
    buf_free(&c->in);
}

static void mark_dirty(conn *c)
{
    if (!c->dirty) {
        c->dirty = 1;
        dirty_list[ndirty++] = c->idx;
    }
}

static void set_want_out(conn *c, int on)
{
    if (c->want_out == on || c->fd < 0)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0),
                             .data.u32 = (uint32_t)c->idx};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = on;
}

static void conn_flush(conn *c)
{
    c->dirty = 0;
    if (c->st == S_DEAD || c->st == S_CONNECTING)
        return;
    while (buf_size(&c->out) > 0) {
        ssize_t n = write(c->fd, c->out.data + c->out.off, buf_size(&c->out));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            conn_fail(c, "write: %s", strerror(errno));
            return;
        }
        c->out.off += (size_t)n;
    }
    if (buf_size(&c->out) == 0)
        c->out.off = c->out.len = 0;
    set_want_out(c, buf_size(&c->out) > 0);
}

/* Queues plaintext: through TLS when it is on. Flushed at the end of the
 * loop iteration, so that a burst of stanzas costs one write. */
static void conn_send(conn *c, const char *p, size_t n)
{
    if (c->st == S_DEAD)
        return;
    if (c->ssl && c->st != S_PROCEED) {
        if (tls_write(c, p, n) != 0) {
            conn_fail(c, "TLS write failed");
            return;
        }
    } else
        buf_add(&c->out, p, n);
    mark_dirty(c);
}

static void conn_sendf(conn *c, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        conn_fail(c, "stanza too long");
        return;
    }
    conn_send(c, tmp, (size_t)n);
}

static void send_header(conn *c)
{
    c->need_header = 1;
    conn_sendf(c, "<?xml version='1.0'?><stream:stream xmlns='jabber:client'"
                  " xmlns:stream='http://etherx.jabber.org/streams' to='%s'"
                  " version='1.0'>", opt.domain);
}

/* ------------------------------------------------------- TLS over memory */

static int bio_send(void *ctx, const unsigned char *p, size_t n)
{
    buf_add(&((conn *)ctx)->out, p, n);
    return (int)n;
}

static int bio_recv(void *ctx, unsigned char *p, size_t n)
{
    conn *c = ctx;
    size_t have = buf_size(&c->raw_in);
    if (have == 0)
        return MBEDTLS_ERR_SSL_WANT_READ;
    if (n > have)
        n = have;
    memcpy(p, c->raw_in.data + c->raw_in.off, n);
    c->raw_in.off += n;
    return (int)n;
}

static int tls_init(void)
{
    static const char pers[] = "xmpp_load";
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_ssl_config_init(&tls_conf);
    if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
                              (const unsigned char *)pers, sizeof pers - 1))
        return -1;
    if (mbedtls_ssl_config_defaults(&tls_conf, MBEDTLS_SSL_IS_CLIENT,
                                    MBEDTLS_SSL_TRANSPORT_STREAM,
                                    MBEDTLS_SSL_PRESET_DEFAULT))
        return -1;
    /* A benchmark against self-signed certificates: accept any. */
    mbedtls_ssl_conf_authmode(&tls_conf, MBEDTLS_SSL_VERIFY_NONE);
    mbedtls_ssl_conf_rng(&tls_conf, mbedtls_ctr_drbg_random, &drbg);
    return 0;
}

#if XL_HAVE_OPENSSL
/* The OpenSSL client: the same memory plumbing through a BIO of ours. */
static SSL_CTX *ossl_ctx;
static BIO_METHOD *ossl_bio;

static int obio_write(BIO *b, const char *p, size_t n, size_t *done)
{
    BIO_clear_retry_flags(b);
    buf_add(&((conn *)BIO_get_data(b))->out, p, n);
    *done = n;
    return 1;
}

static int obio_read(BIO *b, char *p, size_t n, size_t *done)
{
    conn *c = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    size_t have = buf_size(&c->raw_in);
    if (have == 0) {
        BIO_set_retry_read(b);
        return 0;
    }
    if (n > have)
        n = have;
    memcpy(p, c->raw_in.data + c->raw_in.off, n);
    c->raw_in.off += n;
    *done = n;
    return 1;
}

static long obio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b, (void)num, (void)ptr;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int ossl_init(void)
{
    ossl_ctx = SSL_CTX_new(TLS_client_method());
    ossl_bio = BIO_meth_new(BIO_TYPE_SOURCE_SINK, "xmpp_load");
    if (!ossl_ctx || !ossl_bio || !BIO_meth_set_write_ex(ossl_bio, obio_write) ||
        !BIO_meth_set_read_ex(ossl_bio, obio_read) ||
        !BIO_meth_set_ctrl(ossl_bio, obio_ctrl))
        return -1;
    /* A benchmark against self-signed certificates: accept any. No
     * session reuse: every login is a full handshake, for every server. */
    SSL_CTX_set_verify(ossl_ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_session_cache_mode(ossl_ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ossl_ctx, SSL_OP_NO_TICKET);
    return 0;
}
#endif

static void tls_start(conn *c)
{
#if XL_HAVE_OPENSSL
    if (opt.tls_openssl) {
        SSL *ssl = SSL_new(ossl_ctx);
        BIO *b = BIO_new(ossl_bio);
        if (!ssl || !b) {
            SSL_free(ssl);
            BIO_free(b);
            conn_fail(c, "TLS setup failed");
            return;
        }
        BIO_set_data(b, c);
        BIO_set_init(b, 1);
        SSL_set_bio(ssl, b, b);
        SSL_set_tlsext_host_name(ssl, opt.domain);
        SSL_set_connect_state(ssl);
        c->ssl = ssl;
        c->in.off = c->in.len = 0;
        c->st = S_HANDSHAKE;
        return;
    }
#endif
    mbedtls_ssl_context *ssl = calloc(1, sizeof *ssl);
    if (!ssl) {
        conn_fail(c, "out of memory");
        return;
    }
    c->ssl = ssl;
    mbedtls_ssl_init(ssl);
    if (mbedtls_ssl_setup(ssl, &tls_conf) != 0 ||
        mbedtls_ssl_set_hostname(ssl, opt.domain) != 0) {
        conn_fail(c, "TLS setup failed");
        return;
    }
    mbedtls_ssl_set_bio(ssl, c, bio_send, bio_recv, NULL);
    c->in.off = c->in.len = 0;
    c->st = S_HANDSHAKE;
}

static void tls_free(conn *c)
{
    if (!c->ssl)
        return;
#if XL_HAVE_OPENSSL
    if (opt.tls_openssl)
        SSL_free(c->ssl);
    else
#endif
    {
        mbedtls_ssl_free(c->ssl);
        free(c->ssl);
    }
    c->ssl = NULL;
}

/* 0: done; 1: needs more input; -1: failed (error text in err). */
static int tls_handshake(conn *c, char *err, size_t errlen)
{
#if XL_HAVE_OPENSSL
    if (opt.tls_openssl) {
        ERR_clear_error();
        int r = SSL_do_handshake(c->ssl);
        if (r == 1)
            return 0;
        int e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            return 1;
        snprintf(err, errlen, "%s", ERR_reason_error_string(ERR_peek_error())
                                        ? ERR_reason_error_string(ERR_peek_error())
                                        : "handshake failed");
        ERR_clear_error();
        return -1;
    }
#endif
    int r = mbedtls_ssl_handshake(c->ssl);
    if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
        return 1;
    if (r != 0) {
        snprintf(err, errlen, "-0x%04x", (unsigned)-r);
        return -1;
    }
    return 0;
}

/* > 0: bytes; 0: needs more input; -1: closed by the peer; -2: error. */
static int tls_read(conn *c, unsigned char *p, size_t cap)
{
#if XL_HAVE_OPENSSL
    if (opt.tls_openssl) {
        ERR_clear_error();
        int r = SSL_read(c->ssl, p, (int)cap);
        if (r > 0)
            return r;
        int e = SSL_get_error(c->ssl, r);
        ERR_clear_error();
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            return 0;
        return e == SSL_ERROR_ZERO_RETURN ? -1 : -2;
    }
#endif
    int r = mbedtls_ssl_read(c->ssl, p, cap);
    if (r > 0)
        return r;
    if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
        return 0;
    return r == 0 || r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY ? -1 : -2;
}

/* Encrypts all of p into c->out. 0 or -1. */
static int tls_write(conn *c, const char *p, size_t n)
{
#if XL_HAVE_OPENSSL
    if (opt.tls_openssl) {
        ERR_clear_error();
        size_t done = 0;
        int ok = n == 0 || SSL_write_ex(c->ssl, p, n, &done);
        ERR_clear_error();
        return ok && done == n ? 0 : -1;
    }
#endif
    while (n > 0) {
        int r = mbedtls_ssl_write(c->ssl, (const unsigned char *)p, n);
        if (r < 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* --------------------------------------------------------------- base64 */

static char *b64_enc(const unsigned char *p, size_t n)
{
    size_t olen = 0;
    mbedtls_base64_encode(NULL, 0, &olen, p, n);
    char *s = malloc(olen + 1);
    if (!s || mbedtls_base64_encode((unsigned char *)s, olen + 1, &olen, p, n)) {
        free(s);
        return NULL;
    }
    s[olen] = 0;
    return s;
}

/* Decodes into a NUL-terminated string; NULL on bad input. */
static unsigned char *b64_dec(const char *p, size_t n, size_t *olen)
{
    size_t need = 0;
    mbedtls_base64_decode(NULL, 0, &need, (const unsigned char *)p, n);
    unsigned char *s = malloc(need + 1);
    if (!s || mbedtls_base64_decode(s, need + 1, olen,
                                    (const unsigned char *)p, n)) {
        free(s);
        return NULL;
    }
    s[*olen] = 0;
    return s;
}

/* ----------------------------------------------------------------- SCRAM */

/* The salted password and the keys derived from it, cached per
 * (password, salt, iterations, hash): when every account shares the
 * password and salt, the client pays for PBKDF2 once, not per login. */
typedef struct {
    char *password;
    unsigned char *salt;
    size_t salt_len;
    int iter;
    mbedtls_md_type_t md;
    unsigned char client_key[64], stored_key[64], server_key[64];
} scram_keys;

static scram_keys cache[64];
static int ncache, cache_next;
static long pbkdf2_runs;

static const scram_keys *scram_derive(mbedtls_md_type_t md,
                                      const unsigned char *salt,
                                      size_t salt_len, int iter)
{
    for (int i = 0; i < ncache; i++) {
        scram_keys *k = &cache[i];
        if (k->md == md && k->iter == iter && k->salt_len == salt_len &&
            memcmp(k->salt, salt, salt_len) == 0 &&
            strcmp(k->password, opt.password) == 0)
            return k;
    }
    const mbedtls_md_info_t *info = mbedtls_md_info_from_type(md);
    size_t hl = mbedtls_md_get_size(info);
    unsigned char salted[64];
    mbedtls_md_context_t ctx;
    mbedtls_md_init(&ctx);
    int r = mbedtls_md_setup(&ctx, info, 1);
    if (r == 0)
        r = mbedtls_pkcs5_pbkdf2_hmac(&ctx,
                                      (const unsigned char *)opt.password,
                                      strlen(opt.password), salt, salt_len,
                                      (unsigned)iter, (uint32_t)hl, salted);
    mbedtls_md_free(&ctx);
    if (r != 0)
        return NULL;
    pbkdf2_runs++;
    scram_keys *k = &cache[cache_next];
    cache_next = (cache_next + 1) % (int)(sizeof cache / sizeof cache[0]);
    if (ncache < (int)(sizeof cache / sizeof cache[0]))
        ncache++;
    else {
        free(k->password);
        free(k->salt);
    }
    k->password = strdup(opt.password);
    k->salt = malloc(salt_len ? salt_len : 1);
    if (!k->password || !k->salt)
        return NULL;
    memcpy(k->salt, salt, salt_len);
    k->salt_len = salt_len;
    k->iter = iter;
    k->md = md;
    mbedtls_md_hmac(info, salted, hl, (const unsigned char *)"Client Key", 10,
                    k->client_key);
    mbedtls_md(info, k->client_key, hl, k->stored_key);
    mbedtls_md_hmac(info, salted, hl, (const unsigned char *)"Server Key", 10,
                    k->server_key);
    return k;
}

static mbedtls_md_type_t scram_md(void)
{
    return opt.mech == MECH_SCRAM_SHA1 ? MBEDTLS_MD_SHA1 : MBEDTLS_MD_SHA256;
}

static const char *mech_name(void)
{
    switch (opt.mech) {
    case MECH_SCRAM_SHA1: return "SCRAM-SHA-1";
    case MECH_SCRAM_SHA256: return "SCRAM-SHA-256";
    default: return "PLAIN";
    }
}

static uint64_t rng_state;

static uint64_t rng_next(void)
{
    /* xorshift64*: nonces for a benchmark need to be unique, not secret */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

static void username(int idx, char *out, size_t n)
{
    snprintf(out, n, opt.users, opt.first + idx);
}

static void start_auth(conn *c)
{
    char user[256];
    username(c->idx, user, sizeof user);
    c->st = S_AUTH;
    if (opt.mech == MECH_PLAIN) {
        char raw[600];
        size_t ul = strlen(user), pl = strlen(opt.password);
        if (ul + pl + 2 > sizeof raw) {
            conn_fail(c, "user or password too long");
            return;
        }
        raw[0] = 0;
        memcpy(raw + 1, user, ul);
        raw[1 + ul] = 0;
        memcpy(raw + 2 + ul, opt.password, pl);
        char *b = b64_enc((unsigned char *)raw, ul + pl + 2);
        conn_sendf(c, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl'"
                      " mechanism='PLAIN'>%s</auth>", b ? b : "=");
        free(b);
        return;
    }
    static const char al[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 32; i++)
        c->cnonce[i] = al[rng_next() >> 58];
    c->cnonce[32] = 0;
    char bare[400];
    /* Account names from the pattern hold no ',' or '=' to escape. */
    snprintf(bare, sizeof bare, "n=%s,r=%s", user, c->cnonce);
    free(c->scram_first_bare);
    c->scram_first_bare = strdup(bare);
    char first[420];
    int n = snprintf(first, sizeof first, "n,,%s", bare);
    char *b = b64_enc((unsigned char *)first, (size_t)n);
    conn_sendf(c, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl'"
                  " mechanism='%s'>%s</auth>", mech_name(), b ? b : "=");
    free(b);
}

/* Value of attribute "k=" in a SCRAM message, or NULL. */
static const char *scram_attr(const char *msg, char k, size_t *len)
{
    const char *p = msg;
    while (p && *p) {
        if (p[0] == k && p[1] == '=') {
            const char *e = strchr(p + 2, ',');
            *len = e ? (size_t)(e - p - 2) : strlen(p + 2);
            return p + 2;
        }
        p = strchr(p, ',');
        if (p)
            p++;
    }
    return NULL;
}

static void scram_challenge(conn *c, const char *b64, size_t b64len)
{
    size_t mlen;
    unsigned char *m = b64_dec(b64, b64len, &mlen);
    if (!m) {
        conn_fail(c, "SCRAM: bad base64 in challenge");
        return;
    }
    const char *msg = (const char *)m;
    size_t vl;
    if (scram_attr(msg, 'v', &vl)) { /* server-final in a challenge */
        free(m);
        conn_sendf(c, "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
        return;
    }
    size_t rl, sl, il;
    const char *r = scram_attr(msg, 'r', &rl);
    const char *s = scram_attr(msg, 's', &sl);
    const char *i = scram_attr(msg, 'i', &il);
    if (!r || !s || !i || rl < 32 || memcmp(r, c->cnonce, 32) != 0) {
        conn_fail(c, "SCRAM: bad server-first-message '%s'", msg);
        free(m);
        return;
    }
    size_t saltlen;
    unsigned char *salt = b64_dec(s, sl, &saltlen);
    int iter = atoi(i);
    const scram_keys *k = salt && iter > 0
        ? scram_derive(scram_md(), salt, saltlen, iter) : NULL;
    free(salt);
    if (!k) {
        conn_fail(c, "SCRAM: cannot derive keys");
        free(m);
        return;
    }
    const mbedtls_md_info_t *info = mbedtls_md_info_from_type(scram_md());
    size_t hl = mbedtls_md_get_size(info);
    char without_proof[300];
    int wl = snprintf(without_proof, sizeof without_proof, "c=biws,r=%.*s",
                      (int)rl, r);
    size_t al = strlen(c->scram_first_bare) + 1 + mlen + 1 + (size_t)wl;
    char *auth = malloc(al + 1);
    if (!auth || wl <= 0 || (size_t)wl >= sizeof without_proof) {
        free(auth);
        free(m);
        conn_fail(c, "SCRAM: nonce too long");
        return;
    }
    snprintf(auth, al + 1, "%s,%s,%s", c->scram_first_bare, msg, without_proof);
    unsigned char sig[64], proof[64];
    mbedtls_md_hmac(info, k->stored_key, hl, (unsigned char *)auth, al, sig);
    for (size_t j = 0; j < hl; j++)
        proof[j] = k->client_key[j] ^ sig[j];
    mbedtls_md_hmac(info, k->server_key, hl, (unsigned char *)auth, al,
                    c->server_sig);
    c->server_sig_len = hl;
    free(auth);
    free(m);
    char *pb = b64_enc(proof, hl);
    char final[400];
    int fl = snprintf(final, sizeof final, "%s,p=%s", without_proof,
                      pb ? pb : "");
    free(pb);
    char *fb = b64_enc((unsigned char *)final, (size_t)fl);
    conn_sendf(c, "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>%s"
                  "</response>", fb ? fb : "=");
    free(fb);
}

/* Checks v= in <success/> when the server sent one. */
static int scram_verify_success(conn *c, const char *b64, size_t b64len)
{
    if (opt.mech == MECH_PLAIN || b64len == 0 || c->server_sig_len == 0)
        return 1;
    size_t mlen, vl, sl;
    unsigned char *m = b64_dec(b64, b64len, &mlen);
    if (!m)
        return 0;
    const char *v = scram_attr((char *)m, 'v', &vl);
    unsigned char *sig = v ? b64_dec(v, vl, &sl) : NULL;
    int ok = sig && sl == c->server_sig_len &&
             memcmp(sig, c->server_sig, sl) == 0;
    free(sig);
    free(m);
    return ok;
}

/* ------------------------------------------------------ the XML scanner */

/* memmem() is a GNU extension; this is the portable few lines. */
static const char *mem_find(const char *h, size_t hn, const char *nd,
                            size_t nn)
{
    if (nn == 0)
        return h;
    for (size_t i = 0; i + nn <= hn; i++) {
        const char *c = memchr(h + i, nd[0], hn - i - nn + 1);
        if (!c)
            return NULL;
        i = (size_t)(c - h);
        if (memcmp(c, nd, nn) == 0)
            return c;
    }
    return NULL;
}

/* Finds the end of the tag starting at p[0] == '<' (quotes respected).
 * Returns the index just past '>', or 0 when the tag is incomplete. */
static size_t tag_end(const char *p, size_t n)
{
    char q = 0;
    for (size_t i = 1; i < n; i++) {
        if (q) {
            if (p[i] == q)
                q = 0;
        } else if (p[i] == '"' || p[i] == '\'')
            q = p[i];
        else if (p[i] == '>')
            return i + 1;
    }
    return 0;
}

enum scan { SCAN_MORE, SCAN_ELEMENT, SCAN_HEADER, SCAN_CLOSE, SCAN_ERROR };

/* Finds the next top-level item in p[0, n): a stream header (when one is
 * expected), a complete child element of the stream, or the stream's end
 * tag. [*s, *e) is its extent; everything before *e is consumed. Text at
 * the top level (whitespace keepalives) is skipped. */
static enum scan scan_next(const char *p, size_t n, int need_header,
                           size_t *s, size_t *e)
{
    size_t i = 0;
    for (;;) {
        while (i < n && p[i] != '<')
            i++;
        if (i >= n) {
            *e = i;  /* all text so far is consumed */
            *s = i;
            return SCAN_MORE;
        }
        if (n - i < 2)
            goto more;
        if (p[i + 1] == '?') { /* XML declaration */
            const char *q = mem_find(p + i, n - i, "?>", 2);
            if (!q)
                goto more;
            i = (size_t)(q - p) + 2;
            continue;
        }
        if (p[i + 1] == '/') {
            size_t t = tag_end(p + i, n - i);
            if (!t)
                goto more;
            *s = i;
            *e = i + t;
            return SCAN_CLOSE;
        }
        if (need_header) {
            size_t t = tag_end(p + i, n - i);
            if (!t)
                goto more;
            *s = i;
            *e = i + t;
            return SCAN_HEADER;
        }
        /* a child element: follow the depth to its end */
        size_t j = i;
        int depth = 0;
        while (j < n) {
            if (p[j] != '<') {
                j++;
                continue;
            }
            if (n - j < 2)
                goto more;
            if (p[j + 1] == '!' || p[j + 1] == '?') {
                const char *end = mem_find(p + j, n - j, ">", 1);
                if (!end)
                    goto more;
                j = (size_t)(end - p) + 1;
                continue;
            }
            size_t t = tag_end(p + j, n - j);
            if (!t)
                goto more;
            if (p[j + 1] == '/')
                depth--;
            else if (p[j + t - 2] != '/')
                depth++;
            j += t;
            if (depth == 0) {
                *s = i;
                *e = j;
                return SCAN_ELEMENT;
            }
            if (depth < 0)
                return SCAN_ERROR;
        }
    more:
        *s = *e = i; /* consume the text before the partial item */
        return SCAN_MORE;
    }
}

/* Local name of the element at p ("stream:features" -> "features"). */
static int is_elem(const char *p, size_t n, const char *local)
{
    size_t i = 1, st = 1;
    while (i < n && p[i] != ' ' && p[i] != '>' && p[i] != '/' &&
           p[i] != '\t' && p[i] != '\r' && p[i] != '\n') {
        if (p[i] == ':')
            st = i + 1;
        i++;
    }
    size_t ll = strlen(local);
    return i - st == ll && memcmp(p + st, local, ll) == 0;
}

static int contains(const char *p, size_t n, const char *needle)
{
    return mem_find(p, n, needle, strlen(needle)) != NULL;
}

/* Text content of the element (between the end of the first tag and the
 * start of the last); empty for a self-closing element. */
static void elem_text(const char *p, size_t n, const char **t, size_t *tl)
{
    size_t a = tag_end(p, n);
    *t = p + a;
    *tl = 0;
    if (a == 0 || p[a - 2] == '/')
        return;
    const char *last = p + n;
    while (last > p + a && *(last - 1) != '<')
        last--;
    if (last > p + a)
        *tl = (size_t)(last - 1 - (p + a));
}

/* Text between <tag> (or <tag ...>) and </tag>, inside p[0, n). */
static int child_text(const char *p, size_t n, const char *tag,
                      const char **t, size_t *tl)
{
    char open[64], close[64];
    snprintf(open, sizeof open, "<%s", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *a = mem_find(p, n, open, strlen(open));
    while (a) {
        char nx = a[strlen(open)];
        if (nx == '>' || nx == ' ')
            break;
        a = mem_find(a + 1, (size_t)(p + n - a - 1), open, strlen(open));
    }
    if (!a)
        return 0;
    const char *gt = memchr(a, '>', (size_t)(p + n - a));
    if (!gt)
        return 0;
    const char *b = mem_find(gt, (size_t)(p + n - gt), close, strlen(close));
    if (!b)
        return 0;
    *t = gt + 1;
    *tl = (size_t)(b - gt - 1);
    return 1;
}

/* An attribute value of the element's first tag, copied into out. */
static int attr(const char *p, size_t n, const char *name, char *out,
                size_t outn)
{
    size_t te = tag_end(p, n), nl = strlen(name);
    for (size_t i = 1; i + nl + 2 < te; i++) {
        if ((p[i - 1] == ' ' || p[i - 1] == '\t' || p[i - 1] == '\n') &&
            memcmp(p + i, name, nl) == 0 && p[i + nl] == '=' &&
            (p[i + nl + 1] == '\'' || p[i + nl + 1] == '"')) {
            char q = p[i + nl + 1];
            const char *v = p + i + nl + 2;
            const char *ve = memchr(v, q, (size_t)(p + te - v));
            if (!ve || (size_t)(ve - v) >= outn)
                return 0;
            memcpy(out, v, (size_t)(ve - v));
            out[ve - v] = 0;
            return 1;
        }
    }
    return 0;
}

/* ---------------------------------------------------------- the protocol */

static void on_ready(conn *c);
static void on_message(conn *c, const char *p, size_t n);

static void handle_features(conn *c, const char *p, size_t n)
{
    if (c->st == S_FEATURES && opt.tls) {
        if (!contains(p, n, "<starttls")) {
            conn_fail(c, "server offers no STARTTLS");
            return;
        }
        conn_sendf(c, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
        c->st = S_PROCEED;
        return;
    }
    if (c->st == S_FEATURES || c->st == S_TLS_FEATURES) {
        char want[64];
        snprintf(want, sizeof want, ">%s<", mech_name());
        if (!contains(p, n, want)) {
            conn_fail(c, "server does not offer %s: %.*s", mech_name(),
                      (int)(n > 400 ? 400 : n), p);
            return;
        }
        start_auth(c);
        return;
    }
    if (c->st == S_FEATURES2) {
        if (!contains(p, n, "<bind")) {
            conn_fail(c, "server offers no resource binding");
            return;
        }
        conn_sendf(c, "<iq type='set' id='bind1'><bind xmlns='urn:ietf:"
                      "params:xml:ns:xmpp-bind'><resource>%s</resource>"
                      "</bind></iq>", opt.resource);
        c->st = S_BIND;
        return;
    }
    conn_fail(c, "unexpected features");
}

static void handle_iq(conn *c, const char *p, size_t n)
{
    char type[16] = "", id[128] = "", from[512] = "";
    attr(p, n, "type", type, sizeof type);
    attr(p, n, "id", id, sizeof id);
    if (c->st == S_BIND && strcmp(id, "bind1") == 0) {
        const char *t;
        size_t tl;
        if (strcmp(type, "result") != 0 || !child_text(p, n, "jid", &t, &tl)) {
            conn_fail(c, "bind failed: %.*s", (int)(n > 300 ? 300 : n), p);
            return;
        }
        free(c->jid);
        c->jid = strndup(t, tl);
        on_ready(c);
        return;
    }
    if (strcmp(type, "get") == 0 || strcmp(type, "set") == 0) {
        /* pings and anything else the server asks: an empty result keeps
         * the session alive without implementing each protocol. */
        if (attr(p, n, "from", from, sizeof from))
            conn_sendf(c, "<iq type='result' id='%s' to='%s'/>", id, from);
        else
            conn_sendf(c, "<iq type='result' id='%s'/>", id);
    }
}

static void handle_element(conn *c, const char *p, size_t n)
{
    if (is_elem(p, n, "message")) {
        on_message(c, p, n);
        return;
    }
    if (is_elem(p, n, "presence"))
        return;
    if (is_elem(p, n, "iq")) {
        handle_iq(c, p, n);
        return;
    }
    if (is_elem(p, n, "features")) {
        handle_features(c, p, n);
        return;
    }
    if (is_elem(p, n, "error")) {
        conn_fail(c, "stream error: %.*s", (int)(n > 300 ? 300 : n), p);
        return;
    }
    if (c->st == S_PROCEED && is_elem(p, n, "proceed")) {
        tls_start(c);
        return;
    }
    if (c->st == S_AUTH) {
        const char *t;
        size_t tl;
        elem_text(p, n, &t, &tl);
        if (is_elem(p, n, "challenge")) {
            if (opt.mech == MECH_PLAIN)
                conn_fail(c, "unexpected SASL challenge");
            else
                scram_challenge(c, t, tl);
            return;
        }
        if (is_elem(p, n, "success")) {
            if (!scram_verify_success(c, t, tl)) {
                conn_fail(c, "SCRAM: wrong server signature");
                return;
            }
            c->st = S_FEATURES2;
            send_header(c);
            return;
        }
        if (is_elem(p, n, "failure")) {
            conn_fail(c, "SASL failure: %.*s", (int)(n > 300 ? 300 : n), p);
            return;
        }
    }
    if (opt.verbose)
        fprintf(stderr, "xmpp_load: conn %d: ignored %.*s\n", c->idx,
                (int)(n > 200 ? 200 : n), p);
}

static void process_input(conn *c)
{
    while (c->st != S_DEAD && c->st != S_HANDSHAKE) {
        size_t s, e;
        const char *p = c->in.data + c->in.off;
        enum scan k = scan_next(p, buf_size(&c->in), c->need_header, &s, &e);
        if (k == SCAN_MORE) {
            c->in.off += e;
            if (buf_size(&c->in) > (1u << 20)) {
                conn_fail(c, "stanza larger than 1 MiB");
                return;
            }
            /* idle sessions keep no 64 KiB read buffer each */
            if (buf_size(&c->in) == 0)
                buf_free(&c->in);
            if (buf_size(&c->raw_in) == 0)
                buf_free(&c->raw_in);
            return;
        }
        if (k == SCAN_ERROR) {
            conn_fail(c, "XML the scanner cannot follow");
            return;
        }
        c->in.off += e;
        if (k == SCAN_CLOSE) {
            conn_fail(c, "server closed the stream (state %s)", state_name(c->st));
            return;
        }
        if (k == SCAN_HEADER) {
            c->need_header = 0;
            continue;
        }
        enum state before = c->st;
        handle_element(c, p + s, e - s);
        if (before == S_PROCEED && c->st == S_HANDSHAKE)
            break; /* what follows <proceed/> is TLS */
    }
}

/* Drives the TLS engine over what arrived on the socket. */
static void tls_input(conn *c)
{
    if (c->st == S_HANDSHAKE) {
        char err[160];
        int r = tls_handshake(c, err, sizeof err);
        if (r == 1) {
            mark_dirty(c);
            return;
        }
        if (r < 0) {
            conn_fail(c, "TLS handshake: %s", err);
            return;
        }
        mark_dirty(c);
        c->st = S_TLS_FEATURES;
        send_header(c);
    }
    for (;;) {
        unsigned char tmp[16384];
        int r = tls_read(c, tmp, sizeof tmp);
        if (r > 0) {
            buf_add(&c->in, tmp, (size_t)r);
            continue;
        }
        if (r == 0)
            break;
        conn_fail(c, r == -1 ? "TLS closed by the server" : "TLS read error");
        return;
    }
    process_input(c);
}

static void on_readable(conn *c)
{
    buf *b = c->ssl ? &c->raw_in : &c->in;
    buf_reserve(b, 65536);
    ssize_t n = read(c->fd, b->data + b->len, 65536);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR)
            return;
        conn_fail(c, "read: %s", strerror(errno));
        return;
    }
    if (n == 0) {
        conn_fail(c, "connection closed by the server");
        return;
    }
    b->len += (size_t)n;
    if (c->ssl) {
        tls_input(c);
        /* a STARTTLS that just began may already have bytes waiting */
    } else {
        process_input(c);
        if (c->st == S_HANDSHAKE) {
            char err[160];
            if (tls_handshake(c, err, sizeof err) < 0) /* the ClientHello */
                conn_fail(c, "TLS handshake: %s", err);
            else
                mark_dirty(c);
        }
    }
}

/* ------------------------------------------------------- connect & login */

static struct sockaddr_storage server_addr;
static socklen_t server_addrlen;

static int resolve(void)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST}, *ai;
    char port[16];
    snprintf(port, sizeof port, "%d", opt.port);
    if (getaddrinfo(opt.host, port, &hints, &ai) != 0) {
        fprintf(stderr, "xmpp_load: --host must be a numeric address\n");
        return -1;
    }
    memcpy(&server_addr, ai->ai_addr, ai->ai_addrlen);
    server_addrlen = ai->ai_addrlen;
    freeaddrinfo(ai);
    int loop = 0;
    if (server_addr.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const void *)&server_addr;
        loop = (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    } else if (server_addr.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const void *)&server_addr;
        loop = IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
    }
    if (!loop) {
        fprintf(stderr, "xmpp_load: refusing a non-loopback address\n");
        return -1;
    }
    return 0;
}

static void conn_start(conn *c)
{
    c->t_start = now_ns();
    c->st = S_CONNECTING;
    g.started++;
    g.in_flight++;
    c->fd = socket(server_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0) {
        conn_fail(c, "socket: %s", strerror(errno));
        return;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (opt.src_ips > 1 && server_addr.ss_family == AF_INET) {
        struct sockaddr_in src = {.sin_family = AF_INET};
        src.sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)(c->idx % opt.src_ips));
        setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        if (bind(c->fd, (struct sockaddr *)&src, sizeof src) != 0) {
            conn_fail(c, "bind: %s", strerror(errno));
            return;
        }
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT,
                             .data.u32 = (uint32_t)c->idx};
    c->want_out = 1;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
        conn_fail(c, "epoll_ctl: %s", strerror(errno));
        return;
    }
    if (connect(c->fd, (struct sockaddr *)&server_addr, server_addrlen) != 0 &&
        errno != EINPROGRESS) {
        conn_fail(c, "connect: %s", strerror(errno));
        return;
    }
}

static void on_connected(conn *c)
{
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err) {
        conn_fail(c, "connect: %s", strerror(err));
        return;
    }
    c->st = S_FEATURES;
    send_header(c);
}

static void on_ready(conn *c)
{
    c->st = S_READY;
    g.ready++;
    g.in_flight--;
    if (opt.presence)
        conn_sendf(c, "<presence/>");
    free(c->scram_first_bare);
    c->scram_first_bare = NULL;
}

static void on_event(conn *c, uint32_t ev)
{
    if (c->st == S_DEAD)
        return;
    if (c->st == S_CONNECTING) {
        if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            on_connected(c);
        return;
    }
    if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP))
        on_readable(c);
    if (c->st != S_DEAD && (ev & EPOLLOUT))
        conn_flush(c);
}

static void flush_dirty(void)
{
    for (int i = 0; i < ndirty; i++)
        conn_flush(&conns[dirty_list[i]]);
    ndirty = 0;
}

/* One turn of the loop: waits at most timeout_ms. */
static void loop_once(int timeout_ms)
{
    struct epoll_event evs[512];
    flush_dirty();
    int n = epoll_wait(epfd, evs, 512, timeout_ms);
    for (int i = 0; i < n; i++)
        on_event(&conns[evs[i].data.u32], evs[i].events);
    flush_dirty();
}

/* Logs in conns [0, want) that are not up yet, at most opt.concurrency at
 * a time. Returns the number of sessions ready. */
static int login_phase(int want)
{
    uint64_t t0 = now_ns(), deadline = t0 + sec_ns(opt.timeout);
    uint64_t per = sec_ns(opt.login_timeout), last_report = t0;
    int next = 0;
    while (now_ns() < deadline) {
        while (next < want && g.in_flight < opt.concurrency)
            conn_start(&conns[next++]);
        if (next >= want && g.in_flight == 0)
            break;
        loop_once(50);
        uint64_t t = now_ns();
        /* a login that takes too long counts as failed */
        static int sweep;
        if ((++sweep & 63) == 0 || t - last_report > sec_ns(5)) {
            for (int i = 0; i < next; i++) {
                conn *c = &conns[i];
                if (c->st != S_READY && c->st != S_DEAD && t - c->t_start > per)
                    conn_fail(c, "login timed out after %.0f s (state %s)",
                              opt.login_timeout, state_name(c->st));
            }
        }
        if (t - last_report > sec_ns(5)) {
            fprintf(stderr, "xmpp_load: %d/%d logged in, %d failed\n",
                    g.ready, want, g.failed);
            last_report = t;
        }
        if (g.ready == 0 && g.failed >= 50 && g.failed == g.started) {
            fprintf(stderr, "xmpp_load: the first %d logins all failed; is "
                    "the server up on %s port %d?\n", g.failed, opt.host,
                    opt.port);
            return 0;
        }
    }
    for (int i = 0; i < want; i++) {
        conn *c = &conns[i];
        if (c->st != S_READY && c->st != S_DEAD) {
            if (c->st == S_IDLE) {
                c->st = S_DEAD;
                g.failed++;
            } else
                conn_fail(c, "login phase timed out (%.0f s)", opt.timeout);
        }
    }
    return g.ready;
}

/* ------------------------------------------------------------ messaging */

static int msg_senders;     /* conns [0, msg_senders) take part */
static long msg_cap;        /* total messages allowed */
static uint64_t msg_stop;   /* no new messages after this */

static int partner(int i)
{
    return i ^ 1;
}

static void send_one(conn *c)
{
    conn *p = &conns[partner(c->idx)];
    if (p->st != S_READY || !p->jid)
        return;
    conn_sendf(c, "<message to='%s' type='chat'><body>%ld %" PRIu64
                  "</body></message>", p->jid, c->sent, now_ns());
    c->sent++;
    c->outstanding++;
    g.sent++;
}

static void on_message(conn *c, const char *p, size_t n)
{
    char type[16] = "";
    attr(p, n, "type", type, sizeof type);
    if (strcmp(type, "error") == 0) {
        g.errors++;
        if (g.errors <= 3)
            fprintf(stderr, "xmpp_load: message error: %.*s\n",
                    (int)(n > 300 ? 300 : n), p);
        return;
    }
    const char *t;
    size_t tl;
    if (!g.tracking || !child_text(p, n, "body", &t, &tl))
        return;
    char body[64];
    if (tl >= sizeof body)
        return;
    memcpy(body, t, tl);
    body[tl] = 0;
    char *sp = strchr(body, ' ');
    if (!sp)
        return;
    uint64_t ts = strtoull(sp + 1, NULL, 10), t_now = now_ns();
    c->received++;
    g.received++;
    g.t_last_recv = t_now;
    if (g.lat && g.nlat < g.caplat && t_now >= ts)
        g.lat[g.nlat++] = t_now - ts;
    if (c->idx >= msg_senders)
        return;
    conn *s = &conns[partner(c->idx)];
    if (s->outstanding > 0)
        s->outstanding--;
    /* windowed sending: a delivery lets the sender send again */
    if (opt.phase_throughput && !g.lat && s->st == S_READY &&
        g.sent < msg_cap && t_now < msg_stop)
        while (s->outstanding < opt.window && g.sent < msg_cap)
            send_one(s);
}

static void msg_reset(int senders)
{
    msg_senders = senders;
    for (int i = 0; i < senders; i++) {
        conns[i].sent = conns[i].received = 0;
        conns[i].outstanding = 0;
    }
    g.sent = g.received = g.errors = 0;
    g.t_last_recv = 0;
    g.tracking = 1;
}

static void drain(void)
{
    uint64_t dl = now_ns() + sec_ns(opt.drain);
    while (g.received < g.sent && now_ns() < dl)
        loop_once(20);
}

static double per(double total, double n)
{
    return n > 0 ? total / n : 0;
}

static int throughput_phase(int senders)
{
    msg_reset(senders);
    g.lat = NULL;
    msg_cap = opt.messages;
    double s_cpu0 = server_cpu_s(), c_cpu0 = self_cpu_s();
    uint64_t t0 = now_ns();
    msg_stop = t0 + sec_ns(opt.duration);
    for (int i = 0; i < senders; i++)
        while (conns[i].st == S_READY && conns[i].outstanding < opt.window &&
               g.sent < msg_cap)
            send_one(&conns[i]);
    while (now_ns() < msg_stop && g.sent < msg_cap) {
        loop_once(20);
        /* senders whose partner dropped stay idle; others are fed from
         * on_message, so an empty turn means nothing came back */
    }
    drain();
    uint64_t t1 = g.t_last_recv > t0 ? g.t_last_recv : now_ns();
    double secs = (double)(t1 - t0) / 1e9;
    double s_cpu = server_cpu_s() - s_cpu0, c_cpu = self_cpu_s() - c_cpu0;
    long lost = g.sent - g.received;
    printf("phase=throughput server=%s pairs=%d window=%d sent=%ld "
           "received=%ld lost=%ld errors=%ld secs=%.2f msgs_per_s=%.0f "
           "server_cpu_s=%.2f server_cpu_us_per_msg=%.1f "
           "client_cpu_us_per_msg=%.1f\n",
           opt.label, senders / 2, opt.window, g.sent, g.received, lost,
           g.errors, secs, per((double)g.received, secs), s_cpu,
           s_cpu0 < 0 ? -1 : per(s_cpu * 1e6, (double)g.received),
           per(c_cpu * 1e6, (double)g.received));
    fflush(stdout);
    g.tracking = 0;
    return g.received > 0 && lost == 0 && g.errors == 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int latency_phase(int senders)
{
    msg_reset(senders);
    msg_cap = (long)(opt.rate * opt.duration);
    if (msg_cap > opt.messages)
        msg_cap = opt.messages;
    g.caplat = msg_cap;
    g.nlat = 0;
    g.lat = malloc(sizeof *g.lat * (size_t)(msg_cap > 0 ? msg_cap : 1));
    if (!g.lat) {
        fprintf(stderr, "xmpp_load: out of memory\n");
        return 0;
    }
    double s_cpu0 = server_cpu_s(), c_cpu0 = self_cpu_s();
    uint64_t t0 = now_ns();
    msg_stop = t0 + sec_ns(opt.duration);
    int rr = 0;
    /* send what the rate owes at each turn, round robin over senders */
    while (g.sent < msg_cap && now_ns() < msg_stop + sec_ns(1)) {
        double el = (double)(now_ns() - t0) / 1e9;
        long due = (long)(el * opt.rate);
        if (due > msg_cap)
            due = msg_cap;
        int tries = 0;
        while (g.sent < due && tries < senders) {
            conn *c = &conns[rr];
            rr = (rr + 1) % senders;
            if (c->st == S_READY && conns[partner(c->idx)].st == S_READY) {
                send_one(c);
                tries = 0;
            } else
                tries++;
        }
        if (tries >= senders)
            break; /* no live pair left */
        loop_once(1);
    }
    double send_secs = (double)(now_ns() - t0) / 1e9;
    drain();
    double s_cpu = server_cpu_s() - s_cpu0, c_cpu = self_cpu_s() - c_cpu0;
    qsort(g.lat, (size_t)g.nlat, sizeof *g.lat, cmp_u64);
    double p50 = 0, p99 = 0, mx = 0;
    if (g.nlat > 0) {
        p50 = (double)g.lat[(g.nlat - 1) * 50 / 100] / 1e6;
        p99 = (double)g.lat[(g.nlat - 1) * 99 / 100] / 1e6;
        mx = (double)g.lat[g.nlat - 1] / 1e6;
    }
    long lost = g.sent - g.received;
    printf("phase=latency server=%s pairs=%d rate=%.0f sent=%ld received=%ld "
           "lost=%ld errors=%ld achieved_rate=%.0f p50_ms=%.3f p99_ms=%.3f "
           "max_ms=%.3f server_cpu_us_per_msg=%.1f client_cpu_us_per_msg=%.1f\n",
           opt.label, senders / 2, opt.rate, g.sent, g.received, lost,
           g.errors, per((double)g.sent, send_secs), p50, p99, mx,
           s_cpu0 < 0 ? -1 : per(s_cpu * 1e6, (double)g.received),
           per(c_cpu * 1e6, (double)g.received));
    fflush(stdout);
    free(g.lat);
    g.lat = NULL;
    g.tracking = 0;
    return g.received > 0 && lost == 0 && g.errors == 0;
}

/* ------------------------------------------------------------------ main */

static int parse_phases(const char *s)
{
    char *dup = strdup(s), *save = NULL;
    int ok = dup != NULL;
    for (char *t = dup ? strtok_r(dup, ",", &save) : NULL; t;
         t = strtok_r(NULL, ",", &save)) {
        if (!strcmp(t, "login"))
            opt.phase_login = 1;
        else if (!strcmp(t, "idle"))
            opt.phase_idle = 1;
        else if (!strcmp(t, "throughput"))
            opt.phase_throughput = 1;
        else if (!strcmp(t, "latency"))
            opt.phase_latency = 1;
        else {
            fprintf(stderr, "xmpp_load: unknown phase '%s'\n", t);
            ok = 0;
        }
    }
    free(dup);
    return ok;
}

static int parse_args(int argc, char **argv)
{
    enum { O_HOST = 256, O_PORT, O_DOMAIN, O_USERS, O_FIRST, O_PASSWORD,
           O_COUNT, O_MECH, O_TLS, O_PID, O_PHASE, O_CONC, O_PRESENCE,
           O_LTIMEOUT, O_TIMEOUT, O_IDLE, O_PAIRS, O_WINDOW, O_MESSAGES,
           O_DURATION, O_DRAIN, O_RATE, O_SRC, O_RESOURCE, O_LABEL,
           O_VERBOSE, O_HELP, O_TLSLIB };
    static const struct option lo[] = {
        {"host", 1, 0, O_HOST}, {"port", 1, 0, O_PORT},
        {"domain", 1, 0, O_DOMAIN}, {"users", 1, 0, O_USERS},
        {"first", 1, 0, O_FIRST}, {"password", 1, 0, O_PASSWORD},
        {"count", 1, 0, O_COUNT}, {"mech", 1, 0, O_MECH},
        {"tls", 1, 0, O_TLS}, {"server-pid", 1, 0, O_PID},
        {"phase", 1, 0, O_PHASE}, {"concurrency", 1, 0, O_CONC},
        {"presence", 0, 0, O_PRESENCE}, {"login-timeout", 1, 0, O_LTIMEOUT},
        {"timeout", 1, 0, O_TIMEOUT}, {"idle-wait", 1, 0, O_IDLE},
        {"pairs", 1, 0, O_PAIRS}, {"window", 1, 0, O_WINDOW},
        {"messages", 1, 0, O_MESSAGES}, {"duration", 1, 0, O_DURATION},
        {"drain", 1, 0, O_DRAIN}, {"rate", 1, 0, O_RATE},
        {"src-ips", 1, 0, O_SRC}, {"resource", 1, 0, O_RESOURCE},
        {"label", 1, 0, O_LABEL}, {"verbose", 0, 0, O_VERBOSE},
        {"help", 0, 0, O_HELP}, {"tls-lib", 1, 0, O_TLSLIB}, {0, 0, 0, 0}};
    int o, phases = 0;
    while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (o) {
        case O_HOST: opt.host = optarg; break;
        case O_PORT: opt.port = atoi(optarg); break;
        case O_DOMAIN: opt.domain = optarg; break;
        case O_USERS: opt.users = optarg; break;
        case O_FIRST: opt.first = atoi(optarg); break;
        case O_PASSWORD: opt.password = optarg; break;
        case O_COUNT: opt.count = atoi(optarg); break;
        case O_MECH:
            if (!strcmp(optarg, "plain"))
                opt.mech = MECH_PLAIN;
            else if (!strcmp(optarg, "scram-sha-1"))
                opt.mech = MECH_SCRAM_SHA1;
            else if (!strcmp(optarg, "scram") || !strcmp(optarg, "scram-sha-256"))
                opt.mech = MECH_SCRAM_SHA256;
            else {
                fprintf(stderr, "xmpp_load: unknown --mech %s\n", optarg);
                return 0;
            }
            break;
        case O_TLS:
            if (!strcmp(optarg, "none"))
                opt.tls = 0;
            else if (!strcmp(optarg, "starttls"))
                opt.tls = 1;
            else {
                fprintf(stderr, "xmpp_load: unknown --tls %s\n", optarg);
                return 0;
            }
            break;
        case O_PID: opt.server_pid = atoi(optarg); break;
        case O_PHASE:
            if (!parse_phases(optarg))
                return 0;
            phases = 1;
            break;
        case O_CONC: opt.concurrency = atoi(optarg); break;
        case O_PRESENCE: opt.presence = 1; break;
        case O_LTIMEOUT: opt.login_timeout = atof(optarg); break;
        case O_TIMEOUT: opt.timeout = atof(optarg); break;
        case O_IDLE: opt.idle_wait = atof(optarg); break;
        case O_PAIRS: opt.pairs = atoi(optarg); break;
        case O_WINDOW: opt.window = atoi(optarg); break;
        case O_MESSAGES: opt.messages = atol(optarg); break;
        case O_DURATION: opt.duration = atof(optarg); break;
        case O_DRAIN: opt.drain = atof(optarg); break;
        case O_RATE: opt.rate = atof(optarg); break;
        case O_SRC: opt.src_ips = atoi(optarg); break;
        case O_RESOURCE: opt.resource = optarg; break;
        case O_LABEL: opt.label = optarg; break;
        case O_VERBOSE: opt.verbose = 1; break;
        case O_HELP: usage(stdout); exit(0);
        case O_TLSLIB:
            if (!strcmp(optarg, "mbedtls"))
                opt.tls_openssl = 0;
            else if (!strcmp(optarg, "openssl") && XL_HAVE_OPENSSL)
                opt.tls_openssl = 1;
            else {
                fprintf(stderr, "xmpp_load: --tls-lib %s is not available\n", optarg);
                return 0;
            }
            break;
        default: return 0;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "xmpp_load: unexpected argument '%s'\n", argv[optind]);
        return 0;
    }
    if (!phases)
        opt.phase_login = 1;
    /* the pattern must hold exactly one %d and no other conversion */
    const char *pc = strchr(opt.users, '%');
    if (!pc || pc[1] != 'd' || strchr(pc + 2, '%')) {
        fprintf(stderr, "xmpp_load: --users needs exactly one %%d\n");
        return 0;
    }
    if (opt.count < 1 || opt.count > 1000000 || opt.concurrency < 1 ||
        opt.pairs < 1 || opt.window < 1 || opt.rate <= 0 ||
        opt.duration <= 0 || opt.timeout <= 0 || opt.login_timeout <= 0 ||
        opt.src_ips < 1 || opt.src_ips > 254 || opt.port <= 0 ||
        opt.port > 65535 || opt.messages < 1) {
        fprintf(stderr, "xmpp_load: an option is out of range\n");
        return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    if (!parse_args(argc, argv)) {
        usage(stderr);
        return 1;
    }
    if (resolve() != 0)
        return 1;
    int messaging = opt.phase_throughput || opt.phase_latency;
    nconns = opt.count;
    if (messaging && nconns < 2 * opt.pairs)
        nconns = 2 * opt.pairs;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)nconns + 16) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < (rlim_t)nconns + 16) {
            fprintf(stderr, "xmpp_load: %d sessions need %d file descriptors;"
                    " the limit is %llu (ulimit -n)\n", nconns, nconns + 16,
                    (unsigned long long)rl.rlim_cur);
            return 1;
        }
    }
    if (opt.server_pid > 0 && server_cpu_s() < 0) {
        fprintf(stderr, "xmpp_load: cannot read /proc/%d/stat\n",
                opt.server_pid);
        return 1;
    }
    if (getrandom(&rng_state, sizeof rng_state, 0) != sizeof rng_state ||
        rng_state == 0)
        rng_state = now_ns() | 1;
    if (opt.tls && (opt.tls_openssl ?
#if XL_HAVE_OPENSSL
                    ossl_init()
#else
                    -1
#endif
                    : tls_init()) != 0) {
        fprintf(stderr, "xmpp_load: TLS initialisation failed\n");
        return 1;
    }
    conns = calloc((size_t)nconns, sizeof *conns);
    dirty_list = calloc((size_t)nconns, sizeof *dirty_list);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!conns || !dirty_list || epfd < 0) {
        fprintf(stderr, "xmpp_load: out of memory\n");
        return 1;
    }
    for (int i = 0; i < nconns; i++) {
        conns[i].fd = -1;
        conns[i].idx = i;
    }
    int status = 0;

    long rss0 = proc_kb("status", "VmRSS"), pss0 = proc_kb("smaps_rollup", "Pss");
    double s_cpu0 = server_cpu_s(), c_cpu0 = self_cpu_s();
    uint64_t t0 = now_ns();
    int ready = login_phase(nconns);
    double secs = (double)(now_ns() - t0) / 1e9;
    double s_cpu = server_cpu_s() - s_cpu0, c_cpu = self_cpu_s() - c_cpu0;
    printf("phase=login server=%s count=%d ok=%d failed=%d mech=%s tls=%s "
           "secs=%.2f logins_per_s=%.0f server_cpu_s=%.2f "
           "server_cpu_ms_per_login=%.3f client_cpu_ms_per_login=%.3f "
           "client_pbkdf2_runs=%ld tls_lib=%s\n",
           opt.label, nconns, ready, g.failed, mech_name(),
           opt.tls ? "starttls" : "none", secs, per(ready, secs), s_cpu,
           s_cpu0 < 0 ? -1 : per(s_cpu * 1e3, ready), per(c_cpu * 1e3, ready),
           pbkdf2_runs, !opt.tls ? "-" : opt.tls_openssl ? "openssl" : "mbedtls");
    fflush(stdout);
    if (ready == 0) {
        fprintf(stderr, "xmpp_load: no session could log in\n");
        return 1;
    }
    if (g.failed > 0)
        status = 2;

    if (opt.phase_idle) {
        uint64_t until = now_ns() + sec_ns(opt.idle_wait);
        while (now_ns() < until)
            loop_once(50);
        long rss1 = proc_kb("status", "VmRSS");
        long pss1 = proc_kb("smaps_rollup", "Pss");
        int up = g.ready - g.dropped;
        printf("phase=idle server=%s sessions=%d dropped=%d rss_before_kb=%ld "
               "rss_after_kb=%ld pss_before_kb=%ld pss_after_kb=%ld "
               "rss_kb_per_session=%.2f pss_kb_per_session=%.2f\n",
               opt.label, up, g.dropped, rss0, rss1, pss0, pss1,
               rss0 < 0 ? -1 : per((double)(rss1 - rss0), up),
               pss0 < 0 ? -1 : per((double)(pss1 - pss0), up));
        fflush(stdout);
        if (g.dropped > 0)
            status = 2;
    }
    if (messaging) {
        int senders = 2 * opt.pairs;
        if (opt.phase_throughput && !throughput_phase(senders))
            status = 2;
        if (opt.phase_latency && !latency_phase(senders))
            status = 2;
    }
    /* Close politely, so servers see ordinary logouts. */
    for (int i = 0; i < nconns; i++)
        if (conns[i].st == S_READY)
            conn_send(&conns[i], "</stream:stream>", 16);
    flush_dirty();
    for (int i = 0; i < nconns; i++) {
        if (conns[i].fd >= 0)
            close(conns[i].fd);
        tls_free(&conns[i]);
        free(conns[i].jid);
        free(conns[i].scram_first_bare);
        buf_free(&conns[i].raw_in);
        buf_free(&conns[i].out);
        buf_free(&conns[i].in);
    }
    free(conns);
    free(dirty_list);
    close(epfd);
    return status;
}
