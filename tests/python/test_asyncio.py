"""A Python-run server inside asyncio, with slixmpp clients in the same
loop: logins, messages, hooks, IQ handlers, Python auth backends."""
import asyncio
import logging

import pytest
import slixmpp

import xmppcore
from conftest import DOMAIN, asyncio_server, run
from slixclient import AuthFailed, Client

ECHO_NS = "urn:example:echo"


async def two_clients(srv, ep):
    srv.create_account(DOMAIN, "alice", "alice-pw")
    srv.create_account(DOMAIN, "bob", "bob-pw")
    a = Client(ep, "alice@localhost", "alice-pw", resource="a")
    b = Client(ep, "bob@localhost", "bob-pw", resource="b", tls="direct")
    await asyncio.gather(a.connect(), b.connect())
    return a, b


async def expect_auth_failure(client):
    """The login fails with SASL not-authorized (slixmpp may retry other
    mechanisms until the server closes the stream)."""
    with pytest.raises((AuthFailed, ConnectionError)):
        await client.connect()
    await client.close()
    assert "not-authorized" in client.sasl_failures, client.sasl_failures


def body_of(msg):
    return msg["body"]


def test_login_and_message_exchange(cert):
    async def main():
        async with asyncio_server(cert) as (srv, ep):
            a, b = await two_clients(srv, ep)
            try:
                assert sorted(srv.sessions()) == ["alice@localhost/a",
                                                  "bob@localhost/b"]
                a.x.send_message(mto="bob@localhost", mbody="hello bob",
                                 mtype="chat")
                m = await b.next_message(pred=lambda m: m["body"])
                assert m["body"] == "hello bob"
                assert m["from"] == "alice@localhost/a"
                b.x.send_message(mto="alice@localhost/a", mbody="hi alice",
                                 mtype="chat")
                m = await a.next_message(pred=lambda m: m["body"])
                assert m["body"] == "hi alice"
            finally:
                await asyncio.gather(a.close(), b.close())
            # The closed connections are freed.
            for _ in range(100):
                if not srv._aio_conns:
                    break
                await asyncio.sleep(0.02)
            assert srv.sessions() == []
            assert not srv._aio_conns
    run(main())


def test_wrong_password_fails(cert):
    async def main():
        async with asyncio_server(cert) as (srv, ep):
            srv.create_account(DOMAIN, "alice", "right")
            await expect_auth_failure(Client(ep, "alice@localhost", "wrong"))
    run(main())


def test_hooks_modify_and_drop(cert):
    async def main():
        async with asyncio_server(cert) as (srv, ep):
            seen = []

            @srv.hook("user_send_packet")
            def censor(event):
                st = event.stanza
                if st.name != "message":
                    return None
                body = st.find("body")
                if body is None:
                    return None
                seen.append((event.session_jid, body.text))
                if body.text == "drop me":
                    return xmppcore.DROP
                if "secret" in body.text:
                    body.text = body.text.replace("secret", "[censored]")
                return xmppcore.CONTINUE

            @srv.hook("user_receive_packet", priority=10)
            def replace(event):
                st = event.stanza
                if st.name == "message" and st.find_text("body") == "swap":
                    new = xmppcore.Stanza("message", "jabber:client",
                                          attrs=dict(st.attrs))
                    new.add_child("body", text="swapped by a hook")
                    event.stanza = new
                    assert not st.valid  # the old one is gone
                    with pytest.raises(xmppcore.StaleError):
                        st.name
                    assert event.stanza.find_text("body") == \
                        "swapped by a hook"

            authed = []

            @srv.hook("c2s_authenticated")
            def on_auth(event):
                # the connection knows its account; no session yet
                authed.append((event.account, event.session_jid))

            a, b = await two_clients(srv, ep)
            try:
                assert ("alice@localhost", None) in authed
                assert ("bob@localhost", None) in authed
                a.x.send_message(mto="bob@localhost", mbody="the secret plan")
                m = await b.next_message(pred=body_of)
                assert m["body"] == "the [censored] plan"
                a.x.send_message(mto="bob@localhost", mbody="drop me")
                a.x.send_message(mto="bob@localhost", mbody="after the drop")
                m = await b.next_message(pred=body_of)
                assert m["body"] == "after the drop"
                a.x.send_message(mto="bob@localhost", mbody="swap")
                m = await b.next_message(pred=body_of)
                assert m["body"] == "swapped by a hook"
                assert ("alice@localhost/a", "drop me") in seen
            finally:
                await asyncio.gather(a.close(), b.close())
    run(main())


