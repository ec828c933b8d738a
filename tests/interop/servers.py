"""Servers the interop suite can run against, behind one interface.

A server object has .domain, .host, .port_starttls, .port_tls (direct TLS,
XEP-0368; None when the server cannot offer it), .ca_file (a PEM with the
server's self-signed certificate, which clients trust as their only CA),
.create_account(), .delete_account(), .check_alive() and .stop().

Two implementations:
  XmppcoredServer  the project's example server (the default);
  ProsodyServer    Prosody 0.12, used while developing the suite, so that
                   the tests are known to be right before xmppcored exists.
Pick one with XMPPCORE_INTEROP_SERVER=xmppcored|prosody.

Everything listens on 127.0.0.1 only, on ports picked free at start, and
lives in a temporary directory. Server output goes to files (never to an
unread pipe) and is shown when a test fails because of the server.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

DOMAIN = "xmppcore.test"
HOST = "127.0.0.1"
START_TIMEOUT = 20.0   # seconds for the ports to accept
STOP_TIMEOUT = 5.0     # seconds for a clean exit after SIGTERM
CTL_TIMEOUT = 30.0     # seconds for one control command


class SkipServer(Exception):
    """The selected server cannot run here; the tests must skip."""


class ServerError(Exception):
    """The server crashed, did not start, or did not stop cleanly."""


def free_ports(n):
    """n distinct TCP ports on the loopback that are free right now."""
    socks, ports = [], []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((HOST, 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def port_accepts(port):
    try:
        with socket.create_connection((HOST, port), timeout=1.0):
            return True
    except OSError:
        return False


def extract_cert(pem_path, out_path):
    """Write only the CERTIFICATE blocks of pem_path (which may also hold
    the key) to out_path, for clients to use as their CA file."""
    with open(pem_path, encoding="ascii") as f:
        text = f.read()
    blocks, inside, cur = [], False, []
    for line in text.splitlines():
        if line.startswith("-----BEGIN CERTIFICATE-----"):
            inside, cur = True, [line]
        elif inside:
            cur.append(line)
            if line.startswith("-----END CERTIFICATE-----"):
                blocks.append("\n".join(cur) + "\n")
                inside = False
    if not blocks:
        raise ServerError("no certificate in %s" % pem_path)
    with open(out_path, "w", encoding="ascii") as f:
        f.write("".join(blocks))


class ServerBase:
    name = "?"
    domain = DOMAIN
    host = HOST
    port_starttls = None
    port_tls = None
    direct_tls_skip_reason = None
    ca_file = None
    # SASL mechanisms the tests expect the server to offer (after TLS).
    sasl_mechs = frozenset()
    missing_mech_reason = None
    # SCRAM -PLUS mechanisms (tls-unique channel binding, TLS 1.2) expected.
    sasl_plus_mechs = frozenset()
    # The SASL condition for a SCRAM downgrade (gs2 flag "y" when -PLUS was
    # offered); RFC 5802 requires the failure but XMPP names no condition.
    scram_downgrade_condition = "not-authorized"

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="xmppcore-interop-%s-" % self.name)
        self.proc = None
        self.out_path = os.path.join(self.dir, "server.out")
        self.err_path = os.path.join(self.dir, "server.err")
        self.accounts = set()

    # -- process handling shared by both servers --

    def _spawn(self, argv, env=None):
        self._out = open(self.out_path, "wb")
        self._err = open(self.err_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=self._out, stderr=self._err,
                                     cwd=self.dir, env=env)

    def output(self, limit=6000):
        """The tail of the server's stdout and stderr, for failure reports."""
        parts = []
        for label, path in (("stdout", self.out_path), ("stderr", self.err_path)):
            try:
                with open(path, "rb") as f:
                    data = f.read().decode("utf-8", "replace")
            except OSError:
                continue
            if data:
                parts.append("--- server %s (last %d chars) ---\n%s"
                             % (label, limit, data[-limit:]))
        return "\n".join(parts) or "(the server wrote nothing)"

    def _wait_ports(self):
        ports = [p for p in (self.port_starttls, self.port_tls) if p]
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError("%s exited with status %s while starting\n%s"
                                  % (self.name, self.proc.returncode, self.output()))
            if all(port_accepts(p) for p in ports):
                return
            time.sleep(0.1)
        self._kill()
        raise ServerError("%s did not accept on ports %s within %.0f s\n%s"
                          % (self.name, ports, START_TIMEOUT, self.output()))

    def check_alive(self):
        """Raise ServerError (with its output) if the server has died."""
        if self.proc is not None and self.proc.poll() is not None:
            rc = self.proc.returncode
            raise ServerError("%s died during the test (status %s)\n%s"
                              % (self.name, rc, self.output()))

    def _kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT)

    def stop(self):
        """SIGTERM, then require exit status 0 within STOP_TIMEOUT seconds.
        A server that already died, hangs, or exits non-zero is an error."""
        if self.proc is None:
            return
        try:
            self.check_alive()
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._kill()
                raise ServerError("%s did not exit within %.0f s of SIGTERM\n%s"
                                  % (self.name, STOP_TIMEOUT, self.output()))
            if rc != 0:
                raise ServerError("%s exited with status %s after SIGTERM\n%s"
                                  % (self.name, rc, self.output()))
        finally:
            self._kill()
            self.proc = None
            for f in (getattr(self, "_out", None), getattr(self, "_err", None)):
                if f:
                    f.close()

    def cleanup(self):
        if self.proc is not None:
            self._kill()
        if os.environ.get("XMPPCORE_INTEROP_KEEP"):
            return
        shutil.rmtree(self.dir, ignore_errors=True)

    def _ctl(self, argv, what):
        try:
            r = subprocess.run(argv, stdin=subprocess.DEVNULL,
                               capture_output=True, timeout=CTL_TIMEOUT,
                               cwd=self.dir, env=self.ctl_env())
        except subprocess.TimeoutExpired:
            raise ServerError("%s: %s timed out after %.0f s"
                              % (self.name, what, CTL_TIMEOUT))
        if r.returncode != 0:
            raise ServerError("%s: %s failed (status %d)\ncommand: %s\n"
                              "stdout: %s\nstderr: %s\n%s"
                              % (self.name, what, r.returncode, " ".join(argv),
                                 r.stdout.decode(errors="replace"),
                                 r.stderr.decode(errors="replace"),
                                 self.output()))
        return r

    def ctl_env(self):
        return None

    def jid(self, user):
        return "%s@%s" % (user, self.domain)


