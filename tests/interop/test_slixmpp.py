"""Interop with slixmpp (python3-slixmpp): TLS, SASL, bind, messages,
presence, iq, and the delivery rules of RFC 6120/6121 for addresses that
do not exist.

Matrix: STARTTLS (port_starttls) and direct TLS (port_tls, XEP-0368) x
SCRAM-SHA-256 and SCRAM-SHA-1, with the mechanism forced in slixmpp
(ClientXMPP(sasl_mech=...), which limits feature_mechanisms to it).
"""
import asyncio
import uuid

import pytest
from slixmpp.exceptions import IqError

import servers
from slixclient import QUIET, AuthFailed, Client, connect_pair, run

TLS_MODES = ["starttls", "direct"]
MECHS = ["SCRAM-SHA-256", "SCRAM-SHA-1"]
ON_PROSODY = servers.selected_name() == "prosody"


def need_tls_mode(server, tls):
    if tls == "direct" and server.port_tls is None:
        pytest.skip(server.direct_tls_skip_reason or
                    "%s has no direct TLS port" % server.name)


def need_mech(server, mech):
    if mech not in server.sasl_mechs:
        pytest.skip(server.missing_mech_reason or
                    "%s does not offer %s" % (server.name, mech))


def error_condition(stanza):
    return stanza["error"]["condition"] if stanza["type"] == "error" else None


def probe_body():
    return "probe " + uuid.uuid4().hex


matrix = pytest.mark.parametrize("tls,mech", [(t, m) for t in TLS_MODES for m in MECHS])


# -- login --------------------------------------------------------------------

@matrix
def test_login_and_bind(server, accounts, tls, mech):
    need_tls_mode(server, tls)
    need_mech(server, mech)
    a = accounts()

    async def body():
        c = Client(server, a.jid, a.password, tls=tls, mech=mech)
        try:
            await c.connect(presence=False)
            assert mech in c.offered_mechs, c.offered_mechs
            assert c.used_mech == mech
            assert c.x.is_connected()
            # The bound JID is the account's, with a resource the server
            # assigned (we asked for none).
            assert c.jid.bare == a.jid
            assert c.jid.resource, "no resource bound: %s" % c.jid
            # PLAIN must not be needed, and no mechanism at all is offered
            # before TLS (c2s requires encryption), so nothing to check
            # there from the client side.
        finally:
            await c.close()
    run(body())


@matrix
def test_wrong_password_is_not_authorized(server, accounts, tls, mech):
    need_tls_mode(server, tls)
    need_mech(server, mech)
    a = accounts()

    async def body():
        c = Client(server, a.jid, a.password + "-wrong", tls=tls, mech=mech)
        try:
            with pytest.raises(AuthFailed) as ei:
                await c.connect(presence=False)
            assert ei.value.conditions == ["not-authorized"]
            assert not c.x.authenticated
            assert not c.x.sessionstarted
        finally:
            await c.close()
    run(body())


@matrix
def test_unknown_user_is_not_authorized(server, tls, mech):
    need_tls_mode(server, tls)
    need_mech(server, mech)

    async def body():
        c = Client(server, server.jid("nobody-" + uuid.uuid4().hex[:8]),
                   "whatever", tls=tls, mech=mech)
        try:
            with pytest.raises(AuthFailed) as ei:
                await c.connect(presence=False)
            # RFC 6120 6.5.10: not-authorized, the same as a wrong password,
            # so the failure does not tell whether the account exists.
            assert ei.value.conditions == ["not-authorized"]
            assert not c.x.sessionstarted
        finally:
            await c.close()
    run(body())


# -- messages, iq -------------------------------------------------------------

