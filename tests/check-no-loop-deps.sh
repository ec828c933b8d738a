#!/bin/sh
# The core library must not need an event library: libxmppcore.so may
# neither NEED libuv/libevent nor reference uv_*/event_* symbols. The
# adapters live in libxmppcore-uv / libxmppcore-event, which must export
# only xmppcore_* symbols.
#   check-no-loop-deps.sh CORE_SO [ADAPTER_SO ...]
set -eu
core="$1"; shift
passed=0; failed=0
needed=$(readelf -d "$core" | awk '/NEEDED/ {print $NF}')
if printf '%s\n' "$needed" | grep -Eq 'libuv|libevent'; then
  echo "$core needs an event library: $needed" >&2; failed=$((failed + 1))
else
  passed=$((passed + 1))
fi
refs=$(nm -D "$core" | awk '{print $NF}' | grep -E '^(uv_|event_|evtimer_|evutil_|bufferevent_)' || true)
if [ -n "$refs" ]; then
  echo "$core references event-library symbols:" >&2; echo "$refs" >&2
  failed=$((failed + 1))
else
  passed=$((passed + 1))
fi
for a in "$@"; do
  bad=$(nm -D --defined-only "$a" | awk '{print $3}' | grep -v '^$' | grep -v '^xmppcore_' || true)
  n=$(nm -D --defined-only "$a" | awk '{print $3}' | grep -c '^xmppcore_.*_attach$' || true)
  if [ -n "$bad" ] || [ "$n" -ne 1 ]; then
    echo "$a: exports $bad (attach functions: $n)" >&2; failed=$((failed + 1))
  else
    passed=$((passed + 1))
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
