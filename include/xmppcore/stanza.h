/*
 * libxmppcore — stanzas: XML element trees with namespaces.
 *
 * A stanza is a tree of element and text nodes. The tree has one owner,
 * its root; every node of the tree lives in the root's arena, so a parsed
 * message costs one or two allocations and is freed at once. Child nodes
 * are borrowed pointers valid until the root is freed; the library never
 * frees a node behind the back of the code holding it, except that
 * xmppcore_stanza_remove() releases the removed subtree's memory only when
 * the root is freed.
 *
 * Names are local names; each element has a namespace URI (the empty
 * string for no namespace). Prefixes are not kept: the serializer declares
 * namespaces itself. Attributes may carry a namespace too (xml:lang is
 * the attribute "lang" in XMPPCORE_NS_XML).
 *
 * Strings passed in are copied. Strings returned are borrowed and stay
 * valid until the node they came from is changed or its root is freed.
 * All strings are UTF-8 and NUL-terminated.
 *
 * None of these calls is thread-safe on the same tree; different trees may
 * be used from different threads.
 */
#ifndef XMPPCORE_STANZA_H
#define XMPPCORE_STANZA_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define XMPPCORE_NS_XML "http://www.w3.org/XML/1998/namespace"
#define XMPPCORE_NS_STREAMS "http://etherx.jabber.org/streams"
#define XMPPCORE_NS_CLIENT "jabber:client"
#define XMPPCORE_NS_SERVER "jabber:server"
#define XMPPCORE_NS_COMPONENT "jabber:component:accept"
#define XMPPCORE_NS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"
#define XMPPCORE_NS_STREAM_ERRORS "urn:ietf:params:xml:ns:xmpp-streams"

typedef struct xmppcore_stanza xmppcore_stanza;
typedef struct xmppcore_buffer xmppcore_buffer;

/*
 * Creates a new root element <name xmlns=ns/>. ns may be NULL (no
 * namespace). mem may be NULL (default allocator). Returns NULL on
 * allocation failure or if name is NULL or empty. Free with
 * xmppcore_stanza_free().
 */
XMPPCORE_API xmppcore_stanza *xmppcore_stanza_new(const xmppcore_mem *mem,
                                                  const char *name,
                                                  const char *ns);

/*
 * Parses one complete XML element (a stanza, or any standalone element)
 * from buf and returns it as a new root in *out. The same restricted XML
 * and limits as the stream parser apply (default limits). Returns 0, or a
 * fatal XML code (XMPPCORE_E_XML, XMPPCORE_E_RESTRICTED_XML, ...) with
 * *out set to NULL. mem may be NULL.
 */
XMPPCORE_API int xmppcore_stanza_parse(const xmppcore_mem *mem,
                                       const char *buf, size_t len,
                                       xmppcore_stanza **out);

/*
 * Frees a root and its whole tree. NULL is a no-op. Calling it on a node
 * that has a parent does nothing (the parent's root owns it).
 */
XMPPCORE_API void xmppcore_stanza_free(xmppcore_stanza *stanza);

/*
 * Deep-copies node (and its subtree) into a new root with its own arena,
 * sized to fit. The copy of an element below the root inherits the
 * namespace it had in its tree. Returns NULL on allocation failure.
 */
XMPPCORE_API xmppcore_stanza *xmppcore_stanza_copy(const xmppcore_stanza *node);

/* ---- Queries (never allocate, except _get_text on mixed content) ---- */

/* Non-zero for a text node, 0 for an element. */
XMPPCORE_API int xmppcore_stanza_is_text(const xmppcore_stanza *node);

/* Local name of an element; NULL for a text node. */
XMPPCORE_API const char *xmppcore_stanza_name(const xmppcore_stanza *node);

/* Namespace URI of an element ("" for none); NULL for a text node. */
XMPPCORE_API const char *xmppcore_stanza_ns(const xmppcore_stanza *node);

/* Value of the attribute without namespace called name, or NULL. */
XMPPCORE_API const char *xmppcore_stanza_attr(const xmppcore_stanza *node,
                                              const char *name);

