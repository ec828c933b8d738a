#!/bin/sh
# Builds libxmppcore three times with -Werror and runs every test in each:
# normal, with ASan+UBSan, and with the OpenSSL TLS backend (-Dtls=openssl,
# also with ASan+UBSan, no benchmarks). Ends with "N passed, N failed" over all three runs.
# Usage: scripts/test.sh [meson test args...]
set -u
cd "$(dirname "$0")/.."
top=$(pwd)
status=0
passed=0
failed=0
skipped=0
# The script's own arguments go to `meson test`; run_build's are setup
# options (word-split here: meson test arguments carry no spaces).
test_args="$*"

run_build() {
  dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" -Dwerror=true "$@" || return 1
  else
    meson configure "$dir" -Dwerror=true "$@" >/dev/null || return 1
  fi
  ninja -C "$dir" || return 1
  # Sanitizer reports must fail the test, and leaks count.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    meson test -C "$dir" --print-errorlogs --num-processes 2 $test_args 2>&1 | tail -n 40
  return 0
}

count() {
  log="$1/meson-logs/testlog.json"
  [ -f "$log" ] || { failed=$((failed + 1)); return; }
  p=$(grep -c '"result": "OK"' "$log")
  # SKIP (exit 77) is neither: e.g. the interop suite before xmppcored exists.
  s=$(grep -c '"result": "SKIP"' "$log")
  t=$(grep -c '"result":' "$log")
  passed=$((passed + p))
  skipped=$((skipped + s))
  failed=$((failed + t - p - s))
}

rm -f build-ci/meson-logs/testlog.json build-asan/meson-logs/testlog.json \
  build-openssl/meson-logs/testlog.json
echo "== normal build"
run_build build-ci || status=1
count build-ci
echo "== sanitizer build (address, undefined)"
echo "   (the Python tests run here with the ASan/UBSan runtimes preloaded into"
echo "   /usr/bin/python3, leak detection off for the interpreter: docs/python.md)"
run_build build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbench=false || status=1
count build-asan
echo "== OpenSSL TLS backend (-Dtls=openssl), sanitizers as above"
run_build build-openssl -Dtls=openssl -Db_sanitize=address,undefined \
  -Db_lundef=false -Dbench=false || status=1
count build-openssl

[ "$failed" -eq 0 ] || status=1
[ "$skipped" -eq 0 ] || echo "$skipped skipped"
echo "$passed passed, $failed failed"
exit $status