def test_borrowed_stanza_is_stale_after_callback(cert):
    async def main():
        async with asyncio_server(cert) as (srv, ep):
            kept = []

            @srv.hook("user_send_packet")
            def keep(event):
                if event.stanza.name == "message":
                    kept.append((event, event.stanza, event.stanza.copy()))

            a, b = await two_clients(srv, ep)
            try:
                a.x.send_message(mto="bob@localhost", mbody="keep me")
                await b.next_message(pred=body_of)
                event, borrowed, copy = kept[0]
                with pytest.raises(xmppcore.StaleError):
                    borrowed.to_xml()
                with pytest.raises(xmppcore.StaleError):
                    event.stanza
                assert copy.find_text("body") == "keep me"
                assert xmppcore.StaleError.__mro__[1] is xmppcore.Error
            finally:
                await asyncio.gather(a.close(), b.close())
    run(main())


def test_iq_handler_answers(cert):
    async def main():
        async with asyncio_server(cert) as (srv, ep):
            @srv.iq_handler(ECHO_NS, "get")
            def echo(event):
                iq = event.stanza
                reply = iq.reply("result")
                q = reply.add_child(iq.find("query", ECHO_NS))
                q.attrs["echoed-by"] = "python"
                srv.send(reply)

            @srv.iq_handler("urn:example:returns", "set")
            def returns(event):
                r = event.stanza.reply("result")
                r.add_child("done", "urn:example:returns")
                return r

            @srv.iq_handler("urn:example:declines")
            def declines(event):
                return xmppcore.CONTINUE

            a, b = await two_clients(srv, ep)
            try:
                iq = a.x.make_iq_get(queryxmlns=ECHO_NS, ito=DOMAIN)
                iq["query"] = ECHO_NS
                res = await iq.send(timeout=10)
                q = res.xml.find("{%s}query" % ECHO_NS)
                assert res["type"] == "result"
                assert q is not None and q.get("echoed-by") == "python"

                iq = a.x.make_iq_set(ito=DOMAIN)
                iq.append(slixmpp.ET.Element("{urn:example:returns}x"))
                res = await iq.send(timeout=10)
                assert res.xml.find("{urn:example:returns}done") is not None

                iq = a.x.make_iq_get(queryxmlns="urn:example:declines",
                                     ito=DOMAIN)
                with pytest.raises(slixmpp.exceptions.IqError) as e:
                    await iq.send(timeout=10)
                assert e.value.condition == "service-unavailable"

                # disco#info advertises the Python namespaces.
                info = await a.x["xep_0030"].get_info(jid=DOMAIN, timeout=10)
                assert ECHO_NS in info["disco_info"]["features"]
            finally:
                await asyncio.gather(a.close(), b.close())
    run(main())


def test_raising_callbacks_do_not_crash(cert, caplog):
    async def main():
        async with asyncio_server(cert) as (srv, ep):
            @srv.hook("user_send_packet")
            def broken(event):
                raise RuntimeError("hook bug")

            @srv.hook("filter_packet")
            def bad_result(event):
                return "nonsense"

            close_errors = []

            @srv.hook("user_send_packet", priority=60)
            def closes_server(event):
                try:
                    srv.close()  # would free the server under its own feet
                except xmppcore.Error as e:
                    close_errors.append(e.code)

            @srv.iq_handler("urn:example:broken", "get")
            def broken_iq(event):
                raise ValueError("handler bug")

            a, b = await two_clients(srv, ep)
            try:
                a.x.send_message(mto="bob@localhost", mbody="still delivered")
                m = await b.next_message(pred=body_of)
                assert m["body"] == "still delivered"
                assert close_errors and close_errors[0] == xmppcore.E_STATE
                assert not srv.closed
                iq = a.x.make_iq_get(queryxmlns="urn:example:broken",
                                     ito=DOMAIN)
                with pytest.raises(slixmpp.exceptions.IqError) as e:
                    await iq.send(timeout=10)
                assert e.value.condition == "internal-server-error"
                # And the server still accepts new logins.
                c = Client(ep, "alice@localhost", "alice-pw", resource="c")
                await c.connect()
                await c.close()
            finally:
                await asyncio.gather(a.close(), b.close())
    with caplog.at_level(logging.ERROR, logger="xmppcore"):
        run(main())
    text = caplog.text
    assert "hook bug" in text and "handler bug" in text
    assert "nonsense" in text


class AsyncDictBackend(xmppcore.DictAuthBackend):
    """The dict backend with an asynchronous get(): completes later, from
    an asyncio task."""

    def __init__(self, accounts):
        super().__init__(accounts)
        self.gets = 0

    async def get(self, vhost, user):
        self.gets += 1
        await asyncio.sleep(0.05)
        return super().get(vhost, user)


@pytest.mark.parametrize("backend_cls", [xmppcore.DictAuthBackend,
                                         AsyncDictBackend])
