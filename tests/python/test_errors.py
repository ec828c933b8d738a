"""C errors as Python exceptions carrying the C library's messages."""
import pytest

import xmppcore


def test_error_has_code_and_c_message():
    e = xmppcore.Error(xmppcore.E_NOTFOUND, "looking")
    assert e.code == -3
    assert e.name == "E_NOTFOUND"
    assert e.strerror == xmppcore.strerror(-3)
    assert str(e) == "looking: " + xmppcore.strerror(-3)
    assert not e.fatal
    assert xmppcore.Error(xmppcore.E_XML).fatal


def test_server_errors():
    with xmppcore.Server(["example.org"]) as srv:
        with pytest.raises(xmppcore.Error) as e:
            srv.add_vhost("example.org")
        assert e.value.code == xmppcore.E_EXISTS
        with pytest.raises(xmppcore.Error) as e:
            srv.add_vhost("bad domain!")
        assert e.value.code == xmppcore.E_JID
        with pytest.raises(xmppcore.Error) as e:
            srv.set_option("no.such.option", "1")
        assert e.value.code == xmppcore.E_INVAL
        with pytest.raises(xmppcore.Error) as e:
            srv.set_option("c2s.idle_timeout", 5, vhost="other.org")
        assert e.value.code == xmppcore.E_NOTFOUND
        srv.set_option("auth.plain_without_tls", True)
        # Certificate errors carry xmppcore_server_last_error().
        with pytest.raises(xmppcore.Error) as e:
            srv.add_cert_pem("-----BEGIN CERTIFICATE-----\nxx\n"
                             "-----END CERTIFICATE-----\n", "junk")
        # server.h promises E_TLS for bad PEM; the library gives E_INVAL.
        assert e.value.code in (xmppcore.E_TLS, xmppcore.E_INVAL)
        assert "X509" in str(e.value)
        assert e.value.detail and e.value.detail == srv.last_error()
        with pytest.raises(xmppcore.Error) as e:
            srv.add_cert_file("/nonexistent/cert.pem")
        assert e.value.code == xmppcore.E_IO
        assert "/nonexistent/cert.pem" in str(e.value)
        # Accounts.
        srv.create_account("example.org", "alice", "pw")
        with pytest.raises(xmppcore.Error) as e:
            srv.create_account("example.org", "alice", "pw")
        assert e.value.code == xmppcore.E_EXISTS
        with pytest.raises(xmppcore.Error) as e:
            srv.create_account("example.org", "bad user@", "pw")
        assert e.value.code == xmppcore.E_JID
        with pytest.raises(xmppcore.Error) as e:
            srv.create_account("nowhere.org", "alice", "pw")
        assert e.value.code == xmppcore.E_NOTFOUND
        srv.set_password("example.org", "alice", "new")
        srv.delete_account("example.org", "alice")
        with pytest.raises(xmppcore.Error) as e:
            srv.delete_account("example.org", "alice")
        assert e.value.code == xmppcore.E_NOTFOUND
        # Sending needs a 'from' of ours.
        with pytest.raises(xmppcore.Error) as e:
            srv.send(xmppcore.Stanza("message", "jabber:client"))
        assert e.value.code == xmppcore.E_INVAL
        # The same IQ slot twice.
        srv.add_iq_handler("urn:x", lambda ev: None, "get")
        with pytest.raises(xmppcore.Error) as e:
            srv.add_iq_handler("urn:x", lambda ev: None, "get")
        assert e.value.code == xmppcore.E_EXISTS
        lst = srv.add_listener("c2s")
        with pytest.raises(xmppcore.Error):
            lst.set_option("no_such", "x")
    # After close, wrappers are stale, not dangling.
    with pytest.raises(xmppcore.StaleError):
        lst.set_option("starttls", True)
    with pytest.raises(xmppcore.StaleError):
        srv.add_vhost("x.org")


def test_no_store():
    with xmppcore.Server(["example.org"], store=None) as srv:
        with pytest.raises(xmppcore.Error) as e:
            srv.create_account("example.org", "alice", "pw")
        assert e.value.code == xmppcore.E_UNSUPPORTED


def test_sqlite_store(tmp_path):
    db = tmp_path / "x.db"
    with xmppcore.Server(["example.org"], sqlite=db) as srv:
        srv.create_account("example.org", "alice", "pw")
    with xmppcore.Server(["example.org"], sqlite=db) as srv:
        with pytest.raises(xmppcore.Error) as e:
            srv.create_account("example.org", "alice", "pw")
        assert e.value.code == xmppcore.E_EXISTS
    with pytest.raises(xmppcore.Error) as e:
        xmppcore.Server(sqlite=tmp_path / "no" / "such" / "dir.db")
    assert e.value.code == xmppcore.E_IO


def test_credentials():
    c = xmppcore.Credentials.derive("secret")
    assert c.sha256.iterations == 4096 and len(c.sha256.salt) == 16
    assert len(c.sha1.stored_key) == 20 and len(c.sha256.server_key) == 32
    assert c.check_password("secret")
    assert not c.check_password("Secret")
    with pytest.raises(xmppcore.Error) as e:
        xmppcore.Credentials.derive("")
    assert e.value.code == xmppcore.E_INVAL


def test_self_signed_pem():
    cert, key = xmppcore.generate_self_signed_pem("example.org",
                                                  ["alt.example.org"])
    assert cert.startswith("-----BEGIN CERTIFICATE-----")
    assert "PRIVATE KEY" in key
    with pytest.raises(xmppcore.Error) as e:
        xmppcore.generate_self_signed_pem("bad name!")
    assert e.value.code == xmppcore.E_INVAL
