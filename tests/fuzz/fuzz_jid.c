/*
 * Fuzz target for lib/jid: parses the input as a JID and, when it is
 * valid, checks the invariants the router relies on (the enforced string
 * parses back to an equal JID, the bare string is a prefix of the full
 * one, every part is within its limit and is a fixed point of its own
 * enforcement); it also runs every PRECIS profile and the domainpart rules
 * on the raw input and checks that their outputs are stable.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmppcore.h"
#include "jid/idna.h"
#include "jid/precis.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                      \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "fuzz_jid: %s:%d: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                \
            abort();                                                       \
        }                                                                  \
    } while (0)

static void check_part(int which, const char *part)
{
    char out[XMPPCORE_JID_PART_MAX + 1];
    if (!part)
        return;
    size_t n = strlen(part);
    REQUIRE(n > 0 && n <= XMPPCORE_JID_PART_MAX);
    int rc = xmppcore_jid_enforce_part(which, part, n, out, sizeof out);
    REQUIRE(rc == (int)n && memcmp(out, part, n) == 0);
}

static void check_jid(const xmppcore_jid *j)
{
    const char *full = xmppcore_jid_str(j), *bare = xmppcore_jid_bare_str(j);
    const char *l = xmppcore_jid_local(j), *d = xmppcore_jid_domain(j),
               *r = xmppcore_jid_resource(j);
    REQUIRE(full && bare && d);
    REQUIRE(strncmp(full, bare, strlen(bare)) == 0);
    REQUIRE(strlen(full) == (l ? strlen(l) + 1 : 0) + strlen(d) +
                                (r ? strlen(r) + 1 : 0));
    check_part(XMPPCORE_JID_LOCAL, l);
    check_part(XMPPCORE_JID_DOMAIN, d);
    check_part(XMPPCORE_JID_RESOURCE, r);

    xmppcore_jid *k = NULL;
    REQUIRE(xmppcore_jid_parse(NULL, full, (size_t)-1, &k) == 0);
    REQUIRE(xmppcore_jid_equal(j, k));
    REQUIRE(strcmp(xmppcore_jid_str(k), full) == 0);
    xmppcore_jid_free(k);

    REQUIRE(xmppcore_jid_parse(NULL, bare, (size_t)-1, &k) == 0);
    REQUIRE(xmppcore_jid_bare_equal(j, k));
    REQUIRE(xmppcore_jid_resource(k) == NULL);
    xmppcore_jid_free(k);

    k = xmppcore_jid_new(NULL, l, d, r, &k) == 0 ? k : NULL;
    REQUIRE(k && xmppcore_jid_equal(j, k));
    xmppcore_jid_free(k);
}

static void check_profile(int profile, const char *s, size_t n)
{
    static char out[16384], again[16384];
    int rc = xi_precis_enforce(profile, s, n, out, sizeof out);
    REQUIRE(rc > 0 || rc == XMPPCORE_E_JID || rc == XMPPCORE_E_RANGE);
    if (rc <= 0)
        return;
    REQUIRE(strlen(out) == (size_t)rc);
    int rc2 = xi_precis_enforce(profile, out, (size_t)rc, again, sizeof again);
    REQUIRE(rc2 == rc && memcmp(out, again, (size_t)rc) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    xmppcore_jid *j = NULL;
    int rc = xmppcore_jid_parse(NULL, s, size, &j);
    REQUIRE(rc == 0 || rc == XMPPCORE_E_JID);
    REQUIRE((rc == 0) == (j != NULL));
    if (j)
        check_jid(j);
    xmppcore_jid_free(j);

    for (int p = XI_PRECIS_USERNAME_CASEMAPPED;
         p <= XI_PRECIS_NICKNAME_CASEMAPPED; p++)
        check_profile(p, s, size);

    char dom[XMPPCORE_JID_PART_MAX + 1], dom2[XMPPCORE_JID_PART_MAX + 1];
    rc = xi_domain_enforce(s, size, dom, sizeof dom);
    REQUIRE(rc > 0 || rc == XMPPCORE_E_JID);
    if (rc > 0) {
        int rc2 = xi_domain_enforce(dom, (size_t)rc, dom2, sizeof dom2);
        REQUIRE(rc2 == rc && memcmp(dom, dom2, (size_t)rc) == 0);
    }
    return 0;
}
