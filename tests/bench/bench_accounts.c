/*
 * Writes N benchmark accounts that share one password AND one salt into
 * an xmppcored SQLite database (created if missing), through the public
 * store API.
 *
 *   bench_accounts DB DOMAIN PATTERN COUNT PASSWORD ITERATIONS
 *   e.g. bench_accounts x.db localhost user%d 10000 pw 4096
 *
 * Why one salt: xmpp_load caches the client's PBKDF2 result per salt, as
 * compare-servers.py's ejabberd and Prosody accounts share a salt too.
 * With a salt per account (xmppcorectl register-bulk), the load client
 * spends ~5 ms of CPU on every SCRAM login and xmppcored would be
 * measured at a client-limited login rate the other servers are not.
 * The server's own work is the same either way: a SCRAM server never
 * runs PBKDF2, and the PLAIN verifier cache is keyed per user.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmppcore.h"

/* "Random" bytes that are the same every time: the shared salt. */
static int fixed_salt(void *buf, size_t len, void *ud)
{
    (void)ud;
    static const char salt[] = "xmppcore-bench-salt-16-bytes....";
    unsigned char *p = buf;
    for (size_t i = 0; i < len; i++)
        p[i] = (unsigned char)salt[i % (sizeof salt - 1)];
    return 0;
}

static void done(int status, void *ud)
{
    *(int *)ud = status;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: %s DB DOMAIN PATTERN COUNT PASSWORD "
                        "ITERATIONS\n", argv[0]);
        return 2;
    }
    const char *db = argv[1], *domain = argv[2], *pattern = argv[3];
    long count = atol(argv[4]);
    const char *password = argv[5];
    long iterations = atol(argv[6]);
    if (count < 1 || count > 10000000 || !strstr(pattern, "%d") ||
        iterations < XMPPCORE_SCRAM_ITERATIONS_MIN) {
        fprintf(stderr, "%s: bad COUNT, PATTERN (needs %%d) or ITERATIONS\n",
                argv[0]);
        return 2;
    }
    if (xmppcore_init() != 0)
        return 1;
    xmppcore_credentials cr;
    int rc = xmppcore_credentials_derive(password, strlen(password),
                                         (uint32_t)iterations, fixed_salt,
                                         NULL, &cr);
    if (rc != 0) {
        fprintf(stderr, "derive: %s\n", xmppcore_strerror(rc));
        return 1;
    }
    xmppcore_store *store = NULL;
    rc = xmppcore_store_sqlite_open(db, NULL, NULL, &store);
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", db, xmppcore_strerror(rc));
        return 1;
    }
    enum { BATCH = 1000 };
    static char names[BATCH][64];
    xmppcore_store_account acc[BATCH];
    int status = 0;
    for (long first = 1; first <= count && status == 0; first += BATCH) {
        size_t k = 0;
        for (long i = first; i <= count && k < BATCH; i++, k++) {
            snprintf(names[k], sizeof names[k], pattern, (int)i);
            acc[k].username = names[k];
            acc[k].creds = &cr;
        }
        status = 1;
        rc = xmppcore_store_auth_create_many(store, domain, acc, k, done,
                                             &status);
        if (rc != 0)
            status = rc;
    }
    xmppcore_store_free(store);
    if (status != 0) {
        fprintf(stderr, "create: %s\n", xmppcore_strerror(status));
        return 1;
    }
    printf("%ld accounts on %s in %s (one shared salt)\n", count, domain, db);
    return 0;
}