def test_python_auth_backend(cert, backend_cls):
    backend = backend_cls({DOMAIN: {"alice": "wonderland"}})

    async def main():
        async with asyncio_server(cert, auth_backend=backend) as (srv, ep):
            c = Client(ep, "alice@localhost", "wonderland")
            await c.connect()
            await c.close()
            await expect_auth_failure(Client(ep, "alice@localhost", "not-it"))
            await expect_auth_failure(Client(ep, "nobody@localhost", "x"))
            # Accounts made through the server land in the Python object.
            await srv.acreate_account(DOMAIN, "bob", "builder")
            assert isinstance(backend.accounts[DOMAIN]["bob"],
                              xmppcore.Credentials)
            assert backend.accounts[DOMAIN]["bob"].check_password("builder")
            with pytest.raises(xmppcore.Error) as e:
                await srv.acreate_account(DOMAIN, "bob", "again")
            assert e.value.code == xmppcore.E_EXISTS
            c = Client(ep, "bob@localhost", "builder")
            await c.connect()
            await c.close()
            await srv.adelete_account(DOMAIN, "bob")
            assert "bob" not in backend.accounts[DOMAIN]
            with pytest.raises(xmppcore.Error) as e:
                await srv.adelete_account(DOMAIN, "bob")
            assert e.value.code == xmppcore.E_NOTFOUND
    run(main())
    if backend_cls is AsyncDictBackend:
        assert backend.gets >= 3


def test_backend_errors_become_statuses(cert):
    class Broken:
        def get(self, vhost, user):
            raise RuntimeError("database on fire")

        def create(self, vhost, user, creds):
            raise xmppcore.Error(xmppcore.E_IO, "custom")

    async def main():
        async with asyncio_server(cert, auth_backend=Broken()) as (srv, ep):
            c = Client(ep, "alice@localhost", "pw")
            with pytest.raises((AuthFailed, ConnectionError)):
                await c.connect()
            await c.close()
            assert c.sasl_failures, "the login should fail in SASL"
            with pytest.raises(xmppcore.Error) as e:
                srv.create_account(DOMAIN, "alice", "pw")
            assert e.value.code == xmppcore.E_IO
            # A method the backend lacks: unsupported, at once.
            with pytest.raises(xmppcore.Error) as e:
                srv.delete_account(DOMAIN, "alice")
            assert e.value.code == xmppcore.E_UNSUPPORTED
    run(main())


def test_pending_async_backend_call_at_close(cert):
    """A storage call still running when the server closes is completed
    (E_IO) before the C store is freed."""
    class Slow:
        async def create(self, vhost, user, creds):
            await asyncio.sleep(30)

    async def main():
        srv = xmppcore.Server([DOMAIN], auth_backend=Slow())
        srv.add_listener()
        await srv.start_asyncio("127.0.0.1", 0)
        task = asyncio.ensure_future(srv.acreate_account(DOMAIN, "a", "pw"))
        await asyncio.sleep(0.05)
        with pytest.raises(xmppcore.Error) as e:
            srv.create_account(DOMAIN, "b", "pw")
        assert e.value.code == xmppcore.E_AGAIN
        await srv.aclose()
        with pytest.raises(xmppcore.Error) as e:
            await task
        assert e.value.code == xmppcore.E_IO
    run(main())


def test_timers_run_on_the_asyncio_loop(cert):
    """The library's timers (here the authentication timeout) fire through
    loop.call_at: an idle raw connection is closed with a stream error."""
    async def main():
        srv = xmppcore.Server([DOMAIN])
        srv.add_cert_pem(cert[0], cert[1])
        srv.set_option("c2s.auth_timeout", 1)
        srv.add_listener("c2s")
        try:
            a = await srv.start_asyncio("127.0.0.1", 0)
            port = a.sockets[0].getsockname()[1]
            loop = asyncio.get_running_loop()
            r, w = await asyncio.open_connection("127.0.0.1", port)
            t0 = loop.time()
            w.write(b"<?xml version='1.0'?><stream:stream to='localhost' "
                    b"xmlns='jabber:client' version='1.0' "
                    b"xmlns:stream='http://etherx.jabber.org/streams'>")
            data = b""
            while True:
                chunk = await asyncio.wait_for(r.read(4096), 10)
                if not chunk:
                    break
                data += chunk
            elapsed = loop.time() - t0
            assert b"<stream:features" in data
            assert b"connection-timeout" in data or b"policy" in data, data
            assert 0.8 <= elapsed < 5, elapsed
            w.close()
            for _ in range(100):
                if not srv._aio_conns:
                    break
                await asyncio.sleep(0.01)
            assert not srv._aio_conns  # closed and freed
        finally:
            await srv.aclose()
    run(main())
