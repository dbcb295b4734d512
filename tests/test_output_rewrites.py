"""generate rewrites only the files that changed, and a reader never sees a half-written folder:
generate is killed (SIGKILL) at random moments and the folder holds the old tree or the new one."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from fabpromote import Manifests, generate

APPS = 200


def _hld(root: Path, *, version: str, changed: int) -> Path:
    """A static root with ``APPS`` components; the first ``changed`` of them say ``version``."""
    root.mkdir(parents=True, exist_ok=True)
    entries = "".join(f"  - name: app{i:03}\n    type: static\n    path: ./apps/app{i:03}\n" for i in range(APPS))
    (root / "component.yaml").write_text(f"name: fleet\nsubcomponents:\n{entries}")
    for i in range(APPS):
        folder = root / "apps" / f"app{i:03}"
        folder.mkdir(parents=True, exist_ok=True)
        tag = version if i < changed else "v1"
        (folder / "cm.yaml").write_text(f"kind: ConfigMap\nmetadata:\n  name: app{i:03}\ndata:\n  tag: {tag}\n")
    return root


def _stats(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.iterdir() if p.is_file()}


def test_only_changed_files_are_written(tmp_path: Path) -> None:
    """One app changed among 200: its file is new, every other file is the one written before (same inode)."""
    root = _hld(tmp_path / "hld", version="v1", changed=0)
    generate(root, ["prod"]).write(root / "generated" / "prod", record="cache")
    out = root / "generated" / "prod"
    before = _stats(out)
    _hld(root, version="v2", changed=1)
    new = generate(root, ["prod"])
    assert new.write(out, record="cache") is True
    after = _stats(out)
    assert [name for name in after if after[name] != before[name]] == ["app000.yaml"]
    assert Manifests.read(out) == new
    assert new.write(out, record="cache") is False  # nothing changed: nothing written


def test_killed_at_random_moments_old_or_new(tmp_path: Path) -> None:
    """SIGKILL during `fabpromote generate` (one app changed, then all of them): the folder is whole every time."""
    root = _hld(tmp_path / "hld", version="v1", changed=0)
    cli = [sys.executable, "-m", "fabpromote", "generate", "prod", "--path", str(root)]
    env = {**os.environ, "FABPROMOTE_CACHE_DIR": str(tmp_path / "cache")}
    subprocess.run(cli, env=env, check=True, capture_output=True)
    out = root / "generated" / "prod"
    states = [Manifests.read(out)]
    started = time.monotonic()
    subprocess.run(cli, env=env, check=True, capture_output=True)
    took = time.monotonic() - started
    pick = random.Random(20261204)
    for round_, (version, changed) in enumerate([(f"v{n}", 1 if n % 2 else APPS) for n in range(2, 8)]):
        _hld(root, version=version, changed=changed)
        states.append(generate(root, ["prod"]))
        process = subprocess.Popen(cli, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(pick.uniform(0.2, 1.2) * took)
        process.send_signal(signal.SIGKILL)
        process.wait()
        held = Manifests.read(out)
        assert held in states[-2:], f"round {round_}: a mixed tree after SIGKILL"
        states[-2:] = [held, states[-1]] if held == states[-2] else [held, held]
        subprocess.run(cli, env=env, check=True, capture_output=True)  # a rerun finishes the job
        assert Manifests.read(out) == states[-1]


def test_a_rewrite_from_the_stamp_killed_at_random_moments_old_or_new(tmp_path: Path) -> None:
    """SIGKILL while one edited app's manifest is rewritten without a render: the folder and its record stay whole.

    After each kill the full path (``--engine native`` skips the stamp) must accept the folder: its
    record in the cache names what the folder holds, old or new.
    """
    root = _hld(tmp_path / "hld", version="v1", changed=0)
    time.sleep(2.1)  # older than the stamp's two seconds of distrust
    cli = [sys.executable, "-m", "fabpromote", "generate", "prod", "--path", str(root)]
    env = {**os.environ, "FABPROMOTE_CACHE_DIR": str(tmp_path / "cache")}
    for _ in range(2):  # the second run finds the folder there and stamps
        subprocess.run(cli, env=env, check=True, capture_output=True)
    out = root / "generated" / "prod"
    pick = random.Random(20261205)
    for round_ in range(8):
        cm = root / "apps" / f"app{round_ % 3:03}" / "cm.yaml"
        cm.write_text(cm.read_text().replace("tag: ", f"tag: r{round_}-"))
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-X", "importtime", *cli[1:]], env=env, capture_output=True, text=True, check=True
        )
        took = time.monotonic() - started
        assert "fabpromote._engine.walk" not in done.stderr, f"round {round_}: rendered, not rewritten"
        old = Manifests.read(out)
        assert old == generate(root, ["prod"])
        cm.write_text(cm.read_text().replace("tag: ", "tag: k"))
        new = generate(root, ["prod"])
        process = subprocess.Popen(cli, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(pick.uniform(0.3, 1.1) * took)
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert Manifests.read(out) in (old, new), f"round {round_}: a mixed folder after SIGKILL"
        full = subprocess.run([*cli, "--engine", "native"], env=env, capture_output=True, text=True, check=False)
        assert full.returncode == 0, f"round {round_}: {full.stderr}"
        assert Manifests.read(out) == new
        subprocess.run(cli, env=env, check=True, capture_output=True)  # stamps the folder as it now is
