#!/bin/sh
# xmppcorectl without a running server: accounts straight in a temporary
# SQLite database, gencert, register-bulk (2,000 accounts, timed), and
# the exit codes (0 ok, 1 failure, 2 usage/config).
# Usage: ctl-offline.sh path/to/xmppcorectl
set -u
CTL=$1
T=$(mktemp -d /tmp/xd-ctl-XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
ko() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

# expect CODE PATTERN CMD...: exit code CODE and PATTERN in the output
expect() {
  code=$1; pat=$2; shift 2
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" -ne "$code" ]; then ko "$* -> exit $rc, expected $code: $out"; return; fi
  if [ -n "$pat" ] && ! printf '%s\n' "$out" | grep -q -- "$pat"; then
    ko "$* -> output lacks '$pat': $out"; return
  fi
  ok
}

cat > "$T/x.yml" <<'YML'
hosts:
  - localhost
  - example.org
listen:
  - port: 5222
    ip: "127.0.0.1"
    module: c2s
    starttls: false
sql_type: sqlite
sql_database: db/x.db
admin_socket: ctl.sock
YML
C="-c $T/x.yml"

expect 2 "usage" "$CTL"
expect 2 "unknown command" "$CTL" $C frobnicate
expect 2 "usage" "$CTL" $C register alice localhost
expect 2 "none.yml: cannot open" "$CTL" -c "$T/none.yml" registered-users localhost
printf 'hosts: [a]\nlisten: []\nbogus: 1\n' > "$T/bad.yml"
expect 2 "bad.yml:3:1: unknown option bogus" "$CTL" -c "$T/bad.yml" registered-users a

expect 0 "" "$CTL" $C registered-users localhost
[ ! -e "$T/db/x.db" ] && ok || ko "registered-users created the database"
expect 0 "User alice@localhost registered" "$CTL" $C register alice localhost 's3cret pass'
[ -f "$T/db/x.db" ] && ok || ko "no database"
expect 1 "already exists" "$CTL" $C register alice localhost other
expect 1 "already exists" "$CTL" $C register Alice LOCALHOST other
expect 0 "registered" "$CTL" $C register bob example.org pw
expect 1 "not a valid username" "$CTL" $C register 'a@b' localhost pw
expect 1 "not one of the configured hosts" "$CTL" $C register carol nowhere.org pw
expect 1 "invalid password" "$CTL" $C register carol localhost ''
expect 0 "^alice$" "$CTL" $C registered-users localhost
out=$("$CTL" $C registered-users example.org)
[ "$out" = "bob" ] && ok || ko "registered-users example.org: $out"
expect 0 "new password" "$CTL" $C passwd alice localhost newpw
expect 1 "does not exist" "$CTL" $C passwd nobody localhost newpw
expect 0 "unregistered" "$CTL" $C unregister alice localhost
expect 1 "does not exist" "$CTL" $C unregister alice localhost
out=$("$CTL" $C registered-users localhost)
[ -z "$out" ] && ok || ko "alice still listed: $out"
expect 1 "not running" "$CTL" $C connected-users

# gencert: one PEM with certificate and key, owner-only.
expect 0 "Wrote a self-signed certificate for localhost, alt.localhost" \
  "$CTL" gencert localhost "$T/certs/localhost.pem" alt.localhost
grep -q "BEGIN CERTIFICATE" "$T/certs/localhost.pem" && \
  grep -q "PRIVATE KEY" "$T/certs/localhost.pem" && ok || ko "gencert content"
[ "$(stat -c %a "$T/certs/localhost.pem")" = 600 ] && ok || ko "gencert mode"
expect 2 "" "$CTL" gencert 'bad domain!' "$T/x.pem"

# register-bulk: 2,000 accounts.
awk 'BEGIN { print "# user password"; for (i = 1; i <= 2000; i++) printf "user%05d pass word %d\n", i, i; print "" }' > "$T/users.txt"
start=$(date +%s.%N)
out=$("$CTL" $C register-bulk localhost "$T/users.txt" 2>&1); rc=$?
end=$(date +%s.%N)
echo "$out"
[ $rc -eq 0 ] && printf '%s' "$out" | grep -q "Registered 2000 accounts" && ok || ko "bulk: $rc $out"
echo "register-bulk 2000: $(echo "$end - $start" | bc 2>/dev/null || echo "?") s wall"
n=$("$CTL" $C registered-users localhost | wc -l)
[ "$n" -eq 2000 ] && ok || ko "registered-users after bulk: $n"
# Again: every account exists, none changed.
expect 1 "2000 accounts already existed" "$CTL" $C register-bulk localhost "$T/users.txt"
# Bad lines are reported with their line numbers, nothing is created.
printf 'newuser1 pw\nbad@user pw\nnopassword\nnewuser1 again\n' > "$T/bad.txt"
expect 1 "bad.txt:2: \"bad@user\" is not a valid username" "$CTL" $C register-bulk localhost "$T/bad.txt"
expect 1 "bad.txt:3: expected" "$CTL" $C register-bulk localhost "$T/bad.txt"
printf 'newuser1 pw\nnewuser2 pw\nnewuser1 again\n' > "$T/dup.txt"
expect 1 "dup.txt:3: newuser1 is already on line 1" "$CTL" $C register-bulk localhost "$T/dup.txt"
n=$("$CTL" $C registered-users localhost | grep -c newuser)
[ "$n" -eq 0 ] && ok || ko "bad bulk created accounts"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
