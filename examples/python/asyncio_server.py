#!/usr/bin/python3
"""An asyncio program that also runs an XMPP server.

    PYTHONPATH=build/bindings/python examples/python/asyncio_server.py \
        --port 5222 --ca-out /tmp/ca.pem

The chat server is one more thing the program's asyncio loop does: its
connections are asyncio transports feeding libxmppcore's sans-IO API.
Accounts come from a Python dict (xmppcore.DictAuthBackend); here the
program's own tasks are a "news" task that sends a message to every
session once a minute (from=the domain) and a status line logged every
few seconds. A /who command to news@<domain> lists the sessions. SIGINT
or SIGTERM close the server gracefully and end the program.
"""
import argparse
import asyncio
import logging
import signal
import sys

import xmppcore

ACCOUNTS = {"alice": "alice-secret", "bob": "bob-secret"}


async def news(server, domain, every):
    n = 0
    while True:
        await asyncio.sleep(every)
        n += 1
        for jid in server.sessions(domain):
            msg = xmppcore.Stanza("message", "jabber:client", attrs={
                "from": domain, "to": jid, "type": "headline"})
            msg.add_child("body", text="news #%d: %d users online"
                          % (n, len(server.sessions(domain))))
            server.send(msg)


async def status(server, every):
    while True:
        await asyncio.sleep(every)
        logging.info("%d sessions", len(server.sessions()))


async def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--domain", default="localhost")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=5222)
    ap.add_argument("--news-every", type=float, default=60)
    ap.add_argument("--ca-out")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s")
    domain = args.domain
    backend = xmppcore.DictAuthBackend({domain: dict(ACCOUNTS)})
    server = xmppcore.Server([domain], auth_backend=backend)
    cert = server.add_self_signed_cert(domain)
    if args.ca_out:
        with open(args.ca_out, "w") as f:
            f.write(cert)

    @server.hook("user_send_packet")
    def who(event):
        st = event.stanza
        if st.name == "message" and st.get("to") == "news@" + domain:
            if st.find_text("body") == "/who":
                r = xmppcore.Stanza("message", "jabber:client", attrs={
                    "from": "news@" + domain, "to": event.session_jid,
                    "type": "chat"})
                r.add_child("body", text=", ".join(sorted(server.sessions())))
                server.send(r)
            return xmppcore.DROP

    srv = await server.start_asyncio(args.host, args.port,
                                     server.add_listener("c2s"))
    port = srv.sockets[0].getsockname()[1]
    print("listening on %s:%d" % (args.host, port), flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(news(server, domain, args.news_every)),
             asyncio.create_task(status(server, 5))]
    await stop.wait()
    for t in tasks:
        t.cancel()
    await server.aclose()  # system-shutdown to every client
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
