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
    import pytest
    here = os.path.dirname(os.path.abspath(__file__))
    return int(pytest.main(["-q", "-rsxXf", "-p", "no:cacheprovider",
                            "--rootdir", here, here] + sys.argv[1:]))


if __name__ == "__main__":
    sys.exit(main())
