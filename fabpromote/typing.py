"""The contracts that backends follow (``typing.Protocol`` classes).

Plugins return objects that follow these from their factories; the contract
test suites in :mod:`fabpromote.testing` check them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from pathlib import Path

    from fabpromote._engine import RenderOptions, RenderRequest
    from fabpromote._fetch import Fetcher
    from fabpromote._manifests import Manifests

__all__ = ["Engine", "Generator"]


@runtime_checkable
class Generator(Protocol):
    """Renders one component (a ``type`` such as ``static`` or ``helm``)."""

    def generate(self, request: RenderRequest) -> bytes:
        """Return the manifest bytes of ``request.component``.

        Called once per visited component of that type, possibly from several
        threads at once. Must not write into the HLD tree.

        Raises:
            GeneratorError: The component cannot be rendered.
        """
        ...


@runtime_checkable
class Engine(Protocol):
    """Renders a whole HLD tree, as ``fab generate`` does."""

    def render(
        self,
        path: Path,
        environments: tuple[str, ...],
        options: RenderOptions,
        *,
        fetcher: Fetcher | None = None,
        boundary: Path | None = None,
    ) -> Manifests:
        """Render the HLD in directory ``path`` for ``environments``.

        Args:
            fetcher: Fetches remote parts that are not installed in the tree,
                and records what it used (the lock).
            boundary: A folder no path of the HLD may lead out of (set when
                the HLD itself was fetched).

        Returns the files of ``generated/<envs>/``, relative to that folder.
        """
        ...
