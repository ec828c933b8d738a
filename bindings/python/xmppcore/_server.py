"""The server: vhosts, options, certificates, listeners, accounts, hooks and
IQ handlers (server.h, hooks.h), shared by both ways of running it:
the built-in epoll loop (_loop.py) and asyncio (_aio.py).

Handles. Every Python object that C calls back (the server, each hook or
IQ registration, each pending account call) is passed as an
``ffi.new_handle()`` and the handle is kept in a dict or set of the server
for exactly as long as C holds it: until the registration is removed, the
completion has run, or the server is closed.

Exceptions raised by Python callbacks never reach C: they are logged with
their traceback on the "xmppcore" logger, and the callback answers as
documented (a hook continues, an IQ handler answers
internal-server-error).
"""
import asyncio
import logging
import threading

from . import _aio, _loop, _store
from ._errors import Error, StaleError, check, cstr, to_bytes
from ._stanza import Stanza, borrow
from ._xmppcore import ffi, lib

log = logging.getLogger("xmppcore")

CONTINUE = lib.XMPPCORE_HOOK_CONTINUE
STOP = lib.XMPPCORE_HOOK_STOP
DROP = lib.XMPPCORE_HOOK_DROP

_LEVELS = {3: logging.ERROR, 4: logging.WARNING, 5: logging.INFO,
           6: logging.INFO, 7: logging.DEBUG}


_init_done = False


def _init():
    global _init_done
    if not _init_done:
        check(lib.xmppcore_init(), "xmppcore_init")
        _init_done = True


def version():
    """Version of the linked C library."""
    return cstr(lib.xmppcore_version())


def generate_self_signed_pem(domain, alt_names=(), days=365):
    """A fresh ECDSA key and self-signed certificate for domain (plus
    alt_names), made in memory: returns (cert_pem, key_pem) as str."""
    _init()
    key = lib.xmppcore_buffer_new(ffi.NULL)
    cert = lib.xmppcore_buffer_new(ffi.NULL)
    try:
        if key == ffi.NULL or cert == ffi.NULL:
            raise Error(lib.XMPPCORE_E_NOMEM, "generate_self_signed_pem")
        keep = [ffi.new("char[]", to_bytes(n)) for n in alt_names]
        arr = ffi.new("const char *[]", keep) if keep else ffi.NULL
        check(lib.xmppcore_tls_generate_self_signed_pem(
            ffi.NULL, to_bytes(domain, "domain"), arr, len(keep), days, key,
            cert), "generate_self_signed_pem(%r)" % (domain,))
        return (ffi.unpack(lib.xmppcore_buffer_data(cert),
                           lib.xmppcore_buffer_len(cert)).decode(),
                ffi.unpack(lib.xmppcore_buffer_data(key),
                           lib.xmppcore_buffer_len(key)).decode())
    finally:
        lib.xmppcore_buffer_free(key)
        lib.xmppcore_buffer_free(cert)


class Listener:
    """A listener's settings (server.h): the kind of stream and its
    options. Sockets belong to the host: pass it to Server.listen() or
    Server.start_asyncio()."""

    def __init__(self, server, ptr, kind, name):
        self._server = server
        self._p = ptr
        self.kind = kind
        self.name = name

    def _ptr(self):
        if self._p is None or self._server._p is None:
            raise StaleError("listener %r of a closed server" % self.name)
        return self._p

    def set_option(self, name, value):
        if isinstance(value, bool):
            value = "true" if value else "false"
        check(lib.xmppcore_listener_set_option(
            self._ptr(), to_bytes(name), to_bytes(str(value))),
            "listener option %s = %s" % (name, value))

    def __repr__(self):
        return "<Listener %s %s>" % (self.kind, self.name)


