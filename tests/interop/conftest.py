"""pytest fixtures for the interop suite.

`server`   one started server per test module (XMPPCORE_INTEROP_SERVER picks
           xmppcored, the default, or prosody). Tests skip, with the reason,
           when the server is not available. After every test the server
           must still be running; at the end of the module it must stop
           cleanly (SIGTERM, exit status 0) or the last test errors out with
           the server's output.
`accounts` a factory for fresh accounts, deleted after the test.
"""
import itertools
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers  # noqa: E402

_counter = itertools.count(1)


def pytest_report_header(config):
    return "interop server: %s" % servers.selected_name()


@pytest.fixture(scope="module")
def server():
    try:
        srv = servers.make_server()
    except servers.SkipServer as e:
        pytest.skip(str(e))
    try:
        yield srv
        srv.stop()
    finally:
        srv.cleanup()


@pytest.fixture(autouse=True)
def _server_still_alive(request):
    yield
    if "server" in request.fixturenames:
        srv = request.getfixturevalue("server")
        srv.check_alive()


class Account:
    def __init__(self, server, user, password):
        self.user = user
        self.password = password
        self.jid = server.jid(user)

    def __repr__(self):
        return "Account(%s)" % self.jid


@pytest.fixture
def accounts(server):
    made = []

    def make(prefix="user"):
        n = next(_counter)
        user = "%s%d-%d" % (prefix, os.getpid(), n)
        password = "pw-%d-%s" % (n, "s3cr\u00e9t")
        server.create_account(user, password)
        acc = Account(server, user, password)
        made.append(acc)
        return acc

    yield make
    if server.proc is not None and server.proc.poll() is None:
        for acc in made:
            server.delete_account(acc.user)
