"""The fake GitLab's objects as GitLab's REST API v4 writes them: every field, with the values GitLab gives.

The fields are those of GitLab's API entities (``API::Entities::Project``,
``MergeRequest``, ``UserBasic``...) as the client libraries describe them
(``gitlab_description.py``); where GitLab leaves a field out for the fake's
token (a maintainer of a group project on a Free instance), so does the fake.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

__all__ = ["merge_request", "namespace", "project", "user"]

#: The fake's only user: the owner of the token.
USER_ID, USERNAME, USER_NAME = 1, "fabpromote-bot", "fabpromote bot"
#: GitLab's access level of a maintainer, and its "participating" notification level.
MAINTAINER, PARTICIPATING = 40, 3


def user(web_root: str) -> dict[str, Any]:
    """The token's user as GitLab shows a user in objects (``UserBasic``)."""
    digest = hashlib.sha256(f"{USERNAME}@example.com".encode()).hexdigest()
    return {
        "id": USER_ID,
        "username": USERNAME,
        "name": USER_NAME,
        "state": "active",
        "locked": False,
        "avatar_url": f"https://www.gravatar.com/avatar/{digest}?s=80&d=identicon",
        "web_url": f"{web_root}/{USERNAME}",
    }


def namespace(web_root: str, path: str, ids: Mapping[str, int]) -> dict[str, Any]:
    """The group a project lives in (``NamespaceBasic``); ``ids`` numbers the groups by full path."""
    full_path = path.rsplit("/", 1)[0]
    parent = full_path.rsplit("/", 1)[0] if "/" in full_path else None
    return {
        "id": ids[full_path],
        "name": full_path.rsplit("/", 1)[-1],
        "path": full_path.rsplit("/", 1)[-1],
        "kind": "group",
        "full_path": full_path,
        "parent_id": ids[parent] if parent else None,
        "avatar_url": None,
        "web_url": f"{web_root}/groups/{full_path}",
    }


