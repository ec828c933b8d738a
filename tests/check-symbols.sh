#!/bin/sh
# Fails if the shared library exports a symbol not prefixed xmppcore_.
set -eu
lib="$1"
syms=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^$')
bad=$(printf '%s\n' "$syms" | grep -v '^xmppcore_' || true)
n=$(printf '%s\n' "$syms" | grep -c '^xmppcore_' || true)
if [ -n "$bad" ]; then
  echo "symbols exported without the xmppcore_ prefix:" >&2
  printf '%s\n' "$bad" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
if [ "$n" -lt 10 ]; then
  echo "only $n xmppcore_ symbols exported: visibility broken?" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
echo "$n exported symbols, all prefixed xmppcore_"
echo "1 passed, 0 failed"
