"""Errors: every negative XMPPCORE_E_* code becomes an ``xmppcore.Error``
carrying the code and the C library's own description."""
from ._xmppcore import ffi, lib

# The codes, as module constants (E_INVAL, E_NOTFOUND, ...).
CODES = {
    name[len("XMPPCORE_"):]: getattr(lib, name)
    for name in dir(lib)
    if name.startswith("XMPPCORE_E_")
}


def strerror(code):
    """The C library's description of code (xmppcore_strerror)."""
    return ffi.string(lib.xmppcore_strerror(code)).decode("utf-8", "replace")


class Error(Exception):
    """A failed libxmppcore call.

    ``code`` is the negative XMPPCORE_E_* code, ``name`` its name
    ("E_NOTFOUND"), and the message is xmppcore_strerror(code), followed by
    what the call was and, where the C library keeps one, its last-error
    text (e.g. xmppcore_server_last_error() for certificates)."""

    def __init__(self, code, context=None, detail=None):
        self.code = int(code)
        self.strerror = strerror(self.code)
        self.context = context
        self.detail = detail or None
        msg = self.strerror
        if context:
            msg = "%s: %s" % (context, msg)
        if self.detail:
            msg = "%s (%s)" % (msg, self.detail)
        super().__init__(msg)

    @property
    def name(self):
        for n, v in CODES.items():
            if v == self.code and n != "E_FATAL":
                return n
        return str(self.code)

    @property
    def fatal(self):
        """True if the code ends a stream (xmppcore_is_fatal)."""
        return bool(lib.xmppcore_is_fatal(self.code))


class StaleError(Error):
    """An object that C has freed (a stanza borrowed for a callback after
    the callback returned, a closed server's listener) was used."""

    def __init__(self, what):
        super().__init__(lib.XMPPCORE_E_STATE, what)


def check(rc, context=None, detail=None):
    """Raise Error for a negative return code; return rc otherwise."""
    if rc < 0:
        raise Error(rc, context, detail() if callable(detail) else detail)
    return rc


def to_bytes(s, what="string"):
    """A Python string as NUL-free UTF-8 for C (None stays None)."""
    if s is None:
        return None
    if isinstance(s, str):
        b = s.encode("utf-8")
    elif isinstance(s, (bytes, bytearray)):
        b = bytes(s)
    else:
        raise TypeError("%s must be str, not %s" % (what, type(s).__name__))
    if b"\0" in b:
        raise ValueError("%s contains a NUL character" % what)
    return b


def cstr(p):
    """A borrowed C string as a Python str (None for NULL)."""
    if p == ffi.NULL:
        return None
    return ffi.string(p).decode("utf-8", "replace")
