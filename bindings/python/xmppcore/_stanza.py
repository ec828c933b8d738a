"""Stanzas: Python views of libxmppcore's element trees (stanza.h).

Ownership. A ``Stanza`` is a view of one node of a C tree plus the object
that keeps that tree valid (its *owner*):

- a tree made in Python (``Stanza(...)``, ``Stanza.parse()``, ``.copy()``,
  ``.reply()``) is owned by Python: the C root is freed when the last view
  of any of its nodes goes away;
- a stanza handed to a hook or IQ handler is borrowed from the library for
  the duration of the callback. Its views are invalidated when the callback
  returns (or when the handler replaces the event's stanza), and any later
  use raises ``xmppcore.StaleError`` instead of touching freed memory. Keep
  a borrowed stanza with ``.copy()``.

Strings are copied into Python on every read, so nothing returned here
points into C memory.
"""
from collections.abc import MutableMapping

from ._errors import Error, StaleError, check, cstr, to_bytes
from ._xmppcore import ffi, lib

NS_XML = "http://www.w3.org/XML/1998/namespace"
NS_CLIENT = "jabber:client"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"


_ERROR_TYPES = {"cancel", "modify", "auth", "wait", "continue"}


class _Root:
    """Owns a C root (frees it when collected)."""
    __slots__ = ("ptr", "valid", "__weakref__")

    def __init__(self, ptr):
        self.ptr = ptr
        self.valid = True

    def __del__(self):
        if self.valid and self.ptr is not None:
            self.valid = False
            lib.xmppcore_stanza_free(self.ptr)
            self.ptr = None


class _Scope:
    """Validity of a tree borrowed from C for one callback."""
    __slots__ = ("valid", "what", "__weakref__")

    def __init__(self, what):
        self.valid = True
        self.what = what

    def invalidate(self):
        self.valid = False


def _split_key(key):
    """'name' -> (None, 'name'); '{ns}name' -> (ns, name);
    'xml:lang' -> (NS_XML, 'lang')."""
    if not isinstance(key, str):
        raise TypeError("attribute names are str")
    if key.startswith("{"):
        ns, sep, name = key[1:].partition("}")
        if not sep:
            raise KeyError(key)
        return ns, name
    if key.startswith("xml:"):
        return NS_XML, key[4:]
    return None, key


class Attrs(MutableMapping):
    """The attributes of an element, as a mutable mapping. Keys are local
    names, or '{namespace}name' for namespaced attributes ('xml:lang' is
    accepted for '{http://www.w3.org/XML/1998/namespace}lang')."""
    __slots__ = ("_st",)

    def __init__(self, st):
        self._st = st

    def __getitem__(self, key):
        ns, name = _split_key(key)
        p = self._st._ptr()
        v = lib.xmppcore_stanza_attr_ns(p, to_bytes(ns) or ffi.NULL,
                                        to_bytes(name, "attribute name"))
        if v == ffi.NULL:
            raise KeyError(key)
        return cstr(v)

    def __setitem__(self, key, value):
        ns, name = _split_key(key)
        if value is None:
            raise TypeError("attribute values are str (del to remove)")
        check(lib.xmppcore_stanza_set_attr_ns(
            self._st._ptr(), to_bytes(ns) or ffi.NULL,
            to_bytes(name, "attribute name"),
            to_bytes(str(value), "attribute value")),
            "set attribute %r" % key)

    def __delitem__(self, key):
        if key not in self:
            raise KeyError(key)
        ns, name = _split_key(key)
        check(lib.xmppcore_stanza_set_attr_ns(
            self._st._ptr(), to_bytes(ns) or ffi.NULL, to_bytes(name),
            ffi.NULL), "remove attribute %r" % key)

    def _items(self):
        p = self._st._ptr()
        n = lib.xmppcore_stanza_attr_count(p)
        nsp = ffi.new("const char **")
        namep = ffi.new("const char **")
        valp = ffi.new("const char **")
        out = []
        for i in range(n):
            check(lib.xmppcore_stanza_attr_at(p, i, nsp, namep, valp))
            ns, name = cstr(nsp[0]), cstr(namep[0])
            out.append(("{%s}%s" % (ns, name) if ns else name, cstr(valp[0])))
        return out

    def __iter__(self):
        return iter([k for k, _ in self._items()])

    def __len__(self):
        return lib.xmppcore_stanza_attr_count(self._st._ptr())

    def __repr__(self):
        return "Attrs(%r)" % dict(self._items())


