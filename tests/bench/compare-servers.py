#!/usr/bin/python3
"""Runs xmpp_load against ejabberd, Prosody and xmppcored, one at a time.

For each server and each mode (plain: PLAIN over plaintext TCP; tls:
STARTTLS with an ECDSA P-256 certificate and SCRAM-SHA-256) it writes a
loopback-only configuration and the accounts into a temporary folder,
then for each measurement starts the server, waits for its port, runs
xmpp_load, and stops it again:

  * login+idle at N sessions (and at the larger N in plain mode): server
    CPU per login, RSS/PSS growth per idle session;
  * throughput+latency with P pairs: msgs/s, server CPU per message,
    p50/p99/max latency at a fixed rate, lost messages.

It prints machine information first and a table per mode last, and
writes every raw figure to results.json in the work folder.

    tests/bench/compare-servers.py --quick           # N=1000, a few minutes
    tests/bench/compare-servers.py                   # N=10,000 and 19,000
    tests/bench/compare-servers.py --servers prosody --modes tls --runs 3

Run as root (it installs packages and runs each server as its own user).
See docs/benchmarks.md.
"""
import argparse
import base64
import grp
import hashlib
import hmac
import json
import os
import pwd
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOMAIN = "localhost"
USERS = "user%d"
PASSWORD = "pw"
# Every account gets the same salt, so that xmpp_load derives the SCRAM
# keys once; servers read stored keys and never see that they are equal.
SALT = b"xmppcore-bench-salt-16"
ITERATIONS = 4096


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


# ------------------------------------------------------------------ helpers

def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_port(port, proc, timeout=90):
    end = time.time() + timeout
    while time.time() < end:
        if port_open(port):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.2)
    return False


