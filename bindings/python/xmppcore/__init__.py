"""xmppcore: Python bindings (cffi) for libxmppcore, an embeddable XMPP
server library.

    import xmppcore
    server = xmppcore.Server(["localhost"])
    server.add_self_signed_cert("localhost")
    server.create_account("localhost", "alice", "secret")

    @server.hook("user_send_packet")
    def log_messages(event):
        print(event.stanza.to_xml())

    server.run("127.0.0.1", 5222)          # the built-in epoll loop
    # or, inside asyncio:
    # await server.start_asyncio("127.0.0.1", 5222)

See docs/python.md.
"""
from ._errors import CODES, Error, StaleError, strerror
from ._server import (CONTINUE, DROP, STOP, HookEvent, Listener, Server,
                      generate_self_signed_pem, version)
from ._stanza import NS_CLIENT, NS_STANZAS, NS_XML, Attrs, Stanza
from ._store import Credentials, DictAuthBackend, ScramKeys

globals().update(CODES)  # E_INVAL, E_NOTFOUND, ... as module constants

__version__ = "0.1.0"

__all__ = ["Server", "Listener", "HookEvent", "Stanza", "Attrs", "Error",
           "StaleError", "Credentials", "ScramKeys", "DictAuthBackend",
           "CONTINUE", "STOP", "DROP", "NS_CLIENT", "NS_STANZAS", "NS_XML",
           "generate_self_signed_pem", "strerror", "version"] + sorted(CODES)
