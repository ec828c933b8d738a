"""Interop with libstrophe, through tests/interop/strophe_client.c (run as
a subprocess; see the top of that file for the lines it prints).

Matrix: STARTTLS and direct TLS. libstrophe 0.12 has no call to restrict
SASL mechanisms, so it negotiates the strongest SCRAM the server offers;
the tests check that this is a SCRAM the server is expected to offer and
report which one in the test's output.
"""
import asyncio
import os
import uuid

import pytest

import servers
from slixclient import Client, run

TLS_MODES = ["starttls", "direct"]
TIMEOUT = 20  # seconds, for the client's own deadline


def strophe_client():
    path = os.environ.get("STROPHE_CLIENT")
    if not path and servers.build_root():
        path = os.path.join(servers.build_root(), "tests", "interop",
                            "strophe_client")
    if not path or not os.access(path, os.X_OK):
        pytest.skip("strophe_client is not built (libstrophe-dev missing?); "
                    "looked for %s" % (path or "$STROPHE_CLIENT"))
    return path


def need_tls_mode(server, tls):
    if tls == "direct" and server.port_tls is None:
        pytest.skip(server.direct_tls_skip_reason or
                    "%s has no direct TLS port" % server.name)


class Result:
    def __init__(self, rc, out, err):
        self.rc = rc
        self.lines = out.splitlines()
        self.err = err

    def values(self, key):
        """The rest of every line that starts with key."""
        return [line[len(key) + 1:] for line in self.lines
                if line.split(" ", 1)[0] == key]

    def __str__(self):
        return "exit %s\nstdout:\n%s\nstderr:\n%s" % (
            self.rc, "\n".join(self.lines), self.err[-3000:])

    __repr__ = __str__


async def strophe(server, jid, password, tls, *opts):
    port = server.port_tls if tls == "direct" else server.port_starttls
    argv = [strophe_client(), "--ca", server.ca_file, "--timeout", str(TIMEOUT)]
    argv += list(opts)
    argv += [jid, password, server.host, str(port), tls]
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT + 10)
    except asyncio.TimeoutError:
        proc.kill()
        out, err = await proc.communicate()
        pytest.fail("strophe_client hung past its own timeout\n%s"
                    % Result(None, out.decode(errors="replace"),
                             err.decode(errors="replace")))
    return Result(proc.returncode, out.decode(errors="replace"),
                  err.decode(errors="replace"))


def check_mech(server, res):
    # After a failure libstrophe tries the next mechanism it supports, so a
    # failed login may list several; the first is the one it preferred.
    mechs = res.values("mech")
    assert len(mechs) >= 1, res
    mech = mechs[0]
    print("libstrophe negotiated %s with %s" % (mech, server.name))
    base = mech[:-5] if mech.endswith("-PLUS") else mech
    assert base.startswith("SCRAM-") and base in server.sasl_mechs, res
    return mech


def echo_peer(client):
    """Answer every chat message that is not itself an answer with
    're: ' + its body, to its sender."""
    def on_message(msg):
        if msg["type"] in ("chat", "normal") and not msg["body"].startswith("re: "):
            client.x.send_message(mto=msg["from"], mbody="re: " + msg["body"],
                                  mtype="chat")
    client.x.add_event_handler("message", on_message)


@pytest.mark.parametrize("tls", TLS_MODES)
def test_strophe_session_message_ping_version(server, accounts, tls):
    need_tls_mode(server, tls)
    strophe_client()
    a, b = accounts("sa"), accounts("sb")

    async def body():
        peer = Client(server, b.jid, b.password, resource="peer")
        await peer.connect()
        echo_peer(peer)
        try:
            res = await strophe(server, a.jid, a.password, tls,
                                "--peer", peer.jid.full, "--ping",
                                "--version", peer.jid.full)
            assert res.rc == 0, res
            check_mech(server, res)
            [bound] = res.values("connected")
            assert bound.split("/", 1)[0] == a.jid and "/" in bound, res
            assert res.values("secured") == ["1"], res
            # The peer's reply reached libstrophe, from the peer's full JID.
            replies = [v for v in res.values("message")
                       if v.startswith(peer.jid.full + " re: hello from libstrophe")]
            assert replies, res
            assert res.values("ping") == ["result -"], res
            assert res.values("version") == ["result interop-slixmpp"], res
            assert "done" in res.lines, res
            # And the peer saw libstrophe's message from its bound JID.
            m = await peer.next_message(
                timeout=1, pred=lambda m: m["body"].startswith("hello from libstrophe"))
            assert m["from"].full == bound
        finally:
            await peer.close()
    run(body(), timeout=TIMEOUT + 30)


@pytest.mark.parametrize("tls", TLS_MODES)
def test_strophe_wrong_password(server, accounts, tls):
    need_tls_mode(server, tls)
    a = accounts("sa")

    async def body():
        res = await strophe(server, a.jid, a.password + "x", tls, "--ping")
        assert res.rc == 2, res
        check_mech(server, res)
        fails = res.values("sasl-failure")
        assert fails and all(f == "not-authorized" for f in fails), res
        assert not res.values("connected"), res
    run(body(), timeout=TIMEOUT + 30)


@pytest.mark.parametrize("tls", TLS_MODES)
def test_strophe_unknown_user(server, tls):
    need_tls_mode(server, tls)

    async def body():
        res = await strophe(server, server.jid("nobody-" + uuid.uuid4().hex[:8]),
                            "whatever", tls, "--ping")
        assert res.rc == 2, res
        fails = res.values("sasl-failure")
        assert fails and all(f == "not-authorized" for f in fails), res
        assert not res.values("connected"), res
    run(body(), timeout=TIMEOUT + 30)


def test_strophe_iq_to_unavailable_resource(server, accounts):
    """RFC 6121 8.5.3.2.3, seen from libstrophe: service-unavailable."""
    a, b = accounts("sa"), accounts("sb")

    async def body():
        res = await strophe(server, a.jid, a.password, "starttls",
                            "--version", b.jid + "/gone")
        assert res.rc == 4, res
        assert res.values("version") == ["error service-unavailable"], res
    run(body(), timeout=TIMEOUT + 30)
