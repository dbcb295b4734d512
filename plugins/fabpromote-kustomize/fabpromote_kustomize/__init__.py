"""fabpromote-kustomize: the ``kustomize`` generator, which renders a kustomization with ``kubectl kustomize``.

An extension beyond Fabrikate (which has no such type). This module is the
plugin's entry point (group ``fabpromote``, name ``kustomize``), so it stays
cheap to import: the generator is imported when a kustomize component is rendered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fabpromote.hookspecs import Register, hookimpl

if TYPE_CHECKING:
    from fabpromote_kustomize._generator import KustomizeGenerator

__all__ = ["KustomizeGenerator", "__version__", "fabpromote_register_generators"]


def _kustomize_generator() -> KustomizeGenerator:
    from fabpromote_kustomize._generator import KustomizeGenerator

    return KustomizeGenerator.from_env()


@hookimpl
def fabpromote_register_generators(register: Register) -> None:
    """Register the ``kustomize`` generator (the kubectl to run comes from the environment)."""
    register("kustomize", _kustomize_generator)


def __getattr__(name: str) -> Any:
    # Imported on first use: the entry-point module must stay cheap to import.
    if name == "KustomizeGenerator":
        from fabpromote_kustomize._generator import KustomizeGenerator

        return KustomizeGenerator
    if name == "__version__":
        from importlib.metadata import version

        return version("fabpromote-kustomize")
    raise AttributeError(f"module 'fabpromote_kustomize' has no attribute {name!r}")
