/* Error codes: descriptions and the stream error condition of each. */
#include "core/core.h"

const char *xmppcore_strerror(int code)
{
    switch (code) {
    case XMPPCORE_OK: return "success";
    case XMPPCORE_E_INVAL: return "invalid argument";
    case XMPPCORE_E_NOMEM: return "out of memory";
    case XMPPCORE_E_NOTFOUND: return "not found";
    case XMPPCORE_E_EXISTS: return "already exists";
    case XMPPCORE_E_RANGE: return "value out of range";
    case XMPPCORE_E_STATE: return "invalid in the current state";
    case XMPPCORE_E_JID: return "malformed JID";
    case XMPPCORE_E_AGAIN: return "operation would block";
    case XMPPCORE_E_UNSUPPORTED: return "not supported";
    case XMPPCORE_E_IO: return "I/O or storage error";
    case XMPPCORE_E_AUTH: return "authentication failed";
    case XMPPCORE_E_FATAL: return "fatal stream error";
    case XMPPCORE_E_XML: return "XML not well-formed";
    case XMPPCORE_E_RESTRICTED_XML: return "XML feature not allowed in XMPP";
    case XMPPCORE_E_POLICY: return "limit exceeded";
    case XMPPCORE_E_BAD_PREFIX: return "undeclared or unsupported namespace prefix";
    case XMPPCORE_E_INVALID_NAMESPACE: return "invalid stream namespace";
    case XMPPCORE_E_ENCODING: return "encoding other than UTF-8";
    case XMPPCORE_E_INVALID_XML: return "invalid XML";
    case XMPPCORE_E_STREAM_CLOSED: return "stream closed by peer";
    case XMPPCORE_E_INTERNAL: return "internal error";
    case XMPPCORE_E_TLS: return "TLS failure";
    default: return "unknown error";
    }
}

int xmppcore_is_fatal(int code)
{
    return code <= XMPPCORE_E_FATAL;
}

const char *xmppcore_stream_condition(int code)
{
    switch (code) {
    case XMPPCORE_E_XML: return "not-well-formed";
    case XMPPCORE_E_RESTRICTED_XML: return "restricted-xml";
    case XMPPCORE_E_POLICY: return "policy-violation";
    case XMPPCORE_E_BAD_PREFIX: return "bad-namespace-prefix";
    case XMPPCORE_E_INVALID_NAMESPACE: return "invalid-namespace";
    case XMPPCORE_E_ENCODING: return "unsupported-encoding";
    case XMPPCORE_E_INVALID_XML: return "invalid-xml";
    case XMPPCORE_E_NOMEM:
    case XMPPCORE_E_INTERNAL: return "internal-server-error";
    default: return "undefined-condition";
    }
}
