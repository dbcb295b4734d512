"""Finding the helm binary, asking its version and running ``helm template``.

Every process is started from an argument list (never through a shell),
with no standard input (``helm template`` reads only its values there), and
killed when it outlives its timeout.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from fabpromote.cache import atomic_write, seal, unseal
from fabpromote.exceptions import GeneratorError
from fabpromote_helm._settings import ENV_HELM

if TYPE_CHECKING:
    from fabpromote_helm._run_cache import HelmCache

__all__ = [
    "INSTALL_HINT",
    "TemplateRun",
    "find_helm",
    "helm_version",
    "is_shim",
    "looked_up",
    "one_line",
    "output_tail",
    "run_template",
]

INSTALL_HINT = (
    f"install helm (https://helm.sh/docs/intro/install/; fabpromote's scripts/install-helm.sh "
    f"installs the reference v3.18.0) and put it on PATH, or set {ENV_HELM} to its path"
)

#: How long ``helm version`` may take; it does no I/O besides printing.
_VERSION_TIMEOUT = 60.0

#: Go runtime settings for ``helm template``, unless the user set their own.
#: A render is a short, single-threaded job run several at a time, one per
#: core: garbage collection (off until the heap reaches the soft limit) and a
#: second scheduler thread only cost CPU. Measured on helm v3.18.0 and a
#: small chart: about 30 % less CPU per process.
#: Earns its place: bench/tricks.py::helm_go_runtime
_GO_RUNTIME = {"GOGC": "off", "GOMEMLIMIT": "256MiB", "GOMAXPROCS": "1"}

#: The locale of ``helm template``. helm links kubectl's ``get`` command,
#: whose package initialization parses kubectl's message catalogue for the
#: language named by ``LC_ALL`` (else ``LC_MESSAGES``, else ``LANG``) at every
#: start, before helm reads its arguments. The English catalogue (also the
#: default for any other name) holds every kubectl message and costs about
#: 20 ms of CPU per process, over 40 % of a small render; French is among the
#: shortest, about 1 ms. helm's own messages are not translated, Go ignores
#: the C library's locale, and ``helm template`` of a chart on disk starts no
#: other process, so the output is the same (tests/test_helm_env.py checks it
#: against the user's own environment with the real helm).
#: Earns its place: bench/tricks.py::helm_locale
_TEMPLATE_LOCALE = "fr_FR.UTF-8"


def find_helm(explicit: str | None, state: HelmCache) -> str:
    """The absolute path of the helm binary to run.

    Looked up once per setting and ``PATH`` in a run: every helm
    component asks, and ``shutil.which`` stats every ``PATH`` entry.

    Args:
        explicit: The ``FABPROMOTE_HELM`` setting; None looks up ``helm`` on ``PATH``.
        state: The run's helm cache, which remembers the answer.

    Raises:
        GeneratorError: There is no such executable; the message says how to install one.
    """
    key = (explicit, os.environ.get("PATH", ""))
    found = state.found.get(key)
    if found is None or not os.access(found, os.X_OK):
        found = state.found[key] = _find_helm(explicit)
    return found


def _find_helm(explicit: str | None) -> str:
    if explicit:
        found = shutil.which(explicit) if os.sep not in explicit else explicit
        if not found or not Path(found).is_file() or not os.access(found, os.X_OK):
            raise GeneratorError(f"{ENV_HELM}={explicit!r} is not an executable file; {INSTALL_HINT}")
        return str(Path(found).absolute())
    found = shutil.which("helm")
    if not found:
        raise GeneratorError(f"helm was not found on PATH; {INSTALL_HINT}")
    return str(Path(found).absolute())


def is_shim(binary: str) -> bool:
    """Whether ``binary`` looks like a version manager's shim rather than helm: it may run another helm each time.

    A script (``#!``: asdf), or a link to a program not named helm (mise,
    snap, volta, aqua link their own program under each tool's name).
    """
    if not os.path.basename(os.path.realpath(binary)).startswith("helm"):
        return True
    try:
        with open(binary, "rb") as file:
            return file.read(2) == b"#!"
    except OSError:
        return False


def looked_up(explicit: str | None, found: str) -> tuple[str, ...]:
    """The paths ``shutil.which`` tried before ``found``: a ``helm`` made to exist there would be found instead.

    None when the setting names a path: nothing is looked up.
    """
    name = explicit or "helm"
    if os.sep in name:
        return ()
    path = os.environ.get("PATH")
    if path is None:  # as shutil.which does
        path = os.confstr("CS_PATH") if hasattr(os, "confstr") else None
        path = path or os.defpath
    tried = []
    for folder in path.split(os.pathsep):
        candidate = os.path.abspath(os.path.join(folder, name))  # "" is the working folder
        if candidate == os.path.abspath(found):
            break
        tried.append(candidate)
    return tuple(tried)


_VERSION_LABEL = "fabpromote-helm version 1"


def helm_version(binary: str, state: HelmCache) -> str:
    """``helm version --short`` of ``binary`` (``v3.18.0+gcc58e3f``), asked once per run and kept in its cache.

    The answer is remembered per binary path, size and modification time, so
    replacing the binary in place is noticed.

    Raises:
        GeneratorError: The binary cannot run or does not answer.
    """
    try:
        info = Path(binary).stat()
    except OSError as exc:
        raise GeneratorError(f"cannot run helm at {binary}: {exc.strerror}; {INSTALL_HINT}") from None
    key = (binary, info.st_size, info.st_mtime_ns)
    with state.lock:
        cached = state.versions.get(key)
    if cached is not None:
        return cached
    # Also kept on disk: asking helm costs a process start on every run otherwise. Not for a
    # version manager's shim, which runs whichever helm its own settings pick.
    # Earns its place: bench/tricks.py::helm_version_file
    name = hashlib.sha256(repr(key).encode()).hexdigest()
    remembered = state.path("helm", "versions", name)
    script = is_shim(binary)
    try:
        # Sealed: a damaged answer (a restored cache) would pick another major's output rules.
        found = None if script else unseal(name, remembered.read_bytes(), _VERSION_LABEL)
    except OSError:
        found = None
    if found is None:
        version = _ask_version(binary)
        if not script:
            atomic_write(remembered, seal(_VERSION_LABEL, name, version.encode()))
    else:
        version = found.decode("utf-8", "replace")
    _check_supported(binary, version)
    with state.lock:
        state.versions[key] = version
    return version


#: The helm majors the generator renders with: the flags it passes and the output it
#: cleans are the same in both (docs: what differs in their output).
SUPPORTED_MAJORS = (3, 4)


def _check_supported(binary: str, version: str) -> None:
    major = version.lstrip("v").split(".", 1)[0]
    if not major.isdigit() or int(major) not in SUPPORTED_MAJORS:
        raise GeneratorError(f"helm at {binary} is {version}: fabpromote renders with helm 3 or 4; {INSTALL_HINT}")


def _ask_version(binary: str) -> str:
    try:
        # stdout only: some helm versions log warnings on stderr here (helm/chart-testing#294).
        done = subprocess.run(
            [binary, "version", "--short"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=_VERSION_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise GeneratorError(f"`{binary} version --short` did not answer within {_VERSION_TIMEOUT:g} s") from None
    except OSError as exc:
        raise GeneratorError(f"cannot run helm at {binary}: {exc.strerror}; {INSTALL_HINT}") from None
    version = done.stdout.decode("utf-8", "replace").strip()
    if done.returncode != 0 or not version:
        tail = output_tail(done.stdout + done.stderr)
        raise GeneratorError(f"`{binary} version --short` failed (exit {done.returncode}): {tail}")
    return version


@attrs.frozen(kw_only=True)
class TemplateRun:
    """What one ``helm template`` printed.

    Attributes:
        output: stdout, or stdout and stderr interleaved when they were combined.
        stderr: stderr when it was kept separate, else ``b""``.
    """

    output: bytes
    stderr: bytes = b""


def run_template(
    binary: str,
    *,
    release: str,
    chart: str,
    values: bytes,
    namespace: str,
    timeout: float,
    combine_stderr: bool,
    component: str,
) -> TemplateRun:
    """Run ``helm template <release> <chart> --values - --namespace <ns>`` with ``values`` on its stdin.

    The values never touch the disk: they may hold secrets, and a file per
    render would cost a create and a delete.

    Raises:
        GeneratorError: helm cannot start, exits non-zero (the message ends
            with the tail of its output), or runs longer than ``timeout``.
    """
    # "--" ends the options: a release or chart name can never be read as one (--post-renderer=...).
    args = [binary, "template", "--values", "-", "--namespace", namespace, "--", release, chart]
    try:
        done = subprocess.run(
            args,
            input=values,
            stdout=subprocess.PIPE,
            # Fabrikate reads CombinedOutput(): one pipe, so the interleaving is helm's own.
            stderr=subprocess.STDOUT if combine_stderr else subprocess.PIPE,
            timeout=timeout,
            check=False,
            env=_template_env(),
        )
    except subprocess.TimeoutExpired:
        # subprocess.run has killed and reaped helm by now.
        raise GeneratorError(
            f"helm template of component {component!r} (chart {chart}) did not finish within "
            f"{timeout:g} s and was killed; raise FABPROMOTE_HELM_TIMEOUT if the chart is that slow"
        ) from None
    except OSError as exc:
        raise GeneratorError(f"cannot run helm at {binary}: {exc.strerror}; {INSTALL_HINT}") from None
    stderr = b"" if combine_stderr else done.stderr
    if done.returncode != 0:
        raise GeneratorError(
            f"helm template of component {component!r} (chart {chart}) failed "
            f"(exit {done.returncode}): {output_tail(done.stdout + stderr)}"
        )
    return TemplateRun(output=done.stdout, stderr=stderr)


def _template_env() -> dict[str, str]:
    env = dict(os.environ)
    if "GOGC" not in env and "GOMEMLIMIT" not in env:
        env.update(GOGC=_GO_RUNTIME["GOGC"], GOMEMLIMIT=_GO_RUNTIME["GOMEMLIMIT"])
    env.setdefault("GOMAXPROCS", _GO_RUNTIME["GOMAXPROCS"])
    env["LC_ALL"] = _TEMPLATE_LOCALE
    return env


def output_tail(output: bytes, *, lines: int = 20, chars: int = 2000) -> str:
    """The last non-blank ``lines`` of ``output`` (at most ``chars``), for error messages."""
    text = output.decode("utf-8", "replace")
    kept = [line for line in text.splitlines() if line.strip()][-lines:]
    tail = "\n".join(kept)
    if len(tail) > chars:
        tail = "..." + tail[-chars:]
    return tail or "(no output)"


def one_line(output: bytes, *, lines: int = 3, chars: int = 600) -> str:
    """The last non-blank ``lines`` of ``output`` joined by ``"; "``, for one-line error messages."""
    return "; ".join(output_tail(output, lines=lines, chars=chars).splitlines())
