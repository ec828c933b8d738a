/*
 * The XML stream parser: expat in namespace mode, building one stanza tree
 * per top-level child of the stream, enforcing RFC 6120 §11 restricted
 * XML and the configured limits.
 *
 * Byte positions: expat counts bytes from the start of the current
 * document (reset at every stream restart). `boundary` is the position
 * where the current top-level item began (after the header or the previous
 * stanza); the stanza-size limit is checked against it in every handler
 * and after every slice, and input is handed to expat in slices, so expat
 * never buffers much more than one limit's worth of an unfinished stanza.
 *
 * Expat allocates through the parser's xmppcore_mem: its memory suite has
 * no user-data pointer, so the allocator in force is kept in a thread-local
 * variable set around every expat call.
 */
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

#include <expat.h>

#include "xml/parser_int.h"
#include "xml/stanza_impl.h"
#include "xmppcore/parser.h"
#include "xmppcore_config.h"

#define NS_SEP '\x01'
#define SLICE 32768
#define STANZA_ARENA_HINT 1024

struct xmppcore_parser {
    const xmppcore_mem *mem;
    XML_Parser xp;
    xmppcore_parser_callbacks cb;
    void *ud;
    size_t limits[4];
    bool document; /* standalone element (xmppcore_stanza_parse) */
    int depth;     /* element depth; the stream element is 1 */
    xmppcore_stanza *root, *cur;
    struct xmppcore_buffer text; /* character data not yet in the tree */
    char *default_ns;            /* declared on the stream header */
    /* The header's namespace declarations and the stream element's
     * prefix, replayed to a fresh expat by xmppcore_parser_resume(). */
    struct xmppcore_buffer hdr_decls; /* " xmlns:p='uri'..." as XML text */
    char *stream_prefix;              /* NULL: unprefixed */
    bool priming;                     /* parsing our replayed header */
    bool hibernated;                  /* expat released at a boundary */
    bool in_cdata;                    /* inside <![CDATA[ ... ]]> */
    bool header_done;
    bool reset_req, stop_req, stopped;
    bool parsing; /* inside XML_Parse: callbacks may run */
    bool have_salt;     /* hash_salt given: expat draws none itself */
    unsigned long hash_salt;
    int error;
    uint64_t boundary;    /* position where the current item began */
    uint64_t fed;         /* bytes handed to the current expat document */
    uint64_t suspend_pos; /* position just after the element at a stop */
    char errtext[200];
};

static const size_t default_limits[] = {
    [XMPPCORE_LIMIT_STANZA_BYTES] = 262144,
    [XMPPCORE_LIMIT_DEPTH] = 32,
    [XMPPCORE_LIMIT_ATTRS] = 64,
    [XMPPCORE_LIMIT_HEADER_BYTES] = 4096,
};

/* ---- expat's allocator ---- */

static _Thread_local const xmppcore_mem *tl_mem;

static void *ex_malloc(size_t n)
{
    return xi_malloc(tl_mem, n);
}

static void *ex_realloc(void *p, size_t n)
{
    return xi_realloc(tl_mem, p, n);
}

static void ex_free(void *p)
{
    xi_free(tl_mem, p);
}

static const XML_Memory_Handling_Suite ex_suite = {ex_malloc, ex_realloc,
                                                   ex_free};

#define WITH_MEM_BEGIN(p)                                                  \
    const xmppcore_mem *saved_mem_ = tl_mem;                               \
    tl_mem = (p)->mem
#define WITH_MEM_END() tl_mem = saved_mem_

/* ---- errors ---- */

static void fail(xmppcore_parser *p, int code, const char *fmt, ...)
{
    if (p->error)
        return;
    p->error = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->errtext, sizeof p->errtext, fmt, ap);
    va_end(ap);
    XML_StopParser(p->xp, XML_FALSE);
}

