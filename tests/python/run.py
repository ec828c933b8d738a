#!/usr/bin/python3
"""Runs the Python binding tests for `meson test`: pytest on this folder
with the package built into the build tree (PYTHONPATH is set by
meson). Exits 77 (SKIP) with the reason only when the package cannot be
tested at all: python3-cffi missing, or the extension not built."""
import os
import sys

sys.dont_write_bytecode = True


def main():
    try:
        import cffi  # noqa: F401
    except ImportError:
        print("python tests: SKIP - python3-cffi is not installed "
              "(scripts/setup-debian.sh installs it)")
        return 77
    reason = os.environ.get("XMPPCORE_PY_SKIP")
    if reason:
        print("python tests: SKIP - %s" % reason)
        return 77
    sanitize = os.environ.get("XMPPCORE_PY_SANITIZE")
    if sanitize and not os.environ.get("XMPPCORE_PY_PRELOADED"):
        return reexec_sanitized(sanitize)
    import pytest
    here = os.path.dirname(os.path.abspath(__file__))
    return int(pytest.main(["-q", "-rsxXf", "-p", "no:cacheprovider",
                            "--rootdir", here, here] + sys.argv[1:]))


def runtime_libs(sanitize, cc):
    """Paths of the sanitizer runtimes the extension was linked with."""
    import subprocess
    if cc == "clang":
        names = {"address": "libclang_rt.asan-x86_64.so",
                 "undefined": "libclang_rt.ubsan_standalone-x86_64.so"}
        tool = "clang"
    else:
        names = {"address": "libasan.so", "undefined": "libubsan.so"}
        tool = "gcc"
    libs = []
    for part in sanitize.split(","):
        if part not in names:
            return None, "no runtime known for sanitizer %r" % part
        try:
            path = subprocess.run([tool, "-print-file-name=" + names[part]],
                                  capture_output=True, text=True,
                                  timeout=30).stdout.strip()
        except OSError as e:
            return None, "cannot ask %s for %s: %s" % (tool, names[part], e)
        if not os.path.isabs(path) or not os.path.exists(path):
            return None, "%s not found by %s" % (names[part], tool)
        libs.append(path)
    return libs, None


def reexec_sanitized(sanitize):
    """/usr/bin/python3 is not sanitized: run the tests again with the
    sanitizer runtimes preloaded, so the extension (which links the
    sanitized library) can load. Leak detection is off: CPython keeps
    memory until exit by design, which LeakSanitizer would report; every
    other ASan/UBSan check stays on and fails the test."""
    libs, why = runtime_libs(sanitize, os.environ.get("XMPPCORE_PY_CC", "gcc"))
    if libs is None:
        print("python tests: SKIP in the %s build - %s; they run in the "
              "normal build" % (sanitize, why))
        return 77
    env = dict(os.environ)
    env["XMPPCORE_PY_PRELOADED"] = "1"
    env["LD_PRELOAD"] = ":".join(libs + [env.get("LD_PRELOAD", "")]).rstrip(":")
    opts = env.get("ASAN_OPTIONS", "")
    env["ASAN_OPTIONS"] = ":".join(
        [o for o in opts.split(":") if o and not o.startswith("detect_leaks")]
        + ["detect_leaks=0"])
    env["PYTHONMALLOC"] = "malloc"  # let ASan see Python's allocations
    print("python tests: %s build, running with %s preloaded "
          "(leak detection off for the interpreter)" % (sanitize, " ".join(libs)),
          flush=True)
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


if __name__ == "__main__":
    sys.exit(main())