def children(pid):
    kids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
            ppid = int(st[st.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid:
            kids.append(int(d))
    return kids


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def find_descendant(pid, name, marker="", timeout=30):
    """The first process named `name` under `pid` (itself included) whose
    command line holds `marker`."""
    end = time.time() + timeout
    while time.time() < end:
        todo = [pid]
        while todo:
            p = todo.pop()
            if comm(p) == name and marker in cmdline(p):
                return p
            todo.extend(children(p))
        time.sleep(0.2)
    return None


def gone(pid, proc):
    if proc is not None and proc.pid == pid:
        return proc.poll() is not None
    try:
        with open(f"/proc/{pid}/stat") as f:
            st = f.read()
        return st[st.rindex(")") + 2] in "ZX"
    except (OSError, ValueError, IndexError):
        return True


def stop_pid(pid, proc=None, timeout=30):
    """SIGTERM to a process we started, SIGKILL if it lingers; then reaps
    `proc` (the process we spawned, which may be pid's ancestor)."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    end = time.time() + timeout
    while not gone(pid, proc) and time.time() < end:
        time.sleep(0.2)
    if not gone(pid, proc):
        log(f"  pid {pid} ignored SIGTERM for {timeout}s: SIGKILL")
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if proc is not None:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            log(f"  pid {proc.pid} still running: SIGKILL")
            proc.kill()
            proc.wait(timeout=15)


def as_user(name):
    pw = pwd.getpwnam(name)

    def drop():
        os.setgroups([])
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
        os.setsid()
    return drop


def chown_tree(path, user):
    pw = pwd.getpwnam(user)
    for d, dirs, files in os.walk(path):
        os.chown(d, pw.pw_uid, pw.pw_gid)
        for f in files:
            os.chown(os.path.join(d, f), pw.pw_uid, pw.pw_gid)


def scram_keys(hashname, password=PASSWORD, salt=SALT, iterations=ITERATIONS):
    salted = hashlib.pbkdf2_hmac(hashname, password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashname).digest()
    stored_key = hashlib.new(hashname, client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashname).digest()
    return stored_key, server_key


def dpkg_version(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg],
                       capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None


def make_cert(d):
    """ECDSA P-256 self-signed certificate: cert.pem, key.pem, both.pem."""
    cert, key, both = (os.path.join(d, n) for n in ("cert.pem", "key.pem", "both.pem"))
    if not os.path.exists(both):
        run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
             "-days", "30", "-subj", f"/CN={DOMAIN}",
             "-addext", f"subjectAltName=DNS:{DOMAIN}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(both, "w") as f:
            f.write(open(cert).read() + open(key).read())
    return cert, key, both


# ------------------------------------------------------------------ servers

class Server:
    """One server under test. A subclass writes its configuration and
    accounts (prepare), starts it and says which pid to measure (start),
    and stops it (stop). `mode` is "plain" or "tls"."""
    name = "?"
    port = 0

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, self.name)
        self.proc = None
        self.pid = None
        os.makedirs(self.dir, exist_ok=True)

    def missing(self):
        """None when it can run, else why not."""
        return None

    def version(self):
        return "?"

    def prepare(self, mode, nusers):
        raise NotImplementedError

    def start(self):
        raise NotImplementedError

    def stop(self):
        if self.pid:
            stop_pid(self.pid, self.proc)
        elif self.proc and self.proc.poll() is None:
            stop_pid(self.proc.pid, self.proc)
        self.proc = self.pid = None
        end = time.time() + 20
        while port_open(self.port) and time.time() < end:
            time.sleep(0.2)


class Ejabberd(Server):
    name = "ejabberd"
    port = 15222
    dist_port = 15299  # Erlang distribution, loopback; no epmd needed

    def missing(self):
        if not shutil.which("ejabberdctl"):
            return "ejabberd is not installed"
        if not os.path.exists("/usr/share/ejabberd/sql/lite.sql"):
            return "ejabberd's SQLite schema is missing"
        if not any(n.startswith("p1_sqlite3") or n.startswith("sqlite3")
                   for n in os.listdir("/usr/lib/erlang/lib")):
            return "erlang-p1-sqlite3 is not installed"
        return None

    def version(self):
        return dpkg_version("ejabberd")

    def prepare(self, mode, nusers):
        d = self.dir
        cert, key, both = make_cert(d)
        for sub in ("spool", "logs", "home"):
            shutil.rmtree(os.path.join(d, sub), ignore_errors=True)
            os.makedirs(os.path.join(d, sub))
        db = os.path.join(d, "ejabberd.db")
        if os.path.exists(db):
            os.unlink(db)
        con = sqlite3.connect(db)
        con.executescript(open("/usr/share/ejabberd/sql/lite.sql").read())
        t0 = time.time()
        if mode == "plain":
            rows = ((USERS % i, PASSWORD, "", "", 0) for i in range(1, nusers + 1))
        else:
            sk, svk = scram_keys("sha256")
            # ejabberd keeps the keys base64 and marks SHA-256 with a prefix
            row = ("sha256:" + base64.b64encode(sk).decode(),
                   base64.b64encode(svk).decode(),
                   base64.b64encode(SALT).decode(), ITERATIONS)
            rows = ((USERS % i,) + row for i in range(1, nusers + 1))
        con.executemany("INSERT INTO users(username, password, serverkey, salt,"
                        " iterationcount) VALUES (?,?,?,?,?)", rows)
        con.commit()
        con.close()
        log(f"  ejabberd: {nusers} accounts written to SQLite in {time.time() - t0:.2f}s")
        tls = mode == "tls"
        with open(os.path.join(d, "ejabberd.yml"), "w") as f:
            f.write(f"""# written by compare-servers.py
hosts: ["{DOMAIN}"]
loglevel: warning
certfiles: ["{both}"]
listen:
  - port: {self.port}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    shaper: none
    max_stanza_size: 10485760
    backlog: 4096
    starttls: {str(tls).lower()}
    starttls_required: false
auth_method: sql
auth_password_format: {"scram" if tls else "plain"}
auth_scram_hash: sha256
sql_type: sqlite
sql_database: "{db}"
new_sql_schema: false
shaper: {{}}
shaper_rules: {{}}
max_fsm_queue: 100000
acl:
  local:
    user_regexp: ""
access_rules:
  local:
    allow: local
modules:
  mod_disco: {{}}
  mod_offline: {{}}
  mod_ping: {{}}
  mod_roster: {{}}
""")
        with open(os.path.join(d, "ejabberdctl.cfg"), "w") as f:
            f.write(f"""ERLANG_NODE=xmppbench@localhost
INET_DIST_INTERFACE=127.0.0.1
ERL_DIST_PORT={self.dist_port}
""")
        with open(os.path.join(d, "inetrc"), "w") as f:
            f.write('{lookup,["file","native"]}.\n{host,{127,0,0,1}, ["localhost"]}.\n'
                    '{file, resolv, "/etc/resolv.conf"}.\n')
        chown_tree(d, "ejabberd")

    def start(self):
        d = self.dir
        env = dict(os.environ, HOME=os.path.join(d, "home"))
        out = open(os.path.join(d, "logs", "console.log"), "a")
        self.proc = subprocess.Popen(
            ["ejabberdctl", "--config-dir", d,
             "--config", os.path.join(d, "ejabberd.yml"),
             "--ctl-config", os.path.join(d, "ejabberdctl.cfg"),
             "--spool", os.path.join(d, "spool"),
             "--logs", os.path.join(d, "logs"), "foreground"],
            cwd=d, env=env, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, preexec_fn=as_user("ejabberd"))
        self.pid = find_descendant(self.proc.pid, "beam.smp", "-s ejabberd")
        return self.pid


class Prosody(Server):
    name = "prosody"
    port = 25222

    def missing(self):
        return None if shutil.which("prosody") else "prosody is not installed"

    def version(self):
        return dpkg_version("prosody")

    def prepare(self, mode, nusers):
        d = self.dir
        cert, key, both = make_cert(d)
        data = os.path.join(d, "data")
        shutil.rmtree(data, ignore_errors=True)
        # util.datamanager encodes every non-alphanumeric byte as %xx
        host = "".join(c if c.isalnum() else "%%%02x" % ord(c) for c in DOMAIN)
        acc = os.path.join(data, host, "accounts")
        os.makedirs(acc)
        t0 = time.time()
        if mode == "plain":
            body = 'return {\n\t["password"] = "%s";\n};\n' % PASSWORD
        else:
            sk, svk = scram_keys("sha256")
            body = ('return {\n\t["iteration_count"] = %d;\n\t["salt"] = "%s";\n'
                    '\t["stored_key"] = "%s";\n\t["server_key"] = "%s";\n};\n'
                    % (ITERATIONS, SALT.decode(), sk.hex(), svk.hex()))
        for i in range(1, nusers + 1):
            with open(os.path.join(acc, (USERS % i) + ".dat"), "w") as f:
                f.write(body)
        log(f"  prosody: {nusers} account files written in {time.time() - t0:.2f}s")
        auth = "internal_plain" if mode == "plain" else "internal_hashed"
        with open(os.path.join(d, "prosody.cfg.lua"), "w") as f:
            f.write(f"""-- written by compare-servers.py
data_path = "{data}"
log = {{ {{ levels = {{ min = "warn" }}, to = "file", filename = "{d}/prosody.log" }} }}
interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {self.port} }}
c2s_interfaces = {{ "127.0.0.1" }}
s2s_ports = {{ }}
http_ports = {{ }}
https_ports = {{ }}
modules_enabled = {{ "roster"; "saslauth"; "tls"; "disco"; "ping"; "posix" }}
modules_disabled = {{ "s2s"; "s2s_auth_certs" }}
authentication = "{auth}"
password_hash = "SHA-256"
storage = "internal"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
c2s_stanza_size_limit = 10 * 1024 * 1024
network_settings = {{ nagle = false; tcp_backlog = 4096; read_timeout = 3600 }}
pidfile = "{d}/prosody.pid"
VirtualHost "{DOMAIN}"
    ssl = {{ certificate = "{cert}"; key = "{key}" }}
