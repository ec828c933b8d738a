"""Running a server inside asyncio, through the sans-IO API (server.h).

One asyncio.Protocol per accepted TCP connection owns one xmppcore_conn:

- data_received: tick the server with loop.time() in milliseconds, then
  xmppcore_conn_feed();
- want_write (from the library): schedule a flush with call_soon; the
  flush writes xmppcore_conn_output() to the transport and consumes it
  (paused while the transport's buffer is above its high-water mark);
- eof_received / connection_lost: xmppcore_conn_eof();
- closed (from the library): schedule the end with call_soon: flush the
  last bytes, close the transport, then xmppcore_conn_free() - never from
  inside the callback itself.

Timers: one loop.call_at() for the server's next timeout
(xmppcore_server_next_timeout), re-armed after each tick and whenever the
library says the earliest timer changed. No threads and no polling. TLS
(STARTTLS, direct TLS) happens inside the library: the transport is plain
TCP.
"""
import asyncio
import logging

from ._errors import Error, to_bytes
from ._xmppcore import ffi, lib

log = logging.getLogger("xmppcore")


class _Protocol(asyncio.Protocol):
    def __init__(self, server, listener):
        self.server = server
        self.listener = listener
        self.transport = None
        self.conn = None
        self.handle = None
        self.closed = False
        self.paused = False
        self.flush_pending = False
        self.reason = 0

    # -- asyncio side --

    def connection_made(self, transport):
        srv = self.server
        self.transport = transport
        if srv._p is None or srv._aio_closing:
            transport.abort()
            return
        peer = transport.get_extra_info("peername")
        peer_s = ("[%s]:%s" % peer[:2] if ":" in str(peer[0]) else
                  "%s:%s" % peer[:2]) if peer else ""
        srv._aio_tick()
        self.handle = ffi.new_handle(self)
        self.conn = lib.xmppcore_conn_new(self.listener._ptr(),
                                          to_bytes(peer_s), srv._aio_conn_cb,
                                          self.handle)
        if self.conn == ffi.NULL:
            self.conn = None
            self.handle = None
            log.error("xmppcore_conn_new failed for %s", peer_s)
            transport.abort()
            return
        srv._aio_conns.add(self)

    def data_received(self, data):
        if self.conn is None or self.closed:
            return
        self.server._aio_tick()
        lib.xmppcore_conn_feed(self.conn, data, len(data))
        self._flush()
        self.server._aio_arm()

    def eof_received(self):
        if self.conn is not None and not self.closed:
            self.server._aio_tick()
            lib.xmppcore_conn_eof(self.conn)
        return True  # the closed callback closes the transport

    def connection_lost(self, exc):
        if self.conn is not None and not self.closed:
            lib.xmppcore_conn_eof(self.conn)
        self.transport = None
        if self.conn is not None:
            self._finish()

    def pause_writing(self):
        self.paused = True

    def resume_writing(self):
        self.paused = False
        self._flush()

    # -- library side --

    def want_write(self):
        if not self.flush_pending:
            self.flush_pending = True
            self.server._aio_loop.call_soon(self._flush)

    def on_closed(self, reason):
        self.closed = True
        self.reason = reason
        # Free only after the callback has returned.
        self.server._aio_loop.call_soon(self._finish)

    def _flush(self):
        self.flush_pending = False
        if self.conn is None or self.transport is None or self.paused:
            return
        n = ffi.new("size_t *")
        while True:
            out = lib.xmppcore_conn_output(self.conn, n)
            if n[0] == 0:
                break
            self.transport.write(ffi.unpack(ffi.cast("char *", out), n[0]))
            lib.xmppcore_conn_consume(self.conn, n[0])
            if self.paused:
                break

    def _finish(self):
        if self.conn is None:
            return
        if self.transport is not None:
            self.paused = False
            self._flush()
            self.transport.close()
        conn, self.conn = self.conn, None
        self.server._aio_conns.discard(self)
        lib.xmppcore_conn_free(conn)
        self.handle = None


