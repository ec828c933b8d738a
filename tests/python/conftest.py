"""Fixtures for the Python binding tests: a Python-run server (asyncio or
the built-in loop in a thread) with a self-signed certificate, and slixmpp
clients from tests/interop/slixclient.py. Loopback only; every wait has a
timeout."""
import asyncio
import contextlib
import os
import sys
import tempfile
import threading

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))

import xmppcore  # noqa: E402

DOMAIN = "localhost"


class Endpoint:
    """What slixclient.Client needs to know about a server."""

    def __init__(self, host, port_starttls, port_tls, ca_file):
        self.host = host
        self.port_starttls = port_starttls
        self.port_tls = port_tls
        self.ca_file = ca_file


@pytest.fixture(scope="session")
def cert(tmp_path_factory):
    """(cert_pem, key_pem, ca_file) for localhost, made once."""
    cert_pem, key_pem = xmppcore.generate_self_signed_pem(DOMAIN)
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    path.write_text(cert_pem)
    return cert_pem, key_pem, str(path)


def make_server(cert, **kw):
    srv = xmppcore.Server([DOMAIN], **kw)
    srv.add_cert_pem(cert[0], cert[1])
    srv.add_listener("c2s")
    srv.add_listener("c2s_tls")
    return srv


@contextlib.asynccontextmanager
async def asyncio_server(cert, **kw):
    """A server running in the current asyncio loop on free ports."""
    srv = make_server(cert, **kw)
    try:
        a = await srv.start_asyncio("127.0.0.1", 0, srv.listeners[0])
        b = await srv.start_asyncio("127.0.0.1", 0, srv.listeners[1])
        ep = Endpoint("127.0.0.1", a.sockets[0].getsockname()[1],
                      b.sockets[0].getsockname()[1], cert[2])
        yield srv, ep
    finally:
        await srv.aclose()


@contextlib.contextmanager
def thread_server(cert, setup=None, **kw):
    """A server on the built-in epoll loop in another thread."""
    srv = make_server(cert, **kw)
    if setup:
        setup(srv)
    p1 = srv.listen("127.0.0.1", 0, srv.listeners[0])
    p2 = srv.listen("127.0.0.1", 0, srv.listeners[1])
    errors = []

    def main():
        try:
            srv.serve_forever(handle_signals=False)
        except BaseException as e:  # reported by the test
            errors.append(e)
    t = threading.Thread(target=main, name="xmppcore-loop", daemon=True)
    t.start()
    assert srv.wait_running(5)
    try:
        yield srv, Endpoint("127.0.0.1", p1, p2, cert[2])
    finally:
        srv.stop()
        t.join(10)
        assert not t.is_alive(), "serve_forever() did not return after stop()"
        srv.close()
        assert not errors, errors


def run(coro, timeout=60):
    async def guarded():
        return await asyncio.wait_for(coro, timeout)
    return asyncio.run(guarded())
