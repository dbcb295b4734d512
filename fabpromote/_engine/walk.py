"""The native engine: walk an HLD tree the way ``fab generate`` does.

The walk visits components breadth first, as Fabrikate does, and hands each
one to its generator as soon as it is visited: renders run in parallel
(bounded by the number of cores) while the walk goes on reading files and
fetching remote components, so helm renders the first apps while later ones
still download. The output is assembled only once the whole tree is known:
an error anywhere (a bad file deep in the tree) leaves no output, cancels
the renders not yet started and waits for the running ones. A component
with generate hooks (only when allowed) renders during the walk, after
every render before it, as in Fabrikate: a hook may prepare files that
components after it read.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

import attrs

from fabpromote._engine import hooks as _hooks
from fabpromote._engine.manifests import Manifests
from fabpromote._engine.static import ComponentGenerator, StaticGenerator
from fabpromote._hld.loading import find_component_file, load_component, load_environments
from fabpromote._hld.model import Component, ComponentConfig
from fabpromote._sources.cache import Cache
from fabpromote._util import progress as _progress
from fabpromote._util import reads as _reads
from fabpromote._util import signals as _signals
from fabpromote.exceptions import HLDError, UnknownBackendError, UnsafePathError

if TYPE_CHECKING:
    from collections.abc import Generator, Iterator

    from yaml.nodes import Node

    from fabpromote._hld.parsed import ParsedFiles
    from fabpromote._plugins.manager import Plugins
    from fabpromote._sources.fetch import Fetcher
    from fabpromote._util.progress import Progress

__all__ = [
    "NativeEngine",
    "RenderOptions",
    "RenderRequest",
    "boundaries",
    "check_file_name",
    "check_inside",
    "output_dir_name",
]

_GENERATE_STAGES = ("before-generate", "after-generate")
#: Generators whose output depends on nothing but the files they read (see :mod:`fabpromote._util.reads`).
_PURE_GENERATORS = (ComponentGenerator, StaticGenerator)


def _note_inputs(generator: object, request: RenderRequest) -> None:
    """Record what a plugin generator says its render of ``request`` reads outside the tree (see ``Generator``)."""
    inputs = getattr(generator, "inputs", None)
    try:
        declared = inputs(request) if inputs is not None else None
    except Exception:  # the contract asks for None on error: a broken plugin only costs the stamp
        declared = None
    if declared is None:
        _reads.spoil(f"generator {request.component.kind!r}")
    else:
        _reads.note_inputs(tuple(declared.paths), tuple(declared.environment))


#: The config of an entry its parent's config does not mention (frozen: one serves all).
_NO_CONFIG = ComponentConfig()


@attrs.frozen(kw_only=True)
class RenderOptions:
    """How to render.

    Attributes:
        allow_hooks: Run the shell commands of component hooks.
        fix_disabled: Let an unset ``disabled`` in a higher config fall
            through to a lower one, instead of Fabrikate's cancelling.
    """

    allow_hooks: bool = False
    fix_disabled: bool = False


@attrs.frozen(kw_only=True)
class RenderRequest:
    """One visited component, ready for its generator.

    Attributes:
        component: The component (for inlined entries, the entry itself).
        config: Its merged config for the environments.
        directory: Its physical directory (an inlined entry's is its parent's).
        logical_path: The chain of entry names above it, ``""`` at the root.
        environments: The environments rendered, highest priority first.
        entry_path: The chain of entry names down to this component itself
            (``""`` for the root); names it in locks and messages.
        boundary: For content fetched from a remote, the snapshot it came
            from: no path may lead out of it. None for the user's own tree.
        fetcher: Fetches remote content not installed in the tree (charts,
            downloads) and records the lock; None when fetching is off.
        cache: The run's cache: generators keep what they cache there (on
            disk under its root, in memory in its memos).
    """

    component: Component
    config: ComponentConfig
    directory: Path
    logical_path: str
    environments: tuple[str, ...]
    entry_path: str = ""
    boundary: Path | None = None
    fetcher: Fetcher | None = attrs.field(default=None, eq=False, repr=False)
    cache: Cache = attrs.field(factory=Cache.from_settings, eq=False, repr=False)

    @property
    def output_path(self) -> str:
        """Where its manifest goes: ``<logical path>/<own name>.yaml``."""
        return posixpath.join(self.logical_path, f"{self.component.name}.yaml")

    def contained(self, path: Path) -> Path:
        """``path``, if it stays inside :attr:`boundary` (symlinks resolved).

        Raises:
            UnsafePathError: A fetched component points outside its snapshot.
        """
        if self.boundary is None:
            return path
        return check_inside(self.boundary, path, self.entry_path or self.component.name, boundaries(self.cache))


def _realpath(path: str, known: dict[str, str] | None) -> str:
    if known is None:
        return os.path.realpath(path)
    # Boundaries are snapshots in the cache: read-only, so resolving once per run is enough.
    found = known.get(path)
    if found is None:
        found = known[path] = os.path.realpath(path)
    return found


def boundaries(cache: Cache) -> dict[str, str]:
    """The real paths of the boundaries resolved so far in the run of ``cache`` (for :func:`check_inside`)."""
    return cache.memo("engine.boundaries", dict)


def check_inside(boundary: Path | None, path: Path, who: str, known: dict[str, str] | None = None) -> Path:
    """``path``, if it stays inside ``boundary`` (None: anywhere), symlinks resolved.

    ``known``: real paths of boundaries already resolved (see :func:`boundaries`).

    Raises:
        UnsafePathError: It leads out: a fetched component must not read the
            files of the machine it is rendered on.
    """
    if boundary is not None:
        inside = _realpath(os.fspath(boundary), known)
        real = os.path.realpath(path)
        # Both are absolute and normalized: string prefixes are path prefixes.
        if real != inside and not real.startswith(inside.rstrip(os.sep) + os.sep):
            raise UnsafePathError(f"component {who!r} points outside the repository it was fetched from: {path}")
    return path


def output_dir_name(environments: tuple[str, ...]) -> str:
    """The ``generated/`` sub-folder: the environments joined by ``-``."""
    for environment in environments:
        check_file_name(environment, "environment name")
    return "-".join(environments) or "common"


def check_file_name(name: str, what: str) -> str:
    """Return ``name`` if it can be used as one file name, else raise UnsafePathError."""
    if "/" in name or "\\" in name or "\0" in name or name in ("", ".", ".."):
        raise UnsafePathError(f"{what} {name!r} is not a valid file name")
    if name.startswith("-"):
        # Names reach command lines (helm's release name): "--post-renderer=sh" would be an option.
        raise UnsafePathError(f"{what} {name!r} must not start with '-' (it would be read as an option)")
    return name


def kind_written_at(directory: Path, component: Component) -> str:
    """Where the ``type`` (or ``generator``) of ``component`` is written: ``file:line (field)``.

    For errors only: the component file of ``directory`` is read again to
    find the entry (the file's own component, or an inline subcomponent).
    """
    from yaml.nodes import ScalarNode  # the error path only: a render does not import YAML's node classes

    from fabpromote._hld.convert import parse_file

    file = find_component_file(directory)
    if file is None:
        return str(directory)
    key = "generator" if component.generator else "type"
    for fields, path in _component_maps(parse_file(file), ""):
        value, name = fields.get(key), fields.get("name")
        if (
            isinstance(value, ScalarNode)
            and value.value == component.kind
            and (name.value if isinstance(name, ScalarNode) else "") == component.name
        ):
            return f"{file}:{value.start_mark.line + 1} ({path}{key})"
    return str(file)


def _component_maps(node: Node | None, path: str) -> Iterator[tuple[dict[str, Node], str]]:
    """The fields of a component's node and of each subcomponent entry under it, with their field paths."""
    from yaml.nodes import MappingNode, ScalarNode, SequenceNode

    if not isinstance(node, MappingNode):
        return
    fields = {key.value: value for key, value in node.value if isinstance(key, ScalarNode)}
    yield fields, path
    entries = fields.get("subcomponents")
    if isinstance(entries, SequenceNode):
        for index, entry in enumerate(entries.value):
            yield from _component_maps(entry, f"{path}subcomponents[{index}].")


def is_cloned_root(root: Component) -> bool:
    """Whether a root component is read from its clone in ``components/<name>/<path>``.

    Fabrikate's ``UpdateComponentPath``: a ``method: git`` root whose type
    (after the ``generator`` migration) is ``component``; a chart fetched by
    git is read where it is, its chart in ``helm_repos/<name>``.
    """
    return root.method == "git" and not root.inlined


#: The folders above a component, root first: (device and inode, None if missing; the folder).
Ancestors: TypeAlias = "tuple[tuple[tuple[int, int] | None, Path], ...]"


def _identity(directory: Path) -> tuple[int, int] | None:
    """The device and inode of a folder (None: missing): one stat, where its real path costs one per part."""
    try:
        info = os.stat(directory)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def root_ancestors(root: RenderRequest) -> Ancestors:
    """What the walk's children of the root start from: the root's own folder."""
    return ((_identity(root.directory), root.directory),)


def _go_join(*parts: str) -> str:
    """Go's ``path.Join``: join the non-empty parts with ``/``, then clean."""
    return posixpath.normpath("/".join(part for part in parts if part)) if any(parts) else ""


@attrs.define
class NativeEngine:
    """Renders an HLD with fabpromote's own walk and the registered generators."""

    _plugins: Plugins

    def render(
        self,
        path: Path,
        environments: tuple[str, ...],
        options: RenderOptions,
        *,
        fetcher: Fetcher | None = None,
        boundary: Path | None = None,
    ) -> Manifests:
        """Render the HLD in directory ``path``; see :class:`~fabpromote.typing.Engine`.

        Args:
            fetcher: Fetches git components, charts and downloads that are not
                installed in the tree; without one they must be installed.
            boundary: When ``path`` lies in a fetched snapshot: the snapshot,
                which no path may leave.
        """
        workers = os.cpu_count() or 1
        # One CPU: render each component in this thread as it is visited.
        pool = ThreadPoolExecutor(workers, thread_name_prefix="fabpromote-render") if workers > 1 else None
        try:
            cache = fetcher.cache if fetcher is not None else Cache.from_settings()
            walk = _Walk(self._plugins, tuple(environments), options, fetcher, pool, cache)
            walk.run(Path(path), boundary)
            return walk.finish()
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)


