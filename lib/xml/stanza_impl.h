/*
 * Internal layout of stanza trees and their arenas, shared by the tree
 * code (stanza.c), the serializer and the stream parser. Not installed.
 *
 * A root owns an arena: a chain of blocks that every node, attribute
 * array and string of the tree is carved from. The root node, the arena
 * header and the first block are one allocation, so a small stanza costs
 * a single malloc and a single free.
 */
#ifndef XI_STANZA_IMPL_H
#define XI_STANZA_IMPL_H

#include "core/core.h"
#include "xmppcore/stanza.h"

typedef struct xi_block {
    struct xi_block *next;
    size_t size; /* usable bytes after the header */
} xi_block;

typedef struct xi_arena {
    const xmppcore_mem *mem;
    xi_block *blocks; /* extra blocks (the first lives with the root) */
    char *ptr;        /* next free byte in the current block */
    size_t avail;     /* free bytes left in the current block */
    size_t last_size; /* size of the most recent block, for growth */
} xi_arena;

typedef struct xi_attr {
    const char *ns; /* "" when the attribute has no namespace */
    const char *name;
    const char *value;
} xi_attr;

struct xmppcore_stanza {
    struct xmppcore_stanza *parent, *next, *first, *last;
    xi_arena *arena;
    const char *name; /* NULL for a text node */
    const char *ns;   /* for a text node: the text */
    size_t text_len;  /* text nodes only */
    xi_attr *attrs;
    uint32_t nattrs, attr_cap;
    bool is_root; /* owns the arena (and was not merely detached) */
};

/* Arena allocation; returns NULL when out of memory. Aligned for pointers. */
void *xi_arena_alloc(xi_arena *a, size_t n);
char *xi_arena_strndup(xi_arena *a, const char *s, size_t n);

/*
 * A new root with an arena whose first block holds at least `hint` bytes.
 * name and ns are copied (ns may be NULL for none).
 */
xmppcore_stanza *xi_stanza_new_root(const xmppcore_mem *mem, size_t hint,
                                    const char *name, size_t name_len,
                                    const char *ns, size_t ns_len);

/*
 * A new element in root's arena, appended to parent (which may be NULL:
 * then it only lives in the arena until linked). ns_shared, when not NULL,
 * is used as-is (it must outlive the tree: a parent's ns or a static
 * string); otherwise ns/ns_len are copied.
 */
xmppcore_stanza *xi_stanza_new_elem(xi_arena *a, xmppcore_stanza *parent,
                                    const char *name, size_t name_len,
                                    const char *ns_shared, const char *ns,
                                    size_t ns_len);

/* Appends a text node with a copy of text[0..len). */
int xi_stanza_append_text(xi_arena *a, xmppcore_stanza *parent,
                          const char *text, size_t len);

/* Sets node's namespace to a string that outlives every tree (a
 * literal). Children keep theirs. */
static inline void xi_stanza_set_ns_static(xmppcore_stanza *node,
                                           const char *ns)
{
    if (node->name)
        node->ns = ns;
}

/* Returns a static copy for well-known namespaces, else NULL. */
const char *xi_ns_intern(const char *ns, size_t len);

#endif