class HookEvent:
    """What a hook or IQ handler sees. Valid only during the call: the
    stanza is borrowed (see xmppcore.Stanza); afterwards every attribute
    but point/vhost raises StaleError."""

    def __init__(self, server, ev):
        self.server = server
        self._ev = ev
        self.point = cstr(lib.xmppcore_hook_event_point(ev))
        self.vhost = cstr(lib.xmppcore_hook_event_vhost(ev))
        self._stanza = None
        self._scope = None

    def _check(self):
        if self._ev is None:
            raise StaleError("hook event")
        return self._ev

    @property
    def stanza(self):
        """The stanza (None for points without one), borrowed for the call.
        Modify it in place, or assign a new Stanza (the event takes a copy
        and the old one becomes stale)."""
        ev = self._check()
        p = lib.xmppcore_hook_event_stanza(ev)
        if p == ffi.NULL:
            return None
        if self._stanza is None or self._stanza._p != p:
            if self._scope is not None:
                self._scope.invalidate()
            self._stanza, self._scope = borrow(p, "stanza of %s" % self.point)
        return self._stanza

    @stanza.setter
    def stanza(self, new):
        ev = self._check()
        if not isinstance(new, Stanza):
            raise TypeError("event.stanza must be a Stanza")
        copy = lib.xmppcore_stanza_copy(new._ptr())
        if copy == ffi.NULL:
            raise Error(lib.XMPPCORE_E_NOMEM, "replace the stanza")
        rc = lib.xmppcore_hook_event_set_stanza(ev, copy)
        if rc < 0:
            lib.xmppcore_stanza_free(copy)
            check(rc, "replace the stanza")
        # The old tree is freed by C now.
        if self._scope is not None:
            self._scope.invalidate()
        self._stanza = self._scope = None

    @property
    def session_jid(self):
        """The full JID of the session concerned, for the session points
        (user_send_packet, user_receive_packet, session_bound,
        session_closed); None elsewhere."""
        ev = self._check()
        se = lib.xmppcore_hook_event_session(ev)
        if se == ffi.NULL:
            return None
        return cstr(lib.xmppcore_session_jid(se))

    @property
    def account(self):
        """The bare JID of the account that just authenticated, at
        c2s_authenticated; None elsewhere."""
        ev = self._check()
        conn = lib.xmppcore_hook_event_conn(ev)
        if conn == ffi.NULL:
            return None
        return cstr(lib.xmppcore_conn_account(conn))

    def _close(self):
        self._ev = None
        if self._scope is not None:
            self._scope.invalidate()
        self._stanza = None

    def __repr__(self):
        return "<HookEvent %s vhost=%s>" % (self.point, self.vhost)


class _HookReg:
    def __init__(self, server, fn, point, vhost, priority, kind):
        self.server = server
        self.fn = fn
        self.point = point
        self.vhost = vhost
        self.priority = priority
        self.kind = kind  # "hook" or ("iq", ns, type bits)
        self.handle = ffi.new_handle(self)


class _Op:
    """A pending account call."""

    def __init__(self, what, owner):
        self.what = what
        self.owner = owner  # the server's set of pending ops
        self.done = False
        self.status = None
        self.future = None
        self.handle = ffi.new_handle(self)