static int map_expat_error(enum XML_Error e)
{
    switch (e) {
    case XML_ERROR_NO_MEMORY: return XMPPCORE_E_NOMEM;
    case XML_ERROR_UNBOUND_PREFIX:
    case XML_ERROR_RESERVED_PREFIX_XML:
    case XML_ERROR_RESERVED_PREFIX_XMLNS:
    case XML_ERROR_RESERVED_NAMESPACE_URI:
    case XML_ERROR_UNDECLARING_PREFIX: return XMPPCORE_E_BAD_PREFIX;
    case XML_ERROR_UNKNOWN_ENCODING:
    case XML_ERROR_INCORRECT_ENCODING: return XMPPCORE_E_ENCODING;
    case XML_ERROR_EXTERNAL_ENTITY_HANDLING:
    case XML_ERROR_NOT_STANDALONE: return XMPPCORE_E_RESTRICTED_XML;
    default: return XMPPCORE_E_XML;
    }
}

/* ---- positions and limits ---- */

static uint64_t pos_after_event(xmppcore_parser *p)
{
    XML_Index i = XML_GetCurrentByteIndex(p->xp);
    int n = XML_GetCurrentByteCount(p->xp);
    return (uint64_t)(i < 0 ? 0 : i) + (uint64_t)(n < 0 ? 0 : n);
}

static bool check_size(xmppcore_parser *p, uint64_t pos)
{
    if (!p->header_done && !p->document) {
        if (pos > p->limits[XMPPCORE_LIMIT_HEADER_BYTES]) {
            fail(p, XMPPCORE_E_POLICY, "stream header exceeds %zu bytes",
                 p->limits[XMPPCORE_LIMIT_HEADER_BYTES]);
            return false;
        }
        return true;
    }
    if (pos - p->boundary > p->limits[XMPPCORE_LIMIT_STANZA_BYTES]) {
        fail(p, XMPPCORE_E_POLICY, "stanza exceeds %zu bytes",
             p->limits[XMPPCORE_LIMIT_STANZA_BYTES]);
        return false;
    }
    return true;
}

/* Splits expat's "uri<SEP>local<SEP>prefix" (or "uri<SEP>local", or
 * "local"). The local name is returned NUL-terminated in a copy only when
 * a prefix follows it, so callers get its length instead. */
static void split_name(const char *full, const char **ns, size_t *ns_len,
                       const char **local, size_t *local_len,
                       const char **prefix)
{
    const char *sep = strchr(full, NS_SEP);
    *prefix = NULL;
    if (sep) {
        *ns = full;
        *ns_len = (size_t)(sep - full);
        *local = sep + 1;
        const char *sep2 = strchr(*local, NS_SEP);
        if (sep2) {
            *local_len = (size_t)(sep2 - *local);
            *prefix = sep2 + 1;
        } else {
            *local_len = strlen(*local);
        }
    } else {
        *ns = "";
        *ns_len = 0;
        *local = full;
        *local_len = strlen(full);
    }
}

static int flush_text(xmppcore_parser *p)
{
    if (!p->text.len)
        return 0;
    int rc = xi_stanza_append_text(p->root->arena, p->cur,
                                   xmppcore_buffer_data(&p->text), p->text.len);
    xmppcore_buffer_clear(&p->text);
    return rc;
}

static int set_attrs(xmppcore_parser *p, xmppcore_stanza *e, const char **atts)
{
    size_t n = 0;
    while (atts[2 * n])
        n++;
    if (n > p->limits[XMPPCORE_LIMIT_ATTRS]) {
        fail(p, XMPPCORE_E_POLICY, "element <%s/> has more than %zu attributes",
             e->name, p->limits[XMPPCORE_LIMIT_ATTRS]);
        return -1;
    }
    if (!n)
        return 0;
    xi_arena *a = e->arena;
    e->attrs = xi_arena_alloc(a, n * sizeof *e->attrs);
    if (!e->attrs)
        return XMPPCORE_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const char *ns, *local, *prefix;
        size_t ns_len, local_len;
        split_name(atts[2 * i], &ns, &ns_len, &local, &local_len, &prefix);
        xi_attr *at = &e->attrs[i];
        at->ns = xi_ns_intern(ns, ns_len);
        if (!at->ns)
            at->ns = xi_arena_strndup(a, ns, ns_len);
        at->name = xi_arena_strndup(a, local, local_len);
        at->value = xi_arena_strndup(a, atts[2 * i + 1], strlen(atts[2 * i + 1]));
        if (!at->ns || !at->name || !at->value)
            return XMPPCORE_E_NOMEM;
    }
    e->nattrs = e->attr_cap = (uint32_t)n;
    return 0;
}

