#!/bin/sh
# Installs every Debian 12 package that libxmppcore's build, tests, fuzzing
# and examples need. Idempotent; run as root (or through sudo).
set -eu
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
PKGS="build-essential meson ninja-build pkg-config clang libclang-rt-14-dev llvm \
 libexpat1-dev libmbedtls-dev libssl-dev libsodium-dev libsqlite3-dev sqlite3 unicode-data \
 libyaml-dev libuv1-dev libevent-dev python3 python3-cffi python3-pytest python3-slixmpp libstrophe-dev \
 python3-dev python3-mesonpy \
 binutils git ca-certificates"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  $SUDO apt-get update
  # shellcheck disable=SC2086
  $SUDO apt-get install -y --no-install-recommends $missing
fi
