"""Branch protection for environment branches: configure it, or report how it drifted.

The policy fabpromote wants on a protected environment branch of GitLab:

- nobody pushes to it (``push_access_level`` 0): it changes only by merge requests;
- developers and maintainers merge into it (``merge_access_level`` 30);
- no force push;
- the project merges only merge requests whose pipeline succeeded
  (``only_allow_merge_if_pipeline_succeeds``), and a skipped pipeline does not
  count as one (``allow_merge_on_skipped_pipeline`` false): so the
  ``fabpromote/guard`` job of that pipeline must pass.

GitLab (Free tier) cannot change the access levels of a protected branch in
place, so a branch that drifted is unprotected and protected again, at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from fabpromote_gitlab._project import quoted

if TYPE_CHECKING:
    from fabpromote_gitlab._api import Api
    from fabpromote_gitlab._project import Project

__all__ = ["ACCESS_LEVELS", "Policy", "protect"]

#: GitLab's role-based access levels, as its UI names them.
ACCESS_LEVELS = {0: "No one", 30: "Developers + Maintainers", 40: "Maintainers", 60: "Admins"}

#: Project settings the policy needs, with the value it needs and why, for the report.
_PROJECT_SETTINGS = {
    "only_allow_merge_if_pipeline_succeeds": (True, "merge requests can be merged without a successful pipeline"),
    "allow_merge_on_skipped_pipeline": (False, "merge requests can be merged when their pipeline is skipped"),
}


def _level(value: int) -> int:
    if value not in ACCESS_LEVELS:
        known = ", ".join(f"{level} ({name})" for level, name in ACCESS_LEVELS.items())
        raise ValueError(f"{value} is not a GitLab access level ({known})")
    return value


@attrs.frozen(kw_only=True)
class Policy:
    """What a protected environment branch must look like."""

    push_access_level: int = attrs.field(default=0, converter=_level)
    merge_access_level: int = attrs.field(default=30, converter=_level)


@attrs.frozen
class _Drift:
    text: str
    branch: str | None = None  # None: a project setting
    protected: bool = False  # the branch is protected, differently


def protect(api: Api, project: Project, branches: Iterable[str], *, check_only: bool, policy: Policy) -> list[str]:
    """Compare (and with ``check_only`` false, fix) the protection of ``branches``.

    Returns:
        One line per difference found, e.g. ``branch 'prod' is not protected``;
        empty when everything is as the policy wants. Without ``check_only``
        these are the differences that were fixed.
    """
    names = list(dict.fromkeys(branch.removeprefix("refs/heads/") for branch in branches))
    drifts = _project_drift(api, project)
    for name in names:
        drifts += _branch_drift(api, project, name, policy)
    if check_only or not drifts:
        return [drift.text for drift in drifts]
    fixed_branches: set[str] = set()
    for drift in drifts:
        if drift.branch is None or drift.branch in fixed_branches:
            continue
        fixed_branches.add(drift.branch)
        base = f"projects/{project.id}/protected_branches"
        if drift.protected:
            api.request("DELETE", f"{base}/{quoted(drift.branch)}", allow=(404,), project=project.path)
        api.request(
            "POST",
            base,
            json={
                "name": drift.branch,
                "push_access_level": policy.push_access_level,
                "merge_access_level": policy.merge_access_level,
                "allow_force_push": False,
            },
            allow=(409,),  # a retried request that had been done already
            project=project.path,
        )
    settings = {key: wanted for key, (wanted, _) in _PROJECT_SETTINGS.items()}
    if any(drift.branch is None for drift in drifts):
        api.request("PUT", f"projects/{project.id}", json=settings, project=project.path)
    return [drift.text for drift in drifts]


def _project_drift(api: Api, project: Project) -> list[_Drift]:
    data = api.get(f"projects/{project.id}", project=project.path)
    drifts = []
    for key, (wanted, problem) in _PROJECT_SETTINGS.items():
        if bool(data.get(key)) != wanted:
            drifts.append(_Drift(f"{project.path}: {problem} ({key} should be {str(wanted).lower()})"))
    return drifts


def _branch_drift(api: Api, project: Project, branch: str, policy: Policy) -> list[_Drift]:
    response = api.request(
        "GET", f"projects/{project.id}/protected_branches/{quoted(branch)}", allow=(404,), project=project.path
    )
    if response.status_code == 404:
        return [_Drift(f"{project.path}: branch {branch!r} is not protected", branch)]
    data = api.json(response)
    drifts = []
    for kind, wanted in (("push", policy.push_access_level), ("merge", policy.merge_access_level)):
        found = _describe(data.get(f"{kind}_access_levels") or [])
        if found != [ACCESS_LEVELS[wanted]]:
            drifts.append(
                _Drift(
                    f"{project.path}: branch {branch!r} allows {kind} to {', '.join(found) or 'nobody listed'} "
                    f"(should be {ACCESS_LEVELS[wanted]})",
                    branch,
                    protected=True,
                )
            )
    if data.get("allow_force_push"):
        drifts.append(_Drift(f"{project.path}: branch {branch!r} allows force push", branch, protected=True))
    return drifts


def _describe(levels: Iterable[Mapping[str, Any]]) -> list[str]:
    """The holders of an access list, as people read them; users, groups, deploy keys by id."""
    found = []
    for entry in levels:
        if entry.get("user_id"):
            found.append(f"user {entry['user_id']}")
        elif entry.get("group_id"):
            found.append(f"group {entry['group_id']}")
        elif entry.get("deploy_key_id"):
            found.append(f"deploy key {entry['deploy_key_id']}")
        else:
            level = entry.get("access_level")
            found.append(ACCESS_LEVELS.get(level, f"access level {level}") if isinstance(level, int) else "?")
    return sorted(found)