/* After a host callback: honour a reset or stop it asked for by suspending
 * expat just after the current event. */
static void after_callback(xmppcore_parser *p)
{
    if ((p->reset_req || p->stop_req) && !p->error) {
        p->suspend_pos = pos_after_event(p);
        XML_StopParser(p->xp, XML_TRUE);
    }
}

static void on_stream_header(xmppcore_parser *p, const char *ns, size_t ns_len,
                             const char *local, size_t local_len,
                             const char *prefix, const char **atts)
{
    if (p->priming) {
        /* Our own replayed header: state only, no callback. */
        p->header_done = true;
        p->boundary = pos_after_event(p);
        return;
    }
    if (ns_len != strlen(XMPPCORE_NS_STREAMS) ||
        memcmp(ns, XMPPCORE_NS_STREAMS, ns_len) != 0) {
        fail(p, XMPPCORE_E_INVALID_NAMESPACE,
             "stream element not in the streams namespace");
        return;
    }
    if (local_len != 6 || memcmp(local, "stream", 6) != 0) {
        fail(p, XMPPCORE_E_XML, "top-level element <%.*s/> is not a stream",
             (int)(local_len > 64 ? 64 : local_len), local);
        return;
    }
    if (prefix) {
        p->stream_prefix = xi_strdup(p->mem, prefix);
        if (!p->stream_prefix) {
            fail(p, XMPPCORE_E_NOMEM, "out of memory");
            return;
        }
    }
    xmppcore_stanza *h = xi_stanza_new_root(p->mem, 512, local, local_len,
                                            ns, ns_len);
    int rc = h ? set_attrs(p, h, atts) : XMPPCORE_E_NOMEM;
    if (rc != 0) {
        if (rc == XMPPCORE_E_NOMEM)
            fail(p, rc, "out of memory");
        xmppcore_stanza_free(h);
        return;
    }
    p->header_done = true;
    p->boundary = pos_after_event(p);
    if (p->cb.stream_start)
        p->cb.stream_start(p->ud, h, p->default_ns ? p->default_ns : "");
    xmppcore_stanza_free(h);
    after_callback(p);
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    xmppcore_parser *p = ud;
    if (p->error)
        return;
    p->depth++;
    const char *ns, *local, *prefix;
    size_t ns_len, local_len;
    split_name(name, &ns, &ns_len, &local, &local_len, &prefix);
    if (!p->document && p->depth == 1) {
        if (!check_size(p, pos_after_event(p)))
            return;
        on_stream_header(p, ns, ns_len, local, local_len, prefix, atts);
        return;
    }
    if (!check_size(p, pos_after_event(p)))
        return;
    int inner = p->document ? p->depth : p->depth - 1;
    if ((size_t)inner > p->limits[XMPPCORE_LIMIT_DEPTH]) {
        fail(p, XMPPCORE_E_POLICY, "elements nested deeper than %zu",
             p->limits[XMPPCORE_LIMIT_DEPTH]);
        return;
    }
    xmppcore_stanza *e;
    if (inner == 1) {
        e = xi_stanza_new_root(p->mem, STANZA_ARENA_HINT, local, local_len,
                               ns, ns_len);
        p->root = e;
    } else {
        if (flush_text(p) < 0) {
            fail(p, XMPPCORE_E_NOMEM, "out of memory");
            return;
        }
        /* Children mostly share their parent's namespace: share the string. */
        const char *shared = NULL;
        if (strlen(p->cur->ns) == ns_len && memcmp(p->cur->ns, ns, ns_len) == 0)
            shared = p->cur->ns;
        e = xi_stanza_new_elem(p->root->arena, p->cur, local, local_len,
                               shared, ns, ns_len);
    }
    if (!e) {
        fail(p, XMPPCORE_E_NOMEM, "out of memory");
        return;
    }
    p->cur = e;
    int rc = set_attrs(p, e, atts);
    if (rc == XMPPCORE_E_NOMEM)
        fail(p, rc, "out of memory");
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    xmppcore_parser *p = ud;
    XI_UNUSED(name);
    if (p->error)
        return;
    int depth = p->depth--;
    if (!p->document && depth == 1) {
        if (p->cb.stream_end)
            p->cb.stream_end(p->ud);
        after_callback(p);
        return;
    }
    if (flush_text(p) < 0) {
        fail(p, XMPPCORE_E_NOMEM, "out of memory");
        return;
    }
    int inner = p->document ? depth : depth - 1;
    if (inner > 1) {
        p->cur = p->cur->parent;
        return;
    }
    xmppcore_stanza *s = p->root;
    p->root = p->cur = NULL;
    p->boundary = pos_after_event(p);
    if (p->cb.stanza)
        p->cb.stanza(p->ud, s);
    else
        xmppcore_stanza_free(s);
    after_callback(p);
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    xmppcore_parser *p = ud;
    if (p->error)
        return;
    uint64_t pos = pos_after_event(p);
    if (!p->root) {
        /* Between stanzas: whitespace keepalives. Nothing is kept. */
        if (p->header_done)
            p->boundary = pos;
        return;
    }
    if (!check_size(p, pos))
        return;
    if (xi_buf_put(&p->text, s, (size_t)len) < 0)
        fail(p, XMPPCORE_E_NOMEM, "out of memory");
}