class ProsodyServer(ServerBase):
    """Prosody 0.12 in the foreground with a configuration of its own.
    For development of the suite only; not a CI dependency."""
    name = "prosody"
    sasl_mechs = frozenset({"SCRAM-SHA-1", "PLAIN"})
    missing_mech_reason = ("Prosody 0.12 implements SCRAM-SHA-1 only "
                           "(util/sasl/scram.lua), not SCRAM-SHA-256")
    # Offered with tls-unique, which needs TLS 1.2: the config pins it (as
    # xmppcored, on mbedTLS 2.28, has it).
    sasl_plus_mechs = frozenset({"SCRAM-SHA-1-PLUS"})
    scram_downgrade_condition = "malformed-request"

    def __init__(self):
        self.prosody = shutil.which("prosody")
        self.prosodyctl = shutil.which("prosodyctl")
        if not self.prosody or not self.prosodyctl:
            raise SkipServer("XMPPCORE_INTEROP_SERVER=prosody but prosody is "
                             "not installed (apt-get install prosody)")
        openssl = shutil.which("openssl")
        if not openssl:
            raise SkipServer("openssl is needed to make Prosody's certificate")
        super().__init__()
        self.port_starttls, self.port_tls, self.port_s2s = free_ports(3)
        key = os.path.join(self.dir, "key.pem")
        cert = os.path.join(self.dir, "cert.pem")
        r = subprocess.run(
            [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
             "-subj", "/CN=%s" % self.domain,
             "-addext", "subjectAltName=DNS:%s" % self.domain,
             "-keyout", key, "-out", cert],
            capture_output=True, timeout=CTL_TIMEOUT)
        if r.returncode != 0:
            raise ServerError("openssl failed: %s" % r.stderr.decode(errors="replace"))
        self.ca_file = cert
        self.config = os.path.join(self.dir, "prosody.cfg.lua")
        data = os.path.join(self.dir, "data")
        os.mkdir(data, 0o700)
        # Prosody 0.12 has c2s_direct_tls_ports (mod_c2s "c2s_direct_tls").
        with open(self.config, "w") as f:
            f.write("""-- written by the libxmppcore interop suite
daemonize = false
run_as_root = true
pidfile = "{dir}/prosody.pid"
data_path = "{data}"
log = {{ {{ levels = {{ min = "debug" }}, to = "console" }} }}
interfaces = {{ "{host}" }}
local_interfaces = {{ "{host}" }}
c2s_ports = {{ {p1} }}
c2s_direct_tls_ports = {{ {p2} }}
s2s_ports = {{ {p3} }}
s2s_direct_tls_ports = {{ }}
http_ports = {{ }}
https_ports = {{ }}
c2s_require_encryption = true
s2s_require_encryption = true
allow_registration = false
authentication = "internal_hashed"
storage = "internal"
ssl = {{ certificate = "{cert}"; key = "{key}"; protocol = "tlsv1_2" }}
modules_enabled = {{ "roster", "saslauth", "tls", "disco", "ping",
                     "version", "posix" }}
VirtualHost "{domain}"
""".format(dir=self.dir, data=data, host=HOST, p1=self.port_starttls,
           p2=self.port_tls, p3=self.port_s2s, cert=cert, key=key,
           domain=self.domain))

    def start(self):
        self._spawn([self.prosody, "-F", "--config", self.config])
        self._wait_ports()

    def create_account(self, user, password):
        self._ctl([self.prosodyctl, "--config", self.config, "register",
                   user, self.domain, password], "register %s" % user)
        self.accounts.add(user)

    def delete_account(self, user):
        self._ctl([self.prosodyctl, "--config", self.config, "deluser",
                   self.jid(user)], "deluser %s" % user)
        self.accounts.discard(user)


