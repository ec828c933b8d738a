/*
 * Hook points and the IQ handler registry (include/xmppcore/hooks.h).
 *
 * Point names, vhost names and IQ namespaces are interned in small
 * open-addressing hash tables, so a run costs two short hashes and two
 * string compares however many points and vhosts exist; handlers then sit
 * in singly linked lists sorted by (priority, registration sequence), and
 * a run merges the global list with the vhost's.
 *
 * Handlers may change the registry while a point runs. Nodes are therefore
 * never freed during a run: a removal marks the node dead (it is skipped
 * from then on) and the outermost run unlinks dead nodes when it ends. A
 * node added during a run carries a sequence number at or above the one
 * the run started with and is skipped by that run.
 */
#include "core/core.h"
#include "xmppcore/hooks.h"
#include "hooks/hooks_int.h"

/* ---- String-keyed hash table (keys copied, never deleted) ---- */

struct smap_slot {
    char *key; /* NULL: empty */
    uint32_t hash;
    void *value;
};

struct smap {
    struct smap_slot *slots;
    size_t cap; /* 0 or a power of two */
    size_t len;
};

static uint32_t str_hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

static struct smap_slot *smap_find(const struct smap *m, const char *key,
                                   uint32_t hash)
{
    if (!m->cap)
        return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        struct smap_slot *s = &m->slots[i];
        if (!s->key)
            return NULL;
        if (s->hash == hash && strcmp(s->key, key) == 0)
            return s;
    }
}

static void *smap_get(const struct smap *m, const char *key)
{
    struct smap_slot *s = smap_find(m, key, str_hash(key));
    return s ? s->value : NULL;
}

/* Adds key (absent) with value; returns the interned key or NULL (no
 * memory, nothing changed). */
static const char *smap_add(const xmppcore_mem *mem, struct smap *m,
                            const char *key, void *value)
{
    if ((m->len + 1) * 4 > m->cap * 3) {
        size_t ncap = m->cap ? m->cap * 2 : 8;
        struct smap_slot *ns = xi_calloc(mem, ncap * sizeof *ns);
        if (!ns)
            return NULL;
        for (size_t i = 0; i < m->cap; i++) {
            struct smap_slot *o = &m->slots[i];
            if (!o->key)
                continue;
            size_t j = o->hash & (ncap - 1);
            while (ns[j].key)
                j = (j + 1) & (ncap - 1);
            ns[j] = *o;
        }
        xi_free(mem, m->slots);
        m->slots = ns;
        m->cap = ncap;
    }
    char *k = xi_strdup(mem, key);
    if (!k)
        return NULL;
    uint32_t hash = str_hash(key);
    size_t j = hash & (m->cap - 1);
    while (m->slots[j].key)
        j = (j + 1) & (m->cap - 1);
    m->slots[j].key = k;
    m->slots[j].hash = hash;
    m->slots[j].value = value;
    m->len++;
    return k;
}

static void smap_clear(const xmppcore_mem *mem, struct smap *m,
                       void (*free_value)(const xmppcore_mem *, void *))
{
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].key)
            continue;
        if (free_value)
            free_value(mem, m->slots[i].value);
        xi_free(mem, m->slots[i].key);
    }
    xi_free(mem, m->slots);
    memset(m, 0, sizeof *m);
}

/* ---- Registry ---- */

struct entry {
    struct entry *next;
    xmppcore_hook_fn fn;
    void *user_data;
    int priority;
    int dead;
    uint64_t seq;
};

/* Handlers of one point for one vhost (or the global ones). */
struct hlist {
    struct entry *head;
};

struct point {
    const char *name; /* the interned key */
    struct hlist global;
    struct smap vhosts; /* vhost -> struct hlist * */
};

/* IQ handlers of one namespace in one scope; slot 0 get, 1 set. */
struct iq_ns {
    const char *ns;            /* the interned key */
    struct iq_ns *prev, *next; /* active entries, registration order */
    uint64_t seq;              /* when it last became active */
    xmppcore_iq_fn fn[2];
    void *user_data[2];
};

struct iq_scope {
    struct smap by_ns; /* ns -> struct iq_ns * (kept while inactive) */
    struct iq_ns *first, *last;
};