static void XMLCALL on_cdata_start(void *ud)
{
    ((xmppcore_parser *)ud)->in_cdata = true;
}

static void XMLCALL on_cdata_end(void *ud)
{
    ((xmppcore_parser *)ud)->in_cdata = false;
}

static void XMLCALL on_xmldecl(void *ud, const XML_Char *version,
                               const XML_Char *encoding, int standalone)
{
    xmppcore_parser *p = ud;
    XI_UNUSED(version);
    XI_UNUSED(standalone);
    if (encoding && strcasecmp(encoding, "UTF-8") != 0)
        fail(p, XMPPCORE_E_ENCODING, "encoding %.40s is not UTF-8", encoding);
}

/* Appends text to the buffer escaped for a single-quoted attribute. */
static int put_attr_text(struct xmppcore_buffer *b, const char *t)
{
    for (; *t; t++) {
        const char *r = *t == '&' ? "&amp;" : *t == '<' ? "&lt;"
                      : *t == '\'' ? "&apos;" : NULL;
        if (r ? xi_buf_puts(b, r) < 0 : xi_buf_put(b, t, 1) < 0)
            return XMPPCORE_E_NOMEM;
    }
    return 0;
}

static void XMLCALL on_ns_start(void *ud, const XML_Char *prefix,
                                const XML_Char *uri)
{
    xmppcore_parser *p = ud;
    if (p->error || p->document || p->depth != 0 || p->priming)
        return;
    /* Declarations on the stream header: kept to replay on resume. */
    int rc = xi_buf_puts(&p->hdr_decls, prefix ? " xmlns:" : " xmlns");
    if (!rc && prefix)
        rc = xi_buf_puts(&p->hdr_decls, prefix);
    if (!rc)
        rc = xi_buf_puts(&p->hdr_decls, "='");
    if (!rc)
        rc = put_attr_text(&p->hdr_decls, uri ? uri : "");
    if (!rc)
        rc = xi_buf_puts(&p->hdr_decls, "'");
    if (!rc && !prefix) {
        /* The stream header's default namespace: the content namespace. */
        xi_free(p->mem, p->default_ns);
        p->default_ns = xi_strdup(p->mem, uri ? uri : "");
        if (!p->default_ns)
            rc = XMPPCORE_E_NOMEM;
    }
    if (rc)
        fail(p, XMPPCORE_E_NOMEM, "out of memory");
}

static void XMLCALL on_comment(void *ud, const XML_Char *data)
{
    XI_UNUSED(data);
    fail(ud, XMPPCORE_E_RESTRICTED_XML, "XML comments are not allowed");
}

static void XMLCALL on_pi(void *ud, const XML_Char *target, const XML_Char *data)
{
    XI_UNUSED(target);
    XI_UNUSED(data);
    fail(ud, XMPPCORE_E_RESTRICTED_XML,
         "processing instructions are not allowed");
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset)
{
    XI_UNUSED(name);
    XI_UNUSED(sysid);
    XI_UNUSED(pubid);
    XI_UNUSED(has_internal_subset);
    fail(ud, XMPPCORE_E_RESTRICTED_XML, "DOCTYPE declarations are not allowed");
}

