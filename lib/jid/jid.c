/*
 * The public JID API (include/xmppcore/jid.h): splitting a JID into its
 * parts (RFC 7622 section 3.1), enforcing each part (localpart:
 * UsernameCaseMapped plus the extra exclusions of section 3.3.1;
 * domainpart: idna.c; resourcepart: OpaqueString) and the immutable JID
 * object, which keeps every string it hands out in one allocation.
 */
#include "xmppcore/jid.h"

#include "core/core.h"
#include "jid/idna.h"
#include "jid/precis.h"

struct xmppcore_jid {
    const xmppcore_mem *mem;
    const char *local;    /* NULL if none */
    const char *domain;
    const char *resource; /* NULL if none */
    const char *full;     /* local@domain/resource */
    const char *bare;     /* local@domain */
    size_t full_len;
    size_t bare_len;
    char data[];          /* the strings above */
};

/* RFC 7622 section 3.3.1: code points a localpart must not contain even
 * though the IdentifierClass allows them. */
static bool local_extra_disallowed(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '"': case '&': case '\'': case '/': case ':': case '<':
        case '>': case '@':
            return true;
        default:
            break;
        }
    }
    return false;
}

/* Enforces one part into out (XMPPCORE_JID_PART_MAX + 1 bytes). */
static int enforce_part(int which, const char *in, size_t len, char *out)
{
    char buf[XMPPCORE_JID_PART_MAX + 1];
    int rc;
    switch (which) {
    case XMPPCORE_JID_LOCAL:
        rc = xi_precis_enforce(XI_PRECIS_USERNAME_CASEMAPPED, in, len, buf,
                               sizeof buf);
        if (rc > 0 && local_extra_disallowed(buf, (size_t)rc))
            rc = XMPPCORE_E_JID;
        break;
    case XMPPCORE_JID_DOMAIN:
        rc = xi_domain_enforce(in, len, buf, sizeof buf);
        break;
    case XMPPCORE_JID_RESOURCE:
        rc = xi_precis_enforce(XI_PRECIS_OPAQUE_STRING, in, len, buf,
                               sizeof buf);
        break;
    default:
        return XMPPCORE_E_INVAL;
    }
    /* A part that does not fit in 1023 bytes is malformed, whatever the
     * reason the lower layer gave. */
    if (rc == XMPPCORE_E_RANGE)
        return XMPPCORE_E_JID;
    if (rc < 0)
        return rc;
    memcpy(out, buf, (size_t)rc + 1);
    return rc;
}

int xmppcore_jid_enforce_part(int which, const char *in, size_t len, char *out,
                              size_t outsz)
{
    char buf[XMPPCORE_JID_PART_MAX + 1];
    if ((!in && len) || !out)
        return XMPPCORE_E_INVAL;
    int rc = enforce_part(which, in, len, buf);
    if (rc < 0)
        return rc;
    if ((size_t)rc >= outsz)
        return XMPPCORE_E_RANGE;
    memcpy(out, buf, (size_t)rc + 1);
    return rc;
}

/* Builds the object from enforced parts (local and resource may be NULL). */
static int jid_build(const xmppcore_mem *mem, const char *l, size_t ll,
                     const char *d, size_t dl, const char *r, size_t rl,
                     xmppcore_jid **out)
{
    size_t bare_len = (l ? ll + 1 : 0) + dl;
    size_t full_len = bare_len + (r ? rl + 1 : 0);
    /* full, bare, local, domain, resource, each NUL-terminated. */
    size_t size = sizeof(xmppcore_jid) + full_len + 1 + bare_len + 1 +
                  (l ? ll + 1 : 0) + dl + 1 + (r ? rl + 1 : 0);
    xmppcore_jid *j = xi_malloc(mem, size);
    if (!j)
        return XMPPCORE_E_NOMEM;
    j->mem = mem;
    char *p = j->data;
    j->full = p;
    if (l) {
        memcpy(p, l, ll);
        p += ll;
        *p++ = '@';
    }
    memcpy(p, d, dl);
    p += dl;
    if (r) {
        *p++ = '/';
        memcpy(p, r, rl);
        p += rl;
    }
    *p++ = '\0';
    j->bare = p;
    memcpy(p, j->full, bare_len);
    p += bare_len;
    *p++ = '\0';
    j->local = NULL;
    if (l) {
        j->local = p;
        memcpy(p, l, ll);
        p += ll;
        *p++ = '\0';
    }
    j->domain = p;
    memcpy(p, d, dl);
    p += dl;
    *p++ = '\0';
    j->resource = NULL;
    if (r) {
        j->resource = p;
        memcpy(p, r, rl);
        p += rl;
        *p++ = '\0';
    }
    j->full_len = full_len;
    j->bare_len = bare_len;
    *out = j;
    return 0;
}