struct xmppcore_hooks {
    const xmppcore_mem *mem;
    struct smap points; /* name -> struct point * */
    uint64_t seq;       /* next registration sequence number */
    unsigned running;   /* nesting depth of runs */
    int dirty;          /* dead nodes wait for the end of the runs */
    struct iq_scope iq_global;
    struct smap iq_vhosts; /* vhost -> struct iq_scope * */
};

struct xmppcore_hook_event {
    const char *point;
    const char *vhost;
    xmppcore_stanza *stanza;
    void *data;
    int kind; /* XI_HOOK_DATA_* */
};

static void hlist_free(const xmppcore_mem *mem, struct hlist *l)
{
    struct entry *e = l->head;
    while (e) {
        struct entry *n = e->next;
        xi_free(mem, e);
        e = n;
    }
    l->head = NULL;
}

static void hlist_free_value(const xmppcore_mem *mem, void *v)
{
    hlist_free(mem, v);
    xi_free(mem, v);
}

static void point_free_value(const xmppcore_mem *mem, void *v)
{
    struct point *p = v;
    hlist_free(mem, &p->global);
    smap_clear(mem, &p->vhosts, hlist_free_value);
    xi_free(mem, p);
}

static void iq_ns_free_value(const xmppcore_mem *mem, void *v)
{
    xi_free(mem, v);
}

static void iq_scope_clear(const xmppcore_mem *mem, struct iq_scope *s)
{
    smap_clear(mem, &s->by_ns, iq_ns_free_value);
    s->first = s->last = NULL;
}

static void iq_scope_free_value(const xmppcore_mem *mem, void *v)
{
    iq_scope_clear(mem, v);
    xi_free(mem, v);
}

xmppcore_hooks *xmppcore_hooks_new(const xmppcore_mem *mem)
{
    mem = xi_mem(mem);
    xmppcore_hooks *h = xi_calloc(mem, sizeof *h);
    if (h)
        h->mem = mem;
    return h;
}

void xmppcore_hooks_free(xmppcore_hooks *hooks)
{
    if (!hooks)
        return;
    const xmppcore_mem *mem = hooks->mem;
    smap_clear(mem, &hooks->points, point_free_value);
    iq_scope_clear(mem, &hooks->iq_global);
    smap_clear(mem, &hooks->iq_vhosts, iq_scope_free_value);
    xi_free(mem, hooks);
}

/* The list for (point, vhost); NULL if absent (create == 0) or on
 * allocation failure (create != 0). */
static struct hlist *find_list(xmppcore_hooks *h, const char *point,
                               const char *vhost, int create)
{
    struct point *p = smap_get(&h->points, point);
    if (!p) {
        if (!create)
            return NULL;
        p = xi_calloc(h->mem, sizeof *p);
        if (!p)
            return NULL;
        p->name = smap_add(h->mem, &h->points, point, p);
        if (!p->name) {
            xi_free(h->mem, p);
            return NULL;
        }
    }
    if (!vhost)
        return &p->global;
    struct hlist *l = smap_get(&p->vhosts, vhost);
    if (!l && create) {
        l = xi_calloc(h->mem, sizeof *l);
        if (l && !smap_add(h->mem, &p->vhosts, vhost, l)) {
            xi_free(h->mem, l);
            l = NULL;
        }
    }
    return l;
}

static struct entry *find_entry(struct hlist *l, xmppcore_hook_fn fn,
                                void *user_data)
{
    for (struct entry *e = l ? l->head : NULL; e; e = e->next)
        if (!e->dead && e->fn == fn && e->user_data == user_data)
            return e;
    return NULL;
}

int xmppcore_hooks_add(xmppcore_hooks *hooks, const char *point,
                       const char *vhost, int priority, xmppcore_hook_fn fn,
                       void *user_data)
{
    if (!hooks || !point || !*point || !fn || (vhost && !*vhost))
        return XMPPCORE_E_INVAL;
    struct hlist *l = find_list(hooks, point, vhost, 1);
    if (!l)
        return XMPPCORE_E_NOMEM;
    if (find_entry(l, fn, user_data))
        return XMPPCORE_E_EXISTS;
    struct entry *e = xi_calloc(hooks->mem, sizeof *e);
    if (!e)
        return XMPPCORE_E_NOMEM;
    e->fn = fn;
    e->user_data = user_data;
    e->priority = priority;
    e->seq = hooks->seq++;
    /* After every node of lower or equal priority: sequence numbers only
     * grow, so the list stays sorted by (priority, seq). */
    struct entry **pp = &l->head;
    while (*pp && (*pp)->priority <= priority)
        pp = &(*pp)->next;
    e->next = *pp;
    *pp = e;
    return 0;
}

