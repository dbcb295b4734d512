"""What a cold ``fabpromote generate`` of static apps loads: only what it uses.

A fresh CI runner pays for every import and every compiled pattern on each
run. These tests run the CLI in a fresh interpreter (an empty cache, no
output folder) and look at what it loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.conftest import WriteTree

#: Runs the CLI as the console script does, then reports what the process loaded.
SCRIPT = """\
import json, sys
from fabpromote._cli.console import main
sys.argv = ["fabpromote", *sys.argv[1:]]
code = main()
tokenize = sys.modules.get("tokenize")
print(json.dumps({
    "code": code,
    "modules": sorted(sys.modules),
    "tokenize_compiled": bool(tokenize and tokenize._compile.cache_info().currsize),
}))
"""


@pytest.fixture(name="cold_run")
def _cold_run(write_tree: WriteTree, tmp_path: Path) -> dict[str, object]:
    """A cold CLI generate of two static apps whose component files are plain."""
    hld = write_tree(
        {
            "component.yaml": "name: fleet\nsubcomponents:\n  - name: a\n    source: ./a\n  - name: b\n    source: ./b\n",
            "a/component.yaml": "name: a\ntype: static\npath: ./manifests\n",
            "a/manifests/cm.yaml": "kind: ConfigMap\n",
            "b/component.yaml": "name: b\ntype: static\npath: ./manifests\n",
            "b/manifests/cm.yaml": "kind: Service\n",
        }
    )
    env = {**os.environ, "FABPROMOTE_CACHE_DIR": str(tmp_path / "cold-cache")}
    command = [sys.executable, "-c", SCRIPT, "generate", "prod", "--path", str(hld)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    report: dict[str, object] = json.loads(done.stdout)
    assert report["code"] == 0, done.stderr
    assert (hld / "generated" / "prod" / "b" / "b.yaml").read_text() == "---\nkind: Service\n\n"
    return report


def test_plain_component_files_need_no_yaml(cold_run: dict[str, object]) -> None:
    """Plain component files are read without PyYAML (fabpromote/_hld/plain.py)."""
    modules = cold_run["modules"]
    assert isinstance(modules, list)
    assert [name for name in modules if name == "yaml" or name.startswith("yaml.")] == []


@pytest.mark.parametrize("module", ["ctypes", "subprocess"])
def test_modules_used_elsewhere_are_not_imported(cold_run: dict[str, object], module: str) -> None:
    """ctypes swaps an existing output folder, subprocess runs hooks: a cold generate of static apps does neither."""
    modules = cold_run["modules"]
    assert isinstance(modules, list)
    assert module not in modules


def test_no_tokenizer_pattern_is_compiled(cold_run: dict[str, object]) -> None:
    """attrs reads each converter's signature: a builtin's (``tuple``) is tokenized, compiling tokenize's patterns."""
    assert cold_run["tokenize_compiled"] is False