@matrix
def test_messages_both_ways(server, accounts, tls, mech):
    need_tls_mode(server, tls)
    need_mech(server, mech)
    a, b = accounts("a"), accounts("b")

    async def body():
        ca, cb = await connect_pair(server, a, b, tls=tls, mech=mech)
        try:
            text = "hello \u00e9\u4e16 <&> " + uuid.uuid4().hex
            ca.x.send_message(mto=cb.jid.full, mbody=text, mtype="chat")
            m = await cb.next_message(pred=lambda m: m["body"] == text)
            assert m["type"] == "chat"
            assert m["from"].full == ca.jid.full
            # Reply to the bare JID: the server delivers it to a's only
            # resource.
            reply = "reply " + uuid.uuid4().hex
            cb.x.send_message(mto=ca.jid.bare, mbody=reply, mtype="chat")
            m = await ca.next_message(pred=lambda m: m["body"] == reply)
            assert m["from"].full == cb.jid.full
            assert m["to"].bare == ca.jid.bare
        finally:
            await asyncio.gather(ca.close(), cb.close())
    run(body())


@matrix
def test_iq_ping_server_and_version_of_peer(server, accounts, tls, mech):
    need_tls_mode(server, tls)
    need_mech(server, mech)
    a, b = accounts("a"), accounts("b")

    async def body():
        ca, cb = await connect_pair(server, a, b, tls=tls, mech=mech)
        try:
            # XEP-0199 ping to the server: a result, or slixmpp raises.
            await ca.x["xep_0199"].ping(jid=server.domain, timeout=10)
            # An iq to b's full JID is answered by b's client (XEP-0092),
            # not by the server.
            res = await ca.x["xep_0092"].get_version(cb.jid.full, timeout=10)
            assert res["type"] == "result"
            assert res["from"].full == cb.jid.full
            assert res["software_version"]["name"] == "interop-slixmpp"
        finally:
            await asyncio.gather(ca.close(), cb.close())
    run(body())


# -- presence -----------------------------------------------------------------

@pytest.mark.xfail(not ON_PROSODY, strict=True,
                   reason="roster and presence subscriptions (RFC 6121 §2-3) "
                          "arrive with the IM-essentials issue; until then "
                          "the server answers roster iqs with "
                          "service-unavailable")
def test_presence_after_subscription(server, accounts):
    """The real thing: a subscribes to b, b approves (slixmpp's default
    auto_authorize), then b's available presence with a status reaches a.
    Both fetch their roster first: RFC 6121 3.1.3 delivers subscription
    requests to the "interested" resources, those that asked for it."""
    a, b = accounts("a"), accounts("b")

    async def body():
        ca, cb = await connect_pair(server, a, b)
        try:
            await asyncio.gather(ca.x.get_roster(timeout=10),
                                 cb.x.get_roster(timeout=10))
            ca.x.send_presence_subscription(pto=b.jid, ptype="subscribe")
            await ca.next_presence(pred=lambda p: p["type"] == "subscribed"
                                   and p["from"].bare == b.jid)
            status = "busy testing " + uuid.uuid4().hex[:6]
            cb.x.send_presence(pstatus=status, pshow="dnd")
            p = await ca.next_presence(pred=lambda p: p["status"] == status)
            assert p["from"].full == cb.jid.full
            assert p["show"] == "dnd"
            assert p["type"] in ("dnd", "available")  # slixmpp folds show
        finally:
            await asyncio.gather(ca.close(), cb.close())
    run(body())


def test_directed_presence(server, accounts):
    """Without any subscription: presence sent to a full JID arrives."""
    a, b = accounts("a"), accounts("b")

    async def body():
        ca, cb = await connect_pair(server, a, b)
        try:
            status = "directed " + uuid.uuid4().hex[:6]
            cb.x.send_presence(pto=ca.jid.full, pstatus=status)
            p = await ca.next_presence(pred=lambda p: p["status"] == status)
            assert p["from"].full == cb.jid.full
        finally:
            await asyncio.gather(ca.close(), cb.close())
    run(body())


# -- delivery rules for addresses that do not exist ---------------------------

