#!/usr/bin/python3
"""An XMPP server with an echo bot, on libxmppcore's built-in epoll loop.

    PYTHONPATH=build/bindings/python examples/python/echo_bot.py \
        --user alice:secret --port 5222 --ca-out /tmp/ca.pem

Log in as alice@localhost (trust the certificate written to --ca-out) and
send a message to echo@localhost: the bot answers with the same text. The
bot is a hook, not a client: it sees every stanza a user sends, takes the
ones addressed to it, answers through server.send() and drops the
original. An IQ handler answers urn:example:echo queries. Ctrl-C or
SIGTERM shut down gracefully (clients get system-shutdown).
"""
import argparse
import logging
import sys

import xmppcore

NS_ECHO = "urn:example:echo"


def build(domain, users, bot="echo"):
    server = xmppcore.Server([domain])
    cert = server.add_self_signed_cert(domain)
    for spec in users:
        name, _, password = spec.partition(":")
        server.create_account(domain, name, password)
    bot_jid = "%s@%s" % (bot, domain)

    @server.hook("user_send_packet")
    def echo(event):
        st = event.stanza
        if st.name != "message" or st.get("to", "").split("/")[0] != bot_jid:
            return xmppcore.CONTINUE
        body = st.find_text("body")
        if body is not None:
            reply = xmppcore.Stanza("message", "jabber:client", attrs={
                "from": bot_jid, "to": event.session_jid,
                "type": st.get("type", "chat")})
            reply.add_child("body", text=body)
            server.send(reply)
        return xmppcore.DROP  # the bot has no session: nothing to deliver

    @server.iq_handler(NS_ECHO, "get")
    def echo_iq(event):
        iq = event.stanza
        reply = iq.reply("result")
        reply.add_child(iq.find("query", NS_ECHO))
        return reply

    return server, cert


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--domain", default="localhost")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=5222,
                    help="STARTTLS port (0: any free port)")
    ap.add_argument("--user", action="append", default=[],
                    help="NAME:PASSWORD, may repeat")
    ap.add_argument("--ca-out", help="write the certificate here")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s")
    server, cert = build(args.domain, args.user)
    if args.ca_out:
        with open(args.ca_out, "w") as f:
            f.write(cert)
    server.add_listener("c2s")
    port = server.listen(args.host, args.port)
    print("listening on %s:%d" % (args.host, port), flush=True)
    server.serve_forever()  # SIGINT/SIGTERM: graceful shutdown
    server.close()
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