@attrs.define
class _Walk:
    """One render: visits the tree, rendering what it visits."""

    plugins: Plugins
    environments: tuple[str, ...]
    options: RenderOptions
    fetcher: Fetcher | None
    pool: ThreadPoolExecutor | None
    cache: Cache
    done: dict[str, bytes] = attrs.Factory(dict)
    pending: list[tuple[RenderRequest, Future[bytes]]] = attrs.Factory(list)
    seen: set[str] = attrs.Factory(set)
    # The CLI's progress line, taken in the walking thread: workers report to it too.
    progress: Progress | None = attrs.Factory(_progress.current)

    @property
    def parsed(self) -> ParsedFiles | None:
        """The run's parse cache, which the fetcher carries (None: parse every file)."""
        return self.fetcher.parsed if self.fetcher is not None else None

    def configs(self, directory: Path, above: ComponentConfig | None = None) -> ComponentConfig:
        """The merged config files of the component in ``directory`` (see :func:`load_environments`)."""
        return load_environments(
            directory, self.environments, fix_disabled=self.options.fix_disabled, above=above, parsed=self.parsed
        )

    def run(self, root_dir: Path, boundary: Path | None) -> None:
        root_request = self.root(root_dir, boundary)
        # Breadth first, as Fabrikate visits: a component is visited when its
        # parent lists it. Each entry carries the folders above it, to stop cycles.
        self.visit(root_request)
        queue: deque[tuple[RenderRequest, Ancestors]] = deque([(root_request, root_ancestors(root_request))])
        while queue:
            request, ancestors = queue.popleft()
            with contextlib.closing(self.children(request, ancestors)) as children:
                for child in children:
                    self.visit(child[0])
                    if child[0].component.subcomponents:  # a leaf has nothing to list: most of a large tree
                        queue.append(child)

    def root(self, root_dir: Path, boundary: Path | None) -> RenderRequest:
        """The request of the root component in ``root_dir`` (``boundary``: the snapshot it lies in, if any).

        A root of type ``component`` with ``method: git`` is read from its
        clone, as Fabrikate's ``UpdateComponentPath`` does; a root of any
        other type (a chart fetched by git) is read where it is.
        """
        component = load_component(root_dir, parsed=self.parsed)
        config = self.configs(root_dir)
        if is_cloned_root(component):
            root_dir, boundary = self.root_clone(root_dir, component, boundary)
            component = load_component(root_dir, parsed=self.parsed)
            # LoadComponent puts the starting folder's config above the clone's files, which LoadConfig then merges.
            config = self.configs(root_dir, above=config)
        return RenderRequest(
            component=component,
            config=config,
            directory=root_dir,
            logical_path="",
            environments=self.environments,
            boundary=boundary,
            fetcher=self.fetcher,
            cache=self.cache,
        )

    def root_clone(self, root_dir: Path, root: Component, boundary: Path | None) -> tuple[Path, Path | None]:
        """Where the git root ``root`` is read, and the snapshot that folder lies in.

        Its clone ``components/<name>/<path>`` (where ``install`` puts it), or,
        when it is not installed or installed copies are not preferred, the
        ``<path>`` of a snapshot fetched now (as for git subcomponents).
        """
        check_file_name(root.name, f"component name in {root_dir}")
        installed = root_dir / "components" / root.name
        if self.fetcher is None or (self.fetcher.prefer_installed and installed.is_dir()):
            directory = Path(_go_join(str(installed), root.path))
        else:
            boundary = self.fetcher.git_tree("", root.source, root.version or root.branch)
            directory = Path(_go_join(str(boundary), root.path))
        return check_inside(boundary, directory, root.name, boundaries(self.cache)), boundary

    def visit(self, request: RenderRequest) -> None:
        component = request.component
        if self.progress is not None:
            self.progress.visit()
        if component.name:  # Fabrikate writes an unnamed root to ".yaml"
            check_file_name(component.name, f"component name in {request.directory}")
        output_path = request.output_path
        if output_path in self.seen:
            raise UnsafePathError(f"two components would write {output_path} (duplicate names)")
        self.seen.add(output_path)
        _hooks.check_allowed(component, _GENERATE_STAGES, allowed=self.options.allow_hooks, where=request.directory)
        try:
            generator = self.plugins.generator(component.kind)
        except UnknownBackendError as exc:
            raise exc.written_at(kind_written_at(request.directory, component)) from None
        _reads.note_folder(request.directory, component.path)
        if not isinstance(generator, _PURE_GENERATORS) and _reads.recording():
            _note_inputs(generator, request)
        if component.hooks.before_generate or component.hooks.after_generate:
            _reads.spoil(f"hooks of {component.name!r}")
            _signals.wait(future for _, future in self.pending)
            _hooks.run_hook(component, "before-generate", request.directory)
            self.done[output_path] = generator.generate(request)
            _hooks.run_hook(component, "after-generate", request.directory)
        elif self.pool is None or not getattr(generator, "parallel", True):
            self.done[output_path] = bytes(generator.generate(request))
        elif (hit := self._cached(generator, request)) is not None:
            self.done[output_path] = hit
        else:
            future = self.pool.submit(self._render, request)
            if (progress := self.progress) is not None:
                future.add_done_callback(lambda _: progress.render())
            self.pending.append((request, future))
            return
        if self.progress is not None:
            self.progress.render()

    def children(
        self, parent: RenderRequest, ancestors: Ancestors
    ) -> Generator[tuple[RenderRequest, Ancestors], None, None]:
        """The enabled subcomponents of ``parent``, in order, each as soon as its files are there."""
        entries = []
        for entry in parent.component.subcomponents:
            check_file_name(entry.name, f"subcomponent name in {parent.directory}")
            entry_config = parent.config.subcomponents.get(entry.name, _NO_CONFIG)
            if not entry_config.is_disabled:
                entries.append((entry, entry_config))
        fetched = [self.is_fetched(parent, entry) for entry, _ in entries]
        with contextlib.closing(
            self.fetch_components(parent, [e for (e, _), f in zip(entries, fetched, strict=True) if f])
        ) as trees:
            for (entry, entry_config), is_fetched in zip(entries, fetched, strict=True):
                yield self.child(parent, ancestors, entry, entry_config, next(trees) if is_fetched else None)

    def child(
        self,
        parent: RenderRequest,
        ancestors: Ancestors,
        entry: Component,
        entry_config: ComponentConfig,
        tree: Path | None,
    ) -> tuple[RenderRequest, Ancestors]:
        """The request of one subcomponent; ``tree`` is its snapshot when it was fetched."""
        entry_path = posixpath.join(parent.entry_path, entry.name)
        if entry.inlined:
            # Built, not attrs.evolve'd: evolve inspects the class on every call, a tenth of a large static walk.
            inlined = RenderRequest(
                component=entry,
                config=entry_config,
                directory=parent.directory,
                logical_path=parent.logical_path,
                environments=parent.environments,
                entry_path=entry_path,
                boundary=parent.boundary,
                fetcher=parent.fetcher,
                cache=parent.cache,
            )
            return inlined, ancestors
        boundary = parent.boundary
        if tree is not None:
            boundary = tree
            directory = Path(_go_join(str(boundary), entry.path))
        else:
            location = f"components/{entry.name}" if entry.method == "git" else entry.source or "./"
            # A relative location is taken from the parent's folder: one join and one Path for both.
            above = () if location.startswith("/") else (os.fspath(parent.directory),)
            directory = Path(_go_join(*above, location, entry.path))
        if boundary is not None:
            check_inside(boundary, directory, entry_path, boundaries(self.cache))
        identity = _identity(directory)
        seen = [folder for folder, _ in ancestors]
        if identity is not None and identity in seen:
            cycle = (*ancestors[seen.index(identity) :], (identity, directory))
            chain = " -> ".join(os.path.realpath(path) for _, path in cycle)
            raise HLDError(
                f"cycle of local components: {chain}",
                file=str(find_component_file(parent.directory)),
                field=f"subcomponents.{entry.name}",
            )
        # As Fabrikate's LoadComponent then LoadConfig: the parent's config for the entry, then each own file under it.
        config = self.configs(directory, above=entry_config)
        request = RenderRequest(
            component=load_component(directory, parsed=self.parsed),
            config=config,
            directory=directory,
            logical_path=posixpath.join(parent.logical_path, entry.name),
            environments=self.environments,
            entry_path=entry_path,
            boundary=boundary,
            fetcher=self.fetcher,
            cache=self.cache,
        )
        return request, (*ancestors, (identity, directory))

    def is_fetched(self, parent: RenderRequest, entry: Component) -> bool:
        """Whether ``entry`` is a ``method: git`` component to fetch (not inlined, not installed)."""
        return (
            self.fetcher is not None
            and not entry.inlined
            and entry.method == "git"
            and not (self.fetcher.prefer_installed and (parent.directory / "components" / entry.name).is_dir())
        )

    def fetch_components(self, parent: RenderRequest, entries: list[Component]) -> Generator[Path, None, None]:
        """Snapshots of the git components ``entries``, in order, each as soon as it is ready.

        They are resolved and fetched together, so one parent's git
        components cost one round trip per remote, in parallel.
        """
        if self.fetcher is None or not entries:
            return
        yield from self.fetcher.git_trees(
            [(posixpath.join(parent.entry_path, e.name), e.source, e.version or e.branch) for e in entries]
        )

    def finish(self) -> Manifests:
        """The manifests of every visited component.

        Renders done in the walking thread raised their errors already; of the
        pooled ones, the first error in walk order is raised.
        """
        files = dict(self.done)
        _signals.wait(future for _, future in self.pending)
        files.update((request.output_path, future.result()) for request, future in self.pending)
        return Manifests(files)

    @staticmethod
    def _cached(generator: object, request: RenderRequest) -> bytes | None:
        """What the generator knows without rendering (a cache hit), if it can tell: no thread needed."""
        cached = getattr(generator, "cached", None)
        hit = cached(request) if cached is not None else None
        return bytes(hit) if hit is not None else None

    def _render(self, request: RenderRequest) -> bytes:
        return bytes(self.plugins.generator(request.component.kind).generate(request))
