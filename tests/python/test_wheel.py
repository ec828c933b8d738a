"""The package also builds as a wheel with meson-python (pyproject.toml in
bindings/python), here against the library of this build tree (its
uninstalled pkg-config file), and the wheel imports and works."""
import os
import subprocess
import sys
import zipfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PKG = os.path.join(HERE, "..", "..", "bindings", "python")


def test_meson_python_wheel(tmp_path):
    pytest.importorskip("mesonpy", reason="python3-mesonpy not installed")
    build_root = os.environ.get("MESON_BUILD_ROOT")
    if not build_root:
        pytest.skip("MESON_BUILD_ROOT not set (run through meson test)")
    env = dict(os.environ)
    env["PKG_CONFIG_PATH"] = os.path.join(build_root, "meson-uninstalled")
    out = tmp_path / "dist"
    out.mkdir()
    # The PEP 517 hook, as pip or `python3 -m build` would call it.
    r = subprocess.run(
        [sys.executable, "-c",
         "import sys, mesonpy; print(mesonpy.build_wheel(sys.argv[1]))",
         str(out)], cwd=PKG, env=env, capture_output=True, text=True,
        timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    wheels = list(out.glob("xmppcore-*.whl"))
    assert len(wheels) == 1
    names = zipfile.ZipFile(wheels[0]).namelist()
    assert "xmppcore/__init__.py" in names
    assert any(n.startswith("xmppcore/_xmppcore.") and n.endswith(".so")
               for n in names)
    site = tmp_path / "site"
    zipfile.ZipFile(wheels[0]).extractall(site)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(site)
    r = subprocess.run(
        [sys.executable, "-c",
         "import xmppcore; assert xmppcore.__file__.startswith(%r); "
         "print(xmppcore.Stanza.parse('<a x=\"1\"/>').to_xml())" % str(site)],
        env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == '<a x="1"/>'
