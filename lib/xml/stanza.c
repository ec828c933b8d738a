/*
 * Stanza trees: the arena they live in, construction, queries, mutation,
 * copying and deep equality. Serialization is in serialize.c, parsing in
 * parser.c.
 */
#include "xml/stanza_impl.h"

#define ARENA_ALIGN (sizeof(void *))
#define ARENA_MIN_BLOCK 1024
#define ARENA_MAX_BLOCK (64 * 1024)

/* The root allocation: node + arena header + first block, in one malloc. */
typedef struct {
    struct xmppcore_stanza node;
    xi_arena arena;
} root_alloc;

static size_t align_up(size_t n)
{
    return (n + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
}

void *xi_arena_alloc(xi_arena *a, size_t n)
{
    n = align_up(n ? n : 1);
    if (n > a->avail) {
        size_t size = a->last_size * 2;
        if (size > ARENA_MAX_BLOCK)
            size = ARENA_MAX_BLOCK;
        if (size < n)
            size = n;
        if (size < ARENA_MIN_BLOCK)
            size = ARENA_MIN_BLOCK;
        if (size > SIZE_MAX - sizeof(xi_block))
            return NULL;
        xi_block *b = xi_malloc(a->mem, sizeof(xi_block) + size);
        if (!b)
            return NULL;
        b->next = a->blocks;
        b->size = size;
        a->blocks = b;
        a->ptr = (char *)(b + 1);
        a->avail = size;
        a->last_size = size;
    }
    void *p = a->ptr;
    a->ptr += n;
    a->avail -= n;
    return p;
}

char *xi_arena_strndup(xi_arena *a, const char *s, size_t n)
{
    char *p = xi_arena_alloc(a, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

const char *xi_ns_intern(const char *ns, size_t len)
{
    static const char *const known[] = {
        "",
        XMPPCORE_NS_CLIENT,
        XMPPCORE_NS_SERVER,
        XMPPCORE_NS_COMPONENT,
        XMPPCORE_NS_STREAMS,
        XMPPCORE_NS_STANZAS,
        XMPPCORE_NS_STREAM_ERRORS,
        XMPPCORE_NS_XML,
        "urn:ietf:params:xml:ns:xmpp-tls",
        "urn:ietf:params:xml:ns:xmpp-sasl",
        "urn:ietf:params:xml:ns:xmpp-bind",
        "http://jabber.org/protocol/caps",
        "http://jabber.org/protocol/disco#info",
        "http://jabber.org/protocol/disco#items",
        "urn:xmpp:receipts",
        "http://jabber.org/protocol/chatstates",
        "urn:xmpp:delay",
        "urn:xmpp:sm:3",
        "jabber:iq:roster",
        "urn:xmpp:ping",
    };
    for (size_t i = 0; i < XI_ARRAY_LEN(known); i++)
        if (strlen(known[i]) == len && memcmp(known[i], ns, len) == 0)
            return known[i];
    return NULL;
}

xmppcore_stanza *xi_stanza_new_root(const xmppcore_mem *mem, size_t hint,
                                    const char *name, size_t name_len,
                                    const char *ns, size_t ns_len)
{
    mem = xi_mem(mem);
    size_t first = align_up(hint < 256 ? 256 : hint);
    root_alloc *r = xi_malloc(mem, sizeof(root_alloc) + first);
    if (!r)
        return NULL;
    memset(r, 0, sizeof *r);
    r->arena.mem = mem;
    r->arena.ptr = (char *)(r + 1);
    r->arena.avail = first;
    r->arena.last_size = first;
    xmppcore_stanza *s = &r->node;
    s->arena = &r->arena;
    s->is_root = true;
    const char *shared = xi_ns_intern(ns ? ns : "", ns ? ns_len : 0);
    s->ns = shared ? shared : xi_arena_strndup(s->arena, ns, ns_len);
    s->name = xi_arena_strndup(s->arena, name, name_len);
    if (!s->ns || !s->name) {
        xmppcore_stanza_free(s);
        return NULL;
    }
    return s;
}

static void link_child(xmppcore_stanza *parent, xmppcore_stanza *c)
{
    c->parent = parent;
    if (parent->last)
        parent->last->next = c;
    else
        parent->first = c;
    parent->last = c;
}

xmppcore_stanza *xi_stanza_new_elem(xi_arena *a, xmppcore_stanza *parent,
                                    const char *name, size_t name_len,
                                    const char *ns_shared, const char *ns,
                                    size_t ns_len)
{
    xmppcore_stanza *c = xi_arena_alloc(a, sizeof *c);
    if (!c)
        return NULL;
    memset(c, 0, sizeof *c);
    c->arena = a;
    if (!ns_shared) {
        ns_shared = xi_ns_intern(ns, ns_len);
        if (!ns_shared)
            ns_shared = xi_arena_strndup(a, ns, ns_len);
    }
    c->ns = ns_shared;
    c->name = xi_arena_strndup(a, name, name_len);
    if (!c->ns || !c->name)
        return NULL;
    if (parent)
        link_child(parent, c);
    return c;
}

int xi_stanza_append_text(xi_arena *a, xmppcore_stanza *parent,
                          const char *text, size_t len)
{
    xmppcore_stanza *t = xi_arena_alloc(a, sizeof *t);
    if (!t)
        return XMPPCORE_E_NOMEM;
    memset(t, 0, sizeof *t);
    t->arena = a;
    t->ns = xi_arena_strndup(a, text, len);
    if (!t->ns)
        return XMPPCORE_E_NOMEM;
    t->text_len = len;
    link_child(parent, t);
    return 0;
}

/* XML Name check, restricted to what an element or attribute name in
 * XMPP needs: no markup or whitespace characters, no colon, valid UTF-8. */
static bool valid_name(const char *name)
{
    if (!name || !*name)
        return false;
    size_t n = strlen(name);
    if (strpbrk(name, " \t\r\n<>&\"'=/:!?") || !xi_utf8_xml_valid(name, n))
        return false;
    if ((name[0] >= '0' && name[0] <= '9') || name[0] == '-' || name[0] == '.')
        return false;
    return true;
}

xmppcore_stanza *xmppcore_stanza_new(const xmppcore_mem *mem, const char *name,
                                     const char *ns)
{
    if (!valid_name(name) || (ns && !xi_utf8_xml_valid(ns, strlen(ns))))
        return NULL;
    return xi_stanza_new_root(mem, 512, name, strlen(name), ns,
                              ns ? strlen(ns) : 0);
}

void xmppcore_stanza_free(xmppcore_stanza *s)
{
    if (!s || !s->is_root)
        return;
    root_alloc *r = (root_alloc *)s;
    const xmppcore_mem *mem = r->arena.mem;
    xi_block *b = r->arena.blocks;
    while (b) {
        xi_block *next = b->next;
        xi_free(mem, b);
        b = next;
    }
    xi_free(mem, r);
}

/* ---- Queries ---- */

int xmppcore_stanza_is_text(const xmppcore_stanza *s)
{
    return s->name == NULL;
}

const char *xmppcore_stanza_name(const xmppcore_stanza *s)
{
    return s->name;
}

const char *xmppcore_stanza_ns(const xmppcore_stanza *s)
{
    return s->name ? s->ns : NULL;
}

static const xi_attr *find_attr(const xmppcore_stanza *s, const char *ns,
                                const char *name)
{
    if (!s->name || !name)
        return NULL;
    if (!ns)
        ns = "";
    for (uint32_t i = 0; i < s->nattrs; i++) {
        const xi_attr *a = &s->attrs[i];
        if (strcmp(a->name, name) == 0 && strcmp(a->ns, ns) == 0)
            return a;
    }
    return NULL;
}

const char *xmppcore_stanza_attr(const xmppcore_stanza *s, const char *name)
{
    const xi_attr *a = find_attr(s, "", name);
    return a ? a->value : NULL;
}

const char *xmppcore_stanza_attr_ns(const xmppcore_stanza *s, const char *ns,
                                    const char *name)
{
    const xi_attr *a = find_attr(s, ns, name);
    return a ? a->value : NULL;
}

size_t xmppcore_stanza_attr_count(const xmppcore_stanza *s)
{
    return s->name ? s->nattrs : 0;
}

int xmppcore_stanza_attr_at(const xmppcore_stanza *s, size_t i, const char **ns,
                            const char **name, const char **value)
{
    if (!s->name || i >= s->nattrs)
        return XMPPCORE_E_RANGE;
    if (ns)
        *ns = s->attrs[i].ns;
    if (name)
        *name = s->attrs[i].name;
    if (value)
        *value = s->attrs[i].value;
    return 0;
}

xmppcore_stanza *xmppcore_stanza_parent(const xmppcore_stanza *s)
{
    return s->parent;
}

xmppcore_stanza *xmppcore_stanza_first(const xmppcore_stanza *s)
{
    return s->first;
}

xmppcore_stanza *xmppcore_stanza_next(const xmppcore_stanza *s)
{
    return s->next;
}

static bool matches(const xmppcore_stanza *c, const char *name, const char *ns)
{
    return c->name && (!name || strcmp(c->name, name) == 0) &&
           (!ns || strcmp(c->ns, ns) == 0);
}

xmppcore_stanza *xmppcore_stanza_child(const xmppcore_stanza *s,
                                       const char *name, const char *ns)
{
    for (xmppcore_stanza *c = s->first; c; c = c->next)
        if (matches(c, name, ns))
            return c;
    return NULL;
}

xmppcore_stanza *xmppcore_stanza_next_match(const xmppcore_stanza *s,
                                            const char *name, const char *ns)
{
    for (xmppcore_stanza *c = s->next; c; c = c->next)
        if (matches(c, name, ns))
            return c;
    return NULL;
}

const char *xmppcore_stanza_text(const xmppcore_stanza *s)
{
    if (!s->name)
        return s->ns;
    const xmppcore_stanza *only = NULL;
    size_t total = 0, count = 0;
    for (const xmppcore_stanza *c = s->first; c; c = c->next) {
        if (!c->name) {
            only = c;
            total += c->text_len;
            count++;
        }
    }
    if (count == 0)
        return "";
    if (count == 1)
        return only->ns;
    char *out = xi_arena_alloc(s->arena, total + 1), *p = out;
    if (!out)
        return NULL;
    for (const xmppcore_stanza *c = s->first; c; c = c->next) {
        if (!c->name) {
            memcpy(p, c->ns, c->text_len);
            p += c->text_len;
        }
    }
    *p = '\0';
    return out;
}

const char *xmppcore_stanza_child_text(const xmppcore_stanza *s,
                                       const char *name, const char *ns)
{
    const xmppcore_stanza *c = xmppcore_stanza_child(s, name, ns);
    return c ? xmppcore_stanza_text(c) : NULL;
}

/*
 * Equality treats a run of adjacent text nodes as one string, so a tree
 * built with several add_text calls equals its parsed serialization.
 * A cursor walks the characters of one run across its nodes.
 */
typedef struct {
    const xmppcore_stanza *node;
    size_t off;
} text_cursor;

static void cursor_skip_empty(text_cursor *c)
{
    while (c->node && !c->node->name && c->off >= c->node->text_len) {
        c->node = c->node->next;
        c->off = 0;
    }
}

/* Compares the text runs starting at *a and *b; on return both point past
 * their runs. */
static bool text_runs_equal(const xmppcore_stanza **pa,
                            const xmppcore_stanza **pb)
{
    text_cursor a = {*pa, 0}, b = {*pb, 0};
    bool eq = true;
    for (;;) {
        cursor_skip_empty(&a);
        cursor_skip_empty(&b);
        bool a_end = !a.node || a.node->name, b_end = !b.node || b.node->name;
        if (a_end || b_end) {
            eq = eq && a_end && b_end;
            break;
        }
        size_t n = a.node->text_len - a.off;
        if (b.node->text_len - b.off < n)
            n = b.node->text_len - b.off;
        if (memcmp(a.node->ns + a.off, b.node->ns + b.off, n) != 0) {
            eq = false;
            /* still advance both to the ends of their runs */
            while (a.node && !a.node->name)
                a.node = a.node->next;
            while (b.node && !b.node->name)
                b.node = b.node->next;
            break;
        }
        a.off += n;
        b.off += n;
    }
    *pa = a.node;
    *pb = b.node;
    return eq;
}

static bool attrs_equal(const xmppcore_stanza *a, const xmppcore_stanza *b)
{
    if (a->nattrs != b->nattrs)
        return false;
    for (uint32_t i = 0; i < a->nattrs; i++) {
        const xi_attr *x = find_attr(b, a->attrs[i].ns, a->attrs[i].name);
        if (!x || strcmp(x->value, a->attrs[i].value) != 0)
            return false;
    }
    return true;
}

static bool elem_equal(const xmppcore_stanza *a, const xmppcore_stanza *b)
{
    if (strcmp(a->name, b->name) != 0 || strcmp(a->ns, b->ns) != 0 ||
        !attrs_equal(a, b))
        return false;
    const xmppcore_stanza *x = a->first, *y = b->first;
    for (;;) {
        if ((x && !x->name) || (y && !y->name)) {
            if (!text_runs_equal(&x, &y))
                return false;
            continue;
        }
        if (!x || !y)
            return !x && !y;
        if (!elem_equal(x, y))
            return false;
        x = x->next;
        y = y->next;
    }
}

int xmppcore_stanza_equal(const xmppcore_stanza *a, const xmppcore_stanza *b)
{
    if (!a || !b)
        return a == b;
    if (!a->name || !b->name) {
        if (a->name || b->name)
            return 0;
        return a->text_len == b->text_len &&
               memcmp(a->ns, b->ns, a->text_len) == 0;
    }
    return elem_equal(a, b);
}

/* ---- Mutation ---- */

/* Appends an attribute whose strings already live in the arena (or are
 * literals), growing the array by doubling. */
static int attr_append(xmppcore_stanza *s, const char *ns, const char *name,
                       const char *value)
{
    if (s->nattrs == s->attr_cap) {
        uint32_t cap = s->attr_cap ? s->attr_cap * 2 : 4;
        xi_attr *na = xi_arena_alloc(s->arena, cap * sizeof *na);
        if (!na)
            return XMPPCORE_E_NOMEM;
        if (s->nattrs)
            memcpy(na, s->attrs, s->nattrs * sizeof *na);
        s->attrs = na;
        s->attr_cap = cap;
    }
    s->attrs[s->nattrs].ns = ns;
    s->attrs[s->nattrs].name = name;
    s->attrs[s->nattrs].value = value;
    s->nattrs++;
    return 0;
}

int xmppcore_stanza_set_attr_ns(xmppcore_stanza *s, const char *ns,
                                const char *name, const char *value)
{
    /* "xmlns" itself is a namespace declaration, which the serializer
     * writes; "xmlns-x" and the like are ordinary names. */
    if (!s->name || !valid_name(name) || strcmp(name, "xmlns") == 0)
        return XMPPCORE_E_INVAL;
    if (!ns)
        ns = "";
    if (value && !xi_utf8_xml_valid(value, strlen(value)))
        return XMPPCORE_E_INVAL;
    if (*ns && !xi_utf8_xml_valid(ns, strlen(ns)))
        return XMPPCORE_E_INVAL;
    xi_attr *a = (xi_attr *)find_attr(s, ns, name);
    if (!value) {
        if (a) {
            size_t i = (size_t)(a - s->attrs);
            memmove(a, a + 1, (s->nattrs - i - 1) * sizeof *a);
            s->nattrs--;
        }
        return 0;
    }
    char *v = xi_arena_strndup(s->arena, value, strlen(value));
    if (!v)
        return XMPPCORE_E_NOMEM;
    if (a) {
        a->value = v;
        return 0;
    }
    const char *nsc = xi_ns_intern(ns, strlen(ns));
    if (!nsc)
        nsc = xi_arena_strndup(s->arena, ns, strlen(ns));
    char *nc = xi_arena_strndup(s->arena, name, strlen(name));
    if (!nsc || !nc)
        return XMPPCORE_E_NOMEM;
    return attr_append(s, nsc, nc, v);
}

int xi_stanza_set_attr_trusted(xmppcore_stanza *s, const char *name,
                               const char *value)
{
    char *v = xi_arena_strndup(s->arena, value, strlen(value));
    if (!v)
        return XMPPCORE_E_NOMEM;
    for (uint32_t i = 0; i < s->nattrs; i++) {
        if (!s->attrs[i].ns[0] && strcmp(s->attrs[i].name, name) == 0) {
            s->attrs[i].value = v;
            return 0;
        }
    }
    return attr_append(s, "", name, v);
}

int xmppcore_stanza_set_attr(xmppcore_stanza *s, const char *name,
                             const char *value)
{
    return xmppcore_stanza_set_attr_ns(s, NULL, name, value);
}

xmppcore_stanza *xmppcore_stanza_add_child(xmppcore_stanza *s, const char *name,
                                           const char *ns)
{
    if (!s->name || !valid_name(name) ||
        (ns && !xi_utf8_xml_valid(ns, strlen(ns))))
        return NULL;
    return xi_stanza_new_elem(s->arena, s, name, strlen(name),
                              ns ? NULL : s->ns, ns ? ns : "",
                              ns ? strlen(ns) : 0);
}

int xmppcore_stanza_add_text(xmppcore_stanza *s, const char *text, size_t len)
{
    if (!s->name || !text)
        return XMPPCORE_E_INVAL;
    if (len == (size_t)-1)
        len = strlen(text);
    if (!xi_utf8_xml_valid(text, len))
        return XMPPCORE_E_INVAL;
    if (len == 0)
        return 0;
    return xi_stanza_append_text(s->arena, s, text, len);
}

int xmppcore_stanza_set_text(xmppcore_stanza *s, const char *text)
{
    if (!s->name)
        return XMPPCORE_E_INVAL;
    size_t len = text ? strlen(text) : 0;
    if (len && !xi_utf8_xml_valid(text, len))
        return XMPPCORE_E_INVAL;
    /* Build the new text node before dropping the old children, so a
     * failed allocation leaves the node as it was. */
    xmppcore_stanza *t = NULL;
    if (len) {
        t = xi_arena_alloc(s->arena, sizeof *t);
        if (!t)
            return XMPPCORE_E_NOMEM;
        memset(t, 0, sizeof *t);
        t->arena = s->arena;
        t->ns = xi_arena_strndup(s->arena, text, len);
        if (!t->ns)
            return XMPPCORE_E_NOMEM;
        t->text_len = len;
    }
    for (xmppcore_stanza *c = s->first; c; c = c->next)
        c->parent = NULL;
    s->first = s->last = NULL;
    if (t)
        link_child(s, t);
    return 0;
}

/* Copies src's attributes into dst (which has none) in arena a. */
static int copy_attrs(xi_arena *a, xmppcore_stanza *dst,
                      const xmppcore_stanza *src)
{
    if (!src->nattrs)
        return 0;
    dst->attrs = xi_arena_alloc(a, src->nattrs * sizeof *dst->attrs);
    if (!dst->attrs)
        return XMPPCORE_E_NOMEM;
    for (uint32_t i = 0; i < src->nattrs; i++) {
        const xi_attr *sa = &src->attrs[i];
        xi_attr *da = &dst->attrs[i];
        da->ns = xi_ns_intern(sa->ns, strlen(sa->ns));
        if (!da->ns)
            da->ns = xi_arena_strndup(a, sa->ns, strlen(sa->ns));
        da->name = xi_arena_strndup(a, sa->name, strlen(sa->name));
        da->value = xi_arena_strndup(a, sa->value, strlen(sa->value));
        if (!da->ns || !da->name || !da->value)
            return XMPPCORE_E_NOMEM;
    }
    dst->nattrs = dst->attr_cap = src->nattrs;
    return 0;
}

/* Copies src's subtree into arena a below parent (NULL: unlinked). */
static xmppcore_stanza *copy_into(xi_arena *a, xmppcore_stanza *parent,
                                  const xmppcore_stanza *src)
{
    if (!src->name) {
        if (xi_stanza_append_text(a, parent, src->ns, src->text_len) < 0)
            return NULL;
        return parent->last;
    }
    const char *shared = parent && strcmp(parent->ns, src->ns) == 0
                             ? parent->ns
                             : NULL;
    xmppcore_stanza *c = xi_stanza_new_elem(a, parent, src->name,
                                            strlen(src->name), shared, src->ns,
                                            strlen(src->ns));
    if (!c)
        return NULL;
    if (copy_attrs(a, c, src) < 0)
        return NULL;
    for (const xmppcore_stanza *k = src->first; k; k = k->next)
        if (!copy_into(a, c, k))
            return NULL;
    return c;
}

/* Bytes a copy of the subtree needs, to size the copy's arena at once. */
static size_t tree_size(const xmppcore_stanza *s)
{
    size_t n = align_up(sizeof *s);
    if (!s->name)
        return n + align_up(s->text_len + 1);
    n += align_up(strlen(s->name) + 1) + align_up(strlen(s->ns) + 1);
    n += align_up(s->nattrs * sizeof(xi_attr));
    for (uint32_t i = 0; i < s->nattrs; i++)
        n += align_up(strlen(s->attrs[i].ns) + 1) +
             align_up(strlen(s->attrs[i].name) + 1) +
             align_up(strlen(s->attrs[i].value) + 1);
    for (const xmppcore_stanza *c = s->first; c; c = c->next)
        n += tree_size(c);
    return n;
}

xmppcore_stanza *xmppcore_stanza_copy(const xmppcore_stanza *src)
{
    if (!src->name)
        return NULL;
    xmppcore_stanza *r = xi_stanza_new_root(src->arena->mem, tree_size(src),
                                            src->name, strlen(src->name),
                                            src->ns, strlen(src->ns));
    if (!r)
        return NULL;
    /* Copy the root's attributes and children as they are: the source is
     * a valid tree, so nothing needs checking again. */
    if (copy_attrs(r->arena, r, src) < 0) {
        xmppcore_stanza_free(r);
        return NULL;
    }
    for (const xmppcore_stanza *k = src->first; k; k = k->next) {
        if (!copy_into(r->arena, r, k)) {
            xmppcore_stanza_free(r);
            return NULL;
        }
    }
    return r;
}

xmppcore_stanza *xmppcore_stanza_add_copy(xmppcore_stanza *s,
                                          const xmppcore_stanza *src)
{
    if (!s->name)
        return NULL;
    /* Build unlinked first so a failure leaves s unchanged. */
    xmppcore_stanza tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.name = s->name;
    tmp.ns = s->ns;
    tmp.arena = s->arena;
    xmppcore_stanza *c = copy_into(s->arena, &tmp, src);
    if (!c)
        return NULL;
    if (c->name && c->ns == tmp.ns)
        c->ns = s->ns;
    link_child(s, c);
    return c;
}

int xmppcore_stanza_remove(xmppcore_stanza *s)
{
    xmppcore_stanza *p = s->parent;
    if (!p)
        return 0;
    xmppcore_stanza *prev = NULL;
    for (xmppcore_stanza *c = p->first; c; prev = c, c = c->next) {
        if (c != s)
            continue;
        if (prev)
            prev->next = c->next;
        else
            p->first = c->next;
        if (p->last == c)
            p->last = prev;
        break;
    }
    s->parent = NULL;
    s->next = NULL;
    return 0;
}

int xmppcore_stanza_set_name(xmppcore_stanza *s, const char *name)
{
    if (!s->name || !valid_name(name))
        return XMPPCORE_E_INVAL;
    char *n = xi_arena_strndup(s->arena, name, strlen(name));
    if (!n)
        return XMPPCORE_E_NOMEM;
    s->name = n;
    return 0;
}

/* ---- Replies ---- */

xmppcore_stanza *xmppcore_stanza_reply(const xmppcore_stanza *st,
                                       const char *type)
{
    if (!st->name)
        return NULL;
    const char *ns = st->ns[0] ? st->ns : XMPPCORE_NS_CLIENT;
    xmppcore_stanza *r = xi_stanza_new_root(st->arena->mem, 256, st->name,
                                            strlen(st->name), ns, strlen(ns));
    if (!r)
        return NULL;
    const char *id = xmppcore_stanza_attr(st, "id");
    const char *from = xmppcore_stanza_attr(st, "from");
    const char *to = xmppcore_stanza_attr(st, "to");
    if ((id && xmppcore_stanza_set_attr(r, "id", id) < 0) ||
        (from && xmppcore_stanza_set_attr(r, "to", from) < 0) ||
        (to && xmppcore_stanza_set_attr(r, "from", to) < 0) ||
        (type && xmppcore_stanza_set_attr(r, "type", type) < 0)) {
        xmppcore_stanza_free(r);
        return NULL;
    }
    return r;
}

xmppcore_stanza *xmppcore_stanza_error_reply(const xmppcore_stanza *st,
                                             const char *error_type,
                                             const char *condition)
{
    static const char *const types[] = {"cancel", "modify", "auth", "wait",
                                        "continue"};
    bool known = false;
    for (size_t i = 0; error_type && i < XI_ARRAY_LEN(types); i++)
        known = known || strcmp(types[i], error_type) == 0;
    if (!known || !condition)
        return NULL;
    xmppcore_stanza *r = xmppcore_stanza_reply(st, "error");
    xmppcore_stanza *e = r ? xmppcore_stanza_add_child(r, "error", NULL) : NULL;
    if (!e || xmppcore_stanza_set_attr(e, "type", error_type) < 0 ||
        !xmppcore_stanza_add_child(e, condition, XMPPCORE_NS_STANZAS)) {
        xmppcore_stanza_free(r);
        return NULL;
    }
    return r;
}
