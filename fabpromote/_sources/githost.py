"""What Git host backends exchange with the core: branches, comparisons, merges.

The contract itself is :class:`fabpromote.typing.GitHost`; these are the
records it passes around.
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timezone

import attrs

from fabpromote._util.outcome import Outcome
from fabpromote.exceptions import BranchPolicyError, CommitStatusError, ProtectedBranchError

__all__ = [
    "CHANGE_REQUEST_PURPOSES",
    "COMMIT_STATES",
    "HLD_PURPOSES",
    "MANIFESTS_PURPOSES",
    "BranchPolicy",
    "ChangeRequest",
    "CommitInfo",
    "CommitStatus",
    "Comparison",
    "MergeResult",
]

# A write to a branch has a purpose: ``publish`` (manifests onto an environment
# branch), ``set-image`` (a direct edit of an HLD branch), ``promote``
# (``GitHost.merge``) or ``rollback`` (``GitHost.revert_to``).

#: Purposes whose changes reach a branch through a change request (a pull or
#: merge request on hosts with reviews); the others are pushed directly.
CHANGE_REQUEST_PURPOSES = frozenset({"promote", "rollback"})
#: What may change an environment branch of the manifests repo.
MANIFESTS_PURPOSES = ("publish", "rollback")
#: What may change a protected environment's branch of the cluster HLD and app repos.
HLD_PURPOSES = ("promote", "rollback")


def _rules(value: Mapping[str, Iterable[str]] | None) -> Mapping[str, tuple[str, ...]]:
    if value is None:
        return types.MappingProxyType({})
    if not isinstance(value, Mapping):
        raise BranchPolicyError("protected must map branch names to the purposes they accept")
    return types.MappingProxyType(
        {str(branch).removeprefix("refs/heads/"): _purposes(branch, purposes) for branch, purposes in value.items()}
    )


def _purposes(branch: str, purposes: Iterable[str]) -> tuple[str, ...]:
    if isinstance(purposes, str):
        # ("promote") is a string, not a tuple: a classic slip that would allow nothing useful.
        raise BranchPolicyError(f"protected[{branch!r}] must be a sequence of purposes, not the string {purposes!r}")
    return tuple(purposes)


@attrs.frozen(kw_only=True)
class Comparison:
    """How branch ``head`` relates to branch ``base``.

    Attributes:
        ahead: Commits on ``head`` that ``base`` lacks (waiting to be promoted).
        behind: Commits on ``base`` that ``head`` lacks.
    """

    ahead: int
    behind: int


@attrs.frozen(kw_only=True)
class ChangeRequest:
    """A proposed merge of ``head`` into ``base``: a pull/merge request, or a
    direct merge on hosts without reviews (``number`` 0, ``url`` empty)."""

    base: str
    head: str
    head_sha: str
    number: int = 0
    url: str = ""
    mergeable: bool | None = None

    def to_json(self) -> dict[str, object]:
        """The ``change`` object of ``promote --json``."""
        return {
            "base": self.base,
            "head": self.head,
            "head_sha": self.head_sha,
            "number": self.number or None,
            "url": self.url or None,
            "mergeable": self.mergeable,
        }


@attrs.frozen(kw_only=True)
class MergeResult:
    """What a merge did.

    Attributes:
        status: ``merged``, ``up-to-date`` (nothing to merge) or
            ``not-mergeable`` (the host refuses for now: checks pending,
            conflicts); never an exception for those.
        sha: The new head of the base branch when merged.
        fast_forward: The base branch moved to the head's commit itself.
        message: A line for people, e.g. why it is not mergeable.
    """

    status: str
    sha: str = ""
    fast_forward: bool = False
    message: str = ""

    @property
    def outcome(self) -> Outcome:
        """``merged`` is done, ``up-to-date`` nothing to do, ``not-mergeable`` pending.

        Pending as far as the host knows: a pull/merge request stays open and
        may become mergeable. Where nothing stays open (a direct merge on
        local git), the caller makes it a failure (see ``PromoteResult``).
        """
        if self.status == "merged":
            return Outcome.DONE
        if self.status == "up-to-date":
            return Outcome.NOTHING_TO_DO
        return Outcome.PENDING

    def to_json(self) -> dict[str, object]:
        """The ``merge`` object of ``promote --json``."""
        return {
            "status": self.status,
            "sha": self.sha or None,
            "fast_forward": self.fast_forward,
            "message": self.message,
        }


@attrs.frozen(kw_only=True)
class CommitInfo:
    """One commit as history views show it.

    Attributes:
        trailers: The message's git trailers as ``(key, value)`` pairs, in
            order; a key may repeat (one ``Fabpromote-Source`` per component).
    """

    sha: str
    parents: tuple[str, ...] = attrs.field(converter=tuple)
    message: str
    author: str
    time: int
    trailers: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=tuple)


#: The states of a commit status, on every host (GitHub's four; other hosts' are mapped onto them).
COMMIT_STATES = ("pending", "success", "failure", "error")


def _state(_: object, __: attrs.Attribute[str], value: str) -> None:
    if value not in COMMIT_STATES:
        raise CommitStatusError(f"a commit status state is one of {', '.join(COMMIT_STATES)}, not {value!r}")


def _context(_: object, __: attrs.Attribute[str], value: str) -> None:
    # A context names the check (``kustomization/podinfo/abc``, ``e2e``): gates match it, so
    # it must be one readable line.
    if not value.strip() or "\n" in value or "\r" in value:
        raise CommitStatusError(f"a commit status context is a non-empty single line, not {value!r}")


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise CommitStatusError(f"a commit status time must be timezone-aware, not {value.isoformat()}")
    return value.astimezone(timezone.utc)


@attrs.frozen(kw_only=True)
class CommitStatus:
    """One status of a commit: a check (CI job, Flux's health of a Kustomization) reporting on it.

    Attributes:
        context: The check's name (``kustomization/podinfo/1a2b3c4d``, ``e2e``).
        state: ``pending``, ``success``, ``failure`` or ``error``.
        description: A short line shown beside it.
        target_url: Where it links to (the CI job).
        updated_at: When it was set (UTC), as the host recorded it; None when
            not known (and, when setting a status, "now").
    """

    context: str = attrs.field(validator=_context)
    state: str = attrs.field(validator=_state)
    description: str = ""
    target_url: str = ""
    updated_at: datetime | None = attrs.field(default=None, converter=_utc)

    def to_json(self) -> dict[str, object]:
        """The status as JSON (``updated_at`` in ISO 8601, or None)."""
        return {
            "context": self.context,
            "state": self.state,
            "description": self.description,
            "target_url": self.target_url,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
        }


@attrs.frozen(repr=False, eq=False)
class BranchPolicy(Mapping[str, tuple[str, ...]]):
    """Which purposes each protected branch accepts: the one rule every Git host applies.

    A read-only mapping of branch name (``refs/heads/`` taken off) to the
    purposes it accepts; a branch not named accepts every change. Built from
    such a mapping (or another policy; None protects nothing), it refuses a
    slip with :class:`~fabpromote.exceptions.BranchPolicyError`: a mapping
    that is not one, a bare string of purposes. Core builds
    it from the cluster file (see ``MANIFESTS_PURPOSES`` and ``HLD_PURPOSES``)
    and hands it to a host factory as ``protected``; a host checks its own
    writes with :meth:`check`, and maps :meth:`change_request_branches` onto
    its server's branch protection (``protect``).
    """

    _rules: Mapping[str, tuple[str, ...]] = attrs.field(default=None, converter=_rules)

    def __getitem__(self, branch: str) -> tuple[str, ...]:
        return self._rules[branch.removeprefix("refs/heads/")]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rules)

    def __len__(self) -> int:
        return len(self._rules)

    def __repr__(self) -> str:
        return f"BranchPolicy({dict(self._rules)!r})"

    def accepts(self, branch: str, purpose: str) -> bool:
        """Whether a change made for ``purpose`` may land on ``branch``."""
        allowed = self.get(branch)
        return allowed is None or purpose in allowed

    def check(self, branch: str, purpose: str, *, url: str) -> None:
        """Refuse a write to ``branch`` for ``purpose`` that the policy does not accept.

        Args:
            url: The repository, credentials redacted, for the message.

        Raises:
            ProtectedBranchError: ``branch`` does not accept ``purpose``.
        """
        if not self.accepts(branch, purpose):
            raise ProtectedBranchError(branch.removeprefix("refs/heads/"), purpose, self[branch], url=url)

    def change_request_branches(self) -> list[str]:
        """The protected branches that change only through change requests, in the policy's order.

        These are the branches a host with reviews protects on its server
        (required checks, no direct pushes); branches that also take direct
        pushes (``publish``, ``set-image``) are left out, as such protection
        would refuse those pushes.
        """
        return [branch for branch, purposes in self._rules.items() if set(purposes) <= CHANGE_REQUEST_PURPOSES]