static void hlist_sweep(const xmppcore_mem *mem, struct hlist *l)
{
    struct entry **pp = &l->head;
    while (*pp) {
        struct entry *e = *pp;
        if (e->dead) {
            *pp = e->next;
            xi_free(mem, e);
        } else {
            pp = &e->next;
        }
    }
}

static void sweep(xmppcore_hooks *h)
{
    for (size_t i = 0; i < h->points.cap; i++) {
        struct point *p = h->points.slots[i].value;
        if (!h->points.slots[i].key)
            continue;
        hlist_sweep(h->mem, &p->global);
        for (size_t j = 0; j < p->vhosts.cap; j++)
            if (p->vhosts.slots[j].key)
                hlist_sweep(h->mem, p->vhosts.slots[j].value);
    }
    h->dirty = 0;
}

int xmppcore_hooks_remove(xmppcore_hooks *hooks, const char *point,
                          const char *vhost, xmppcore_hook_fn fn,
                          void *user_data)
{
    if (!hooks || !point || !fn)
        return XMPPCORE_E_NOTFOUND;
    struct hlist *l = find_list(hooks, point, vhost, 0);
    struct entry *e = find_entry(l, fn, user_data);
    if (!e)
        return XMPPCORE_E_NOTFOUND;
    e->dead = 1;
    if (hooks->running)
        hooks->dirty = 1; /* a run may hold it: unlink when runs end */
    else
        hlist_sweep(hooks->mem, l);
    return 0;
}

static struct entry *next_live(struct entry *e, uint64_t limit)
{
    while (e && (e->dead || e->seq >= limit))
        e = e->next;
    return e;
}

xmppcore_hook_result xmppcore_hooks_run(xmppcore_hooks *hooks,
                                        const char *point, const char *vhost,
                                        xmppcore_stanza **stanza, void *data)
{
    return xi_hooks_run(hooks, point, vhost, stanza, data, XI_HOOK_DATA_OPAQUE);
}

xmppcore_hook_result xi_hooks_run(xmppcore_hooks *hooks, const char *point,
                                  const char *vhost, xmppcore_stanza **stanza,
                                  void *data, int kind)
{
    if (!hooks || !point)
        return XMPPCORE_HOOK_CONTINUE;
    struct point *p = smap_get(&hooks->points, point);
    if (!p)
        return XMPPCORE_HOOK_CONTINUE;
    struct entry *a = p->global.head, *b = NULL;
    if (vhost) {
        struct hlist *l = smap_get(&p->vhosts, vhost);
        if (l)
            b = l->head;
    }
    if (!a && !b)
        return XMPPCORE_HOOK_CONTINUE;

    struct xmppcore_hook_event ev = {p->name, vhost, stanza ? *stanza : NULL,
                                     data, kind};
    uint64_t limit = hooks->seq;
    xmppcore_hook_result res = XMPPCORE_HOOK_CONTINUE;
    hooks->running++;
    for (;;) {
        a = next_live(a, limit);
        b = next_live(b, limit);
        struct entry *e;
        if (a && (!b || a->priority < b->priority ||
                  (a->priority == b->priority && a->seq < b->seq))) {
            e = a;
            a = a->next;
        } else if (b) {
            e = b;
            b = b->next;
        } else {
            break;
        }
        /* Nodes are not freed while running, so e, a and b stay valid
         * whatever the handler does to the registry. */
        res = e->fn(&ev, e->user_data);
        if (res == XMPPCORE_HOOK_STOP || res == XMPPCORE_HOOK_DROP)
            break;
        res = XMPPCORE_HOOK_CONTINUE;
    }
    if (--hooks->running == 0 && hooks->dirty)
        sweep(hooks);
    if (stanza)
        *stanza = ev.stanza;
    return res;
}

static size_t count_live(const struct hlist *l)
{
    size_t n = 0;
    for (const struct entry *e = l ? l->head : NULL; e; e = e->next)
        n += !e->dead;
    return n;
}