class AsyncioMixin:
    """The asyncio half of Server."""

    def _aio_init(self):
        self._aio_loop = None
        self._aio_servers = []
        self._aio_conns = set()
        self._aio_timer = None
        self._aio_arm_pending = False
        self._aio_closing = False
        self._aio_last = 0
        self._aio_conn_cb = ffi.new("xmppcore_conn_callbacks *", {
            "version": lib.XMPPCORE_CONN_CALLBACKS_VERSION,
            "want_write": lib._xc_want_write,
            "closed": lib._xc_closed})

    async def start_asyncio(self, host="127.0.0.1", port=5222, listener=None,
                            **kwargs):
        """Listens on host:port in the running asyncio loop for listener
        (default: the first one added, or a new "c2s" one). Returns the
        asyncio.Server (its sockets tell the port when port is 0). May be
        called once per listener/address. kwargs go to
        loop.create_server()."""
        self._ptr()
        if self._loop_p is not None:
            raise Error(lib.XMPPCORE_E_STATE, "start_asyncio",
                        "this server already runs on the built-in loop")
        loop = asyncio.get_running_loop()
        if self._aio_loop is None:
            self._aio_loop = loop
        elif self._aio_loop is not loop:
            raise Error(lib.XMPPCORE_E_STATE, "start_asyncio",
                        "the server belongs to another asyncio loop")
        lst = self._default_listener(listener)
        self._aio_tick()
        srv = await loop.create_server(lambda: _Protocol(self, lst), host,
                                       port, **kwargs)
        self._aio_servers.append(srv)
        self._aio_arm()
        return srv

    @property
    def asyncio_ports(self):
        """The ports the asyncio listeners are bound to."""
        return [s.getsockname()[1] for srv in self._aio_servers
                for s in srv.sockets]

    async def aclose(self, condition="system-shutdown", timeout=2.0):
        """Stops listening, closes every connection with a stream error
        (condition; None for none), waits up to timeout seconds for the
        goodbyes to be written, then close()s the server."""
        if self._p is None:
            return
        self._aio_closing = True
        for srv in self._aio_servers:
            srv.close()
        for p in list(self._aio_conns):
            if not p.closed:
                lib.xmppcore_conn_close(
                    p.conn, to_bytes(condition) if condition else ffi.NULL)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._aio_conns and loop.time() < deadline:
            await asyncio.sleep(0.01)
        for srv in self._aio_servers:
            await srv.wait_closed()
        self.close()

    def _aio_now(self):
        now = int(self._aio_loop.time() * 1000)
        if now < self._aio_last:  # never go back
            now = self._aio_last
        self._aio_last = now
        return now

    def _aio_tick(self):
        if self._aio_loop is not None and self._p is not None:
            lib.xmppcore_server_tick(self._p, self._aio_now())

    def _aio_arm(self):
        self._aio_arm_pending = False
        if self._aio_loop is None or self._p is None:
            return
        t = lib.xmppcore_server_next_timeout(self._p)
        if self._aio_timer is not None:
            self._aio_timer.cancel()
            self._aio_timer = None
        if t >= 0:
            self._aio_timer = self._aio_loop.call_at(
                (self._aio_last + t) / 1000.0, self._aio_fire)

    def _aio_fire(self):
        self._aio_timer = None
        self._aio_tick()
        self._aio_arm()

    def _aio_timer_changed(self):
        # From inside a library call: re-arm once it has returned.
        if self._aio_loop is not None and not self._aio_arm_pending:
            self._aio_arm_pending = True
            self._aio_loop.call_soon(self._aio_arm)

    def _aio_close_all(self):
        """Frees every asyncio connection (from close())."""
        for srv in self._aio_servers:
            srv.close()
        for p in list(self._aio_conns):
            p._finish()
        if self._aio_timer is not None:
            self._aio_timer.cancel()
            self._aio_timer = None

    def _aio_forget(self):
        self._aio_servers = []


@ffi.def_extern()
def _xc_want_write(conn, ud):
    try:
        ffi.from_handle(ud).want_write()
    except Exception:
        log.exception("want_write")


@ffi.def_extern()
def _xc_closed(conn, reason, ud):
    try:
        ffi.from_handle(ud).on_closed(reason)
    except Exception:
        log.exception("closed")