static void XMLCALL on_entity(void *ud, const XML_Char *name, int is_param,
                              const XML_Char *value, int value_len,
                              const XML_Char *base, const XML_Char *sysid,
                              const XML_Char *pubid, const XML_Char *notation)
{
    XI_UNUSED(name);
    XI_UNUSED(is_param);
    XI_UNUSED(value);
    XI_UNUSED(value_len);
    XI_UNUSED(base);
    XI_UNUSED(sysid);
    XI_UNUSED(pubid);
    XI_UNUSED(notation);
    fail(ud, XMPPCORE_E_RESTRICTED_XML, "entity declarations are not allowed");
}

static void XMLCALL on_skipped(void *ud, const XML_Char *name, int is_param)
{
    XI_UNUSED(name);
    XI_UNUSED(is_param);
    fail(ud, XMPPCORE_E_RESTRICTED_XML, "entity references are not allowed");
}

/* (Re)creates expat's state for a new document. */
static int expat_fresh(xmppcore_parser *p)
{
    if (p->xp) {
        if (!XML_ParserReset(p->xp, "UTF-8"))
            return XMPPCORE_E_NOMEM;
    } else {
        p->xp = XML_ParserCreate_MM("UTF-8", &ex_suite, "\x01");
        if (!p->xp)
            return XMPPCORE_E_NOMEM;
    }
    XML_Parser x = p->xp;
    /* Without a salt, expat makes a getrandom call for each new
     * document (each stream restart). */
    if (p->have_salt)
        XML_SetHashSalt(x, p->hash_salt);
    XML_SetReturnNSTriplet(x, XML_TRUE);
    XML_SetUserData(x, p);
    XML_SetElementHandler(x, on_start, on_end);
    XML_SetCharacterDataHandler(x, on_text);
    XML_SetCdataSectionHandler(x, on_cdata_start, on_cdata_end);
    XML_SetXmlDeclHandler(x, on_xmldecl);
    XML_SetStartNamespaceDeclHandler(x, on_ns_start);
    XML_SetCommentHandler(x, on_comment);
    XML_SetProcessingInstructionHandler(x, on_pi);
    XML_SetStartDoctypeDeclHandler(x, on_doctype);
    XML_SetEntityDeclHandler(x, on_entity);
    XML_SetSkippedEntityHandler(x, on_skipped);
    XML_SetParamEntityParsing(x, XML_PARAM_ENTITY_PARSING_NEVER);
#if HAVE_XML_SETREPARSEDEFERRALENABLED
    /* Deferral would hold back a stanza whose last bytes arrive alone. */
    XML_SetReparseDeferralEnabled(x, XML_FALSE);
#endif
    xmppcore_stanza_free(p->root);
    p->root = p->cur = NULL;
    xmppcore_buffer_clear(&p->text);
    p->depth = 0;
    p->fed = 0;
    p->error = 0;
    p->errtext[0] = '\0';
    p->reset_req = p->stop_req = p->stopped = false;
    p->hibernated = false;
    p->in_cdata = false;
    return 0;
}

/* A new stream: fresh expat and no header seen. */
static int setup_expat(xmppcore_parser *p)
{
    xi_free(p->mem, p->default_ns);
    p->default_ns = NULL;
    xi_free(p->mem, p->stream_prefix);
    p->stream_prefix = NULL;
    xmppcore_buffer_clear(&p->hdr_decls);
    p->header_done = false;
    p->boundary = 0;
    return expat_fresh(p);
}

static xmppcore_parser *parser_create(const xmppcore_parser_callbacks *cb,
                                      void *ud, const xmppcore_mem *mem,
                                      bool document)
{
    if (cb && cb->version < 1)
        return NULL;
    mem = xi_mem(mem);
    xmppcore_parser *p = xi_calloc(mem, sizeof *p);
    if (!p)
        return NULL;
    p->mem = mem;
    p->text.mem = mem;
    p->hdr_decls.mem = mem;
    if (cb)
        p->cb = *cb;
    p->ud = ud;
    p->document = document;
    memcpy(p->limits, default_limits, sizeof p->limits);
    WITH_MEM_BEGIN(p);
    int rc = setup_expat(p);
    WITH_MEM_END();
    if (rc < 0) {
        xmppcore_parser_free(p);
        return NULL;
    }
    return p;
}

