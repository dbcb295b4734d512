"""A private helm home in fabpromote's cache, and running helm's network commands in it.

``helm pull`` and ``helm dependency build|update`` run with every ``HELM_*``
variable of the caller's environment removed and helm's homes pointed into
``<cache root>/helm/``::

    helm/cache/                HELM_CACHE_HOME (repository indexes: HELM_REPOSITORY_CACHE)
    helm/config/               HELM_CONFIG_HOME; its repositories.yaml is never written
    helm/data/                 HELM_DATA_HOME (no plugins: HELM_PLUGINS is empty)
    helm/repositories/         one repositories.yaml per dependency build, removed after

So the user's repositories, credentials, registry logins and plugins are
neither read nor changed, and what fabpromote fetches does not depend on
them. ``helm template`` keeps the caller's environment: it reads no
repository, and Fabrikate runs it that way.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from fabpromote.exceptions import GeneratorError
from fabpromote_helm._helm import INSTALL_HINT

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from fabpromote_helm._run_cache import HelmCache

__all__ = ["explain", "helm_home", "private_env", "repository_config", "run_helm"]

_FOLDER = "helm"
#: Progress lines of helm's repository commands, left out of error messages.
_CHATTER = ("Hang tight", "Update Complete", "...Successfully got an update", "Getting updates for", "Saving ")


def helm_home(state: HelmCache) -> Path:
    """The private helm home of the run: ``<cache root>/helm``."""
    return state.path(_FOLDER)


def private_env(state: HelmCache, repositories: Path | None = None) -> dict[str, str]:
    """The environment of a helm process: the caller's without ``HELM_*``, homes in the run's cache.

    Args:
        state: The run's helm cache.
        repositories: The ``repositories.yaml`` to use; by default one that
            does not exist (helm then knows no repository by name).
    """
    home = helm_home(state)
    env = {name: value for name, value in os.environ.items() if not name.startswith("HELM_")}
    env.update(
        HELM_CACHE_HOME=str(home / "cache"),
        HELM_CONFIG_HOME=str(home / "config"),
        HELM_DATA_HOME=str(home / "data"),
        HELM_REPOSITORY_CACHE=str(home / "cache" / "repository"),
        HELM_REPOSITORY_CONFIG=str(repositories or home / "config" / "repositories.yaml"),
        HELM_REGISTRY_CONFIG=str(home / "config" / "registry" / "config.json"),
        HELM_PLUGINS=str(home / "data" / "plugins"),
    )
    return env


def repository_name(url: str) -> str:
    """The name a repository URL gets in a private ``repositories.yaml``."""
    return "fabpromote-" + hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


@contextlib.contextmanager
def repository_config(state: HelmCache, urls: Iterable[str]) -> Iterator[Path]:
    """A ``repositories.yaml`` naming each of ``urls`` (generated names), removed on exit.

    ``helm dependency build`` refuses repository URLs that no named
    repository has ("no repository definition for ..."); one file per build
    keeps parallel builds apart and refreshes only the repositories needed.
    """
    folder = helm_home(state) / "repositories"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    entries = [{"name": repository_name(url), "url": url} for url in sorted(set(urls))]
    fd, name = tempfile.mkstemp(prefix="repositories-", suffix=".yaml", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yaml.safe_dump({"apiVersion": "", "repositories": entries}, handle, sort_keys=True)
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def run_helm(
    binary: str,
    args: list[str],
    *,
    state: HelmCache,
    timeout: float,
    what: str,
    repositories: Path | None = None,
    setting: str = "FABPROMOTE_HELM_TIMEOUT",
) -> subprocess.CompletedProcess[bytes]:
    """Run ``helm <args>`` in the private home; stdout and stderr are read as one stream.

    The caller checks the exit status; ``setting`` names what sets ``timeout``, for the message.

    Raises:
        GeneratorError: helm cannot start, or runs longer than ``timeout``
            (``what`` names the work in the message).
    """
    try:
        return subprocess.run(
            [binary, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=private_env(state, repositories),
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise GeneratorError(
            f"{what} did not finish within {timeout:g} s and was killed; raise {setting} if needed"
        ) from None
    except OSError as exc:
        raise GeneratorError(f"cannot run helm at {binary}: {exc.strerror}; {INSTALL_HINT}") from None


def explain(output: bytes, urls: Iterable[str] = ()) -> str:
    """helm's output as one line for an error message: progress chatter dropped, generated
    repository names replaced by their (redacted) URL."""
    from fabpromote.git import redact
    from fabpromote_helm._helm import one_line

    kept = [line for line in output.splitlines() if not line.strip().decode("utf-8", "replace").startswith(_CHATTER)]
    # helm's hint is about the user's repositories, which these commands do not use.
    text = one_line(b"\n".join(kept)).replace(" (try 'helm repo update')", "")
    for url in urls:
        pattern = re.escape(repository_name(url)) + r"(?!-(?:index|charts))"
        text = re.sub(pattern, url.replace("\\", "\\\\"), text)
    return redact(text)