/* Value of the attribute name in namespace ns (NULL or "" = none), or NULL. */
XMPPCORE_API const char *xmppcore_stanza_attr_ns(const xmppcore_stanza *node,
                                                 const char *ns,
                                                 const char *name);

/* Number of attributes of an element (0 for text). */
XMPPCORE_API size_t xmppcore_stanza_attr_count(const xmppcore_stanza *node);

/*
 * The index-th attribute (0-based, in document order): its namespace ("" if
 * none), local name and value through the out pointers (each may be NULL).
 * Returns 0, or XMPPCORE_E_RANGE.
 */
XMPPCORE_API int xmppcore_stanza_attr_at(const xmppcore_stanza *node,
                                         size_t index, const char **ns,
                                         const char **name,
                                         const char **value);

/* Parent node, or NULL for a root. */
XMPPCORE_API xmppcore_stanza *xmppcore_stanza_parent(const xmppcore_stanza *node);

/* First child node (element or text), or NULL. */
XMPPCORE_API xmppcore_stanza *xmppcore_stanza_first(const xmppcore_stanza *node);

/* Next sibling node (element or text), or NULL. */
XMPPCORE_API xmppcore_stanza *xmppcore_stanza_next(const xmppcore_stanza *node);

/*
 * First child element with this local name (NULL: any) and namespace
 * (NULL: any; "" no namespace), or NULL.
 */
XMPPCORE_API xmppcore_stanza *xmppcore_stanza_child(const xmppcore_stanza *node,
                                                    const char *name,
                                                    const char *ns);

/* Next sibling element after node matching name and ns as above, or NULL. */
XMPPCORE_API xmppcore_stanza *xmppcore_stanza_next_match(const xmppcore_stanza *node,
                                                         const char *name,
                                                         const char *ns);

/*
 * Text of a text node, or the concatenated text of an element's direct
 * text children ("" if it has none). For an element with several text
 * children the concatenation is built in the root's arena; NULL means that
 * allocation failed.
 */
XMPPCORE_API const char *xmppcore_stanza_text(const xmppcore_stanza *node);

/*
 * Text of the first child element matching name/ns (see _child), or NULL
 * if there is no such child. Handy for <body/>.
 */
XMPPCORE_API const char *xmppcore_stanza_child_text(const xmppcore_stanza *node,
                                                    const char *name,
                                                    const char *ns);

/*
 * Deep equality: same names, namespaces, attribute sets (order ignored),
 * and the same sequence of children, with adjacent text nodes compared as
 * one. Returns non-zero if equal.
 */
XMPPCORE_API int xmppcore_stanza_equal(const xmppcore_stanza *a,
                                       const xmppcore_stanza *b);

/* ---- Mutation (allocates in the root's arena) ---- */

/*
 * Sets (value != NULL) or removes (value == NULL) the attribute name in
 * namespace ns (NULL or "" for none). Returns 0, XMPPCORE_E_INVAL (text
 * node, bad name) or XMPPCORE_E_NOMEM.
 */
XMPPCORE_API int xmppcore_stanza_set_attr_ns(xmppcore_stanza *node,
                                             const char *ns, const char *name,
                                             const char *value);

/* Shorthand for xmppcore_stanza_set_attr_ns(node, NULL, name, value). */
XMPPCORE_API int xmppcore_stanza_set_attr(xmppcore_stanza *node,
                                          const char *name, const char *value);

/*
 * Appends a new child element <name xmlns=ns/>; ns NULL means "inherit the
 * parent's namespace". Returns the child (borrowed, owned by the tree) or
 * NULL on allocation failure / bad name.
 */
XMPPCORE_API xmppcore_stanza *xmppcore_stanza_add_child(xmppcore_stanza *node,
                                                        const char *name,
                                                        const char *ns);

/*
 * Appends a text node with len bytes of text (len may be (size_t)-1 for a
 * NUL-terminated string). The text must be valid UTF-8 without characters
 * XML forbids; returns XMPPCORE_E_INVAL otherwise. Returns 0 or an error.
 */
