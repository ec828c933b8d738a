#!/bin/sh
# Builds libxmppcore and runs the demo. Until the example server lands,
# the demo is xmppcore-stream-check on a sample client stream: it prints
# each stanza as the library parsed and re-serialized it, and the stream
# error the server would send for the forbidden XML comment at the end.
set -eu
cd "$(dirname "$0")/.."
[ -f build/build.ninja ] || meson setup build
ninja -C build
./build/examples/xmppcore-stream-check examples/stream-check/demo.xml || true
