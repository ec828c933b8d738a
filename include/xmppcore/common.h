/*
 * libxmppcore — common definitions: export macro, error codes, and the
 * injectable environment (allocator, RNG, wall clock).
 *
 * Every other public header includes this one.
 */
#ifndef XMPPCORE_COMMON_H
#define XMPPCORE_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(XMPPCORE_BUILDING) && defined(__GNUC__)
#define XMPPCORE_API __attribute__((visibility("default")))
#else
#define XMPPCORE_API
#endif

/*
 * Error codes. Every fallible call returns int: 0 on success, a negative
 * XMPPCORE_E... code on failure. Codes at or below XMPPCORE_E_FATAL end the
 * stream they occur on (the stream layer answers them with a stream error);
 * codes above it are local to the call (the stream continues).
 */
enum {
    XMPPCORE_OK = 0,

    /* Non-fatal: the call failed, the stream (if any) goes on. */
    XMPPCORE_E_INVAL = -1,      /* an argument is invalid */
    XMPPCORE_E_NOMEM = -2,      /* an allocation failed */
    XMPPCORE_E_NOTFOUND = -3,   /* no such item */
    XMPPCORE_E_EXISTS = -4,     /* item already exists */
    XMPPCORE_E_RANGE = -5,      /* a value or size is out of range */
    XMPPCORE_E_STATE = -6,      /* call not valid in the object's state */
    XMPPCORE_E_JID = -7,        /* malformed or disallowed JID */
    XMPPCORE_E_AGAIN = -8,      /* would block / completes later */
    XMPPCORE_E_UNSUPPORTED = -9, /* feature not built in or not supported */
    XMPPCORE_E_IO = -10,        /* an I/O or storage error */
    XMPPCORE_E_AUTH = -11,      /* authentication failed */

    /*
     * Fatal threshold: a code <= XMPPCORE_E_FATAL ends the stream.
     * xmppcore_stream_condition() maps each to its RFC 6120 condition.
     */
    XMPPCORE_E_FATAL = -100,
    XMPPCORE_E_XML = -101,               /* not-well-formed */
    XMPPCORE_E_RESTRICTED_XML = -102,    /* restricted-xml */
    XMPPCORE_E_POLICY = -103,            /* policy-violation (a limit) */
    XMPPCORE_E_BAD_PREFIX = -104,        /* bad-namespace-prefix */
    XMPPCORE_E_INVALID_NAMESPACE = -105, /* invalid-namespace */
    XMPPCORE_E_ENCODING = -106,          /* unsupported-encoding */
    XMPPCORE_E_INVALID_XML = -107,       /* invalid-xml */
    XMPPCORE_E_STREAM_CLOSED = -108,     /* the peer closed the stream */
    XMPPCORE_E_INTERNAL = -109,          /* internal-server-error */
    XMPPCORE_E_TLS = -110                /* TLS failed (no stream error
                                            can be sent: close the socket) */
};

/*
 * Returns a static, human-readable English description of code. Never NULL;
 * unknown codes give "unknown error". Safe from any thread and callback.
 */
XMPPCORE_API const char *xmppcore_strerror(int code);

/* Non-zero if code ends the stream it occurs on (code <= XMPPCORE_E_FATAL). */
XMPPCORE_API int xmppcore_is_fatal(int code);

/*
 * The RFC 6120 §4.9.3 stream error condition for a fatal code
 * ("not-well-formed", "restricted-xml", "policy-violation", ...), or
 * "undefined-condition" for codes without a better match. Static string.
 */
XMPPCORE_API const char *xmppcore_stream_condition(int code);

/*
 * Allocator. Every object created by the library takes an optional
 * `const xmppcore_mem *` (NULL means malloc/realloc/free) and keeps the
 * pointer: the struct must outlive every object created with it.
 * `version` must be XMPPCORE_MEM_VERSION; fields are only ever appended.
 * realloc(ptr, 0) is never called; free(NULL) is never called.
 */
#define XMPPCORE_MEM_VERSION 1
typedef struct xmppcore_mem {
    int version;
    void *user_data;
    void *(*malloc)(size_t size, void *user_data);
    void *(*realloc)(void *ptr, size_t size, void *user_data);
    void (*free)(void *ptr, void *user_data);
} xmppcore_mem;

/* The default allocator (malloc, realloc, free). Never NULL. */
XMPPCORE_API const xmppcore_mem *xmppcore_mem_default(void);

/*
 * Random bytes: fill buf with len unpredictable bytes; return 0, or a
 * negative code on failure. The default uses libsodium's randombytes_buf
 * (a getrandom system call per draw). A server made with no RNG in its
 * env seeds a buffered ChaCha20 generator of its own from the default
 * (fast key erasure, reseeded every MiB and after fork) and takes its
 * many small draws (nonces, ids) from that. A host-supplied RNG is used
 * as given, for every draw.
 */
typedef int (*xmppcore_rng_fn)(void *buf, size_t len, void *user_data);

/*
 * Wall clock: milliseconds since the Unix epoch. Used only for timestamps
 * that go on the wire (delay stamps, archive ids); protocol timers are
 * driven by the host through the time it passes in, never by this clock.
 */
typedef int64_t (*xmppcore_clock_fn)(void *user_data);

/*
 * The environment a server (and its parts) runs in. Tests replace the
 * allocator, RNG and clock to be deterministic. `version` must be
 * XMPPCORE_ENV_VERSION; fields are only ever appended. A NULL member means
 * the default. The struct is copied by the calls that take it.
 */
#define XMPPCORE_ENV_VERSION 1
typedef struct xmppcore_env {
    int version;
    const xmppcore_mem *mem;
    xmppcore_rng_fn rng;
    void *rng_user_data;
    xmppcore_clock_fn clock;
    void *clock_user_data;
} xmppcore_env;

/* Default RNG (libsodium randombytes_buf). Thread-safe. */
XMPPCORE_API int xmppcore_rng_default(void *buf, size_t len, void *user_data);

/* Default wall clock (CLOCK_REALTIME in milliseconds). Thread-safe. */
XMPPCORE_API int64_t xmppcore_clock_default(void *user_data);

/*
 * Must be called once before any other call, from one thread (it
 * initialises libsodium). Later calls are no-ops. Returns 0 or
 * XMPPCORE_E_INTERNAL.
 */
XMPPCORE_API int xmppcore_init(void);

#ifdef __cplusplus
}
#endif
#endif
