"""The JSON of the fake Gitea: users, repositories, pull requests and commits as Gitea writes them.

Only fields of Gitea's swagger models appear (the fake's answers are checked against them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fake_gitea_git import _git, _has_refs, _merge_tree, _now, _rev

if TYPE_CHECKING:
    from fake_gitea import _Pull, _Repo

__all__ = ["DEFAULT_RULE", "EMPTY_COMBINED_STATUS", "GiteaJson"]

HOST = "127.0.0.1"


class GiteaJson:
    """What the fake answers with; mixed into :class:`fake_gitea.FakeGitea`."""

    login: str
    checking: bool
    web_url: str
    api_url: str

    def _user(self) -> dict[str, Any]:
        return {
            "id": 1,
            "login": self.login,
            "login_name": "",
            "source_id": 0,
            "full_name": "",
            "email": f"{self.login}@noreply.localhost",
            "avatar_url": f"{self.web_url}avatars/1",
            "html_url": f"{self.web_url}{self.login}",
            "language": "en-US",
            "is_admin": True,
            "last_login": "2026-01-01T00:00:00Z",
            "created": "2026-01-01T00:00:00Z",
            "restricted": False,
            "active": True,
            "prohibit_login": False,
            "location": "",
            "website": "",
            "description": "",
            "visibility": "public",
            "followers_count": 0,
            "following_count": 0,
            "starred_repos_count": 0,
        }

    def _repo_json(self, repo: _Repo) -> dict[str, Any]:
        html = f"{self.web_url}{repo.full_name}"
        return {
            "id": repo.id,
            "owner": self._user(),
            "name": repo.name,
            "full_name": repo.full_name,
            "description": "",
            "empty": not _has_refs(repo.path),
            "private": False,
            "fork": False,
            "template": False,
            "mirror": False,
            "size": 0,
            "html_url": html,
            "url": f"{self.api_url}/repos/{repo.full_name}",
            "ssh_url": f"git@{HOST}:{repo.full_name}.git",
            "clone_url": f"{html}.git",
            "default_branch": repo.default_branch,
            "archived": False,
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": _now(),
            "permissions": {"admin": True, "push": True, "pull": True},
            "has_pull_requests": True,
            "allow_merge_commits": True,
            "allow_squash_merge": True,
            "allow_rebase": True,
            "allow_fast_forward_only_merge": True,
            "default_merge_style": "merge",
            "object_format_name": "sha1",
        }

    def _pull_json(self, repo: _Repo, pull: _Pull) -> dict[str, Any]:
        base = pull.merge_base if pull.merged else _rev(repo.path, f"refs/heads/{pull.base}") or ""
        head = pull.head_sha if pull.merged else _rev(repo.path, f"refs/heads/{pull.head}") or ""
        mergeable = not (pull.merged or self.checking) and bool(base and head) and _merge_tree(repo.path, base, head)[1]

        def side(ref: str, sha: str) -> dict[str, Any]:
            return {"label": ref, "ref": ref, "sha": sha, "repo_id": repo.id, "repo": self._repo_json(repo)}

        html = f"{self.web_url}{repo.full_name}/pulls/{pull.number}"
        return {
            "id": pull.id,
            "url": html,
            "number": pull.number,
            "user": self._user(),
            "title": pull.title,
            "body": pull.body,
            "labels": [],
            "milestone": None,
            "assignee": None,
            "assignees": None,
            "requested_reviewers": None,
            "state": pull.state,
            "draft": False,
            "is_locked": False,
            "comments": 0,
            "review_comments": 0,
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "mergeable": mergeable,
            "merged": pull.merged,
            "merged_at": pull.merged_at,
            "merge_commit_sha": pull.merge_commit_sha,
            "merged_by": self._user() if pull.merged else None,
            "allow_maintainer_edit": False,
            "base": side(pull.base, base),
            "head": side(pull.head, head),
            "merge_base": base,
            "due_date": None,
            "created_at": pull.created,
            "updated_at": pull.merged_at or pull.created,
            "closed_at": pull.merged_at,
            "pin_order": 0,
        }

    def _commit_json(self, repo: _Repo, sha: str) -> dict[str, Any]:
        fields = _git(repo.path, "show", "-s", "--format=%T%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B", sha)
        tree, parents, an, ae, ad, cn, ce, cd, message = fields.split("\0", 8)
        api = f"{self.api_url}/repos/{repo.full_name}"
        return {
            "url": f"{api}/git/commits/{sha}",
            "sha": sha,
            "created": cd,
            "html_url": f"{self.web_url}{repo.full_name}/commit/{sha}",
            "commit": {
                "url": f"{api}/git/commits/{sha}",
                "author": {"name": an, "email": ae, "date": ad},
                "committer": {"name": cn, "email": ce, "date": cd},
                "message": message + "\n",
                "tree": {"url": f"{api}/git/trees/{tree}", "sha": tree, "created": cd},
                "verification": {
                    "verified": False,
                    "reason": "gpg.error.not_signed_commit",
                    "signature": "",
                    "signer": None,
                    "payload": "",
                },
            },
            "author": None,
            "committer": None,
            "parents": [{"url": f"{api}/git/commits/{p}", "sha": p, "created": cd} for p in parents.split()],
        }


#: What Gitea 1.21+ answers for the combined status of a commit without statuses: a zero CombinedStatus.
EMPTY_COMBINED_STATUS: dict[str, Any] = {
    "state": "",
    "sha": "",
    "total_count": 0,
    "statuses": None,
    "repository": None,
    "commit_url": "",
    "url": "",
}

#: A new protection rule's fields, as Gitea answers them (the request's fields override).
DEFAULT_RULE: dict[str, Any] = {
    "enable_push": False,
    "enable_push_whitelist": False,
    "push_whitelist_usernames": [],
    "push_whitelist_teams": [],
    "push_whitelist_deploy_keys": False,
    "enable_force_push": False,
    "enable_force_push_allowlist": False,
    "force_push_allowlist_usernames": [],
    "force_push_allowlist_teams": [],
    "force_push_allowlist_deploy_keys": False,
    "enable_merge_whitelist": False,
    "merge_whitelist_usernames": [],
    "merge_whitelist_teams": [],
    "enable_status_check": False,
    "status_check_contexts": [],
    "required_approvals": 0,
    "enable_approvals_whitelist": False,
    "approvals_whitelist_username": [],
    "approvals_whitelist_teams": [],
    "block_on_rejected_reviews": False,
    "block_on_official_review_requests": False,
    "block_on_outdated_branch": False,
    "dismiss_stale_approvals": False,
    "ignore_stale_approvals": False,
    "require_signed_commits": False,
    "protected_file_patterns": "",
    "unprotected_file_patterns": "",
    "priority": 0,
    "block_admin_merge_override": False,
}