size_t xmppcore_hooks_count(const xmppcore_hooks *hooks, const char *point,
                            const char *vhost)
{
    if (!hooks || !point)
        return 0;
    const struct point *p = smap_get(&hooks->points, point);
    if (!p)
        return 0;
    size_t n = count_live(&p->global);
    if (vhost)
        n += count_live(smap_get(&p->vhosts, vhost));
    return n;
}

/* ---- Events ---- */

const char *xmppcore_hook_event_point(const xmppcore_hook_event *event)
{
    return event->point;
}

const char *xmppcore_hook_event_vhost(const xmppcore_hook_event *event)
{
    return event->vhost;
}

xmppcore_stanza *xmppcore_hook_event_stanza(const xmppcore_hook_event *event)
{
    return event->stanza;
}

int xmppcore_hook_event_set_stanza(xmppcore_hook_event *event,
                                   xmppcore_stanza *stanza)
{
    if (!event || !stanza || xmppcore_stanza_parent(stanza))
        return XMPPCORE_E_INVAL;
    if (stanza != event->stanza) {
        xmppcore_stanza_free(event->stanza);
        event->stanza = stanza;
    }
    return 0;
}

xmppcore_session *xmppcore_hook_event_session(const xmppcore_hook_event *event)
{
    return event->kind == XI_HOOK_DATA_SESSION ? event->data : NULL;
}

xmppcore_conn *xmppcore_hook_event_conn(const xmppcore_hook_event *event)
{
    return event->kind == XI_HOOK_DATA_CONN ? event->data : NULL;
}

xmppcore_server *xmppcore_hook_event_server(const xmppcore_hook_event *event)
{
    return event->kind == XI_HOOK_DATA_SERVER ? event->data : NULL;
}

void *xmppcore_hook_event_data(const xmppcore_hook_event *event)
{
    return event->data;
}

/* ---- IQ handlers ---- */

static struct iq_scope *iq_scope_get(xmppcore_hooks *h, const char *vhost,
                                     int create)
{
    if (!vhost)
        return &h->iq_global;
    struct iq_scope *s = smap_get(&h->iq_vhosts, vhost);
    if (!s && create) {
        s = xi_calloc(h->mem, sizeof *s);
        if (s && !smap_add(h->mem, &h->iq_vhosts, vhost, s)) {
            xi_free(h->mem, s);
            s = NULL;
        }
    }
    return s;
}

static int iq_active(const struct iq_ns *n)
{
    return n && (n->fn[0] || n->fn[1]);
}

int xmppcore_iq_handler_add(xmppcore_hooks *hooks, const char *vhost,
                            const char *ns, int type, xmppcore_iq_fn fn,
                            void *user_data)
{
    if (!hooks || !ns || !*ns || !fn || (vhost && !*vhost) ||
        (type & ~(XMPPCORE_IQ_GET | XMPPCORE_IQ_SET)) || !type)
        return XMPPCORE_E_INVAL;
    struct iq_scope *s = iq_scope_get(hooks, vhost, 1);
    if (!s)
        return XMPPCORE_E_NOMEM;
    struct iq_ns *n = smap_get(&s->by_ns, ns);
    if (n && (((type & XMPPCORE_IQ_GET) && n->fn[0]) ||
              ((type & XMPPCORE_IQ_SET) && n->fn[1])))
        return XMPPCORE_E_EXISTS;
    if (!n) {
        n = xi_calloc(hooks->mem, sizeof *n);
        if (!n)
            return XMPPCORE_E_NOMEM;
        n->ns = smap_add(hooks->mem, &s->by_ns, ns, n);
        if (!n->ns) {
            xi_free(hooks->mem, n);
            return XMPPCORE_E_NOMEM;
        }
    }
    if (!iq_active(n)) {
        n->seq = hooks->seq++;
        n->prev = s->last;
        n->next = NULL;
        if (s->last)
            s->last->next = n;
        else
            s->first = n;
        s->last = n;
    }
    for (int i = 0; i < 2; i++) {
        if (type & (1 << i)) {
            n->fn[i] = fn;
            n->user_data[i] = user_data;
        }
    }
    return 0;
}

