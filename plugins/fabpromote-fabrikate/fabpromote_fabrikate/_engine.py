"""Render an HLD with ``fab install`` and ``fab generate`` in a temporary copy."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import attrs

from fabpromote import Manifests, RenderOptions, load_component
from fabpromote.exceptions import FabpromoteError, GenerateError, HooksNotAllowedError
from fabpromote.fetch import Fetcher
from fabpromote.paths import COMPONENT_FILES, output_dir_name

__all__ = ["FabNotFoundError", "FabrikateEngine", "redact"]

_REMOTE_METHODS = ("git", "helm", "http")
_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")


class FabNotFoundError(FabpromoteError, FileNotFoundError):
    """The ``fab`` binary is not installed."""


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Hide credentials in URLs and any of ``secrets`` in ``text``."""
    text = _CREDENTIALS.sub(r"\g<scheme>***@", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def find_fab() -> str:
    """The ``fab`` binary: ``$FABPROMOTE_FAB``, else ``fab`` on PATH."""
    fab = os.environ.get("FABPROMOTE_FAB") or shutil.which("fab")
    if not fab:
        raise FabNotFoundError(
            "the fabrikate engine needs the `fab` binary: put it on PATH or set FABPROMOTE_FAB "
            "(releases: https://github.com/microsoft/fabrikate/releases)"
        )
    return fab


@attrs.define
class FabrikateEngine:
    """The ``fabrikate`` engine; see the package README."""

    timeout: float = attrs.field(factory=lambda: float(os.environ.get("FABPROMOTE_FAB_TIMEOUT", "600")))
    install: bool = attrs.field(factory=lambda: os.environ.get("FABPROMOTE_FAB_INSTALL", "1") != "0")

    def render(
        self,
        path: Path,
        environments: tuple[str, ...],
        options: RenderOptions,
        *,
        fetcher: Fetcher | None = None,  # noqa: ARG002 - `fab install` fetches by itself
        boundary: Path | None = None,  # noqa: ARG002 - fab reads what the copy holds
    ) -> Manifests:
        """Copy ``path``, run fab there, and read the generated tree back."""
        fab = find_fab()
        path = Path(path).resolve()
        if not options.allow_hooks:
            _check_no_hooks(path)
        with tempfile.TemporaryDirectory(prefix="fabpromote-fab-") as tmp:
            work = _copy_beside(path, Path(tmp))
            if self.install:
                self._run(fab, ["install"], work)
            self._run(fab, ["generate", *environments], work)
            return _read_tree(work / "generated" / output_dir_name(environments))

    def _run(self, fab: str, args: list[str], cwd: Path) -> None:
        secrets = _access_tokens(cwd)
        try:
            done = subprocess.run(
                [fab, *args],
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise GenerateError(f"`fab {' '.join(args)}` did not finish within {self.timeout:g} s") from None
        if done.returncode != 0:
            output = redact(done.stdout.decode("utf-8", errors="replace"), secrets).strip()
            # One line, as every error: fab's last words say what went wrong.
            tail = " | ".join(line.strip() for line in output.splitlines()[-3:] if line.strip())
            raise GenerateError(f"`fab {' '.join(args)}` failed (exit {done.returncode}): {tail}")


def _component_files(root: Path) -> list[Path]:
    found = []
    for directory, _dirs, files in os.walk(root):
        for name in COMPONENT_FILES:
            if name in files:
                found.append(Path(directory) / name)
                break
    return found


def _check_no_hooks(root: Path) -> None:
    """Refuse trees whose components (or fetched components) could run hooks."""
    for file in _component_files(root):
        component = load_component(file)
        stack = [component]
        while stack:
            current = stack.pop()
            if current.hooks:
                raise HooksNotAllowedError(
                    f"{file} declares hooks and fab always runs them; pass --allow-hooks to use the fabrikate engine"
                )
            if current.method in _REMOTE_METHODS:
                raise HooksNotAllowedError(
                    f"{file}: `fab install` fetches {current.name!r} (method: {current.method}), which may run "
                    "hooks; pass --allow-hooks to use the fabrikate engine"
                )
            stack.extend(current.subcomponents)


def _copy_beside(path: Path, tmp: Path) -> Path:
    """Copy the HLD into ``tmp`` and link its siblings, so ``../x`` paths resolve."""
    work = tmp / path.name
    shutil.copytree(path, work, symlinks=True, ignore=shutil.ignore_patterns("generated"))
    for sibling in path.parent.iterdir():
        if sibling.name != path.name:
            (tmp / sibling.name).symlink_to(sibling)
    return work


def _access_tokens(work: Path) -> tuple[str, ...]:
    """Tokens named by access.yaml files, to keep them out of error messages."""
    tokens = []
    for access in work.rglob("access.yaml"):
        for line in access.read_text(errors="replace").splitlines():
            variable = line.partition(":")[2].strip().strip("'\"")
            if variable and os.environ.get(variable):
                tokens.append(os.environ[variable])
    return tuple(tokens)


def _read_tree(directory: Path) -> Manifests:
    if not directory.is_dir():
        raise GenerateError(f"fab generate wrote no {directory.name} folder")
    return Manifests(
        {
            file.relative_to(directory).as_posix(): file.read_bytes()
            for file in sorted(directory.rglob("*"))
            if file.is_file()
        }
    )
