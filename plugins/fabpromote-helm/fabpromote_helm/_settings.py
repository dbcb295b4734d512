"""The helm generator's settings, and how they are read from the environment.

The plugin manager builds generators without arguments, so the registered
factory reads these environment variables (library users may instead build
``HelmGenerator(settings=HelmSettings(...))`` and register it themselves):

``FABPROMOTE_HELM``
    Path of the helm binary; by default ``helm`` is looked up on ``PATH``.
``FABPROMOTE_HELM_TIMEOUT``
    Seconds one ``helm template``, ``helm pull`` or ``helm dependency`` may
    run before it is killed (default 300).
``FABPROMOTE_HELM_STDERR``
    ``combine`` (default, as Fabrikate: helm's warnings become part of the
    manifests) or ``separate`` (warnings are logged, never rendered).
``FABPROMOTE_HELM_SPLIT``
    ``compat`` (default, as Fabrikate: cut helm's output at every ``"\\n---"``)
    or ``documents`` (cut only at real YAML document markers).
``FABPROMOTE_HELM_PLAIN_HTTP``
    Comma-separated OCI registries (``host`` or ``host:port``) reached over
    plain HTTP instead of HTTPS (helm's ``--plain-http``); default none.
``FABPROMOTE_HELM_BACKEND``
    ``binary`` (default: run ``helm template``, one process per render) or
    ``sdk`` (render in this process with helm-python-sdk, the Helm v4 SDK;
    install it with ``pip install 'fabpromote-helm[sdk]'``).
``FABPROMOTE_NO_RENDER_CACHE``
    Set to anything but ``""``/``0`` to render every time, without the cache.
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Literal

import attrs

from fabpromote.exceptions import GeneratorError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "ENV_BACKEND",
    "ENV_HELM",
    "ENV_NO_RENDER_CACHE",
    "ENV_PLAIN_HTTP",
    "ENV_SPLIT",
    "ENV_STDERR",
    "ENV_TIMEOUT",
    "HelmSettings",
]

ENV_HELM = "FABPROMOTE_HELM"
ENV_TIMEOUT = "FABPROMOTE_HELM_TIMEOUT"
ENV_STDERR = "FABPROMOTE_HELM_STDERR"
ENV_SPLIT = "FABPROMOTE_HELM_SPLIT"
ENV_NO_RENDER_CACHE = "FABPROMOTE_NO_RENDER_CACHE"
ENV_PLAIN_HTTP = "FABPROMOTE_HELM_PLAIN_HTTP"
ENV_BACKEND = "FABPROMOTE_HELM_BACKEND"

StderrMode = Literal["combine", "separate"]
SplitMode = Literal["compat", "documents"]
Backend = Literal["binary", "sdk"]

_STDERR_MODES = ("combine", "separate")
_SPLIT_MODES = ("compat", "documents")
_BACKENDS = ("binary", "sdk")


def _positive(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{attribute.name} must be a positive number of seconds, not {value!r}")


def _hosts(hosts: Iterable[str]) -> tuple[str, ...]:
    """Registry names, blanks dropped (``FABPROMOTE_HELM_PLAIN_HTTP`` is comma-separated)."""
    return tuple(host.strip() for host in hosts if host.strip())


@attrs.frozen(kw_only=True)
class HelmSettings:
    """How the helm generator runs helm and cleans its output.

    Each field is named as the setting is (its environment variable is
    ``FABPROMOTE_`` + the name in capitals, except ``render_cache``).

    Attributes:
        helm: The helm binary; None looks up ``helm`` on ``PATH`` at render time.
        helm_timeout: Seconds one ``helm template``, ``helm pull`` or ``helm
            dependency`` may run before it is killed.
        helm_stderr: ``combine`` reads helm's stdout and stderr as one stream,
            as Fabrikate does (a warning such as ``WARNING: This chart is
            deprecated`` parses as a YAML map and becomes the first document);
            ``separate`` keeps stderr out of the manifests and logs it.
        helm_split: ``compat`` splits helm's output on the literal ``"\\n---"``
            as Fabrikate does, which also cuts at lines that merely start with
            three dashes (``-----BEGIN CERTIFICATE-----``, ``---key: v``);
            ``documents`` splits only at YAML document markers (``---``
            followed by a blank or the end of the line).
        render_cache: Keep renders in the on-disk render cache.
        helm_plain_http: The OCI registries (``host`` or ``host:port``) reached over plain HTTP.
        helm_backend: ``binary`` runs ``helm template``; ``sdk`` renders in
            this process with helm-python-sdk (helm v4.2.3, the ``sdk`` extra),
            with the same output as that helm's binary. Fetching charts and
            building a git chart's dependencies still run the binary.
    """

    helm: str | None = None
    helm_timeout: float = attrs.field(default=300.0, converter=float, validator=_positive)
    helm_stderr: StderrMode = attrs.field(default="combine", validator=attrs.validators.in_(_STDERR_MODES))
    helm_split: SplitMode = attrs.field(default="compat", validator=attrs.validators.in_(_SPLIT_MODES))
    render_cache: bool = True
    helm_plain_http: tuple[str, ...] = attrs.field(default=(), converter=_hosts)
    helm_backend: Backend = attrs.field(default="binary", validator=attrs.validators.in_(_BACKENDS))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> HelmSettings:
        """Read the settings from ``environ`` (default: ``os.environ``).

        Raises:
            GeneratorError: A variable holds a value that is not allowed.
        """
        env = os.environ if environ is None else environ
        timeout_text = env.get(ENV_TIMEOUT, "").strip()
        try:
            timeout = float(timeout_text) if timeout_text else 300.0
            _positive(None, attrs.fields(cls).helm_timeout, timeout)
        except ValueError:
            raise GeneratorError(f"{ENV_TIMEOUT} must be a positive number of seconds, not {timeout_text!r}") from None
        stderr = env.get(ENV_STDERR, "").strip() or "combine"
        if stderr not in _STDERR_MODES:
            raise GeneratorError(f"{ENV_STDERR} must be 'combine' or 'separate', not {stderr!r}")
        split = env.get(ENV_SPLIT, "").strip() or "compat"
        if split not in _SPLIT_MODES:
            raise GeneratorError(f"{ENV_SPLIT} must be 'compat' or 'documents', not {split!r}")
        backend = env.get(ENV_BACKEND, "").strip() or "binary"
        if backend not in _BACKENDS:
            raise GeneratorError(f"{ENV_BACKEND} must be 'binary' or 'sdk', not {backend!r}")
        no_cache = env.get(ENV_NO_RENDER_CACHE, "").strip()
        return cls(
            helm=env.get(ENV_HELM) or None,
            helm_timeout=timeout,
            helm_stderr=stderr,  # type: ignore[arg-type]  # checked against _STDERR_MODES above
            helm_split=split,  # type: ignore[arg-type]  # checked against _SPLIT_MODES above
            render_cache=no_cache in ("", "0"),
            helm_plain_http=env.get(ENV_PLAIN_HTTP, "").split(","),
            helm_backend=backend,  # type: ignore[arg-type]  # checked against _BACKENDS above
        )
