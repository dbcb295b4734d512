"""The JSON objects of the fake GitHub, whole: every field GitHub's OpenAPI description requires.

Users, repositories, commits, pull requests, contents and branch protection as
api.github.com (and GitHub Enterprise Server, whose API lives under ``/api/v3``)
return them: the same fields, the same URL templates (RFC 6570, as GitHub writes
them), and values a real GitHub gives for a repository with no issues, stars, forks
or license. The fake keeps its state elsewhere; these functions only shape it.
"""

from __future__ import annotations

import zlib
from typing import Any


def user_id(login: str) -> int:
    """A stable id for a login (GitHub's are positive int64s, fixed per account)."""
    return zlib.crc32(login.lower().encode()) % 10_000_000 + 1


def user(api: str, web: str, login: str, *, kind: str = "User") -> dict[str, Any]:
    """A ``simple-user``: an account as every object that names one embeds it."""
    number = user_id(login)
    base = f"{api}/users/{login}"
    return {
        "login": login,
        "id": number,
        "node_id": f"{'O' if kind == 'Organization' else 'U'}_kgDO{number:08d}",
        "avatar_url": f"{web}avatars/u/{number}?v=4",
        "gravatar_id": "",
        "url": base,
        "html_url": f"{web}{login}",
        "followers_url": f"{base}/followers",
        "following_url": f"{base}/following{{/other_user}}",
        "gists_url": f"{base}/gists{{/gist_id}}",
        "starred_url": f"{base}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{base}/subscriptions",
        "organizations_url": f"{base}/orgs",
        "repos_url": f"{base}/repos",
        "events_url": f"{base}/events{{/privacy}}",
        "received_events_url": f"{base}/received_events",
        "type": kind,
        "user_view_type": "public",
        "site_admin": False,
    }


#: The ``{...}_url`` fields of a repository: its API URL plus these (templates as GitHub writes them).
_REPO_URLS = {
    "forks_url": "/forks",
    "keys_url": "/keys{/key_id}",
    "collaborators_url": "/collaborators{/collaborator}",
    "teams_url": "/teams",
    "hooks_url": "/hooks",
    "issue_events_url": "/issues/events{/number}",
    "events_url": "/events",
    "assignees_url": "/assignees{/user}",
    "branches_url": "/branches{/branch}",
    "tags_url": "/tags",
    "blobs_url": "/git/blobs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "trees_url": "/git/trees{/sha}",
    "statuses_url": "/statuses/{sha}",
    "languages_url": "/languages",
    "stargazers_url": "/stargazers",
    "contributors_url": "/contributors",
    "subscribers_url": "/subscribers",
    "subscription_url": "/subscription",
    "commits_url": "/commits{/sha}",
    "git_commits_url": "/git/commits{/sha}",
    "comments_url": "/comments{/number}",
    "issue_comment_url": "/issues/comments{/number}",
    "contents_url": "/contents/{+path}",
    "compare_url": "/compare/{base}...{head}",
    "merges_url": "/merges",
    "archive_url": "/{archive_format}{/ref}",
    "downloads_url": "/downloads",
    "issues_url": "/issues{/number}",
    "pulls_url": "/pulls{/number}",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "labels_url": "/labels{/name}",
    "releases_url": "/releases{/id}",
    "deployments_url": "/deployments",
}


