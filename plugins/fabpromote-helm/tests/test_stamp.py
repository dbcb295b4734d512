"""``fabpromote generate`` of a chart in the tree, answered from its stamp until helm or its environment changes.

The generator names what a render reads outside the HLD tree (``inputs``):
its own code, helm (the binary, or the SDK's package) and helm's variables.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import write_chart

CLI = Path(sys.executable).parent / "fabpromote"


def _run(root: Path, env: dict[str, str]) -> tuple[str, bool]:
    """``fabpromote generate prod --path ROOT``: what it printed, and whether it rendered.

    A render imports this plugin's modules; an answer from the stamp imports none.
    """
    command = [sys.executable, "-X", "importtime", str(CLI), "generate", "prod", "--path", str(root)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    lines = done.stderr.splitlines()
    printed = "\n".join(line for line in lines if not line.startswith("import time:"))
    assert done.returncode == 0, printed
    return printed, any(" fabpromote_helm" in line for line in lines)


def _hld(tmp_path: Path) -> Path:
    root = tmp_path / "hld"
    write_chart(root / "chart")
    (root / "component.yaml").write_text("name: web\ntype: helm\npath: ./chart\n")
    return root


def test_answered_until_helm_changes(helm_binary: str, tmp_path: Path) -> None:
    root = _hld(tmp_path)
    env = dict(os.environ)
    sdk = env.get("FABPROMOTE_HELM_BACKEND") == "sdk"
    if not sdk:  # a copy of helm this test may replace
        shutil.copy2(helm_binary, tmp_path / "helm")
        env["FABPROMOTE_HELM"] = str(tmp_path / "helm")
    time.sleep(2.1)  # older than the stamp's two seconds of distrust
    assert [_run(root, env)[1] for _ in range(3)] == [True, True, False]  # written, stamped, answered
    if sdk:
        env["HELM_C_LIB"] = env.get("HELM_C_LIB", "")  # set, even empty: a variable helm reads changed
    else:
        shutil.copy2(helm_binary, tmp_path / "helm.new")
        os.replace(tmp_path / "helm.new", tmp_path / "helm")
    printed, rendered = _run(root, env)
    assert rendered, printed
    assert printed.startswith("unchanged: ")  # the same bytes, from the same helm: nothing to write


def test_a_chart_edit_is_rendered(helm_binary: str, tmp_path: Path) -> None:
    root = _hld(tmp_path)
    time.sleep(2.1)
    env = dict(os.environ)
    assert [_run(root, env)[1] for _ in range(3)] == [True, True, False]
    (root / "chart" / "values.yaml").write_text("greeting: changed\n")
    printed, rendered = _run(root, env)
    assert rendered
    assert printed.startswith("wrote ")
    assert 'greeting: "changed"' in (root / "generated" / "prod" / "web.yaml").read_text()


@pytest.mark.parametrize("how", ["put-there", "made-executable"])
def test_a_helm_earlier_on_path_is_rendered_with(helm_binary: str, tmp_path: Path, how: str) -> None:
    """helm found on PATH: one that appears in a folder searched before its own is what the next run must use."""
    if os.environ.get("FABPROMOTE_HELM_BACKEND") == "sdk":
        return  # no helm is looked up to render: nothing on PATH takes part
    root = _hld(tmp_path)
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    shutil.copy2(helm_binary, second / "helm")
    if how == "made-executable":  # there all along, but not to be run: which() passes it by
        shutil.copy2(helm_binary, first / "helm")
        (first / "helm").chmod(0o644)
    env = {k: v for k, v in os.environ.items() if k != "FABPROMOTE_HELM"}
    env["PATH"] = os.pathsep.join([str(first), str(second), env["PATH"]])
    time.sleep(2.1)
    assert [_run(root, env)[1] for _ in range(3)] == [True, True, False]
    if how == "put-there":
        shutil.copy2(helm_binary, first / "helm")
    (first / "helm").chmod(0o755)
    printed, rendered = _run(root, env)
    assert rendered, printed


@pytest.mark.parametrize("kind", ["script", "link-to-a-program"])
def test_a_helm_shim_is_never_trusted(helm_binary: str, tmp_path: Path, kind: str) -> None:
    """A version manager's shim picks the helm it runs by its own settings: no stamp, no version kept.

    asdf's shims are scripts; mise, snap, volta and aqua link their own program under the tool's name.
    """
    if os.environ.get("FABPROMOTE_HELM_BACKEND") == "sdk":
        return
    root = _hld(tmp_path)
    real = tmp_path / "real-helm"
    real.write_text(str(helm_binary))
    shim = tmp_path / "shims" / "helm"
    shim.parent.mkdir()
    if kind == "script":
        shim.write_text(f'#!/bin/sh\nexec "$(cat {real})" "$@"\n')
        shim.chmod(0o755)
    else:  # a program, not a script, under another name (here helm itself: what it runs is not checked)
        shutil.copy2(helm_binary, tmp_path / "manager")
        shim.symlink_to(tmp_path / "manager")
    env = {**os.environ, "FABPROMOTE_HELM": str(shim)}
    time.sleep(2.1)
    assert [_run(root, env)[1] for _ in range(3)] == [True, True, True]
    if kind != "script":
        return
    other = tmp_path / "other-helm"
    other.write_text(
        '#!/bin/sh\nif [ "$1" = version ]; then echo v4.0.0+gother; '
        "else printf 'kind: ConfigMap\\nmetadata:\\n  name: from-other\\n'; fi\n"
    )
    other.chmod(0o755)
    real.write_text(str(other))  # the shim now runs another helm, whose version the next run must ask
    printed, rendered = _run(root, env)
    assert rendered, printed
    assert "name: from-other" in (root / "generated" / "prod" / "web.yaml").read_text()  # not the old render


def test_helm_c_lib_re_pointed_is_rendered_with(helm_binary: str, tmp_path: Path) -> None:
    """HELM_C_LIB names a link: pointing it at another library is a change, though the link's own path is the same."""
    if os.environ.get("FABPROMOTE_HELM_BACKEND") != "sdk":
        return
    import helm_python

    library = Path(helm_python.library_path)
    link = tmp_path / "lib" / "libhelm_c.so"
    link.parent.mkdir()
    link.symlink_to(library)
    root = _hld(tmp_path)
    env = {**os.environ, "HELM_C_LIB": str(link)}
    time.sleep(2.1)
    assert [_run(root, env)[1] for _ in range(3)] == [True, True, False]
    shutil.copy2(library, tmp_path / "lib" / "copy.so")  # the same library, another file
    link.unlink()
    link.symlink_to(tmp_path / "lib" / "copy.so")
    printed, rendered = _run(root, env)
    assert rendered, printed