async def delivered_before_marker(sender, receiver, probe):
    """Send a chat marker after the probe; the server handles a sender's
    stanzas in order (RFC 6120 10.1), so once the marker arrives the probe
    has been routed. Returns the probe if it reached receiver."""
    marker = "marker " + uuid.uuid4().hex
    sender.x.send_message(mto=receiver.jid.full, mbody=marker, mtype="chat")
    got = None
    while True:
        m = await receiver.next_message()
        if m["body"] == marker:
            return got
        if m["body"] == probe:
            got = m


async def error_for(sender, msg_id, timeout=QUIET):
    """The error the sender got back for message msg_id, or None."""
    try:
        return await sender.next_message(
            timeout, pred=lambda m: m["id"] == msg_id and m["type"] == "error")
    except asyncio.TimeoutError:
        return None


def send_probe(sender, to, mtype):
    text = probe_body()
    msg = sender.x.make_message(mto=to, mbody=text, mtype=mtype)
    msg["id"] = uuid.uuid4().hex
    msg.send()
    return text, msg["id"]


def test_chat_to_unavailable_resource_goes_to_available_one(server, accounts):
    """RFC 6121 8.5.3.2.1, type chat: with one available resource of
    non-negative priority, the server MUST deliver the message to it."""
    a, b = accounts("a"), accounts("b")

    async def body():
        ca, cb = await connect_pair(server, a, b)
        try:
            text, _ = send_probe(ca, b.jid + "/gone", "chat")
            m = await cb.next_message(pred=lambda m: m["body"] == text)
            assert m["from"].full == ca.jid.full
        finally:
            await asyncio.gather(ca.close(), cb.close())
    run(body())


@pytest.mark.parametrize("mtype", [
    pytest.param("normal", marks=pytest.mark.xfail(
        ON_PROSODY, strict=True,
        reason="Prosody 0.12 delivers type=normal to the bare JID's "
               "resources (mod_message process_to_bare), against RFC 6121 "
               "8.5.3.2.1")),
    "headline", "groupchat"])
def test_message_to_unavailable_resource_not_rerouted(server, accounts, mtype):
    """RFC 6121 8.5.3.2.1: for type normal, groupchat or headline the server
    MUST either silently ignore the stanza or return an error, which SHOULD
    be service-unavailable; it is not delivered to another resource."""
    a, b = accounts("a"), accounts("b")

    async def body():
        ca, cb = await connect_pair(server, a, b)
        try:
            text, mid = send_probe(ca, b.jid + "/gone", mtype)
            got = await delivered_before_marker(ca, cb, text)
            assert got is None, "type=%s was delivered to %s" % (mtype, cb.jid)
            err = await error_for(ca, mid)
            if err is not None:
                assert error_condition(err) == "service-unavailable"
        finally:
            await asyncio.gather(ca.close(), cb.close())
    run(body())


def test_error_message_to_unavailable_resource_dropped(server, accounts):
    """RFC 6121 8.5.3.2.1: a message of type error MUST be silently ignored
    (and RFC 6120 8.3.1: never answered with an error)."""
    a, b = accounts("a"), accounts("b")

    async def body():
        ca, cb = await connect_pair(server, a, b)
        try:
            text = probe_body()
            msg = ca.x.make_message(mto=b.jid + "/gone", mbody=text)
            msg["id"] = uuid.uuid4().hex
            msg["type"] = "error"
            msg["error"]["type"] = "cancel"
            msg["error"]["condition"] = "item-not-found"
            msg.send()
            assert await delivered_before_marker(ca, cb, text) is None
            assert await error_for(ca, msg["id"]) is None
        finally:
            await asyncio.gather(ca.close(), cb.close())
    run(body())


def test_iq_to_unavailable_resource_service_unavailable(server, accounts):
    """RFC 6121 8.5.3.2.3: an iq to a full JID with no such resource gets
    service-unavailable."""
    a, b = accounts("a"), accounts("b")

    async def body():
        ca, cb = await connect_pair(server, a, b)
        try:
            iq = ca.x.make_iq_get(queryxmlns="jabber:iq:version",
                                  ito=b.jid + "/gone")
            with pytest.raises(IqError) as ei:
                await iq.send(timeout=10)
            assert ei.value.iq["error"]["condition"] == "service-unavailable"
            assert ei.value.iq["from"].full == b.jid + "/gone"
        finally:
            await asyncio.gather(ca.close(), cb.close())
    run(body())


