#!/bin/sh
# Runs xmppcored on 127.0.0.1 (random free ports): --check, a raw client
# sees a stream header and features on the STARTTLS port and, over TLS,
# on the direct TLS port; xmppcorectl works through the admin socket;
# SIGTERM ends the server with exit 0 within 3 s and removes the socket.
# Usage: run-server.sh path/to/xmppcored path/to/xmppcorectl
set -u
SRV=$1
CTL=$2
PY=/usr/bin/python3
T=$(mktemp -d /tmp/xd-run-XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
ko() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

ports=$($PY -c '
import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')
P1=${ports% *}
P2=${ports#* }

"$CTL" gencert localhost "$T/localhost.pem" >/dev/null || ko gencert
cat > "$T/x.yml" <<YML
hosts: [localhost]
loglevel: debug
certfiles: [localhost.pem]
listen:
  - {port: $P1, ip: "127.0.0.1", module: c2s, starttls: true, starttls_required: true}
  - {port: $P2, ip: "127.0.0.1", module: c2s, tls: true}
sql_database: db/x.db
admin_socket: ctl.sock
YML

out=$("$SRV" -c "$T/x.yml" --check 2>&1) && ok || ko "--check: $out"
printf 'hosts: [localhost]\nlisten:\n  - {port: 1, module: c2s}\ncertfiles: [none.pem]\n' > "$T/bad.yml"
out=$("$SRV" -c "$T/bad.yml" --check 2>&1); rc=$?
[ $rc -eq 2 ] && printf '%s' "$out" | grep -q "bad.yml:4:13: certfiles: cannot read" && ok || ko "--check bad: $rc $out"

# Prepared offline, before the start.
"$CTL" -c "$T/x.yml" register early localhost pw >/dev/null || ko "offline register"

"$SRV" -c "$T/x.yml" 2> "$T/log" &
pid=$!
i=0
while [ ! -S "$T/ctl.sock" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
[ -S "$T/ctl.sock" ] && ok || ko "no admin socket"
[ "$(stat -c %a "$T/ctl.sock" 2>/dev/null)" = 600 ] && ok || ko "socket mode"

$PY - "$P1" "$P2" <<'PYEOF' && ok || ko "raw client"
import socket, ssl, sys
hdr = (b"<?xml version='1.0'?><stream:stream to='localhost' xmlns='jabber:client' "
       b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")
def read_features(s):
    s.settimeout(5)
    buf = b""
    while b"</stream:features>" not in buf:
        d = s.recv(4096)
        if not d:
            break
        buf += d
    return buf
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(hdr)
b = read_features(s)
assert b"<stream:stream" in b and b"starttls" in b, b
s.close()
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
t = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[2]))),
                    server_hostname="localhost")
t.sendall(hdr)
b = read_features(t)
assert b"<stream:stream" in b and b"mechanisms" in b, b
t.close()
PYEOF

# Through the admin socket now.
out=$("$CTL" -c "$T/x.yml" register alice localhost secret 2>&1) && \
  printf '%s' "$out" | grep -q "registered$" && ok || ko "online register: $out"
out=$("$CTL" -c "$T/x.yml" register alice localhost secret 2>&1); rc=$?
[ $rc -eq 1 ] && printf '%s' "$out" | grep -q "already exists" && ok || ko "exists: $rc $out"
out=$("$CTL" -c "$T/x.yml" registered-users localhost | tr '\n' ' ')
[ "$out" = "alice early " ] && ok || ko "registered-users: $out"
out=$("$CTL" -c "$T/x.yml" connected-users 2>&1) && ok || ko "connected-users: $out"
awk 'BEGIN { for (i = 1; i <= 300; i++) printf "bulk%d pw%d\n", i, i; print "alice x" }' > "$T/u.txt"
out=$("$CTL" -c "$T/x.yml" register-bulk localhost "$T/u.txt" 2>&1); rc=$?
[ $rc -eq 1 ] && printf '%s' "$out" | grep -q "Registered 300 accounts.*through the server" && \
  printf '%s' "$out" | grep -q "1 account already existed.*alice" && ok || ko "bulk online: $rc $out"
n=$("$CTL" -c "$T/x.yml" registered-users localhost | wc -l)
[ "$n" -eq 302 ] && ok || ko "after bulk: $n"
out=$("$CTL" -c "$T/x.yml" passwd alice localhost other 2>&1) && ok || ko "passwd: $out"
out=$("$CTL" -c "$T/x.yml" unregister alice localhost 2>&1) && ok || ko "unregister: $out"
out=$("$CTL" -c "$T/x.yml" unregister alice localhost 2>&1); [ $? -eq 1 ] && ok || ko "unregister twice: $out"

# A client stays connected over the shutdown: it gets system-shutdown.
$PY - "$P1" > "$T/client.out" 2>&1 <<'PYEOF' &
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"<stream:stream to='localhost' xmlns='jabber:client' "
          b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")
s.settimeout(10)
buf = b""
while True:
    d = s.recv(4096)
    if not d:
        break
    buf += d
print(buf.decode())
PYEOF
cpid=$!
sleep 0.3
start=$(date +%s%N)
kill -TERM "$pid"
wait "$pid"; rc=$?
pid=
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ $rc -eq 0 ] && ok || ko "exit status $rc after SIGTERM"
[ $ms -lt 3000 ] && ok || ko "shutdown took $ms ms"
[ ! -e "$T/ctl.sock" ] && ok || ko "admin socket left behind"
wait "$cpid"
grep -q "system-shutdown" "$T/client.out" && ok || ko "client: $(cat "$T/client.out")"
if [ "$fail" -ne 0 ]; then echo "--- server log"; cat "$T/log"; fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