class Stanza:
    """An XML element of a libxmppcore stanza tree.

    ``Stanza(name, ns=None, attrs=None, text=None)`` makes a new root owned
    by Python. ``Stanza.parse(xml)`` parses one element. See the module
    documentation for borrowed stanzas in callbacks.
    """
    __slots__ = ("_p", "_owner")

    def __init__(self, name, ns=None, attrs=None, text=None):
        p = lib.xmppcore_stanza_new(ffi.NULL, to_bytes(name, "name"),
                                    to_bytes(ns) if ns is not None else ffi.NULL)
        if p == ffi.NULL:
            raise Error(lib.XMPPCORE_E_INVAL if not name else
                        lib.XMPPCORE_E_NOMEM, "Stanza(%r)" % (name,))
        self._p = p
        self._owner = _Root(p)
        if attrs:
            for k, v in attrs.items():
                self.attrs[k] = v
        if text is not None:
            self.text = text

    @classmethod
    def _wrap(cls, p, owner):
        if p == ffi.NULL:
            return None
        st = cls.__new__(cls)
        st._p = p
        st._owner = owner
        return st

    @classmethod
    def _adopt(cls, p, context):
        """Takes ownership of a new C root."""
        if p == ffi.NULL:
            raise Error(lib.XMPPCORE_E_NOMEM, context)
        return cls._wrap(p, _Root(p))

    @classmethod
    def parse(cls, xml):
        """Parses one complete element (str or bytes) into a new root.
        Raises Error (E_XML, E_RESTRICTED_XML, ...) if it is not one."""
        b = xml.encode("utf-8") if isinstance(xml, str) else bytes(xml)
        out = ffi.new("xmppcore_stanza **")
        check(lib.xmppcore_stanza_parse(ffi.NULL, b, len(b), out),
              "Stanza.parse")
        return cls._adopt(out[0], "Stanza.parse")

    # ---- validity ----

    def _ptr(self):
        if not self._owner.valid:
            what = getattr(self._owner, "what", "stanza")
            raise StaleError("%s used after the callback that lent it "
                             "returned (keep a .copy())" % what)
        return self._p

    @property
    def valid(self):
        """False once a borrowed stanza's callback has returned."""
        return self._owner.valid

    @property
    def borrowed(self):
        """True for a stanza lent by the library to a callback."""
        return isinstance(self._owner, _Scope)

    # ---- reading ----

    @property
    def name(self):
        return cstr(lib.xmppcore_stanza_name(self._ptr()))

    @name.setter
    def name(self, value):
        check(lib.xmppcore_stanza_set_name(self._ptr(), to_bytes(value, "name")),
              "rename to %r" % (value,))

    @property
    def ns(self):
        """Namespace URI ("" for none)."""
        return cstr(lib.xmppcore_stanza_ns(self._ptr()))

    @property
    def attrs(self):
        return Attrs(self)

    def get(self, name, default=None):
        """An attribute's value, or default."""
        return self.attrs.get(name, default)

    def __getitem__(self, name):
        return self.attrs[name]

    def __setitem__(self, name, value):
        self.attrs[name] = value

    def __delitem__(self, name):
        del self.attrs[name]

    @property
    def text(self):
        """Concatenated text of the direct text children ("" if none).
        Setting it replaces all children by one text node."""
        v = lib.xmppcore_stanza_text(self._ptr())
        if v == ffi.NULL:
            raise Error(lib.XMPPCORE_E_NOMEM, "Stanza.text")
        return cstr(v)

    @text.setter
    def text(self, value):
        check(lib.xmppcore_stanza_set_text(
            self._ptr(), to_bytes(value, "text") if value else ffi.NULL),
            "set text")

    @property
    def parent(self):
        return Stanza._wrap(lib.xmppcore_stanza_parent(self._ptr()), self._owner)

    @property
    def children(self):
        """The child elements (a new list of views)."""
        out = []
        c = lib.xmppcore_stanza_child(self._ptr(), ffi.NULL, ffi.NULL)
        while c != ffi.NULL:
            out.append(Stanza._wrap(c, self._owner))
            c = lib.xmppcore_stanza_next_match(c, ffi.NULL, ffi.NULL)
        return out

    def __iter__(self):
        return iter(self.children)

    @property
    def nodes(self):
        """All children in order: Stanza for elements, str for text."""
        out = []
        c = lib.xmppcore_stanza_first(self._ptr())
        while c != ffi.NULL:
            if lib.xmppcore_stanza_is_text(c):
                out.append(cstr(lib.xmppcore_stanza_text(c)))
            else:
                out.append(Stanza._wrap(c, self._owner))
            c = lib.xmppcore_stanza_next(c)
        return out

    def find(self, name=None, ns=None):
        """The first child element with this local name (None: any) and
        namespace (None: any, "": none), or None."""
        c = lib.xmppcore_stanza_child(
            self._ptr(), to_bytes(name) if name is not None else ffi.NULL,
            to_bytes(ns) if ns is not None else ffi.NULL)
        return Stanza._wrap(c, self._owner)

    def find_all(self, name=None, ns=None):
        """Every child element matching as for find()."""
        bn = to_bytes(name) if name is not None else ffi.NULL
        bns = to_bytes(ns) if ns is not None else ffi.NULL
        out = []
        c = lib.xmppcore_stanza_child(self._ptr(), bn, bns)
        while c != ffi.NULL:
            out.append(Stanza._wrap(c, self._owner))
            c = lib.xmppcore_stanza_next_match(c, bn, bns)
        return out

    def find_text(self, name, ns=None):
        """Text of the first matching child, or None (e.g. 'body')."""
        c = self.find(name, ns)
        return None if c is None else c.text

    def __eq__(self, other):
        if not isinstance(other, Stanza):
            return NotImplemented
        return bool(lib.xmppcore_stanza_equal(self._ptr(), other._ptr()))

    __hash__ = None

    # ---- changing ----

    def add_child(self, child, ns=None, attrs=None, text=None):
        """Appends a child and returns it (a view into this tree).

        child is a name (a new element in namespace ns; None inherits this
        element's) or a Stanza, which is deep-copied into this tree."""
        p = self._ptr()
        if isinstance(child, Stanza):
            c = lib.xmppcore_stanza_add_copy(p, child._ptr())
            if c == ffi.NULL:
                raise Error(lib.XMPPCORE_E_NOMEM, "add_child")
            return Stanza._wrap(c, self._owner)
        c = lib.xmppcore_stanza_add_child(
            p, to_bytes(child, "name"),
            to_bytes(ns) if ns is not None else ffi.NULL)
        if c == ffi.NULL:
            raise Error(lib.XMPPCORE_E_INVAL, "add_child(%r)" % (child,))
        st = Stanza._wrap(c, self._owner)
        if attrs:
            for k, v in attrs.items():
                st.attrs[k] = v
        if text is not None:
            st.text = text
        return st

    def add_text(self, text):
        """Appends a text node."""
        b = to_bytes(text, "text")
        check(lib.xmppcore_stanza_add_text(self._ptr(), b, len(b)), "add_text")

    def remove(self):
        """Unlinks this element from its parent. The view stays readable
        while its old tree lives; add it elsewhere with add_child()."""
        lib.xmppcore_stanza_remove(self._ptr())

    # ---- new trees ----

    def copy(self):
        """A deep copy as a new root owned by Python."""
        return Stanza._adopt(lib.xmppcore_stanza_copy(self._ptr()), "copy")

    def reply(self, type=None):
        """A new root answering this stanza: same name, id, from/to
        swapped, type set (None: no type)."""
        return Stanza._adopt(lib.xmppcore_stanza_reply(
            self._ptr(), to_bytes(type) if type is not None else ffi.NULL),
            "reply")

    def error_reply(self, condition, type="cancel"):
        """A stanza error answering this stanza (RFC 6120 8.3). type is
        "cancel", "modify", "auth", "wait" or "continue"."""
        if type not in _ERROR_TYPES:
            raise Error(lib.XMPPCORE_E_INVAL, "error_reply",
                        "error type %r is not one of %s"
                        % (type, ", ".join(sorted(_ERROR_TYPES))))
        p = lib.xmppcore_stanza_error_reply(self._ptr(), to_bytes(type),
                                            to_bytes(condition))
        if p == ffi.NULL:
            raise Error(lib.XMPPCORE_E_INVAL, "error_reply(%r, %r)"
                        % (condition, type))
        return Stanza._adopt(p, "error_reply")

    # ---- serialization ----

    def to_xml(self, outer_ns=None):
        """The XML text. outer_ns is the default namespace in force where
        it goes ("jabber:client" inside a client stream omits that
        xmlns); None declares the root's namespace."""
        p = self._ptr()
        buf = lib.xmppcore_buffer_new(ffi.NULL)
        if buf == ffi.NULL:
            raise Error(lib.XMPPCORE_E_NOMEM, "to_xml")
        try:
            check(lib.xmppcore_stanza_serialize(
                p, to_bytes(outer_ns) if outer_ns is not None else ffi.NULL,
                buf), "to_xml")
            return ffi.unpack(lib.xmppcore_buffer_data(buf),
                              lib.xmppcore_buffer_len(buf)).decode("utf-8")
        finally:
            lib.xmppcore_buffer_free(buf)

    def __str__(self):
        return self.to_xml()

    def __repr__(self):
        if not self._owner.valid:
            return "<Stanza (stale)>"
        return "<Stanza %s>" % self.to_xml()


def borrow(p, what):
    """A view of a C tree lent for a callback, and the scope to invalidate
    when the callback returns."""
    scope = _Scope(what)
    return Stanza._wrap(p, scope), scope