def project(
    *,
    ident: int,
    path: str,
    web_root: str,
    api_url: str,
    http_url: str,
    created_at: str,
    readme: bool,
    settings: Mapping[str, Any],
    group_ids: Mapping[str, int],
) -> dict[str, Any]:
    """``GET /projects/:id`` of a private group project, as its maintainer reads it."""
    name = path.rsplit("/", 1)[-1]
    web_url = f"{web_root}/{path}"
    host = web_root.split("://", 1)[-1]
    links = f"{api_url}/projects/{ident}"
    default = settings["default_branch"]
    return {
        "id": ident,
        "description": None,
        "description_html": "",
        "name": name,
        "name_with_namespace": " / ".join(path.split("/")),
        "path": name,
        "path_with_namespace": path,
        "created_at": created_at,
        "default_branch": default,
        "tag_list": [],
        "topics": [],
        "ssh_url_to_repo": f"git@{host.split(':')[0]}:{path}.git",
        "http_url_to_repo": http_url,
        "web_url": web_url,
        "readme_url": f"{web_url}/-/blob/{default}/README.md" if readme else None,
        "forks_count": 0,
        "avatar_url": None,
        "star_count": 0,
        "last_activity_at": created_at,
        "namespace": namespace(web_root, path, group_ids),
        "repository_object_format": "sha1",
        "container_registry_image_prefix": f"{host.split(':')[0]}:5050/{path}",
        "_links": {
            "self": links,
            "issues": f"{links}/issues",
            "merge_requests": f"{links}/merge_requests",
            "repo_branches": f"{links}/repository/branches",
            "labels": f"{links}/labels",
            "events": f"{links}/events",
            "members": f"{links}/members",
            "cluster_agents": f"{links}/cluster_agents",
        },
        "packages_enabled": True,
        "empty_repo": False,
        "archived": False,
        "visibility": settings["visibility"],
        "resolve_outdated_diff_discussions": False,
        "container_expiration_policy": {
            "cadence": "1d",
            "enabled": False,
            "keep_n": 10,
            "older_than": "90d",
            "name_regex": ".*",
            "name_regex_keep": None,
            "next_run_at": created_at,
        },
        "repository_storage": "default",
        "issues_enabled": True,
        "merge_requests_enabled": True,
        "wiki_enabled": True,
        "jobs_enabled": True,
        "snippets_enabled": True,
        "container_registry_enabled": True,
        "service_desk_enabled": False,
        "service_desk_address": None,
        "can_create_merge_request_in": True,
        "issues_access_level": "enabled",
        "repository_access_level": "enabled",
        "merge_requests_access_level": "enabled",
        "forking_access_level": "enabled",
        "wiki_access_level": "enabled",
        "builds_access_level": "enabled",
        "snippets_access_level": "enabled",
        "pages_access_level": "private",
        "analytics_access_level": "enabled",
        "container_registry_access_level": "enabled",
        "security_and_compliance_access_level": "private",
        "releases_access_level": "enabled",
        "environments_access_level": "enabled",
        "feature_flags_access_level": "enabled",
        "infrastructure_access_level": "enabled",
        "monitor_access_level": "enabled",
        "model_experiments_access_level": "enabled",
        "model_registry_access_level": "enabled",
        "emails_disabled": False,
        "emails_enabled": True,
        "shared_runners_enabled": True,
        "lfs_enabled": True,
        "creator_id": USER_ID,
        "import_url": None,
        "import_type": None,
        "import_status": "none",
        "import_error": None,
        "open_issues_count": 0,
        "updated_at": created_at,
        "ci_default_git_depth": 20,
        "ci_delete_pipelines_in_seconds": None,
        "ci_forward_deployment_enabled": True,
        "ci_forward_deployment_rollback_allowed": True,
        "ci_job_token_scope_enabled": False,
        "ci_separated_caches": True,
        "ci_allow_fork_pipelines_to_run_in_parent_project": True,
        "ci_id_token_sub_claim_components": ["project_path", "ref_type", "ref"],
        "build_git_strategy": "fetch",
        "keep_latest_artifact": True,
        "restrict_user_defined_variables": True,
        "ci_pipeline_variables_minimum_override_role": "developer",
        "ci_restrict_pipeline_cancellation_role": "developer",
        "runners_token": "GR1348941" + hashlib.sha256(path.encode()).hexdigest()[:20],
        "runner_token_expiration_interval": None,
        "group_runners_enabled": True,
        "auto_cancel_pending_pipelines": "enabled",
        "build_timeout": 3600,
        "auto_devops_enabled": False,
        "auto_devops_deploy_strategy": "continuous",
        "ci_push_repository_for_job_token_allowed": False,
        "ci_config_path": None,
        "public_jobs": True,
        "shared_with_groups": [],
        "only_allow_merge_if_pipeline_succeeds": settings["only_allow_merge_if_pipeline_succeeds"],
        "allow_merge_on_skipped_pipeline": settings["allow_merge_on_skipped_pipeline"],
        "request_access_enabled": True,
        "only_allow_merge_if_all_discussions_are_resolved": settings[
            "only_allow_merge_if_all_discussions_are_resolved"
        ],
        "remove_source_branch_after_merge": settings["remove_source_branch_after_merge"],
        "printing_merge_request_link_enabled": True,
        "merge_method": settings["merge_method"],
        "merge_request_title_regex": None,
        "squash_option": settings["squash_option"],
        "enforce_auth_checks_on_uploads": True,
        "suggestion_commit_message": None,
        "merge_commit_template": None,
        "squash_commit_template": None,
        "issue_branch_template": None,
        "warn_about_potentially_unwanted_characters": True,
        "autoclose_referenced_issues": True,
        "max_artifacts_size": None,
        "external_authorization_classification_label": "",
        "requirements_enabled": False,
        "requirements_access_level": "enabled",
        "security_and_compliance_enabled": True,
        "compliance_frameworks": [],
        "permissions": {
            "project_access": {"access_level": MAINTAINER, "notification_level": PARTICIPATING},
            "group_access": None,
        },
    }


def merge_request(
    mr: Mapping[str, Any],
    *,
    author: Mapping[str, Any],
    status: tuple[str, str, bool],
    expanded: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """A merge request as GitLab lists it, with ``expanded``'s fields when it is read alone.

    Args:
        mr: What the fake keeps (its keys starting with ``_`` are the fake's own).
        status: ``(detailed_merge_status, merge_status, has_conflicts)``, computed now.
        expanded: The fields only ``GET``/``POST``/``PUT`` of one merge request carry
            (``diff_refs``, ``changes_count``, ...); None in a list.
    """
    detailed, merge_status, conflicts = status
    view = {key: value for key, value in mr.items() if not key.startswith("_")}
    view.update(
        author=dict(author),
        merged_by=mr["merge_user"],
        closed_by=None,
        user_notes_count=0,
        upvotes=0,
        downvotes=0,
        assignees=[],
        assignee=None,
        reviewers=[],
        labels=[],
        draft=detailed == "draft_status",
        work_in_progress=detailed == "draft_status",
        milestone=None,
        imported=False,
        imported_from="none",
        detailed_merge_status=detailed,
        merge_status=merge_status,
        has_conflicts=conflicts,
        discussion_locked=None,
        reference=mr["references"]["short"],
        time_stats={
            "time_estimate": 0,
            "total_time_spent": 0,
            "human_time_estimate": None,
            "human_total_time_spent": None,
        },
        squash_on_merge=mr["squash"],
        task_completion_status={"count": 0, "completed_count": 0},
        blocking_discussions_resolved=True,
        approvals_before_merge=None,
    )
    if expanded is not None:
        view.update(
            subscribed=True,
            latest_build_started_at=None,
            latest_build_finished_at=None,
            first_deployed_to_production_at=None,
            pipeline=None,
            head_pipeline=None,
            merge_error=None,
            first_contribution=False,
            user={"can_merge": True},
            **expanded,
        )
    return view