def build_root():
    return os.environ.get("MESON_BUILD_ROOT") or os.environ.get("XMPPCORE_BUILD_ROOT")


def find_xmppcored():
    """(xmppcored, xmppcorectl) paths, or raise SkipServer saying why."""
    server = os.environ.get("XMPPCORED")
    ctl = os.environ.get("XMPPCORECTL")
    root = build_root()
    if not server:
        if not root:
            raise SkipServer("xmppcored not found: set XMPPCORED or "
                             "MESON_BUILD_ROOT (run through `meson test`)")
        server = os.path.join(root, "examples", "xmppcored", "xmppcored")
    if not ctl:
        ctl = os.path.join(os.path.dirname(server), "xmppcorectl")
    for path, what in ((server, "xmppcored"), (ctl, "xmppcorectl")):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise SkipServer("%s is not built (no executable %s)" % (what, path))
    return server, ctl


class XmppcoredServer(ServerBase):
    """The project's example server, driven through its documented
    command line (see tests/interop/README.md for the contract)."""
    name = "xmppcored"
    sasl_mechs = frozenset({"SCRAM-SHA-1", "SCRAM-SHA-256"})
    sasl_plus_mechs = frozenset({"SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS"})
    scram_downgrade_condition = "not-authorized"  # lib/sasl/sasl.h

    def __init__(self):
        self.server_bin, self.ctl_bin = find_xmppcored()
        super().__init__()
        self.port_starttls, self.port_tls = free_ports(2)
        self.config = os.path.join(self.dir, "xmppcored.yml")
        self.pem = os.path.join(self.dir, "server.pem")
        with open(self.config, "w") as f:
            f.write("""# written by the libxmppcore interop suite
hosts:
  - "{domain}"
loglevel: debug
certfiles:
  - "{pem}"
listen:
  - port: {p1}
    ip: "{host}"
    module: c2s
    starttls_required: true
  - port: {p2}
    ip: "{host}"
    module: c2s
    tls: true
sql_database: "{dir}/xmppcored.db"
admin_socket: "{dir}/admin.sock"
""".format(domain=self.domain, pem=self.pem, p1=self.port_starttls,
           p2=self.port_tls, host=HOST, dir=self.dir))
        self._ctl([self.ctl_bin, "-c", self.config, "gencert", self.domain,
                   self.pem], "gencert")
        self.ca_file = os.path.join(self.dir, "ca.pem")
        extract_cert(self.pem, self.ca_file)

    def start(self):
        self._spawn([self.server_bin, "-c", self.config])
        self._wait_ports()

    def create_account(self, user, password):
        self._ctl([self.ctl_bin, "-c", self.config, "register", user,
                   self.domain, password], "register %s" % user)
        self.accounts.add(user)

    def delete_account(self, user):
        self._ctl([self.ctl_bin, "-c", self.config, "unregister", user,
                   self.domain], "unregister %s" % user)
        self.accounts.discard(user)


SERVERS = {"xmppcored": XmppcoredServer, "prosody": ProsodyServer}


def selected_name():
    return os.environ.get("XMPPCORE_INTEROP_SERVER", "xmppcored")


def make_server():
    """A started server of the selected kind. Raises SkipServer or
    ServerError."""
    name = selected_name()
    cls = SERVERS.get(name)
    if cls is None:
        raise ServerError("XMPPCORE_INTEROP_SERVER=%r: expected one of %s"
                          % (name, ", ".join(sorted(SERVERS))))
    srv = cls()
    try:
        srv.start()
    except BaseException:
        srv.cleanup()
        raise
    return srv