def repository(
    api: str,
    web: str,
    *,
    owner: str,
    name: str,
    number: int,
    default_branch: str,
    merge_methods: set[str],
    admin: bool,
    created_at: str,
    pushed_at: str,
) -> dict[str, Any]:
    """A repository with every field of ``full-repository`` (and so of ``repository`` and ``minimal-repository``).

    An organization's private repository with no description, issues, stars, forks or license.
    """
    full_name = f"{owner}/{name}"
    base = f"{api}/repos/{full_name}"
    html = f"{web}{full_name}"
    host = web.split("://", 1)[-1].rstrip("/")
    data: dict[str, Any] = {
        "id": number,
        "node_id": f"R_kgDO{number:08d}",
        "name": name,
        "full_name": full_name,
        "private": True,
        "owner": user(api, web, owner, kind="Organization"),
        "html_url": html,
        "description": None,
        "fork": False,
        "url": base,
        **{field: f"{base}{suffix}" for field, suffix in _REPO_URLS.items()},
        "created_at": created_at,
        "updated_at": pushed_at,
        "pushed_at": pushed_at,
        "git_url": f"git://{host}/{full_name}.git",
        "ssh_url": f"git@{host}:{full_name}.git",
        "clone_url": f"{html}.git",
        "svn_url": html,
        "homepage": None,
        "size": 1,
        "stargazers_count": 0,
        "watchers_count": 0,
        "language": None,
        "has_issues": True,
        "has_projects": True,
        "has_downloads": True,
        "has_wiki": False,
        "has_pages": False,
        "has_discussions": False,
        "forks_count": 0,
        "mirror_url": None,
        "archived": False,
        "disabled": False,
        "open_issues_count": 0,
        "license": None,
        "allow_forking": False,
        "is_template": False,
        "web_commit_signoff_required": False,
        "topics": [],
        "visibility": "private",
        "forks": 0,
        "open_issues": 0,
        "watchers": 0,
        "default_branch": default_branch,
        "permissions": {"admin": admin, "maintain": True, "push": True, "triage": True, "pull": True},
        "allow_merge_commit": "merge" in merge_methods,
        "allow_squash_merge": "squash" in merge_methods,
        "allow_rebase_merge": "rebase" in merge_methods,
        "allow_auto_merge": False,
        "delete_branch_on_merge": False,
        "allow_update_branch": False,
        "use_squash_pr_title_as_default": False,
        "squash_merge_commit_title": "COMMIT_OR_PR_TITLE",
        "squash_merge_commit_message": "COMMIT_MESSAGES",
        "merge_commit_title": "MERGE_MESSAGE",
        "merge_commit_message": "PR_TITLE",
        "organization": user(api, web, owner, kind="Organization"),
        "network_count": 0,
        "subscribers_count": 1,
    }
    return data


def pull_links(api: str, html: str, number: int, head_sha: str) -> dict[str, Any]:
    """The URLs of a pull request, and its ``_links``."""
    repo_api = api
    base = f"{repo_api}/pulls/{number}"
    issue = f"{repo_api}/issues/{number}"
    urls = {
        "url": base,
        "html_url": f"{html}/pull/{number}",
        "diff_url": f"{html}/pull/{number}.diff",
        "patch_url": f"{html}/pull/{number}.patch",
        "issue_url": issue,
        "commits_url": f"{base}/commits",
        "review_comments_url": f"{base}/comments",
        "review_comment_url": f"{repo_api}/pulls/comments{{/number}}",
        "comments_url": f"{issue}/comments",
        "statuses_url": f"{repo_api}/statuses/{head_sha}",
    }
    links = {
        "self": urls["url"],
        "html": urls["html_url"],
        "issue": urls["issue_url"],
        "comments": urls["comments_url"],
        "review_comments": urls["review_comments_url"],
        "review_comment": urls["review_comment_url"],
        "commits": urls["commits_url"],
        "statuses": urls["statuses_url"],
    }
    return {**urls, "_links": {key: {"href": href} for key, href in links.items()}}


def content_links(self_url: str, git_url: str | None, html_url: str | None) -> dict[str, Any]:
    """The ``_links`` of a contents entry."""
    return {"self": self_url, "git": git_url, "html": html_url}


def team(api: str, web: str, org: str, slug: str) -> dict[str, Any]:
    """A ``team`` of an organization (a top-level one, as a branch restriction lists it)."""
    number = user_id(f"{org}/{slug}")
    base = f"{api}/organizations/{user_id(org)}/team/{number}"
    return {
        "id": number,
        "node_id": f"T_kwDO{number:08d}",
        "url": base,
        "html_url": f"{web}orgs/{org}/teams/{slug}",
        "name": slug,
        "slug": slug,
        "description": None,
        "privacy": "closed",
        "notification_setting": "notifications_enabled",
        "permission": "pull",
        "members_url": f"{base}/members{{/member}}",
        "repositories_url": f"{base}/repos",
        "type": "organization",
        "organization_id": user_id(org),
        "parent": None,
    }


def app(api: str, web: str, org: str, slug: str) -> dict[str, Any]:
    """A GitHub App, as a branch restriction lists it."""
    number = user_id(f"app/{slug}")
    return {
        "id": number,
        "slug": slug,
        "node_id": f"A_kwDO{number:08d}",
        "client_id": f"Iv1.{number:016x}",
        "owner": user(api, web, org, kind="Organization"),
        "name": slug,
        "description": "",
        "external_url": f"{web}apps/{slug}",
        "html_url": f"{web}apps/{slug}",
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
        "permissions": {"metadata": "read", "contents": "read"},
        "events": [],
    }
