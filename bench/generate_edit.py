"""`fabpromote generate` of N static apps, cold, warm and with one app edited, for one or more CLIs.

    python bench/generate_edit.py 10000 .venv/bin/fabpromote /tmp/old-venv/bin/fabpromote

Each CLI gets the same fresh HLD (N components, 3 manifests each) and its own cache.
Printed per CLI: the median of 3 cold runs (empty cache, no output folder), 5 warm runs
(nothing changed) and 5 runs each after editing one app's manifest. The edited case is
what writing only the changed files (hard links for the rest) is for: on ext4, writing
N files again right after deleting N is what made it slower than a cold run.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KINDS = ("deployment", "service", "configmap")


def _hld(root: Path, n: int) -> None:
    entries = "".join(f"  - name: app{i}\n    type: static\n    path: ./apps/app{i}\n" for i in range(n))
    (root / "component.yaml").write_text(f"name: fleet\nsubcomponents:\n{entries}")
    for i in range(n):
        folder = root / "apps" / f"app{i}"
        folder.mkdir(parents=True)
        for kind in KINDS:
            (folder / f"{kind}.yaml").write_text(f"kind: {kind}\nmetadata:\n  name: app{i}\n")


def _measure(cli: str, n: int, base: Path) -> str:
    root = base / "hld"
    root.mkdir()
    _hld(root, n)
    env = {**os.environ, "FABPROMOTE_CACHE_DIR": str(base / "cache")}

    def run() -> float:
        started = time.perf_counter()
        subprocess.run([cli, "generate", "prod", "--path", str(root)], env=env, check=True, capture_output=True)
        return time.perf_counter() - started

    cold = []
    for _ in range(3):
        shutil.rmtree(base / "cache", ignore_errors=True)
        shutil.rmtree(root / "generated", ignore_errors=True)
        cold.append(run())
    warm = [run() for _ in range(5)]
    edited = []
    for round_ in range(5):
        (root / "apps" / "app7" / "configmap.yaml").write_text(f"kind: configmap\nmetadata:\n  name: app7-{round_}\n")
        edited.append(run())
    medians = (statistics.median(runs) for runs in (cold, warm, edited))
    return "{}: N={} cold {:.3f} s, warm {:.3f} s, one app edited {:.3f} s".format(cli, n, *medians)


def main(argv: list[str]) -> int:
    n, clis = int(argv[0]), argv[1:] or [shutil.which("fabpromote") or "fabpromote"]
    for cli in clis:
        base = Path(tempfile.mkdtemp(prefix="fabpromote-generate-edit-"))
        try:
            print(_measure(cli, n, base), flush=True)
        finally:
            shutil.rmtree(base)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
