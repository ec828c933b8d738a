"""A thin layer over slixmpp for the tests: connect with a chosen TLS mode
and SASL mechanism, record what arrives, and wait for things with
timeouts. Every wait has a timeout; nothing here can hang a test.
"""
import asyncio
import logging
import os

import slixmpp
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

WAIT = float(os.environ.get("XMPPCORE_INTEROP_WAIT", "10"))  # seconds
QUIET = 1.0  # seconds to wait when checking that nothing arrives

if os.environ.get("XMPPCORE_INTEROP_DEBUG"):
    logging.basicConfig(level=logging.DEBUG)


def run(coro, timeout=60):
    """Run a test coroutine with an overall timeout."""
    async def guarded():
        return await asyncio.wait_for(coro, timeout)
    return asyncio.run(guarded())


class Client:
    """One slixmpp connection. tls: 'starttls' or 'direct'.

    mech forces one SASL mechanism. slixmpp 1.8 sends the gs2 flag "y"
    (RFC 5802: "I support channel binding, but you did not offer -PLUS")
    with a non-PLUS SCRAM whenever its TLS socket has tls-unique data; a
    server that does offer -PLUS must then fail the authentication, as a
    downgrade. So for a forced non-PLUS mechanism the client is made to
    claim no channel binding ("n"), like most clients, unless claim_cb is
    True (the downgrade test)."""

    def __init__(self, server, jid, password, *, tls="starttls", mech=None,
                 resource=None, software="interop-slixmpp", claim_cb=False):
        if resource:
            jid = "%s/%s" % (jid, resource)
        self.server = server
        self.tls = tls
        self.mech = mech
        x = slixmpp.ClientXMPP(jid, password, sasl_mech=mech)
        x.ca_certs = server.ca_file
        x.register_plugin("xep_0030")
        x.register_plugin("xep_0199")  # ping
        x.register_plugin("xep_0092", {"name": software, "version": "1.0"})
        self.x = x
        self.session = asyncio.get_running_loop().create_future()
        self.sasl_failures = []   # conditions of <failure/> received
        self.used_mech = None
        self.offered_mechs = None
        self.messages = asyncio.Queue()   # every <message/>, errors included
        self.presences = asyncio.Queue()  # every <presence/>
        self.disconnected = asyncio.Event()
        self.stream_errors = []
        x.add_event_handler("session_start", self._on_session)
        x.add_event_handler("failed_auth", self._on_failed_auth)
        x.add_event_handler("failed_all_auth", self._on_failed_all_auth)
        x.add_event_handler("auth_success", self._on_auth_success)
        x.add_event_handler("disconnected", self._on_disconnected)
        x.add_event_handler("connection_failed", self._on_connection_failed)
        x.add_event_handler("stream_error", self.stream_errors.append)
        x.add_event_handler("ssl_invalid_chain", self._on_bad_cert)
        x.register_handler(Callback(
            "interop all messages",
            MatchXPath("{jabber:client}message"),
            lambda m: self.messages.put_nowait(m)))
        x.register_handler(Callback(
            "interop all presences",
            MatchXPath("{jabber:client}presence"),
            lambda p: self.presences.put_nowait(p)))
        plugin = x["feature_mechanisms"]
        if mech and not mech.endswith("-PLUS") and not claim_cb:
            creds = plugin.sasl_callback

            def no_cb(required, optional):
                values = creds(required, optional)
                if "channel_binding" in values:
                    values["channel_binding"] = None
                return values
            plugin.sasl_callback = no_cb
        # Note which mechanisms the server offered, then let slixmpp's own
        # SASL feature handler do the work.
        orig = plugin._handle_sasl_auth

        def spy(features):
            self.offered_mechs = set(features["mechanisms"])
            return orig(features)
        x.unregister_feature("mechanisms", plugin.order)
        x.register_feature("mechanisms", spy, restart=True, order=plugin.order)

    def _settle(self, exc):
        if not self.session.done():
            self.session.set_exception(exc)

    def _on_session(self, _):
        if not self.session.done():
            self.session.set_result(True)

    def _on_failed_auth(self, stanza):
        self.sasl_failures.append(stanza["condition"])

    def _on_failed_all_auth(self, _):
        self._settle(AuthFailed(self.sasl_failures))

    def _on_auth_success(self, _):
        self.used_mech = self.x["feature_mechanisms"].mech.name

    def _on_disconnected(self, reason):
        self.disconnected.set()
        self._settle(ConnectionError("disconnected before the session "
                                     "started: %s; SASL failures %s"
                                     % (reason, self.sasl_failures)))

    def _on_connection_failed(self, err):
        self._settle(ConnectionError("connection failed: %s" % err))

    def _on_bad_cert(self, err):
        self._settle(ConnectionError("certificate not accepted: %s" % err))
        self.x.abort()

    @property
    def jid(self):
        """The full JID the server bound."""
        return self.x.boundjid

    def start_connect(self):
        srv = self.server
        if self.tls == "direct":
            self.x.connect((srv.host, srv.port_tls), use_ssl=True,
                           force_starttls=False, disable_starttls=True)
        else:
            self.x.connect((srv.host, srv.port_starttls), use_ssl=False,
                           force_starttls=True, disable_starttls=False)

    async def connect(self, presence=True, timeout=WAIT):
        """Connect, authenticate, bind; optionally send initial presence."""
        self.start_connect()
        await asyncio.wait_for(asyncio.shield(self.session), timeout)
        if presence:
            self.x.send_presence()
        return self

    async def close(self):
        if self.x.transport is not None and not self.disconnected.is_set():
            try:
                await asyncio.wait_for(self.x.disconnect(wait=1.0), 3)
            except (asyncio.TimeoutError, Exception):
                self.x.abort()
        self.x.abort()
        # Let the transport finish closing before the loop goes away.
        await asyncio.sleep(0)

    async def next_message(self, timeout=WAIT, pred=None):
        return await _next(self.messages, timeout, pred)

    async def next_presence(self, timeout=WAIT, pred=None):
        return await _next(self.presences, timeout, pred)

    async def no_message(self, timeout=QUIET, pred=None):
        """Fail (return the stanza) if a matching message arrives."""
        try:
            return await _next(self.messages, timeout, pred)
        except asyncio.TimeoutError:
            return None


class AuthFailed(Exception):
    def __init__(self, conditions):
        super().__init__("SASL authentication failed: %s" % conditions)
        self.conditions = list(conditions)


async def _next(queue, timeout, pred):
    async def get():
        while True:
            item = await queue.get()
            if pred is None or pred(item):
                return item
    return await asyncio.wait_for(get(), timeout)


async def connect_pair(server, a, b, **kw):
    """Two connected clients with initial presence sent."""
    ca = Client(server, a.jid, a.password, resource="res-a", **kw)
    cb = Client(server, b.jid, b.password, resource="res-b", **kw)
    try:
        await asyncio.gather(ca.connect(), cb.connect())
    except BaseException:
        await asyncio.gather(ca.close(), cb.close())
        raise
    return ca, cb
