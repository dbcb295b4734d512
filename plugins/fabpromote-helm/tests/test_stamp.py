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
