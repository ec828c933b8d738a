"""Account storage written in Python (store.h, auth.h).

A Python object serves the xmppcore_store_auth_vtable: every vtable
function is an ``extern "Python"`` callback that calls the object's method
of the same name and completes the C callback with the result:

    get(vhost, user)            -> Credentials, or None (E_NOTFOUND)
    create(vhost, user, creds)  -> None (raise Error(E_EXISTS) if taken)
    set(vhost, user, creds)     -> None (raise KeyError if missing)
    remove(vhost, user)         -> None (raise KeyError if missing)
    exists(vhost, user)         -> bool
    list(vhost, after, limit)   -> usernames after `after`, sorted, <= limit
    count(vhost)                -> int
    create_many(vhost, [(user, creds), ...]) -> None, all or none

A missing method makes that call E_UNSUPPORTED. Errors: raise
xmppcore.Error(code) for a specific status; KeyError means E_NOTFOUND;
any other exception is logged with its traceback and becomes E_IO.

Completion is inline (before the vtable function returns) for ordinary
methods. A method may also be a coroutine function (``async def``): it
then runs as an asyncio task on the server's loop and completes the C
callback when it finishes - later, on the same thread, as store.h allows.
That needs a running asyncio loop (Server.start_asyncio()); on the
built-in loop an async method fails the call with E_UNSUPPORTED.
"""
import asyncio
import inspect
import logging
from dataclasses import dataclass, field

from ._errors import Error, check, cstr, to_bytes
from ._xmppcore import ffi, lib

log = logging.getLogger("xmppcore")


@dataclass
class ScramKeys:
    """SCRAM keys for one hash (iterations 0: absent)."""
    iterations: int = 0
    salt: bytes = b""
    stored_key: bytes = b""
    server_key: bytes = b""


@dataclass
class Credentials:
    """An account's stored credentials (never the password)."""
    sha1: ScramKeys = field(default_factory=ScramKeys)
    sha256: ScramKeys = field(default_factory=ScramKeys)

    @classmethod
    def derive(cls, password, iterations=0):
        """Fresh salted keys for password (xmppcore_credentials_derive)."""
        b = to_bytes(password, "password")
        c = ffi.new("xmppcore_credentials *")
        check(lib.xmppcore_credentials_derive(b, len(b), iterations, ffi.NULL,
                                              ffi.NULL, c),
              "Credentials.derive")
        return cls._from_c(c)

    def check_password(self, password):
        """True if password matches (constant-time, one PBKDF2)."""
        b = to_bytes(password, "password")
        rc = lib.xmppcore_credentials_check_password(self._to_c(), b, len(b))
        if rc == lib.XMPPCORE_E_AUTH:
            return False
        check(rc, "check_password")
        return True

    @classmethod
    def _from_c(cls, c):
        def keys(k, size):
            return ScramKeys(k.iterations, bytes(ffi.buffer(k.salt, k.salt_len)),
                             bytes(ffi.buffer(k.stored_key, size)),
                             bytes(ffi.buffer(k.server_key, size)))
        return cls(keys(c.sha1, 20), keys(c.sha256, 32))

    def _to_c(self, c=None):
        if c is None:
            c = ffi.new("xmppcore_credentials *")
        for k, src, size in ((c.sha1, self.sha1, 20),
                             (c.sha256, self.sha256, 32)):
            if len(src.salt) > 64:
                raise Error(lib.XMPPCORE_E_RANGE, "credentials", "salt too long")
            if src.iterations and (len(src.stored_key) != size or
                                   len(src.server_key) != size):
                raise Error(lib.XMPPCORE_E_INVAL, "credentials",
                            "keys must be %d bytes" % size)
            k.iterations = src.iterations
            k.salt_len = len(src.salt)
            ffi.memmove(k.salt, src.salt, len(src.salt))
            ffi.memmove(k.stored_key, src.stored_key, len(src.stored_key))
            ffi.memmove(k.server_key, src.server_key, len(src.server_key))
        return c