class Server(_aio.AsyncioMixin, _loop.LoopMixin):
    """An XMPP server (xmppcore_server) with its store.

    Server(vhosts=(), *, store="memory", sqlite=None, auth_backend=None,
    log=None)

    store: "memory" (default: an in-memory store) or None (no store:
    every login fails); sqlite: a database path instead; auth_backend: a
    Python object serving accounts (see xmppcore.AuthBackend), used
    instead of both. log(level, message) receives the library's log lines
    (syslog levels); by default they go to logging.getLogger("xmppcore").

    Run it with serve_forever()/run() (the built-in epoll loop) or
    start_asyncio() (inside a running asyncio loop), not both. Close it
    with close() (or use it as a context manager).
    """

    def __init__(self, vhosts=(), *, store="memory", sqlite=None,
                 auth_backend=None, log=None):
        _init()
        self._p = None
        self._store = None
        self._auth = None
        self._log_fn = log
        self._hooks = {}      # id(reg) -> _HookReg, while registered
        self._ops = set()     # pending _Op
        self._listeners = []
        self._depth = 0       # > 0 inside a hook or IQ handler
        self._thread = threading.get_ident()
        self._handle = ffi.new_handle(self)
        self._cb = ffi.new("xmppcore_server_callbacks *", {
            "version": lib.XMPPCORE_SERVER_CALLBACKS_VERSION,
            "timer_changed": lib._xc_timer_changed,
            "log": lib._xc_server_log})
        _aio.AsyncioMixin._aio_init(self)
        _loop.LoopMixin._loop_init(self)
        p = lib.xmppcore_server_new(ffi.NULL, self._cb, self._handle)
        if p == ffi.NULL:
            raise Error(lib.XMPPCORE_E_NOMEM, "xmppcore_server_new")
        self._p = p
        try:
            if auth_backend is not None:
                self._auth = _store.AuthBridge(self, auth_backend)
                self._store = self._auth.make_store()
            elif sqlite is not None:
                out = ffi.new("xmppcore_store **")
                check(lib.xmppcore_store_sqlite_open(
                    to_bytes(str(sqlite)), ffi.NULL, ffi.NULL, out),
                    "open SQLite store %s" % sqlite)
                self._store = out[0]
            elif store == "memory":
                self._store = lib.xmppcore_store_memory_new(ffi.NULL)
                if self._store == ffi.NULL:
                    self._store = None
                    raise Error(lib.XMPPCORE_E_NOMEM, "memory store")
            elif store is not None:
                raise ValueError("store must be 'memory' or None")
            if self._store is not None:
                lib.xmppcore_server_set_store(self._p, self._store)
            for v in vhosts:
                self.add_vhost(v)
        except BaseException:
            self.close()
            raise

    # ---- lifetime ----

    def _ptr(self):
        if self._p is None:
            raise StaleError("closed server")
        return self._p

    @property
    def closed(self):
        return self._p is None

    def close(self):
        """Closes every connection, completes pending Python storage calls
        with E_IO, frees the loop, the server and its store. Listeners,
        hook events and borrowed stanzas of this server become stale.
        Not from inside a callback of this server."""
        if self._p is None:
            return
        if self._depth:
            raise Error(lib.XMPPCORE_E_STATE, "close",
                        "not from inside a hook or IQ handler")
        self._aio_close_all()
        self._loop_free()
        if self._auth is not None:
            self._auth.abort_pending()
        lib.xmppcore_server_free(self._p)
        self._p = None
        for lst in self._listeners:
            lst._p = None
        self._hooks.clear()
        if self._store is not None:
            lib.xmppcore_store_free(self._store)
            self._store = None
        self._aio_forget()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        # Normally close() ran; at interpreter exit, free what we can.
        try:
            if getattr(self, "_p", None) is not None and not self._running():
                self.close()
        except Exception:
            pass

    # ---- configuration ----

    def last_error(self):
        """xmppcore_server_last_error(): the last configuration error."""
        return cstr(lib.xmppcore_server_last_error(self._ptr())) or ""

    def _check(self, rc, context):
        return check(rc, context,
                     lambda: cstr(lib.xmppcore_server_last_error(self._p)))

    def add_vhost(self, domain):
        """Serves domain (a JID domainpart)."""
        self._check(lib.xmppcore_server_add_vhost(
            self._ptr(), to_bytes(domain, "domain")), "add_vhost(%r)" % (domain,))

    def set_option(self, name, value, vhost=None):
        """Sets an option (see server.h: auth.plain_without_tls,
        c2s.idle_timeout, ...) for vhost or, with None, as the default.
        Booleans and numbers are converted to the C strings."""
        if isinstance(value, bool):
            value = "true" if value else "false"
        self._check(lib.xmppcore_server_set_option(
            self._ptr(), to_bytes(vhost) if vhost else ffi.NULL,
            to_bytes(name), to_bytes(str(value))),
            "set_option(%s=%s)" % (name, value))

    def add_cert_pem(self, chain_pem, key_pem):
        """Adds a certificate chain and key from PEM text."""
        self._check(lib.xmppcore_server_add_cert_pem(
            self._ptr(), to_bytes(chain_pem), to_bytes(key_pem)),
            "add_cert_pem")

    def add_cert_file(self, chain_path, key_path=None):
        """Adds a certificate chain and key from PEM files (one file may
        hold both)."""
        self._check(lib.xmppcore_server_add_cert_file(
            self._ptr(), to_bytes(str(chain_path)),
            to_bytes(str(key_path or chain_path))),
            "add_cert_file(%s)" % (chain_path,))

    def add_self_signed_cert(self, domain, alt_names=(), days=365):
        """Generates a self-signed certificate in memory and adds it.
        Returns its PEM text (for clients that should trust it)."""
        cert, key = generate_self_signed_pem(domain, alt_names, days)
        self.add_cert_pem(cert, key)
        return cert

    def add_listener(self, kind="c2s", *, name=None, starttls=None,
                     starttls_required=None):
        """A listener: kind "c2s" (STARTTLS) or "c2s_tls" (direct TLS,
        XEP-0368). starttls_required=False lets clients authenticate
        without TLS (then also set auth.plain_without_tls for PLAIN)."""
        kinds = {"c2s": lib.XMPPCORE_LISTEN_C2S,
                 "c2s_tls": lib.XMPPCORE_LISTEN_C2S_TLS}
        if kind not in kinds:
            raise ValueError("kind must be 'c2s' or 'c2s_tls'")
        name = name or "%s-%d" % (kind, len(self._listeners) + 1)
        p = lib.xmppcore_server_add_listener(self._ptr(), to_bytes(name),
                                             kinds[kind])
        if p == ffi.NULL:
            raise Error(lib.XMPPCORE_E_NOMEM, "add_listener")
        lst = Listener(self, p, kind, name)
        if starttls is not None:
            lst.set_option("starttls", starttls)
        if starttls_required is not None:
            lst.set_option("starttls_required", starttls_required)
        self._listeners.append(lst)
        return lst

    @property
    def listeners(self):
        return list(self._listeners)

    def _default_listener(self, listener):
        if listener is not None:
            return listener
        return self._listeners[0] if self._listeners else self.add_listener()

    # ---- sending, sessions ----

    def send(self, stanza):
        """Routes a copy of stanza as if sent by its 'from' (a JID of one
        of this server's vhosts, or the vhost): IQ replies, bot messages.
        Allowed inside hooks and IQ handlers."""
        if not isinstance(stanza, Stanza):
            raise TypeError("send() takes a Stanza")
        check(lib.xmppcore_server_send(self._ptr(), stanza._ptr()), "send")

    def sessions(self, vhost=None):
        """Full JIDs of the bound sessions (of vhost, or all)."""
        out = []
        h = ffi.new_handle(out)
        lib.xmppcore_server_sessions(self._ptr(),
                                     to_bytes(vhost) if vhost else ffi.NULL,
                                     lib._xc_session_each, h)
        return out

    # ---- accounts ----

    def _account_start(self, what, fn, *args):
        op = _Op(what, self._ops)
        self._ops.add(op)
        rc = fn(self._ptr(), *args, lib._xc_account_done, op.handle)
        if rc < 0:
            self._ops.discard(op)
            check(rc, what)
        return op

    def _account_sync(self, op):
        if not op.done:
            raise Error(lib.XMPPCORE_E_AGAIN, op.what,
                        "the store completes it later: await the a... "
                        "variant (e.g. acreate_account) instead")
        check(op.status, op.what)

    async def _account_async(self, op):
        if not op.done:
            op.future = asyncio.get_running_loop().create_future()
            await op.future
        check(op.status, op.what)

    def _acct_args(self, vhost, user, password=None):
        a = [to_bytes(vhost, "vhost"), to_bytes(user, "user")]
        if password is not None:
            a.append(to_bytes(password, "password"))
        return a

    def create_account(self, vhost, user, password):
        """Creates user@vhost. Raises Error (E_EXISTS, E_JID, ...). For a
        store that completes later, use acreate_account()."""
        self._account_sync(self._account_start(
            "create_account(%s@%s)" % (user, vhost),
            lib.xmppcore_account_create, *self._acct_args(vhost, user, password)))

    def set_password(self, vhost, user, password):
        self._account_sync(self._account_start(
            "set_password(%s@%s)" % (user, vhost),
            lib.xmppcore_account_set_password,
            *self._acct_args(vhost, user, password)))

    def delete_account(self, vhost, user):
        """Deletes the account and closes its sessions."""
        self._account_sync(self._account_start(
            "delete_account(%s@%s)" % (user, vhost),
            lib.xmppcore_account_delete, *self._acct_args(vhost, user)))

    async def acreate_account(self, vhost, user, password):
        await self._account_async(self._account_start(
            "create_account(%s@%s)" % (user, vhost),
            lib.xmppcore_account_create, *self._acct_args(vhost, user, password)))

    async def aset_password(self, vhost, user, password):
        await self._account_async(self._account_start(
            "set_password(%s@%s)" % (user, vhost),
            lib.xmppcore_account_set_password,
            *self._acct_args(vhost, user, password)))

    async def adelete_account(self, vhost, user):
        await self._account_async(self._account_start(
            "delete_account(%s@%s)" % (user, vhost),
            lib.xmppcore_account_delete, *self._acct_args(vhost, user)))

    # ---- hooks and IQ handlers ----

    def hook(self, point, vhost=None, priority=50):
        """Decorator: registers fn(event) on a hook point ("user_send_packet",
        "filter_packet", "user_receive_packet", "c2s_authenticated",
        "session_bound", "session_closed"). fn returns CONTINUE (or None),
        STOP or DROP; it may change event.stanza in place or assign a new
        one. Lower priorities run first."""
        def register(fn):
            self.add_hook(point, fn, vhost=vhost, priority=priority)
            return fn
        return register

    def add_hook(self, point, fn, vhost=None, priority=50):
        reg = _HookReg(self, fn, point, vhost, priority, "hook")
        check(lib.xmppcore_hooks_add(
            lib.xmppcore_server_hooks(self._ptr()), to_bytes(point),
            to_bytes(vhost) if vhost else ffi.NULL, int(priority),
            lib._xc_hook, reg.handle), "add hook on %s" % point)
        self._hooks[id(reg)] = reg
        return reg

    def remove_hook(self, point, fn, vhost=None):
        """Removes the registrations of fn on point (and vhost)."""
        found = False
        for key, reg in list(self._hooks.items()):
            if (reg.kind == "hook" and reg.fn is fn and reg.point == point
                    and reg.vhost == vhost):
                check(lib.xmppcore_hooks_remove(
                    lib.xmppcore_server_hooks(self._ptr()), to_bytes(point),
                    to_bytes(vhost) if vhost else ffi.NULL, lib._xc_hook,
                    reg.handle), "remove hook")
                del self._hooks[key]
                found = True
        if not found:
            raise Error(lib.XMPPCORE_E_NOTFOUND, "remove_hook(%s)" % point)

    def iq_handler(self, ns, type=("get", "set"), vhost=None):
        """Decorator: fn(event) handles iqs of type "get", "set" (or both)
        whose payload is in namespace ns. It may return a reply Stanza (sent
        for it), send answers itself with server.send() and return None
        (handled), return CONTINUE (unhandled: the client gets
        service-unavailable) or DROP (it could not answer: the server sends
        internal-server-error). If it raises, the client gets
        internal-server-error. The namespace is advertised in disco#info."""
        def register(fn):
            self.add_iq_handler(ns, fn, type=type, vhost=vhost)
            return fn
        return register

    def add_iq_handler(self, ns, fn, type=("get", "set"), vhost=None):
        types = (type,) if isinstance(type, str) else tuple(type)
        bits = 0
        for t in types:
            if t not in ("get", "set"):
                raise ValueError("iq type must be 'get' or 'set'")
            bits |= lib.XMPPCORE_IQ_GET if t == "get" else lib.XMPPCORE_IQ_SET
        reg = _HookReg(self, fn, "iq", vhost, 0, ("iq", ns, bits))
        check(lib.xmppcore_iq_handler_add(
            lib.xmppcore_server_hooks(self._ptr()),
            to_bytes(vhost) if vhost else ffi.NULL, to_bytes(ns), bits,
            lib._xc_iq, reg.handle), "add IQ handler for %s" % ns)
        self._hooks[id(reg)] = reg
        return reg

    def remove_iq_handler(self, ns, type=("get", "set"), vhost=None):
        types = (type,) if isinstance(type, str) else tuple(type)
        bits = 0
        for t in types:
            bits |= lib.XMPPCORE_IQ_GET if t == "get" else lib.XMPPCORE_IQ_SET
        check(lib.xmppcore_iq_handler_remove(
            lib.xmppcore_server_hooks(self._ptr()),
            to_bytes(vhost) if vhost else ffi.NULL, to_bytes(ns), bits),
            "remove IQ handler for %s" % ns)
        # Forget registrations whose every type is gone. A handler being
        # dispatched keeps its own reference until it returns.
        for key, reg in list(self._hooks.items()):
            if (reg.kind != "hook" and reg.kind[1] == ns and reg.vhost == vhost):
                left = reg.kind[2] & ~bits
                if left:
                    reg.kind = ("iq", ns, left)
                else:
                    del self._hooks[key]

    # ---- callbacks ----

    def _log(self, level, msg):
        if self._log_fn is not None:
            self._log_fn(level, msg)
        else:
            log.log(_LEVELS.get(level, logging.INFO), "%s", msg)

    def _run_hook(self, reg, ev):
        event = HookEvent(self, ev)
        self._depth += 1
        try:
            r = reg.fn(event)
            if r is None:
                return CONTINUE
            if r in (CONTINUE, STOP, DROP):
                return int(r)
            log.error("hook %r on %s returned %r (not CONTINUE, STOP or "
                      "DROP): continuing", reg.fn, reg.point, r)
            return CONTINUE
        except Exception:
            log.exception("hook %r on %s raised: continuing", reg.fn,
                          reg.point)
            return CONTINUE
        finally:
            self._depth -= 1
            event._close()

    def _run_iq(self, reg, ev):
        event = HookEvent(self, ev)
        self._depth += 1
        try:
            r = reg.fn(event)
            if isinstance(r, Stanza):
                self.send(r)
                return STOP
            if r is None or r is True or r == STOP:
                return STOP
            if r is False or r == CONTINUE:
                return CONTINUE
            if r == DROP:
                return DROP
            log.error("IQ handler %r returned %r: treated as handled",
                      reg.fn, r)
            return STOP
        except Exception:
            log.exception("IQ handler %r for %s raised: answering "
                          "internal-server-error", reg.fn, reg.kind[1])
            try:
                iq = event.stanza
                if iq is not None:
                    self.send(iq.error_reply("internal-server-error", "wait"))
                return STOP
            except Exception:
                log.exception("could not answer the failed IQ")
                return DROP  # the server answers internal-server-error
        finally:
            self._depth -= 1
            event._close()


