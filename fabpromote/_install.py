"""``install``: fill ``components/`` and ``helm_repos/`` where ``fab install`` does.

Everything comes through the cache (git snapshots per commit, pulled charts,
downloads by digest), so a repeated install fetches only what changed. Each
target is staged beside its place first; only when every fetch succeeded are
they swapped in, one rename each, so a failed install changes nothing (under
the CLI, neither does SIGTERM: see :mod:`fabpromote._signals`).
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import shutil
from collections import deque
from pathlib import Path

import attrs

from fabpromote import _hooks, _signals
from fabpromote._engine import RenderOptions, RenderRequest, _Walk
from fabpromote._fetch import Fetcher
from fabpromote._fsutil import copy_writable, replace_path, staging_dir
from fabpromote._hld import load_component, load_environments
from fabpromote._outputs import Output, digests
from fabpromote._plugins import Plugins

__all__ = ["install"]

_INSTALL_STAGES = ("before-install", "after-install")


@attrs.define
class _Installer:
    """One install: walks the tree (common config only) and stages targets."""

    plugins: Plugins
    options: RenderOptions
    fetcher: Fetcher
    staged: list[tuple[Path, Path]] = attrs.Factory(list)
    #: Folders made to hold staging folders (``components/``), outermost first.
    made: list[Path] = attrs.Factory(list)
    #: Where each visited component is installed (its folder in the user's tree).
    places: dict[str, Path] = attrs.Factory(dict)

    def run(self, root_dir: Path) -> list[Path]:
        walk = _Walk(self.plugins, (), self.options, self.fetcher, pool=None)
        root = RenderRequest(
            component=load_component(root_dir),
            config=load_environments(root_dir, (), fix_disabled=self.options.fix_disabled),
            directory=root_dir,
            logical_path="",
            environments=(),
            fetcher=self.fetcher,
        )
        self.places[""] = root_dir
        queue: deque[tuple[RenderRequest, tuple[str, ...]]] = deque([(root, (os.path.realpath(root_dir),))])
        try:
            while queue:
                request, ancestors = queue.popleft()
                children = list(walk.children(request, ancestors))
                self.visit(request, [child for child, _ in children])
                queue.extend(children)
            # components/ and helm_repos/ are Fabrikate's layout: what was installed is recorded in the cache.
            outputs = [(staging, Output(target, "cache")) for staging, target in self.staged]
            held = [output.check() for _staging, output in outputs]
        except BaseException:
            self.discard()
            raise
        # All or nothing, SIGTERM included: a signal takes effect once every target is in place.
        with _signals.deferred():
            for (staging, output), before in zip(outputs, held, strict=True):
                files = digests(staging)
                output.record(files, *([before] if before else []))
                replace_path(staging, output.path)
                staging.parent.rmdir()
                output.record(files)
        return [target for _staging, target in self.staged]

    def discard(self) -> None:
        """Remove every staging folder, and the folders made for them (``components/``)."""
        for staging, _target in self.staged:
            shutil.rmtree(staging.parent, ignore_errors=True)
        for folder in reversed(self.made):
            with contextlib.suppress(OSError):  # not empty: it holds something of the user's now
                folder.rmdir()

    def visit(self, request: RenderRequest, children: list[RenderRequest]) -> None:
        component = request.component
        place = self.places[request.entry_path]
        _hooks.check_allowed(component, _INSTALL_STAGES, allowed=self.options.allow_hooks, where=request.directory)
        _hooks.run_hook(component, "before-install", request.directory)
        entries = {entry.name: entry for entry in component.subcomponents}
        for child in children:
            entry = entries[posixpath.basename(child.entry_path)]
            if entry.inlined:
                self.places[child.entry_path] = place
            elif entry.method == "git" and child.boundary is not None:
                # Fetched (this fetcher never prefers installed copies): install
                # the whole snapshot under components/<entry>, as `fab install` clones.
                target = place / "components" / entry.name
                self.stage(child.boundary, target)
                self.places[child.entry_path] = target / os.path.relpath(child.directory, child.boundary)
            else:
                self.places[child.entry_path] = place / os.path.relpath(child.directory, request.directory)
        self.install_content(request, place)
        _hooks.run_hook(component, "after-install", request.directory)

    def install_content(self, request: RenderRequest, place: Path) -> None:
        """What the component's generator fetches: a chart, a download."""
        component = request.component
        if component.kind == "static" and component.method == "http":
            data = self.fetcher.download(request.entry_path, component.source)
            staging = self.new_staging(place / "components" / component.name)
            staging.mkdir()
            (staging / f"{component.name}.yaml").write_bytes(data)
            return
        fetch = getattr(self.plugins.generator(component.kind), "fetch", None)
        fetched = fetch(request) if fetch is not None else None
        if fetched is not None:
            self.stage(fetched, place / "helm_repos" / component.name)

    def stage(self, source: Path, target: Path) -> None:
        copy_writable(source, self.new_staging(target))

    def new_staging(self, target: Path) -> Path:
        """Where to build ``target`` (not created yet), known to :meth:`discard` from the start."""
        missing = [folder for folder in (target.parent, *target.parent.parents) if not folder.exists()]
        # Made and recorded in one step: a signal between the two would leave the folder behind.
        with _signals.deferred():
            self.made.extend(reversed(missing))
            staging = staging_dir(target) / "tree"
            self.staged.append((staging, target))
        return staging


def install(
    path: str | Path = ".",
    *,
    allow_hooks: bool = False,
    plugins: Plugins | None = None,
    fetcher: Fetcher | None = None,
) -> list[Path]:
    """Fetch every remote part of the HLD at ``path`` into it, as ``fab install`` does.

    ``method: git`` components go to ``components/<entry>``, helm charts to
    ``helm_repos/<name>``, ``method: http`` downloads to
    ``components/<name>/<name>.yaml``, each in the folder of the component
    that lists it. Only ``common`` config applies (disabled subcomponents are
    skipped). Hooks run only when allowed.

    Returns:
        The folders that were (re)installed.

    Raises:
        FabpromoteError: Any bad input or failed fetch; nothing is changed then.
    """
    fetcher = fetcher or Fetcher(prefer_installed=False)
    installer = _Installer(plugins or Plugins.load(), RenderOptions(allow_hooks=allow_hooks), fetcher)
    with fetcher.user_terms():
        return installer.run(Path(path))
