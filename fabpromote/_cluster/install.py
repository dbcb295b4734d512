"""``install``: fill ``components/`` and ``helm_repos/`` where ``fab install`` does.

Everything comes through the cache (git snapshots per commit, pulled charts,
downloads by digest), so a repeated install fetches only what changed. Each
target is staged beside its place first; only when every fetch succeeded are
they swapped in, one rename each, so a failed install changes nothing (under
the CLI, neither does SIGTERM: see :mod:`fabpromote._util.signals`). What belongs
inside a staged target (the charts and components of a git component) is
written into that target's staging folder, never into the place the target
will replace.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import shutil
from collections import deque
from pathlib import Path

import attrs

from fabpromote._engine import hooks as _hooks
from fabpromote._engine.outputs import Output, digests
from fabpromote._engine.walk import Ancestors, RenderOptions, RenderRequest, _Walk, is_cloned_root, root_ancestors
from fabpromote._hld.loading import load_component
from fabpromote._plugins.manager import Plugins
from fabpromote._sources.fetch import Fetcher
from fabpromote._util import signals as _signals
from fabpromote._util.fsutil import copy_writable, replace_path, staging_dir

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
    #: Where each visited component's installed files are written: its folder
    #: in the user's tree, or in the staging folder of the clone it lies in.
    places: dict[str, Path] = attrs.Factory(dict)

    def run(self, root_dir: Path) -> list[Path]:
        walk = _Walk(self.plugins, (), self.options, self.fetcher, pool=None, cache=self.fetcher.cache)
        try:
            root = self.install_root(walk, root_dir)
            queue: deque[tuple[RenderRequest, Ancestors]] = deque([(root, root_ancestors(root))])
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

    def install_root(self, walk: _Walk, root_dir: Path) -> RenderRequest:
        """The root's request; a git root of type ``component`` is cloned into ``components/<name>`` first.

        As Fabrikate's ``InstallRoot``: the starting component's install hooks
        run around its clone, and the walk goes on from the clone.
        """
        start = load_component(root_dir)
        if not is_cloned_root(start):
            root = walk.root(root_dir, None)
            self.places[""] = root.directory
            return root
        _hooks.check_allowed(start, _INSTALL_STAGES, allowed=self.options.allow_hooks, where=root_dir)
        _hooks.run_hook(start, "before-install", root_dir)
        root = walk.root(root_dir, None)
        self.places[""] = (
            root.directory  # an installed clone, read in place (a fetcher that prefers installed copies)
            if root.boundary is None
            else self.install_tree(root.boundary, root.directory, root_dir / "components" / start.name)
        )
        _hooks.run_hook(start, "after-install", root_dir)
        return root

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
                self.places[child.entry_path] = self.install_tree(
                    child.boundary, child.directory, place / "components" / entry.name
                )
            else:
                self.places[child.entry_path] = place / os.path.relpath(child.directory, request.directory)
        self.install_content(request, place)
        _hooks.run_hook(component, "after-install", request.directory)

    def install_content(self, request: RenderRequest, place: Path) -> None:
        """What the component's generator fetches: a chart, a download."""
        component = request.component
        if component.kind == "static" and component.method == "http":
            data = self.fetcher.download(request.entry_path, component.source)
            folder = self.destination(place / "components" / component.name)
            folder.mkdir()
            (folder / f"{component.name}.yaml").write_bytes(data)
            return
        fetch = getattr(self.plugins.generator(component.kind), "fetch", None)
        fetched = fetch(request) if fetch is not None else None
        if fetched is not None:
            copy_writable(fetched, self.destination(place / "helm_repos" / component.name))

    def install_tree(self, tree: Path, directory: Path, target: Path) -> Path:
        """Install the snapshot ``tree`` as ``target``; where the files of ``directory`` (inside it) are written."""
        destination = self.destination(target)
        copy_writable(tree, destination)
        return destination / os.path.relpath(directory, tree)

    def destination(self, target: Path) -> Path:
        """Where to write ``target`` (not there yet).

        Inside a staged tree (a git component's clone), right there: the
        whole tree is swapped in at the end. Anywhere else, a new staging
        folder beside ``target``.
        """
        if not any(target.is_relative_to(staging) for staging, _target in self.staged):
            return self.new_staging(target)
        # Fabrikate removes what a clone holds there before installing (os.RemoveAll, then clone or rename).
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

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
