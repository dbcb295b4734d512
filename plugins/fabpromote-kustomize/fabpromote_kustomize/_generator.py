"""The ``kustomize`` generator: ``kubectl kustomize`` on the component's kustomization folder.

``path`` names the folder holding ``kustomization.yaml``, in the component's
folder (``method: local``, the default) or in a git repository
(``method: git`` with ``source`` and ``branch`` or ``version``, fetched
through fabpromote's cache like any git component). When the environment
config sets images or the component config a namespace, kustomize renders
a kustomization of our own that takes the folder as its resource and adds
``images:`` and ``namespace:``: the user's files are never edited.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import yaml

from fabpromote.exceptions import GeneratorError, SourceError
from fabpromote.git import redact
from fabpromote.paths import check_inside
from fabpromote_kustomize._config import Image, images

if TYPE_CHECKING:
    from fabpromote import RenderRequest

__all__ = ["KustomizeGenerator"]

#: The names kustomize looks for in a folder, in its order.
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
#: How long one render may take, in seconds (a remote base makes kustomize fetch).
TIMEOUT = 300


@attrs.frozen
class KustomizeGenerator:
    """Renders ``type: kustomize`` components.

    Attributes:
        kubectl: The kubectl to run (``kubectl kustomize``); a name is looked up on PATH.
    """

    kubectl: str = "kubectl"

    @classmethod
    def from_env(cls) -> KustomizeGenerator:
        """``$FABPROMOTE_KUBECTL`` when set, else ``kubectl`` from PATH."""
        return cls(kubectl=os.environ.get("FABPROMOTE_KUBECTL") or "kubectl")

    def generate(self, request: RenderRequest) -> bytes:
        """The manifests ``kubectl kustomize`` prints for the component's folder.

        Raises:
            GeneratorError: No kustomization there, bad config, kubectl missing or failing.
            UnsafePathError: ``path`` leads out of the component's tree or repository.
        """
        name = request.component.name
        wanted = images(name, request.config.config)
        folder = _folder(request)
        binary = shutil.which(self.kubectl)
        if binary is None:
            raise GeneratorError(
                f"component {name!r}: {self.kubectl!r} not found on PATH "
                "(kustomize components render with `kubectl kustomize`; FABPROMOTE_KUBECTL names another)"
            )
        if not wanted and not request.config.namespace:
            return _run(binary, folder, name)
        with tempfile.TemporaryDirectory(prefix="fabpromote-kustomize-") as wrapper:
            _write_overlay(Path(wrapper), folder, wanted, request.config.namespace)
            return _run(binary, Path(wrapper), name, shown=folder)


def _folder(request: RenderRequest) -> Path:
    """The kustomization folder of the component, fetched when it is in a git repository."""
    component = request.component
    relative = component.path.strip("/") or "."
    if component.method == "git":
        if request.fetcher is None or not component.source:
            raise GeneratorError(f"component {component.name!r}: method: git needs `source` and fetching")
        ref = component.version or component.branch
        try:
            tree = request.fetcher.git_tree(request.entry_path or component.name, component.source, ref)
        except SourceError as exc:
            exc.args = (f"component {component.name!r}, kustomization {relative}: {exc}",)
            raise
        folder = Path(os.path.normpath(tree / relative))
        check_inside(tree, folder, request.entry_path or component.name)
        where = f"{relative!r} of {redact(component.source)} at {ref or 'HEAD'}"
    elif component.method in ("", "local"):
        folder = request.contained(Path(os.path.normpath(request.directory / relative)))
        where = str(folder)
    else:
        raise GeneratorError(
            f"component {component.name!r}: method {component.method!r} (kustomize takes local or git)"
        )
    if not any((folder / file).is_file() for file in KUSTOMIZATION_FILES):
        raise GeneratorError(f"component {component.name!r}: no kustomization.yaml in {where}")
    return folder


def _write_overlay(wrapper: Path, folder: Path, wanted: tuple[Image, ...], namespace: str) -> None:
    """A kustomization in ``wrapper`` that renders ``folder`` with the images and namespace set."""
    # kustomize refuses absolute resource paths; a relative one may climb out of its root.
    overlay: dict[str, object] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [os.path.relpath(folder, wrapper)],
    }
    if namespace:
        overlay["namespace"] = namespace
    if wanted:
        overlay["images"] = [image.to_yaml() for image in wanted]
    (wrapper / "kustomization.yaml").write_text(yaml.safe_dump(overlay, sort_keys=False))


def _run(binary: str, folder: Path, name: str, *, shown: Path | None = None) -> bytes:
    try:
        done = subprocess.run(
            [binary, "kustomize", str(folder)],
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise GeneratorError(f"component {name!r}: kubectl kustomize took more than {TIMEOUT} s") from None
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip().splitlines()
        detail = reason[-1] if reason else f"exit status {done.returncode}"
        raise GeneratorError(f"component {name!r}: kubectl kustomize {shown or folder} failed: {detail}")
    return done.stdout