""")
        chown_tree(d, "prosody")

    def start(self):
        d = self.dir
        out = open(os.path.join(d, "console.log"), "a")
        self.proc = subprocess.Popen(
            ["prosody", "--config", os.path.join(d, "prosody.cfg.lua"), "-F"],
            cwd=d, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, preexec_fn=as_user("prosody"))
        self.pid = self.proc.pid
        return self.pid


class Xmppcored(Server):
    """Our example server; skipped until it is built."""
    name = "xmppcored"
    port = 16222

    build = "build"

    def __init__(self, workdir):
        super().__init__(workdir)
        b = os.path.join(ROOT, self.build)
        self.bin = os.path.join(b, "examples", "xmppcored", "xmppcored")
        self.ctl = os.path.join(b, "examples", "xmppcored", "xmppcorectl")
        self.accounts = os.path.join(b, "tests", "bench", "bench_accounts")

    def missing(self):
        for p in (self.bin, self.ctl, self.accounts):
            if not os.access(p, os.X_OK):
                return f"{os.path.relpath(p, ROOT)} is not built yet"
        return None

    def version(self):
        return "build/ (this tree)"

    def prepare(self, mode, nusers):
        d = self.dir
        cert, key, both = make_cert(d)
        db = os.path.join(d, "xmppcored.db")
        for p in (db, db + "-wal", db + "-shm"):
            if os.path.exists(p):
                os.unlink(p)
        tls = str(mode == "tls").lower()
        cfg = os.path.join(d, "xmppcored.yml")
        with open(cfg, "w") as f:
            f.write(f"""# written by compare-servers.py