class DictAuthBackend:
    """Accounts in a Python dict: ``{vhost: {user: password or
    Credentials}}``. Passwords given as text are turned into credentials
    on first use (and cached); accounts created through the server are
    kept as Credentials. A complete, synchronous backend, and an example
    of the interface."""

    def __init__(self, accounts=None):
        self.accounts = {v: dict(u) for v, u in (accounts or {}).items()}
        self._derived = {}

    def _creds(self, vhost, user, value):
        if isinstance(value, Credentials):
            return value
        key = (vhost, user, value)
        if key not in self._derived:
            self._derived[key] = Credentials.derive(value)
        return self._derived[key]

    def get(self, vhost, user):
        value = self.accounts.get(vhost, {}).get(user)
        return None if value is None else self._creds(vhost, user, value)

    def create(self, vhost, user, creds):
        users = self.accounts.setdefault(vhost, {})
        if user in users:
            raise Error(lib.XMPPCORE_E_EXISTS, "create %s@%s" % (user, vhost))
        users[user] = creds

    def set(self, vhost, user, creds):
        users = self.accounts.get(vhost, {})
        if user not in users:
            raise KeyError(user)
        users[user] = creds

    def remove(self, vhost, user):
        del self.accounts.get(vhost, {})[user]

    def exists(self, vhost, user):
        return user in self.accounts.get(vhost, {})

    def list(self, vhost, after, limit):
        names = sorted(self.accounts.get(vhost, {}),
                       key=lambda n: n.encode("utf-8"))
        if after is not None:
            a = after.encode("utf-8")
            names = [n for n in names if n.encode("utf-8") > a]
        return names[:limit]

    def count(self, vhost):
        return len(self.accounts.get(vhost, {}))

    def create_many(self, vhost, accounts):
        users = self.accounts.setdefault(vhost, {})
        names = [u for u, _ in accounts]
        if len(set(names)) != len(names) or any(u in users for u in names):
            raise Error(lib.XMPPCORE_E_EXISTS, "create_many")
        for u, c in accounts:
            users[u] = c


def _status_of(exc):
    if isinstance(exc, Error):
        return exc.code
    if isinstance(exc, KeyError):
        return lib.XMPPCORE_E_NOTFOUND
    return lib.XMPPCORE_E_IO


class _Call:
    """One vtable call: the C callback to complete, exactly once."""
    __slots__ = ("bridge", "op", "complete", "task", "done")

    def __init__(self, bridge, op, complete):
        self.bridge = bridge
        self.op = op
        self.complete = complete  # complete(status, result)
        self.task = None
        self.done = False

    def finish(self, status, result=None):
        if self.done:
            return
        self.done = True
        self.bridge.pending.discard(self)
        try:
            self.complete(status, result)
        except Exception:
            # C must still hear of the call exactly once.
            log.exception("completing store call %s", self.op)
            if status == 0:
                self.complete(lib.XMPPCORE_E_IO, None)


class AuthBridge:
    """Binds a Python backend object to a C store's auth concern."""

    def __init__(self, server, backend):
        self.server = server
        self.backend = backend
        self.pending = set()
        self.handle = ffi.new_handle(self)
        self.vtable = ffi.new("xmppcore_store_auth_vtable *", {
            "version": lib.XMPPCORE_STORE_AUTH_VERSION,
            "get": lib._xc_auth_get, "create": lib._xc_auth_create,
            "set": lib._xc_auth_set, "remove": lib._xc_auth_remove,
            "exists": lib._xc_auth_exists, "list": lib._xc_auth_list,
            "count": lib._xc_auth_count,
            "create_many": lib._xc_auth_create_many})

    def make_store(self):
        store = lib.xmppcore_store_new(ffi.NULL)
        if store == ffi.NULL:
            raise Error(lib.XMPPCORE_E_NOMEM, "xmppcore_store_new")
        rc = lib.xmppcore_store_set_auth(store, self.vtable, self.handle)
        if rc < 0:
            lib.xmppcore_store_free(store)
            check(rc, "xmppcore_store_set_auth")
        return store

    def call(self, op, args, convert, complete):
        """Runs backend.op(*args). Returns the vtable's return code: 0 once
        the completion is done or scheduled, a negative code if not (and
        then complete is never called)."""
        method = getattr(self.backend, op, None)
        if method is None:
            return lib.XMPPCORE_E_UNSUPPORTED
        c = _Call(self, op, complete)
        try:
            r = method(*args)
        except Exception as e:
            if not isinstance(e, (Error, KeyError)):
                log.exception("auth backend %s() raised", op)
            c.finish(_status_of(e))
            return 0
        if not inspect.isawaitable(r):
            self._settle(c, r, convert)
            return 0
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            if inspect.iscoroutine(r):
                r.close()
            log.error("auth backend %s() is async, but no asyncio loop runs "
                      "(use Server.start_asyncio)", op)
            return lib.XMPPCORE_E_UNSUPPORTED
        c.task = asyncio.ensure_future(r, loop=loop)
        self.pending.add(c)

        def done(task):
            if task.cancelled():
                c.finish(lib.XMPPCORE_E_IO)
                return
            e = task.exception()
            if e is not None:
                if not isinstance(e, (Error, KeyError)):
                    log.error("auth backend %s() raised", op, exc_info=e)
                c.finish(_status_of(e))
                return
            self._settle(c, task.result(), convert)
        c.task.add_done_callback(done)
        return 0

    def _settle(self, c, result, convert):
        try:
            status, value = convert(result)
        except Exception as e:
            log.exception("auth backend %s() returned %r", c.op, result)
            c.finish(_status_of(e))
            return
        c.finish(status, value)

    def abort_pending(self):
        """At server close: complete every unfinished call with E_IO (C
        must see every callback before the store is freed)."""
        for c in list(self.pending):
            if c.task is not None:
                c.task.cancel()  # its done callback then finds c finished
            c.finish(lib.XMPPCORE_E_IO)


