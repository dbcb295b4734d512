"""Running the shell commands of component hooks (only when allowed)."""

from __future__ import annotations

import sys
from pathlib import Path

from fabpromote._hld.model import NO_HOOKS, Component
from fabpromote.exceptions import HookError, HooksNotAllowedError

__all__ = ["check_allowed", "run_hook"]

ALLOW_HINT = "pass --allow-hooks (or allow_hooks=True) to run them"


def check_allowed(component: Component, stages: tuple[str, ...], *, allowed: bool, where: Path) -> None:
    """Refuse a component that has commands for ``stages`` unless allowed.

    Raises:
        HooksNotAllowedError: It has such commands and hooks are not allowed.
    """
    if allowed or component.hooks is NO_HOOKS:  # most components: no attribute lookups per stage
        return
    present = [stage for stage in stages if getattr(component.hooks, stage.replace("-", "_"))]
    if present:
        raise HooksNotAllowedError(
            f"component {component.name!r} in {where} has {', '.join(present)} hooks, "
            f"which run shell commands; {ALLOW_HINT}"
        )


def run_hook(component: Component, stage: str, directory: Path) -> None:
    """Run the ``stage`` commands of ``component`` with ``sh -c`` in ``directory``.

    Their output is relayed to stderr, so that stdout stays machine-readable,
    and the tail of it is kept in the error when a command fails.

    Raises:
        HookError: A command exited non-zero; the rest are not run.
    """
    import subprocess  # only components with hooks need it, not every walk

    for command in getattr(component.hooks, stage.replace("-", "_")):
        if not command:
            continue
        done = subprocess.run(
            ["sh", "-c", command],
            cwd=directory,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            check=False,
        )
        output = done.stdout.decode("utf-8", errors="replace")
        # Relayed as whole lines: what is printed next (often the error of this hook) starts a line of its own.
        sys.stderr.write(output if not output or output.endswith("\n") else output + "\n")
        if done.returncode != 0:
            tail = output.strip().splitlines()[-1:] or [""]
            raise HookError(
                f"{stage} hook of component {component.name!r} failed (exit {done.returncode}): {command}"
                + (f": {tail[0]}" if tail[0] else "")
            )