/* Enforces the parts given as slices and builds the JID. */
static int jid_from_slices(const xmppcore_mem *mem, const char *l, size_t ll,
                           const char *d, size_t dl, const char *r, size_t rl,
                           xmppcore_jid **out)
{
    char lb[XMPPCORE_JID_PART_MAX + 1], db[XMPPCORE_JID_PART_MAX + 1],
        rb[XMPPCORE_JID_PART_MAX + 1];
    int lr = 0, dr, rr = 0;
    /* An empty localpart or resourcepart is an error when its separator
     * is present ("@d", "d/"): the precis layer rejects empty strings. */
    if (l && (lr = enforce_part(XMPPCORE_JID_LOCAL, l, ll, lb)) < 0)
        return lr;
    if ((dr = enforce_part(XMPPCORE_JID_DOMAIN, d, dl, db)) < 0)
        return dr;
    if (r && (rr = enforce_part(XMPPCORE_JID_RESOURCE, r, rl, rb)) < 0)
        return rr;
    return jid_build(mem, l ? lb : NULL, (size_t)lr, db, (size_t)dr,
                     r ? rb : NULL, (size_t)rr, out);
}

int xmppcore_jid_parse(const xmppcore_mem *mem, const char *str, size_t len,
                       xmppcore_jid **out)
{
    if (!out)
        return XMPPCORE_E_INVAL;
    *out = NULL;
    if (!str)
        return XMPPCORE_E_INVAL;
    if (len == (size_t)-1)
        len = strlen(str);
    /* RFC 7622 section 3.1: the resourcepart is everything after the
     * first '/'; the localpart is everything before the first '@' that
     * comes before that '/'. */
    const char *slash = memchr(str, '/', len);
    size_t head = slash ? (size_t)(slash - str) : len;
    const char *at = memchr(str, '@', head);
    const char *l = NULL, *d = str, *r = NULL;
    size_t ll = 0, dl = head, rl = 0;
    if (at) {
        l = str;
        ll = (size_t)(at - str);
        d = at + 1;
        dl = head - ll - 1;
    }
    if (slash) {
        r = slash + 1;
        rl = len - head - 1;
    }
    return jid_from_slices(xi_mem(mem), l, ll, d, dl, r, rl, out);
}

int xmppcore_jid_new(const xmppcore_mem *mem, const char *local,
                     const char *domain, const char *resource,
                     xmppcore_jid **out)
{
    if (!out)
        return XMPPCORE_E_INVAL;
    *out = NULL;
    if (!domain)
        return XMPPCORE_E_INVAL;
    return jid_from_slices(xi_mem(mem), local, local ? strlen(local) : 0,
                           domain, strlen(domain), resource,
                           resource ? strlen(resource) : 0, out);
}

void xmppcore_jid_free(xmppcore_jid *jid)
{
    if (jid)
        xi_free(jid->mem, jid);
}

static size_t part_len(const char *s)
{
    return s ? strlen(s) : 0;
}

xmppcore_jid *xmppcore_jid_copy(const xmppcore_jid *jid)
{
    xmppcore_jid *c = NULL;
    if (!jid)
        return NULL;
    /* The parts are already enforced: only the object is rebuilt. */
    jid_build(jid->mem, jid->local, part_len(jid->local), jid->domain,
              strlen(jid->domain), jid->resource, part_len(jid->resource), &c);
    return c;
}

xmppcore_jid *xmppcore_jid_bare(const xmppcore_jid *jid)
{
    xmppcore_jid *c = NULL;
    if (!jid)
        return NULL;
    jid_build(jid->mem, jid->local, part_len(jid->local), jid->domain,
              strlen(jid->domain), NULL, 0, &c);
    return c;
}

const char *xmppcore_jid_local(const xmppcore_jid *jid)
{
    return jid ? jid->local : NULL;
}

const char *xmppcore_jid_domain(const xmppcore_jid *jid)
{
    return jid ? jid->domain : NULL;
}

const char *xmppcore_jid_resource(const xmppcore_jid *jid)
{
    return jid ? jid->resource : NULL;
}

const char *xmppcore_jid_str(const xmppcore_jid *jid)
{
    return jid ? jid->full : NULL;
}

const char *xmppcore_jid_bare_str(const xmppcore_jid *jid)
{
    return jid ? jid->bare : NULL;
}

/* The full and bare strings determine the parts: '@' cannot occur in an
 * enforced localpart or domainpart, '/' in neither, so a string splits
 * back into its parts in exactly one way. */
int xmppcore_jid_equal(const xmppcore_jid *a, const xmppcore_jid *b)
{
    if (!a || !b)
        return a == b;
    return a->full_len == b->full_len &&
           memcmp(a->full, b->full, a->full_len) == 0;
}

int xmppcore_jid_bare_equal(const xmppcore_jid *a, const xmppcore_jid *b)
{
    if (!a || !b)
        return a == b;
    return a->bare_len == b->bare_len &&
           memcmp(a->bare, b->bare, a->bare_len) == 0;
}
