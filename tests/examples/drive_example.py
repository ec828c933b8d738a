#!/usr/bin/python3
"""Drives one example program with a real client (slixmpp).

    drive_example.py KIND EXE      KIND: minimal, echo-bot, embed-libuv,
                                   embed-libevent

Starts EXE on 127.0.0.1 with free ports, logs in two accounts (alice and
bob, STARTTLS with the example's self-signed certificate), exchanges
messages both ways, then checks what the example adds: the echo bot's
reply; for the embed hosts the periodic status message and the line
protocol's "who" and "say". Finally it sends SIGTERM (SIGINT for some),
checks that the connected client gets the system-shutdown stream error
and that the program exits 0 within a few seconds. Loopback only; every
wait has a timeout. Prints "N passed, N failed"; exit 77 if slixmpp is
missing.
"""
import asyncio
import logging
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

try:
    import slixmpp
except ImportError:
    print("python3-slixmpp is not installed: skipping")
    sys.exit(77)

WAIT = 10.0
HOST = "127.0.0.1"
DOMAIN = "localhost"

logging.basicConfig(level=logging.DEBUG if os.environ.get("EXAMPLE_DEBUG")
                    else logging.CRITICAL)

results = {"passed": 0, "failed": 0}


def check(cond, what):
    if cond:
        results["passed"] += 1
        print("ok   %s" % what)
    else:
        results["failed"] += 1
        print("FAIL %s" % what)
    return cond


