"""The Stanza API without a server: parse, build, serialize, escaping,
attributes, children, replies, ownership."""
import gc

import pytest

import xmppcore
from xmppcore import Stanza


def test_parse_and_read():
    s = Stanza.parse("<message xmlns='jabber:client' to='bob@example.com' "
                     "type='chat' xml:lang='en'><body>Hi</body>"
                     "<x xmlns='urn:x'><y/>text<z a='1'/></x></message>")
    assert s.name == "message"
    assert s.ns == "jabber:client"
    assert s["to"] == "bob@example.com"
    assert s.get("type") == "chat"
    assert s.get("missing", "dflt") == "dflt"
    assert s.attrs["xml:lang"] == "en"
    assert s.attrs["{http://www.w3.org/XML/1998/namespace}lang"] == "en"
    assert [c.name for c in s.children] == ["body", "x"]
    assert s.find("body").text == "Hi"
    assert s.find_text("body") == "Hi"
    assert s.find("x", "urn:x").ns == "urn:x"
    assert s.find("x", "jabber:client") is None
    assert s.find("nothing") is None
    x = s.find("x")
    assert [n if isinstance(n, str) else n.name for n in x.nodes] == \
        ["y", "text", "z"]
    assert x.find("z")["a"] == "1"
    assert x.parent.name == "message"
    assert s.parent is None
    assert len(s.find_all()) == 2


def test_build_and_serialize():
    s = Stanza("iq", "jabber:client", attrs={"type": "get", "id": "1"})
    q = s.add_child("query", "urn:example:q")
    q.add_child("item", attrs={"name": "a"}, text="one")
    assert q.find("item").ns == "urn:example:q"  # inherited
    xml = s.to_xml()
    assert xml == ('<iq xmlns="jabber:client" type="get" id="1">'
                   '<query xmlns="urn:example:q"><item name="a">one</item>'
                   '</query></iq>')
    assert s.to_xml("jabber:client").startswith('<iq type="get"')
    assert Stanza.parse(xml) == s
    assert str(s) == xml


def test_escaping_round_trip():
    s = Stanza("message", "jabber:client")
    s["to"] = "a\"b'<c>&d"
    s.add_child("body", text="1 < 2 & 3 > 2 \"q\" 'a' \u00e9\u2603")
    xml = s.to_xml()
    assert "<c>" not in xml and "1 < 2" not in xml
    assert "&lt;" in xml and "&amp;" in xml
    back = Stanza.parse(xml)
    assert back["to"] == "a\"b'<c>&d"
    assert back.find_text("body") == "1 < 2 & 3 > 2 \"q\" 'a' \u00e9\u2603"
    assert back == s


def test_attrs_mapping():
    s = Stanza("presence")
    s.attrs["type"] = "unavailable"
    s.attrs["{urn:ns}foo"] = "bar"
    assert dict(s.attrs) == {"type": "unavailable", "{urn:ns}foo": "bar"}
    assert len(s.attrs) == 2
    assert "type" in s.attrs
    del s.attrs["type"]
    assert "type" not in s.attrs
    with pytest.raises(KeyError):
        del s.attrs["type"]
    with pytest.raises(KeyError):
        s.attrs["nope"]
    s["n"] = 5  # numbers become text
    assert s["n"] == "5"
    assert 'xmlns:' in s.to_xml() and 'foo="bar"' in s.to_xml()


def test_text_set_and_mixed():
    s = Stanza("body")
    assert s.text == ""
    s.text = "a"
    s.add_text("b")
    s.add_child("br")
    s.add_text("c")
    assert s.text == "abc"
    s.text = "only"
    assert s.nodes == ["only"]
    s.text = None
    assert s.nodes == []


def test_reply_and_error_reply():
    iq = Stanza.parse("<iq xmlns='jabber:client' type='get' id='x1' "
                      "from='a@b/c' to='b'><query xmlns='q'/></iq>")
    r = iq.reply("result")
    assert (r["type"], r["id"], r["to"], r["from"]) == \
        ("result", "x1", "a@b/c", "b")
    assert r.children == []
    e = iq.error_reply("item-not-found")
    err = e.find("error")
    assert e["type"] == "error" and err["type"] == "cancel"
    assert err.find("item-not-found", xmppcore.NS_STANZAS) is not None
    with pytest.raises(xmppcore.Error):
        iq.error_reply("item-not-found", "not-a-type")
    with pytest.raises(xmppcore.Error):
        iq.error_reply("not a name")


def test_copy_and_add_child_copies():
    a = Stanza.parse("<a xmlns='urn:a'><b x='1'/></a>")
    c = a.copy()
    assert c == a
    c.find("b")["x"] = "2"
    assert a.find("b")["x"] == "1"  # independent trees
    holder = Stanza("holder", "urn:h")
    inside = holder.add_child(a)  # a deep copy of a
    inside["changed"] = "yes"
    assert "changed" not in a.attrs
    assert holder.find("a", "urn:a").get("changed") == "yes"


def test_children_keep_their_tree_alive():
    child = Stanza.parse("<a><b><c>deep</c></b></a>").find("b").find("c")
    gc.collect()
    assert child.text == "deep"
    assert child.parent.parent.name == "a"


def test_remove_detaches():
    s = Stanza.parse("<a><b/><c/></a>")
    b = s.find("b")
    b.remove()
    assert [c.name for c in s.children] == ["c"]
    assert b.name == "b"  # still readable
    s.add_child(b)
    assert [c.name for c in s.children] == ["c", "b"]


@pytest.mark.parametrize("bad, code", [
    ("<a>", xmppcore.E_XML),
    ("not xml", xmppcore.E_XML),
    ("<a></b>", xmppcore.E_XML),
    ("<!DOCTYPE a><a/>", xmppcore.E_RESTRICTED_XML),
    ("<a><?pi x?></a>", xmppcore.E_RESTRICTED_XML),
])
def test_parse_errors_carry_c_codes(bad, code):
    with pytest.raises(xmppcore.Error) as e:
        Stanza.parse(bad)
    assert e.value.code == code
    assert e.value.fatal
    assert xmppcore.strerror(code) in str(e.value)


def test_bad_input_is_refused():
    with pytest.raises(xmppcore.Error):
        Stanza("")
    with pytest.raises(xmppcore.Error):
        Stanza("bad name")
    with pytest.raises(ValueError):
        Stanza("a\0b")
    s = Stanza("a")
    with pytest.raises(xmppcore.Error) as e:
        s.text = "control \x01 char"
    assert e.value.code == xmppcore.E_INVAL
    with pytest.raises(TypeError):
        s.attrs["x"] = None
