#!/bin/sh
# Builds libxmppcore and runs the example server, xmppcored, in the
# foreground with examples/xmppcored/demo.yml: XMPP on 127.0.0.1:5222
# (STARTTLS) and 127.0.0.1:5223 (direct TLS) for the domain localhost,
# a self-signed certificate and an SQLite database under data/, and an
# account demo@localhost with password demo. Stop it with Ctrl-C.
set -eu
cd "$(dirname "$0")/.."
[ -f build/build.ninja ] || meson setup build
ninja -C build
D=build/examples/xmppcored
CONF=examples/xmppcored/demo.yml
if [ ! -x "$D/xmppcored" ]; then
  echo "xmppcored was not built (is libyaml-dev installed? run scripts/setup-debian.sh)" >&2
  exit 1
fi
mkdir -p data
if [ ! -f data/localhost.pem ]; then
  "$D/xmppcorectl" gencert localhost data/localhost.pem
fi
if ! "$D/xmppcorectl" -c "$CONF" registered-users localhost | grep -qx demo; then
  "$D/xmppcorectl" -c "$CONF" register demo localhost demo
fi
echo "Account: demo@localhost, password: demo (self-signed certificate: accept it in your client)"
exec "$D/xmppcored" -c "$CONF"