def free_port():
    s = socket.socket()
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, timeout=WAIT):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection((HOST, port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


class Client:
    """A slixmpp client that accepts the example's self-signed certificate
    and queues what it receives."""

    def __init__(self, user, password, port):
        x = slixmpp.ClientXMPP("%s@%s" % (user, DOMAIN), password)
        x.ssl_context.check_hostname = False
        x.ssl_context.verify_mode = ssl.CERT_NONE
        self.x = x
        self.port = port
        self.session = asyncio.get_running_loop().create_future()
        self.messages = asyncio.Queue()
        self.stream_errors = []
        self.disconnected = asyncio.Event()
        x.add_event_handler("session_start", self._started)
        x.add_event_handler("failed_all_auth", lambda _: self._fail("auth failed"))
        x.add_event_handler("connection_failed", lambda e: self._fail(str(e)))
        x.add_event_handler("disconnected", self._gone)
        x.add_event_handler("message", self.messages.put_nowait)
        x.add_event_handler("stream_error",
                            lambda e: self.stream_errors.append(e["condition"]))

    def _started(self, _):
        if not self.session.done():
            self.session.set_result(True)

    def _fail(self, why):
        if not self.session.done():
            self.session.set_exception(ConnectionError(why))

    def _gone(self, _):
        self.disconnected.set()
        self._fail("disconnected")

    async def connect(self):
        self.x.connect((HOST, self.port), use_ssl=False, force_starttls=True)
        await asyncio.wait_for(asyncio.shield(self.session), WAIT)
        self.x.send_presence()

    async def message_with(self, body, timeout=WAIT):
        """The next message whose body is body (others are skipped)."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return None
            try:
                m = await asyncio.wait_for(self.messages.get(), left)
            except asyncio.TimeoutError:
                return None
            if m["body"] == body:
                return m

    async def message_starting(self, prefix, timeout=WAIT):
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return None
            try:
                m = await asyncio.wait_for(self.messages.get(), left)
            except asyncio.TimeoutError:
                return None
            if m["body"].startswith(prefix):
                return m

    async def close(self):
        if not self.disconnected.is_set():
            try:
                await asyncio.wait_for(self.x.disconnect(wait=1.0), 3)
            except Exception:
                self.x.abort()


async def line_command(port, command, until):
    """Sends one line to the host's line protocol; reads until a line
    starting with `until`. Returns the lines."""
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(HOST, port), WAIT)
    lines = []
    try:
        writer.write((command + "\n").encode())
        await writer.drain()
        while True:
            raw = await asyncio.wait_for(reader.readline(), WAIT)
            if not raw:
                break
            line = raw.decode().rstrip("\n")
            lines.append(line)
            if line.startswith(until) or line.startswith("error"):
                break
    finally:
        writer.close()
    return lines


async def scenario(kind, proc, port, line_port):
    alice = Client("alice", "alice", port)
    bob = Client("bob", "bob", port)
    try:
        await alice.connect()
        await bob.connect()
        check(True, "alice and bob log in (STARTTLS, SASL, bind)")
    except Exception as e:
        check(False, "alice and bob log in: %r" % e)
        return None

    alice.x.send_message(mto=bob.x.boundjid.bare, mbody="hello bob", mtype="chat")
    m = await bob.message_with("hello bob")
    check(m is not None and m["from"].bare == "alice@" + DOMAIN,
          "alice -> bob delivered")
    bob.x.send_message(mto=alice.x.boundjid.full, mbody="hi alice", mtype="chat")
    m = await alice.message_with("hi alice")
    check(m is not None and m["from"] == bob.x.boundjid, "bob -> alice delivered")

    if kind == "echo-bot":
        alice.x.send_message(mto="echo@" + DOMAIN, mbody="echo me 42",
                             mtype="chat")
        m = await alice.message_with("echo me 42")
        check(m is not None and m["from"].bare == "echo@" + DOMAIN and
              m["type"] == "chat", "the echo bot answers alice")
        bob.x.send_message(mto="echo@" + DOMAIN + "/any", mbody="and bob",
                           mtype="normal")
        m = await bob.message_with("and bob")
        check(m is not None and m["from"].bare == "echo@" + DOMAIN,
              "the echo bot answers bob (to a full JID, type normal)")

    if kind.startswith("embed-"):
        m = await alice.message_starting("status ")
        check(m is not None and m["from"] == DOMAIN,
              "the host's periodic status message reaches alice: %s"
              % (m["body"] if m is not None else None))
        lines = await line_command(line_port, "who", "end ")
        check(lines and lines[-1] == "end 2" and
              str(alice.x.boundjid) in lines and str(bob.x.boundjid) in lines,
              "line protocol 'who' lists both sessions: %r" % lines)
        lines = await line_command(line_port,
                                   "say %s hello from the host" % bob.x.boundjid.bare,
                                   "ok")
        check(lines == ["ok"], "line protocol 'say' answers ok: %r" % lines)
        m = await bob.message_with("hello from the host")
        check(m is not None and m["from"] == DOMAIN,
              "'say' delivers the message to bob")
        lines = await line_command(line_port, "bogus", "error")
        check(lines and lines[-1].startswith("error"),
              "line protocol refuses an unknown command")

    await bob.close()
    return alice


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    kind, exe = sys.argv[1], sys.argv[2]
    port = free_port()
    argv = [exe, "--host", HOST, "--port", str(port)]
    line_port = None
    if kind.startswith("embed-"):
        line_port = free_port()
        argv += ["--line-port", str(line_port), "--status-interval", "300",
                 "--status-to", "alice@" + DOMAIN]
    argv += ["alice:alice", "bob:bob"]
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    try:
        if not check(wait_port(port, proc), "%s listens on %s:%d" % (kind, HOST, port)):
            return finish(proc, log)
        if line_port and not check(wait_port(line_port, proc),
                                   "line protocol on port %d" % line_port):
            return finish(proc, log)

        async def body():
            alice = await asyncio.wait_for(scenario(kind, proc, port, line_port), 60)
            if alice is None:
                return
            # Stop the program while alice is still connected.
            sig = signal.SIGINT if kind in ("echo-bot", "embed-libevent") else signal.SIGTERM
            t0 = time.monotonic()
            proc.send_signal(sig)
            try:
                await asyncio.wait_for(alice.disconnected.wait(), 5)
            except asyncio.TimeoutError:
                pass
            check("system-shutdown" in alice.stream_errors,
                  "alice gets the system-shutdown stream error (%s)"
                  % sig.name)
            while proc.poll() is None and time.monotonic() - t0 < 5:
                await asyncio.sleep(0.05)
            check(proc.poll() == 0, "exit status 0 within 5 s after %s (got %r)"
                  % (sig.name, proc.poll()))
            await alice.close()
        asyncio.run(body())
    finally:
        return finish(proc, log)


def finish(proc, log):
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    if results["failed"]:
        log.seek(0)
        sys.stdout.write("---- program output ----\n")
        sys.stdout.write(log.read().decode(errors="replace")[-6000:])
    print("%d passed, %d failed" % (results["passed"], results["failed"]))
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
