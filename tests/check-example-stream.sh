#!/bin/sh
# The stream-check example must print the stanzas before the bad one and
# then the restricted-xml stream error, exiting 1.
set -u
out=$("$1" "$2"); rc=$?
fail=0
[ "$rc" -eq 1 ] || { echo "exit code $rc, expected 1"; fail=1; }
echo "$out" | grep -q '^stream header: to=localhost' || { echo "no header line"; fail=1; }
echo "$out" | grep -q '^stanza 3: <iq type="get" id="r1"><query xmlns="jabber:iq:roster"/></iq>$' || { echo "stanza 3 wrong"; fail=1; }
echo "$out" | grep -q '^stream error <restricted-xml/>' || { echo "no restricted-xml error"; fail=1; }
echo "$out"
if [ $fail -eq 0 ]; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; exit 1; fi