hosts: [{DOMAIN}]
loglevel: warning
listen:
  - {{port: {self.port}, ip: "127.0.0.1", module: c2s, starttls: {tls}, starttls_required: false}}
certfiles: ["{both}"]
sql_database: "{db}"
admin_socket: "{d}/admin.sock"
auth_plain_without_tls: true
modules: {{}}
""")
        # One salt shared by every account, as the ejabberd and Prosody
        # accounts above share SALT: the load client then derives its
        # SCRAM keys once instead of once per login (see bench_accounts.c).
        # xmppcorectl register-bulk, which salts each account, is timed
        # by docs/benchmarks.md on its own.
        t0 = time.time()
        run([self.accounts, db, DOMAIN, USERS, str(nusers), PASSWORD, str(ITERATIONS)],
            stdout=subprocess.DEVNULL)
        log(f"  xmppcored: {nusers} accounts written in {time.time() - t0:.2f}s")

    def start(self):
        out = open(os.path.join(self.dir, "console.log"), "a")
        self.proc = subprocess.Popen([self.bin, "-c", os.path.join(self.dir, "xmppcored.yml")],
                                     cwd=self.dir, stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        self.pid = self.proc.pid
        return self.pid


class XmppcoredOpenSSL(Xmppcored):
    """The same server built with the OpenSSL TLS backend:
    meson setup build-bench-openssl -Dtls=openssl && ninja -C build-bench-openssl"""
    name = "xmppcored-openssl"
    build = "build-bench-openssl"

    def version(self):
        return "build-bench-openssl/ (this tree, -Dtls=openssl)"


SERVERS = {"ejabberd": Ejabberd, "prosody": Prosody, "xmppcored": Xmppcored,
           "xmppcored-openssl": XmppcoredOpenSSL}


# ------------------------------------------------------------ installation

def service_running(name):
    r = subprocess.run(["service", name, "status"], capture_output=True)
    return r.returncode == 0


def ensure_installed(names):
    want = {"ejabberd": ["ejabberd", "erlang-p1-sqlite3"], "prosody": ["prosody"]}
    pkgs = [p for n in names for p in want.get(n, []) if not dpkg_version(p)]
    if not pkgs:
        return
    log(f"installing {' '.join(pkgs)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", "update"], env=env, stdout=subprocess.DEVNULL)
    run(["apt-get", "install", "-y"] + pkgs, env=env, stdout=subprocess.DEVNULL)
    # The packages start their system service where the init system lets
    # them; that instance is ours to stop (it would compete for the CPU).
    for svc in ("ejabberd", "prosody"):
        if svc in pkgs and service_running(svc):
            log(f"stopping the {svc} service the package started")
            subprocess.run(["service", svc, "stop"], stdout=subprocess.DEVNULL)


# ---------------------------------------------------------------- measuring

def machine_info():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = f.readline().split()[1]
    return {
        "cpu": model, "nproc": os.cpu_count(),
        "loadavg_at_start": open("/proc/loadavg").read().split()[:3],
        "mem_total_gib": round(int(mem) / 1048576, 1),
        "kernel": os.uname().release,
        "fd_limit": subprocess.run(["sh", "-c", "ulimit -n"], capture_output=True,
                                   text=True).stdout.strip(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def parse_figures(text):
    out = []
    for line in text.splitlines():
        if not line.startswith("phase="):
            continue
        d = {}
        for kv in line.split():
            k, _, v = kv.partition("=")
            try:
                d[k] = float(v)
            except ValueError:
                d[k] = v
        out.append(d)
    return out


def load(args, server, pid, extra):
    cmd = [args.load, "--host", "127.0.0.1", "--port", str(server.port),
           "--domain", DOMAIN, "--users", USERS, "--password", PASSWORD,
           "--server-pid", str(pid), "--label", server.name] + extra
    log("  $ " + " ".join(cmd[len(cmd) - len(extra) - 2:]))
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=args.load_timeout)
    for line in r.stdout.splitlines():
        log("    " + line)
    if r.returncode != 0:
        log(f"  xmpp_load exited {r.returncode}; last stderr lines:")
        for line in r.stderr.strip().splitlines()[-8:]:
            log("    " + line)
    return parse_figures(r.stdout)


def probe(args, server, mech, timeout=60):
    """Waits until one real login succeeds: an open port is not enough
    (ejabberd accepts connections before its SQL pool is up)."""
    end = time.time() + timeout
    while time.time() < end:
        r = subprocess.run([args.load, "--host", "127.0.0.1", "--port", str(server.port),
                            "--domain", DOMAIN, "--users", USERS, "--password", PASSWORD,
                            "--count", "1", "--login-timeout", "5", "--timeout", "10"] + mech,
                           capture_output=True, text=True, timeout=30)
        if r.returncode == 0:
            return True
        if server.proc.poll() is not None:
            return False
        time.sleep(0.5)
    return False


def with_server(server, mech, fn):
    if port_open(server.port):
        raise SystemExit(f"port {server.port} is already in use; not starting {server.name}")
    t0 = time.time()
    pid = server.start()
    try:
        if not pid or not wait_port(server.port, server.proc):
            raise RuntimeError(f"{server.name} did not open port {server.port}; "
                               f"see {server.dir}")
        if not probe(args_global, server, mech):
            raise RuntimeError(f"{server.name} does not log anyone in; see {server.dir}")
        log(f"  {server.name} up (pid {pid}), first login after {time.time() - t0:.1f}s")
        time.sleep(args_global.settle)
        return fn(pid)
    finally:
        server.stop()


def bench_server(args, server):
    res = {}
    for mode in args.modes:
        mech = ["--mech", "plain", "--tls", "none"] if mode == "plain" else \
               ["--mech", "scram-sha-256", "--tls", "starttls"]
        sizes = [args.count] + ([args.count_big] if mode == "plain" and args.count_big else [])
        nusers = max(sizes + [2 * args.pairs])
        log(f"{server.name} [{mode}]: preparing {nusers} accounts")
        server.prepare(mode, nusers)
        r = res.setdefault(mode, {"login": {}, "idle": {}, "throughput": [], "latency": [],
                                 "pair_logins": [], "relogin": []})

        def login_idle(pid, n):
            figs = load(args, server, pid, mech + ["--count", str(n), "--phase", "login,idle",
                                                   "--idle-wait", str(args.idle_wait)])
            if mode == "plain" and n == args.count:
                # The same accounts again, after those sessions logged out:
                # what a PLAIN login costs once the server has seen the
                # password (xmppcored's verifier cache; the others store
                # plain passwords in this mode and compare them each time).
                time.sleep(3)  # let the server finish closing the first sessions
                again = load(args, server, pid, mech + ["--count", str(min(n, 5000)),
                                                        "--phase", "login"])
                for f in again:
                    f["phase"] = "relogin"
                figs += again
            return figs
        for n in sizes:
            for _ in range(args.runs if n == args.count else 1):
                figs = with_server(server, mech, lambda pid: login_idle(pid, n))
                for f in figs:
                    if f["phase"] == "relogin":
                        r["relogin"].append(f)
                    else:
                        r[f["phase"]].setdefault(str(n), []).append(f)
        for _ in range(args.runs):
            figs = with_server(server, mech, lambda pid: load(
                args, server, pid, mech + [
                    "--count", str(2 * args.pairs), "--pairs", str(args.pairs),
                    "--phase", "throughput,latency", "--presence",
                    "--duration", str(args.duration), "--rate", str(args.rate)]))
            for f in figs:
                if f["phase"] in ("throughput", "latency"):
                    r[f["phase"]].append(f)
                else:  # the pairs' logins: counted for failures only
                    r["pair_logins"].append(f)
    return res


# ------------------------------------------------------------------ summary

def med(rows, key):
    vals = [r[key] for r in rows if isinstance(r.get(key), float) and r[key] >= 0]
    return statistics.median(vals) if vals else None


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def summary(args, results, names):
    for mode in args.modes:
        title = ("plaintext, SASL PLAIN" if mode == "plain"
                 else "STARTTLS (ECDSA P-256), SCRAM-SHA-256")
        print(f"\n== {title} ==")
        rows = []
        n, nb = str(args.count), str(args.count_big)

        def row(label, fn):
            rows.append([label] + [fn(results.get(s, {}).get(mode)) for s in names])

        def idle(size, key):
            return lambda r: fmt(med(r["idle"].get(size, []), key), ".1f") if r else "-"
        row(f"RSS KB per idle session, N={n}", idle(n, "rss_kb_per_session"))
        row(f"PSS KB per idle session, N={n}", idle(n, "pss_kb_per_session"))
        if mode == "plain" and args.count_big:
            row(f"RSS KB per idle session, N={nb}", idle(nb, "rss_kb_per_session"))
            row(f"PSS KB per idle session, N={nb}", idle(nb, "pss_kb_per_session"))

        def logins(key, spec):
            return lambda r: fmt(med([x for v in r["login"].values() for x in v], key),
                                 spec) if r else "-"
        row("server CPU ms per login" + (" (incl. TLS)" if mode == "tls" else ""),
            logins("server_cpu_ms_per_login", ".3f"))
        row("logins/s", logins("logins_per_s", ".0f"))
        if mode == "plain":
            row("server CPU ms per repeated login", lambda r: fmt(
                med(r.get("relogin", []), "server_cpu_ms_per_login"), ".3f") if r else "-")
        row("client CPU ms per login", logins("client_cpu_ms_per_login", ".3f"))
        row("failed logins (all runs)", lambda r: fmt(
            sum(x["failed"] for v in r["login"].values() for x in v) +
            sum(x["failed"] for x in r["pair_logins"] + r.get("relogin", [])), ".0f")
            if r else "-")

        def m(phase, key, spec):
            return lambda r: fmt(med(r[phase], key), spec) if r else "-"
        row(f"msgs/s, {args.pairs} pairs", m("throughput", "msgs_per_s", ".0f"))
        row("server CPU us per message", m("throughput", "server_cpu_us_per_msg", ".1f"))
        row("client CPU us per message", m("throughput", "client_cpu_us_per_msg", ".1f"))
        row(f"p50 ms at {args.rate:.0f} msgs/s", m("latency", "p50_ms", ".2f"))
        row(f"p99 ms at {args.rate:.0f} msgs/s", m("latency", "p99_ms", ".2f"))
        row(f"max ms at {args.rate:.0f} msgs/s", m("latency", "max_ms", ".2f"))
        row("server CPU us/msg at that rate", m("latency", "server_cpu_us_per_msg", ".1f"))
        row("lost messages (all runs)", lambda r: fmt(
            sum(x["lost"] for x in r["throughput"] + r["latency"]), ".0f") if r else "-")
        widths = [max(len(x[i]) for x in rows + [[""] + names]) for i in range(len(names) + 1)]
        print("  ".join(h.rjust(w) if i else h.ljust(w)
                        for i, (h, w) in enumerate(zip([""] + names, widths))))
        for r in rows:
            print("  ".join(c.rjust(w) if i else c.ljust(w)
                            for i, (c, w) in enumerate(zip(r, widths))))
    if args.runs > 1:
        print(f"\n(medians of {args.runs} runs; N={args.count_big} once)")


# --------------------------------------------------------------------- main

args_global = None


def main():
    global args_global
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--servers", default="ejabberd,prosody,xmppcored",
                    help="comma list, in the order to run, of ejabberd, prosody, xmppcored"
                         " and xmppcored-openssl (default: the first three)")
    ap.add_argument("--modes", default="plain,tls", help="plain,tls")
    ap.add_argument("--quick", action="store_true",
                    help="N=1000 (and 1900), 100 pairs, 3 s phases")
    ap.add_argument("--count", type=int, default=10000, help="idle sessions, first size")
    ap.add_argument("--count-big", type=int, default=19000,
                    help="second size, plain mode only (0: skip)")
    ap.add_argument("--pairs", type=int, default=500)
    ap.add_argument("--rate", type=float, default=2000)
    ap.add_argument("--duration", type=float, default=10, help="seconds per messaging phase")
    ap.add_argument("--runs", type=int, default=1,
                    help="repeat the N-size login and the messaging runs; medians")
    ap.add_argument("--idle-wait", type=float, default=6,
                    help="seconds sessions stay idle before RSS is read "
                         "(6: lets every server settle, and xmppcored trim "
                         "its heap)")
    ap.add_argument("--settle", type=float, default=2, help="seconds after start")
    ap.add_argument("--load", default=os.path.join(ROOT, "build", "tests", "bench", "xmpp_load"))
    ap.add_argument("--load-timeout", type=float, default=1200)
    ap.add_argument("--workdir", help="keep configs, logs and results here")
    ap.add_argument("--no-install", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.count, args.count_big, args.pairs, args.duration = 1000, 1900, 100, 3
    args.modes = [m for m in args.modes.split(",") if m]
    names = [s for s in args.servers.split(",") if s]
    for s in names:
        if s not in SERVERS:
            ap.error(f"unknown server {s}")
    for m in args.modes:
        if m not in ("plain", "tls"):
            ap.error(f"unknown mode {m}")
    args_global = args
    if os.geteuid() != 0:
        raise SystemExit("run as root: the servers run as their own users")
    if not os.access(args.load, os.X_OK):
        raise SystemExit(f"{args.load} is missing: meson setup build && ninja -C build")
    # ulimit -n for us and the servers we start
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < max(args.count, args.count_big) + 100:
        log(f"warning: fd limit {hard} is below N={max(args.count, args.count_big)}")

    info = machine_info()
    print("machine: " + "; ".join(f"{k}={v}" for k, v in info.items()))
    print("note: CPU figures are the server's own utime+stime; on a shared machine"
          " they are noisy, wall-clock figures (logins/s, msgs/s, latency) more so")
    if not args.no_install:
        ensure_installed([n for n in names if n in ("ejabberd", "prosody")])
    workdir = args.workdir or tempfile.mkdtemp(prefix="xmppbench-")
    os.makedirs(workdir, exist_ok=True)
    os.chmod(workdir, 0o755)
    log(f"work folder: {workdir}")

    results, ran = {"machine": info, "args": vars(args)}, []
    for n in names:
        server = SERVERS[n](workdir)
        why = server.missing()
        if why:
            print(f"{n}: skipped: {why}")
            continue
        results.setdefault("versions", {})[n] = server.version()
        print(f"{n} {server.version()} on 127.0.0.1:{server.port}", flush=True)
        try:
            results[n] = bench_server(args, server)
            ran.append(n)
        except (RuntimeError, subprocess.SubprocessError) as e:
            print(f"{n}: failed: {e}")
            server.stop()
        with open(os.path.join(workdir, "results.json"), "w") as f:
            json.dump(results, f, indent=1)
    if ran:
        summary(args, results, ran)
    print(f"\nraw figures: {os.path.join(workdir, 'results.json')}")
    return 0 if ran else 1


if __name__ == "__main__":
    sys.exit(main())