def test_message_to_unknown_user_service_unavailable(server, accounts):
    """RFC 6121 8.5.1: a message to an account that does not exist is
    silently ignored or answered with service-unavailable; libxmppcore
    (like Prosody) answers, so the sender learns of it."""
    a = accounts("a")

    async def body():
        ca = await Client(server, a.jid, a.password).connect()
        try:
            text, mid = send_probe(ca, server.jid("nobody-" + uuid.uuid4().hex[:8]),
                                   "chat")
            err = await error_for(ca, mid, timeout=10)
            assert err is not None, "no error for a message to an unknown user"
            assert error_condition(err) == "service-unavailable"
        finally:
            await ca.close()
    run(body())


def test_iq_to_unknown_user_service_unavailable(server, accounts):
    """RFC 6121 8.5.1: an iq to an account that does not exist MUST get
    service-unavailable."""
    a = accounts("a")

    async def body():
        ca = await Client(server, a.jid, a.password).connect()
        try:
            to = server.jid("nobody-" + uuid.uuid4().hex[:8]) + "/r"
            iq = ca.x.make_iq_get(queryxmlns="jabber:iq:version", ito=to)
            with pytest.raises(IqError) as ei:
                await iq.send(timeout=10)
            assert ei.value.iq["error"]["condition"] == "service-unavailable"
        finally:
            await ca.close()
    run(body())


def test_message_to_other_domain_remote_server_not_found(server, accounts):
    """RFC 6120 8.3.3.16: a domain the server cannot reach (here: one that
    cannot resolve, .invalid) gives remote-server-not-found."""
    a = accounts("a")

    async def body():
        ca = await Client(server, a.jid, a.password).connect()
        try:
            text, mid = send_probe(ca, "someone@elsewhere.invalid", "chat")
            err = await error_for(ca, mid, timeout=20)
            assert err is not None, "no error for a message to another domain"
            assert error_condition(err) == "remote-server-not-found"
        finally:
            await ca.close()
    run(body())


# -- channel binding ----------------------------------------------------------

PLUS_MECHS = ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"]


@pytest.mark.parametrize("tls,mech", [(t, m) for t in TLS_MODES for m in PLUS_MECHS])
def test_login_scram_plus(server, accounts, tls, mech):
    """SCRAM -PLUS with tls-unique (the only binding slixmpp 1.8 has)."""
    need_tls_mode(server, tls)
    if mech not in server.sasl_plus_mechs:
        pytest.skip("%s is not expected from %s" % (mech, server.name))
    a = accounts()

    async def body():
        c = Client(server, a.jid, a.password, tls=tls, mech=mech)
        try:
            await c.connect(presence=False)
            assert c.used_mech == mech
            assert c.jid.bare == a.jid
        finally:
            await c.close()
    run(body())


@pytest.mark.parametrize("tls", TLS_MODES)
def test_scram_downgrade_is_refused(server, accounts, tls):
    """RFC 5802 6: a client that sends gs2 flag "y" (it supports channel
    binding but believes the server does not) to a server that offered
    -PLUS must be refused, even with the right password."""
    need_tls_mode(server, tls)
    plus = sorted(server.sasl_plus_mechs)
    if not plus:
        pytest.skip("%s offers no SCRAM -PLUS" % server.name)
    mech = plus[0][:-len("-PLUS")]
    a = accounts()

    async def body():
        c = Client(server, a.jid, a.password, tls=tls, mech=mech, claim_cb=True)
        try:
            with pytest.raises(AuthFailed) as ei:
                await c.connect(presence=False)
            assert mech + "-PLUS" in c.offered_mechs
            assert ei.value.conditions == [server.scram_downgrade_condition]
            assert not c.x.sessionstarted
        finally:
            await c.close()
    run(body())