# ---- extern "Python" callbacks (see build_ffi.py) ----

def _onerror(exc, value, tb):
    log.error("exception in a libxmppcore callback", exc_info=(exc, value, tb))


@ffi.def_extern(onerror=_onerror)
def _xc_server_log(server, level, msg, ud):
    ffi.from_handle(ud)._log(level, cstr(msg))


@ffi.def_extern(onerror=_onerror)
def _xc_timer_changed(server, ud):
    ffi.from_handle(ud)._aio_timer_changed()


@ffi.def_extern(onerror=_onerror)
def _xc_hook(ev, ud):
    reg = ffi.from_handle(ud)
    return reg.server._run_hook(reg, ev)


@ffi.def_extern(onerror=_onerror)
def _xc_iq(ev, ud):
    reg = ffi.from_handle(ud)
    return reg.server._run_iq(reg, ev)


@ffi.def_extern(onerror=_onerror)
def _xc_session_each(jid, ud):
    ffi.from_handle(ud).append(cstr(jid))


@ffi.def_extern(onerror=_onerror)
def _xc_account_done(status, ud):
    op = ffi.from_handle(ud)
    op.done = True
    op.status = status
    fut = op.future
    if fut is not None and not fut.done():
        fut.set_result(status)
    # C is done with the handle: the server forgets the op.
    op.owner.discard(op)