XMPPCORE_API int xmppcore_stanza_add_text(xmppcore_stanza *node,
                                          const char *text, size_t len);

/*
 * Replaces all children of node by a single text node (NULL or "" leaves
 * it empty). Returns 0 or an error as for _add_text.
 */
XMPPCORE_API int xmppcore_stanza_set_text(xmppcore_stanza *node,
                                          const char *text);

/*
 * Appends a deep copy of src (from any tree) as the last child of node.
 * Returns the copy (borrowed) or NULL on failure.
 */
XMPPCORE_API xmppcore_stanza *xmppcore_stanza_add_copy(xmppcore_stanza *node,
                                                       const xmppcore_stanza *src);

/*
 * Unlinks node from its parent. It stays readable (and its memory stays
 * allocated) until its old root is freed, but belongs to no tree. Removing
 * a root does nothing. Returns 0.
 */
XMPPCORE_API int xmppcore_stanza_remove(xmppcore_stanza *node);

/* Renames an element. Returns 0, XMPPCORE_E_INVAL or XMPPCORE_E_NOMEM. */
XMPPCORE_API int xmppcore_stanza_set_name(xmppcore_stanza *node,
                                          const char *name);

/* ---- Replies ---- */

/*
 * A new root answering stanza: same name and namespace (jabber:client if
 * it has none), the same id, 'from' and 'to' swapped, and 'type' set
 * (NULL: none). For IQ results and errors. NULL on allocation failure.
 */
XMPPCORE_API xmppcore_stanza *xmppcore_stanza_reply(const xmppcore_stanza *stanza,
                                                    const char *type);

/*
 * A stanza error answering stanza (RFC 6120 §8.3): a reply of type
 * "error" with <error type='error_type'><condition xmlns=stanzas/></error>.
 * error_type is "cancel", "modify", "auth", "wait" or "continue".
 * NULL on allocation failure or bad arguments.
 */
XMPPCORE_API xmppcore_stanza *xmppcore_stanza_error_reply(const xmppcore_stanza *stanza,
                                                          const char *error_type,
                                                          const char *condition);

/* ---- Serialization ---- */

/*
 * Appends the XML text of node to buf. outer_ns is the default namespace
 * in force where the text goes (e.g. "jabber:client" inside a client
 * stream): an element in that namespace gets no xmlns attribute. NULL
 * means "none in force", so the root always declares its namespace.
 * Text and attribute values are escaped; namespaces and prefixes for
 * namespaced attributes are declared as needed. Returns 0 or
 * XMPPCORE_E_NOMEM (buf keeps what it had before the call).
 */
XMPPCORE_API int xmppcore_stanza_serialize(const xmppcore_stanza *node,
                                           const char *outer_ns,
                                           xmppcore_buffer *buf);

/* ---- Byte buffers ---- */

/* A growable byte buffer. mem may be NULL. Returns NULL on failure. */
XMPPCORE_API xmppcore_buffer *xmppcore_buffer_new(const xmppcore_mem *mem);

/* Frees buf. NULL is a no-op. */
XMPPCORE_API void xmppcore_buffer_free(xmppcore_buffer *buf);

/*
 * The buffer's bytes, NUL-terminated after the last byte (the NUL is not
 * counted in _len). Borrowed until the next change to buf.
 */
XMPPCORE_API const char *xmppcore_buffer_data(const xmppcore_buffer *buf);

/* Number of bytes in buf. */
XMPPCORE_API size_t xmppcore_buffer_len(const xmppcore_buffer *buf);

/* Empties buf, keeping its allocation. */
XMPPCORE_API void xmppcore_buffer_clear(xmppcore_buffer *buf);

/* Appends len bytes. Returns 0 or XMPPCORE_E_NOMEM. */
XMPPCORE_API int xmppcore_buffer_append(xmppcore_buffer *buf, const void *data,
                                        size_t len);

/* Removes the first n bytes (all if n >= len). */
XMPPCORE_API void xmppcore_buffer_consume(xmppcore_buffer *buf, size_t n);

#ifdef __cplusplus
}
#endif
#endif
