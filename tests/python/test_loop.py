"""The server on the library's built-in epoll loop: in a thread of the
test process, and the examples as subprocesses stopped by signals."""
import asyncio
import os
import signal
import subprocess
import sys
import threading

import pytest

import xmppcore
from conftest import DOMAIN, run, thread_server
from slixclient import Client

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(HERE, "..", "..", "examples", "python")


def test_thread_login_messages_hooks(cert):
    hook_threads = []

    def setup(srv):
        srv.create_account(DOMAIN, "alice", "pw-a")
        srv.create_account(DOMAIN, "bob", "pw-b")

        @srv.hook("user_receive_packet")
        def mark(event):
            hook_threads.append(threading.current_thread().name)
            st = event.stanza
            if st.name == "message" and st.find("body") is not None:
                st.add_child("seen", "urn:example:seen")

    async def main(ep):
        a = Client(ep, "alice@localhost", "pw-a", resource="a")
        b = Client(ep, "bob@localhost", "pw-b", resource="b", tls="direct")
        await asyncio.gather(a.connect(), b.connect())
        try:
            a.x.send_message(mto="bob@localhost", mbody="via epoll")
            m = await b.next_message(pred=lambda m: m["body"])
            assert m["body"] == "via epoll"
            assert m.xml.find("{urn:example:seen}seen") is not None
        finally:
            await asyncio.gather(a.close(), b.close())

    with thread_server(cert, setup) as (srv, ep):
        run(main(ep))
        assert set(hook_threads) == {"xmppcore-loop"}
        # call_soon_threadsafe runs on the loop's thread.
        done = threading.Event()
        where = []

        def on_loop():
            where.append(threading.current_thread().name)
            srv.call_later(0.01, done.set)
        srv.call_soon_threadsafe(on_loop)
        assert done.wait(5)
        assert where == ["xmppcore-loop"]


def test_stop_from_another_thread_closes_clients(cert):
    def setup(srv):
        srv.create_account(DOMAIN, "alice", "pw-a")

    async def main(srv, ep):
        a = Client(ep, "alice@localhost", "pw-a")
        await a.connect()
        assert srv.sessions() == [str(a.jid)] or srv.sessions()
        # stop() from this (non-loop) thread: graceful shutdown.
        srv.stop()
        await asyncio.wait_for(a.disconnected.wait(), 10)
        assert any("system-shutdown" in str(e["condition"]) or
                   "system-shutdown" in str(e) for e in a.stream_errors), \
            a.stream_errors
        await a.close()

    with thread_server(cert, setup) as (srv, ep):
        run(main(srv, ep))


def start_example(name, *args):
    env = dict(os.environ)
    p = subprocess.Popen([sys.executable, os.path.join(EXAMPLES, name),
                          "--port", "0"] + list(args),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env, text=True)
    line = p.stdout.readline()
    if not line.startswith("listening on"):
        p.kill()
        out, err = p.communicate(timeout=10)
        pytest.fail("%s did not start: %r %s" % (name, line, err))
    port = int(line.rsplit(":", 1)[1])
    return p, port


class Ep:
    def __init__(self, port, ca):
        self.host = "127.0.0.1"
        self.port_starttls = port
        self.port_tls = None
        self.ca_file = ca


def stop_example(p, sig=None):
    if sig is not None:
        p.send_signal(sig)
    try:
        out, err = p.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        pytest.fail("the example did not stop on %s" % sig)
    assert p.returncode == 0, err
    assert "stopped" in out, (out, err)


def test_echo_bot_example(tmp_path):
    ca = str(tmp_path / "ca.pem")
    p, port = start_example("echo_bot.py", "--user", "alice:secret",
                            "--ca-out", ca)

    async def main():
        c = Client(Ep(port, ca), "alice@localhost", "secret")
        await c.connect()
        try:
            c.x.send_message(mto="echo@localhost", mbody="ping 1 2 3",
                             mtype="chat")
            m = await c.next_message(pred=lambda m: m["body"])
            assert m["body"] == "ping 1 2 3"
            assert m["from"] == "echo@localhost"
            iq = c.x.make_iq_get(queryxmlns="urn:example:echo", ito=DOMAIN)
            res = await iq.send(timeout=10)
            assert res["type"] == "result"
            assert res.xml.find("{urn:example:echo}query") is not None
            # SIGTERM: the client is told system-shutdown.
            p.send_signal(signal.SIGTERM)
            await asyncio.wait_for(c.disconnected.wait(), 10)
        finally:
            await c.close()
    try:
        run(main())
    except BaseException:
        p.kill()
        raise
    stop_example(p)  # SIGTERM was sent: it exits by itself


def test_asyncio_example(tmp_path):
    ca = str(tmp_path / "ca.pem")
    p, port = start_example("asyncio_server.py", "--ca-out", ca,
                            "--news-every", "0.3")

    async def main():
        c = Client(Ep(port, ca), "alice@localhost", "alice-secret")
        await c.connect()
        try:
            m = await c.next_message(pred=lambda m: m["type"] == "headline")
            assert m["body"].startswith("news #")
            c.x.send_message(mto="news@localhost", mbody="/who", mtype="chat")
            m = await c.next_message(pred=lambda m: m["type"] == "chat")
            assert str(c.jid) in m["body"]
        finally:
            await c.close()
    try:
        run(main())
    finally:
        stop_example(p, signal.SIGINT)