int xmppcore_iq_handler_remove(xmppcore_hooks *hooks, const char *vhost,
                               const char *ns, int type)
{
    if (!hooks || !ns)
        return XMPPCORE_E_NOTFOUND;
    struct iq_scope *s = iq_scope_get(hooks, vhost, 0);
    struct iq_ns *n = s ? smap_get(&s->by_ns, ns) : NULL;
    int removed = 0;
    if (!iq_active(n))
        return XMPPCORE_E_NOTFOUND;
    for (int i = 0; i < 2; i++) {
        if ((type & (1 << i)) && n->fn[i]) {
            n->fn[i] = NULL;
            n->user_data[i] = NULL;
            removed = 1;
        }
    }
    if (!removed)
        return XMPPCORE_E_NOTFOUND;
    if (!iq_active(n)) {
        /* Unlinked from the order, kept in the table (keys are never
         * deleted); a later add links it again at the end. */
        if (n->prev)
            n->prev->next = n->next;
        else
            s->first = n->next;
        if (n->next)
            n->next->prev = n->prev;
        else
            s->last = n->prev;
        n->prev = n->next = NULL;
    }
    return 0;
}

/* The single payload element of an iq, or NULL if there is not exactly
 * one child element (text nodes are ignored). */
static xmppcore_stanza *iq_payload(const xmppcore_stanza *iq)
{
    xmppcore_stanza *found = NULL;
    for (xmppcore_stanza *c = xmppcore_stanza_first(iq); c;
         c = xmppcore_stanza_next(c)) {
        if (xmppcore_stanza_is_text(c))
            continue;
        if (found)
            return NULL;
        found = c;
    }
    return found;
}

int xmppcore_iq_dispatch(xmppcore_hooks *hooks, const char *vhost,
                         xmppcore_stanza **iq, void *data)
{
    return xi_iq_dispatch(hooks, vhost, iq, data, XI_HOOK_DATA_OPAQUE);
}

int xi_iq_dispatch(xmppcore_hooks *hooks, const char *vhost,
                   xmppcore_stanza **iq, void *data, int kind)
{
    if (!hooks || !iq || !*iq)
        return XMPPCORE_E_INVAL;
    const char *name = xmppcore_stanza_name(*iq);
    const char *type = xmppcore_stanza_attr(*iq, "type");
    if (!name || strcmp(name, "iq") != 0 || !type)
        return XMPPCORE_E_INVAL;
    int slot;
    if (strcmp(type, "get") == 0)
        slot = 0;
    else if (strcmp(type, "set") == 0)
        slot = 1;
    else
        return XMPPCORE_E_INVAL;
    xmppcore_stanza *payload = iq_payload(*iq);
    if (!payload)
        return XMPPCORE_E_INVAL;
    const char *ns = xmppcore_stanza_ns(payload);

    const struct iq_ns *n = NULL;
    const struct iq_scope *s = vhost ? iq_scope_get(hooks, vhost, 0) : NULL;
    if (s)
        n = smap_get(&s->by_ns, ns);
    if (!n || !n->fn[slot])
        n = smap_get(&hooks->iq_global.by_ns, ns);
    if (!n || !n->fn[slot])
        return XMPPCORE_E_NOTFOUND;

    struct xmppcore_hook_event ev = {"iq", vhost, *iq, data, kind};
    xmppcore_iq_fn fn = n->fn[slot];
    int res = fn(&ev, n->user_data[slot]);
    *iq = ev.stanza;
    return res;
}

size_t xmppcore_iq_features(const xmppcore_hooks *hooks, const char *vhost,
                            void (*fn)(const char *ns, void *user_data),
                            void *user_data)
{
    if (!hooks)
        return 0;
    const struct iq_scope *g = &hooks->iq_global;
    const struct iq_scope *v =
        vhost ? smap_get(&hooks->iq_vhosts, vhost) : NULL;
    const struct iq_ns *a = g->first, *b = v ? v->first : NULL;
    size_t count = 0;
    /* Merge both scopes by the time each namespace became active; a
     * namespace active in both is reported at its earlier time. */
    while (a || b) {
        const struct iq_ns *e, *other;
        if (a && (!b || a->seq < b->seq)) {
            e = a;
            a = a->next;
            other = v ? smap_get(&v->by_ns, e->ns) : NULL;
        } else {
            e = b;
            b = b->next;
            other = smap_get(&g->by_ns, e->ns);
        }
        if (iq_active(other) && other->seq < e->seq)
            continue;
        if (fn)
            fn(e->ns, user_data);
        count++;
    }
    return count;
}