def _ok(_):
    return 0, None


def _creds_result(r):
    if r is None:
        return lib.XMPPCORE_E_NOTFOUND, None
    if not isinstance(r, Credentials):
        raise TypeError("get() must return Credentials or None")
    return 0, r


def _exists_result(r):
    return (0 if r else lib.XMPPCORE_E_NOTFOUND), None


def _list_result(r):
    return 0, [str(u) for u in r]


def _count_result(r):
    return 0, int(r)


def _args(vhost, user):
    return cstr(vhost), cstr(user)


def _done_cb(cb, ud):
    return lambda status, _: cb(status, ud)


@ffi.def_extern()
def _xc_auth_get(backend, vhost, user, cb, ud):
    def complete(status, creds):
        if status == 0:
            cb(0, creds._to_c(), ud)
        else:
            cb(status, ffi.NULL, ud)
    return ffi.from_handle(backend).call("get", _args(vhost, user),
                                         _creds_result, complete)


@ffi.def_extern()
def _xc_auth_create(backend, vhost, user, creds, cb, ud):
    return ffi.from_handle(backend).call(
        "create", _args(vhost, user) + (Credentials._from_c(creds),), _ok,
        _done_cb(cb, ud))


@ffi.def_extern()
def _xc_auth_set(backend, vhost, user, creds, cb, ud):
    return ffi.from_handle(backend).call(
        "set", _args(vhost, user) + (Credentials._from_c(creds),), _ok,
        _done_cb(cb, ud))


@ffi.def_extern()
def _xc_auth_remove(backend, vhost, user, cb, ud):
    return ffi.from_handle(backend).call("remove", _args(vhost, user), _ok,
                                         _done_cb(cb, ud))


@ffi.def_extern()
def _xc_auth_exists(backend, vhost, user, cb, ud):
    return ffi.from_handle(backend).call("exists", _args(vhost, user),
                                         _exists_result, _done_cb(cb, ud))


@ffi.def_extern()
def _xc_auth_list(backend, vhost, after, limit, cb, ud):
    def complete(status, users):
        if status == 0 and users:
            keep = [ffi.new("char[]", to_bytes(u)) for u in users]
            cb(0, ffi.new("const char *[]", keep), len(keep), ud)
        else:
            cb(status, ffi.NULL, 0, ud)
    return ffi.from_handle(backend).call(
        "list", (cstr(vhost), cstr(after), int(limit)), _list_result, complete)


@ffi.def_extern()
def _xc_auth_count(backend, vhost, cb, ud):
    def complete(status, n):
        cb(status, n if status == 0 else 0, ud)
    return ffi.from_handle(backend).call("count", (cstr(vhost),),
                                         _count_result, complete)


@ffi.def_extern()
def _xc_auth_create_many(backend, vhost, accounts, n, cb, ud):
    accs = [(cstr(accounts[i].username), Credentials._from_c(accounts[i].creds))
            for i in range(n)]
    return ffi.from_handle(backend).call("create_many", (cstr(vhost), accs),
                                         _ok, _done_cb(cb, ud))