void xi_parser_set_hash_salt(xmppcore_parser *p, unsigned long salt)
{
    p->have_salt = true;
    p->hash_salt = salt;
    /* The current document has not begun (a stream starts or restarts
     * only between feeds): expat still takes a salt. */
    if (p->xp && p->fed == 0)
        XML_SetHashSalt(p->xp, salt);
}

xmppcore_parser *xmppcore_parser_new(const xmppcore_parser_callbacks *cb,
                                     void *ud, const xmppcore_mem *mem)
{
    return parser_create(cb, ud, mem, false);
}

void xmppcore_parser_free(xmppcore_parser *p)
{
    if (!p)
        return;
    WITH_MEM_BEGIN(p);
    if (p->xp)
        XML_ParserFree(p->xp);
    WITH_MEM_END();
    xmppcore_stanza_free(p->root);
    xi_free(p->mem, p->text.data);
    xi_free(p->mem, p->hdr_decls.data);
    xi_free(p->mem, p->default_ns);
    xi_free(p->mem, p->stream_prefix);
    xi_free(p->mem, p);
}

int xmppcore_parser_set_limit(xmppcore_parser *p, xmppcore_parser_limit l,
                              size_t v)
{
    if ((unsigned)l >= XI_ARRAY_LEN(p->limits) || v == 0)
        return XMPPCORE_E_INVAL;
    p->limits[l] = v;
    return 0;
}

size_t xmppcore_parser_get_limit(const xmppcore_parser *p,
                                 xmppcore_parser_limit l)
{
    return (unsigned)l < XI_ARRAY_LEN(p->limits) ? p->limits[l] : 0;
}

const char *xmppcore_parser_error_text(const xmppcore_parser *p)
{
    return p->errtext;
}

int xmppcore_parser_reset(xmppcore_parser *p)
{
    /* Inside a callback expat cannot be reset: do it when it returns. */
    if (p->parsing) {
        p->reset_req = true;
        return 0;
    }
    WITH_MEM_BEGIN(p);
    int rc = setup_expat(p);
    WITH_MEM_END();
    return rc;
}

void xmppcore_parser_stop(xmppcore_parser *p)
{
    p->stop_req = true;
}

int xmppcore_parser_resume(xmppcore_parser *p)
{
    if (p->parsing || p->document || p->error)
        return p->error ? p->error : XMPPCORE_E_STATE;
    if (!p->header_done) {
        /* Nothing to replay: a plain restart. */
        WITH_MEM_BEGIN(p);
        int r = setup_expat(p);
        WITH_MEM_END();
        return r;
    }
    /* Replay the stream header to a fresh expat without telling anyone,
     * so the bytes that follow parse as the stream's children. */
    struct xmppcore_buffer hdr = {p->mem, NULL, 0, 0, 0};
    const char *pre = p->stream_prefix;
    int rc = xi_buf_puts(&hdr, "<");
    if (!rc && pre)
        rc = xi_buf_puts(&hdr, pre);
    if (!rc)
        rc = xi_buf_puts(&hdr, pre ? ":stream" : "stream");
    if (!rc)
        rc = xi_buf_put(&hdr, xmppcore_buffer_data(&p->hdr_decls),
                        p->hdr_decls.len);
    if (!rc)
        rc = xi_buf_puts(&hdr, ">");
    WITH_MEM_BEGIN(p);
    if (!rc)
        rc = expat_fresh(p);
    if (!rc) {
        p->boundary = 0;
        p->priming = true;
        p->parsing = true;
        enum XML_Status st = XML_Parse(p->xp, xmppcore_buffer_data(&hdr),
                                       (int)hdr.len, XML_FALSE);
        p->parsing = false;
        p->priming = false;
        if (st != XML_STATUS_OK || p->error) {
            rc = XMPPCORE_E_INTERNAL;
            p->error = 0;
            p->hibernated = true; /* try again on the next feed */
        } else {
            p->fed = hdr.len;
            p->boundary = p->fed;
        }
    }
    WITH_MEM_END();
    xi_free(p->mem, hdr.data);
    return rc == XMPPCORE_E_INTERNAL ? XMPPCORE_E_NOMEM : rc;
}

