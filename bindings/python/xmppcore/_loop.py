"""Running a server on the library's own epoll loop (net.h).

xmppcore_loop_run() runs with the GIL released, so other Python threads
keep running; Python hooks, handlers and timers are called on the loop's
thread. stop() and call_soon_threadsafe() may be called from any thread
(xmppcore_loop_shutdown/stop/post are thread-safe).
"""
import logging
import threading

from ._errors import Error, check, cstr, to_bytes
from ._xmppcore import ffi, lib

log = logging.getLogger("xmppcore")


class LoopMixin:
    """The built-in-loop half of Server."""

    def _loop_init(self):
        self._loop_p = None
        self._loop_handle = None
        self._loop_cb = ffi.new("xmppcore_loop_callbacks *", {
            "version": lib.XMPPCORE_LOOP_CALLBACKS_VERSION,
            "log": lib._xc_loop_log})
        self._loop_signals = False
        self._loop_running = threading.Event()
        self._loop_posts = {}      # address -> handle of a posted call
        self._loop_timers = {}     # id -> handle

    def _running(self):
        return self._loop_running.is_set()

    def _loop(self):
        self._ptr()
        if self._loop_p is None:
            if self._aio_loop is not None:
                raise Error(lib.XMPPCORE_E_STATE, "built-in loop",
                            "this server already runs in asyncio")
            self._loop_handle = ffi.new_handle(self)
            p = lib.xmppcore_loop_new(self._p, self._loop_cb, self._loop_handle)
            if p == ffi.NULL:
                raise Error(lib.XMPPCORE_E_IO, "xmppcore_loop_new")
            self._loop_p = p
        return self._loop_p

    def _loop_error(self):
        return cstr(lib.xmppcore_loop_last_error(self._loop_p))

    def listen(self, host="127.0.0.1", port=5222, listener=None):
        """Binds host:port (port 0: any free port) on the built-in loop
        for listener (default: the first one, or a new "c2s" one).
        Returns the port bound."""
        loop = self._loop()
        lst = self._default_listener(listener)
        return check(lib.xmppcore_loop_listen(loop, lst._ptr(),
                                              to_bytes(host), int(port)),
                     "listen on %s:%s" % (host, port), self._loop_error)

    def serve_forever(self, handle_signals=None):
        """Runs the built-in loop until stop() (from another thread, a
        hook, a timer) or, with handle_signals, SIGINT/SIGTERM (graceful
        shutdown: clients get system-shutdown). handle_signals defaults to
        True in the main thread. Returns when the loop stops."""
        loop = self._loop()
        if handle_signals is None:
            handle_signals = threading.current_thread() is threading.main_thread()
        if handle_signals and not self._loop_signals:
            check(lib.xmppcore_loop_catch_signals(loop), "catch signals",
                  self._loop_error)
            self._loop_signals = True
        self._loop_running.set()
        try:
            check(lib.xmppcore_loop_run(loop), "xmppcore_loop_run",
                  self._loop_error)
        finally:
            self._loop_running.clear()

    def run(self, host="127.0.0.1", port=5222, listener=None,
            handle_signals=None):
        """listen(host, port, listener), then serve_forever()."""
        self.listen(host, port, listener)
        self.serve_forever(handle_signals)

    def wait_running(self, timeout=None):
        """Blocks until serve_forever() runs (for other threads)."""
        return self._loop_running.wait(timeout)

    def stop(self, graceful=True, timeout_ms=-1):
        """Stops serve_forever(). Thread-safe. graceful: close listeners
        and connections (system-shutdown) first, waiting up to timeout_ms
        (negative: 2000) for the goodbyes; else just leave the loop."""
        p = self._loop_p
        if p is None:
            return
        if graceful:
            lib.xmppcore_loop_shutdown(p, int(timeout_ms))
        else:
            lib.xmppcore_loop_stop(p)

    def call_soon_threadsafe(self, fn, *args):
        """Runs fn(*args) on the loop's thread soon. Thread-safe."""
        item = (self, fn, args)
        h = ffi.new_handle(item)
        key = int(ffi.cast("uintptr_t", h))
        self._loop_posts[key] = h
        rc = lib.xmppcore_loop_post(self._loop(), lib._xc_loop_posted, h)
        if rc < 0:
            del self._loop_posts[key]
            check(rc, "call_soon_threadsafe")

    def call_later(self, delay, fn, *args, repeat=False):
        """Runs fn(*args) on the loop after delay seconds (every delay
        seconds with repeat). Returns an id for cancel_timer(). Loop
        thread only."""
        item = [self, fn, args, repeat, 0]
        h = ffi.new_handle(item)
        idp = ffi.new("uint64_t *")
        check(lib.xmppcore_loop_add_timer(self._loop(), int(delay * 1000),
                                          1 if repeat else 0,
                                          lib._xc_loop_timer, h, idp),
              "call_later")
        item[4] = idp[0]
        self._loop_timers[idp[0]] = h
        return idp[0]

    def cancel_timer(self, timer_id):
        if self._loop_p is None:
            return
        lib.xmppcore_loop_cancel_timer(self._loop_p, timer_id)
        self._loop_timers.pop(timer_id, None)

    @property
    def connection_count(self):
        """Open connections on the built-in loop."""
        return 0 if self._loop_p is None else \
            lib.xmppcore_loop_conn_count(self._loop_p)

    def _loop_free(self):
        if self._loop_p is None:
            return
        if self._running():
            raise Error(lib.XMPPCORE_E_STATE, "close",
                        "serve_forever() is still running: stop() it first")
        lib.xmppcore_loop_free(self._loop_p)
        self._loop_p = None
        self._loop_posts.clear()
        self._loop_timers.clear()
        self._loop_handle = None


@ffi.def_extern()
def _xc_loop_log(loop, level, msg, ud):
    try:
        ffi.from_handle(ud)._log(level, cstr(msg))
    except Exception:
        log.exception("loop log")


@ffi.def_extern()
def _xc_loop_posted(ud):
    srv, fn, args = ffi.from_handle(ud)
    srv._loop_posts.pop(int(ffi.cast("uintptr_t", ud)), None)
    try:
        fn(*args)
    except Exception:
        log.exception("call_soon_threadsafe callback %r raised", fn)


@ffi.def_extern()
def _xc_loop_timer(loop, timer_id, ud):
    item = ffi.from_handle(ud)
    srv, fn, args, repeat, _ = item
    if not repeat:
        srv._loop_timers.pop(timer_id, None)
    try:
        fn(*args)
    except Exception:
        log.exception("call_later callback %r raised", fn)