int xmppcore_parser_hibernate(xmppcore_parser *p)
{
    if (p->parsing || p->document || p->error || p->stopped ||
        !p->header_done || p->depth != 1 || p->root || p->in_cdata ||
        p->fed != p->boundary)
        return XMPPCORE_E_STATE;
    if (p->hibernated)
        return 0;
    WITH_MEM_BEGIN(p);
    XML_ParserFree(p->xp);
    WITH_MEM_END();
    p->xp = NULL;
    xi_free(p->mem, p->text.data);
    memset(&p->text, 0, sizeof p->text);
    p->text.mem = p->mem;
    p->hibernated = true;
    return 0;
}

static void set_expat_error(xmppcore_parser *p)
{
    enum XML_Error e = XML_GetErrorCode(p->xp);
    p->error = map_expat_error(e);
    snprintf(p->errtext, sizeof p->errtext, "line %lu, column %lu: %s",
             (unsigned long)XML_GetCurrentLineNumber(p->xp),
             (unsigned long)XML_GetCurrentColumnNumber(p->xp),
             XML_ErrorString(e));
}

static int feed(xmppcore_parser *p, const char *data, size_t len, bool final,
                size_t *consumed)
{
    size_t done = 0;
    if (consumed)
        *consumed = 0;
    if (p->error)
        return p->error;
    if (p->stopped)
        return XMPPCORE_E_STATE;
    if (p->hibernated) {
        int r = xmppcore_parser_resume(p);
        if (r < 0)
            return r;
    }
    int rc = 0;
    WITH_MEM_BEGIN(p);
    while (done < len || (final && done == len)) {
        size_t n = len - done < SLICE ? len - done : SLICE;
        bool last = final && done + n == len;
        uint64_t start = p->fed;
        p->parsing = true;
        enum XML_Status st = XML_Parse(p->xp, data + done, (int)n, last);
        p->parsing = false;
        if (st == XML_STATUS_ERROR) {
            if (!p->error)
                set_expat_error(p);
            rc = p->error;
            break;
        }
        if (st == XML_STATUS_SUSPENDED) {
            /* A callback asked for a reset or a stop after its element. */
            done += (size_t)(p->suspend_pos - start);
            bool stop = p->stop_req;
            if (p->reset_req) {
                rc = setup_expat(p);
                if (rc < 0)
                    break;
            } else {
                p->stopped = true; /* a reset or resume must follow */
            }
            if (stop) {
                p->stop_req = false;
                break;
            }
            continue;
        }
        p->fed += n;
        done += n;
        if (!check_size(p, p->fed)) {
            rc = p->error;
            break;
        }
        if (last)
            break;
    }
    WITH_MEM_END();
    if (consumed)
        *consumed = done;
    return rc;
}

int xmppcore_parser_feed(xmppcore_parser *p, const char *data, size_t len,
                         size_t *consumed)
{
    if (!data && len)
        return XMPPCORE_E_INVAL;
    return feed(p, data, len, false, consumed);
}

/* ---- one standalone element ---- */

static void grab_stanza(void *ud, xmppcore_stanza *s)
{
    xmppcore_stanza **out = ud;
    if (*out)
        xmppcore_stanza_free(s);
    else
        *out = s;
}

int xmppcore_stanza_parse(const xmppcore_mem *mem, const char *buf, size_t len,
                          xmppcore_stanza **out)
{
    *out = NULL;
    if (!buf && len)
        return XMPPCORE_E_INVAL;
    if (len > default_limits[XMPPCORE_LIMIT_STANZA_BYTES])
        return XMPPCORE_E_POLICY;
    xmppcore_parser_callbacks cb = {XMPPCORE_PARSER_CALLBACKS_VERSION, NULL,
                                    grab_stanza, NULL};
    xmppcore_stanza *s = NULL;
    xmppcore_parser *p = parser_create(&cb, &s, mem, true);
    if (!p)
        return XMPPCORE_E_NOMEM;
    int rc = feed(p, buf ? buf : "", len, true, NULL);
    if (rc == 0 && !s)
        rc = XMPPCORE_E_XML;
    xmppcore_parser_free(p);
    if (rc != 0) {
        xmppcore_stanza_free(s);
        return rc;
    }
    *out = s;
    return 0;
}
