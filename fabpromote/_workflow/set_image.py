"""Set-image: an app's image tag set in its HLD config on an environment's branch, compare-and-swap."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import attrs

from fabpromote._cluster.apps import App, app
from fabpromote._plugins.manager import Plugins
from fabpromote._util.races import pause_after_lost_race
from fabpromote._workflow.context import Context, shown
from fabpromote._workflow.images import image_in_text, set_image_in_text
from fabpromote.exceptions import FabpromoteError, HLDError, ImageConflictError, StaleBranchError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from fabpromote._cluster.models import Cluster
    from fabpromote.typing import GitHost

__all__ = ["SET_IMAGE_ATTEMPTS", "SET_IMAGE_JITTER", "set_image"]

_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
# An image repository as the OCI distribution spec writes one: [host[:port]/]path, lower-case path components.
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"(?:[A-Za-z0-9.-]+(?::[0-9]+)?/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*")

#: How many times ``set-image`` reads a branch that moved under it again before giving up.
SET_IMAGE_ATTEMPTS = 8
#: Seconds of jitter per lost race: the pause after losing attempt n is uniform in [0, SET_IMAGE_JITTER * n].
SET_IMAGE_JITTER = 0.05


@attrs.frozen
class _ImageFile:
    """The file that defines an app's image for an environment, as a commit of its branch has it."""

    path: str
    text: str
    image: tuple[str, str]  # (repository, tag) as written


def set_image(
    cluster: Cluster,
    app_name: str,
    env: str,
    tag: str,
    *,
    repository: str | None = None,
    plugins: Plugins | None = None,
) -> tuple[str, str | None]:
    """Set the image tag (and repository) in ``app_name``'s HLD config on ``env``'s branch.

    The file that defines the image with the highest priority for ``env``
    (``config/<env>.yaml`` before ``config/common.yaml``) is edited in place,
    keeping its layout and comments, and committed.

    Compare-and-swap: when the branch moves meanwhile (another commit, say
    another app's image in the same repository), the edit is made again on
    the new head, up to :data:`SET_IMAGE_ATTEMPTS` times, as long as the image
    there is still the one first read (or already the one asked for). An
    image someone set to another value meanwhile is a conflict, not overwritten.

    Returns:
        The edited path and the new commit (None when the tag was already set).

    Raises:
        ProtectedBranchError: The environment is protected (promote instead).
        HLDError: No image (a map with ``repository`` and ``tag``) in its config.
        ImageConflictError: The image changed to another value meanwhile.
        StaleBranchError: The branch moved under every attempt.
    """
    if not _TAG.fullmatch(tag):
        raise FabpromoteError(f"{tag!r} is not a valid image tag")
    if repository is not None and not _REPOSITORY.fullmatch(repository):
        raise FabpromoteError(f"{repository!r} is not a valid image repository (e.g. ghcr.io/org/app)")
    ctx = Context(cluster, plugins or Plugins.load())
    environment = cluster.pipeline.environment(env)
    entry = app(cluster, env, app_name, ctx.sources)
    host = ctx.host(entry.url)
    names = (*environment.fabrikate_environments, "common")
    message = f"Set {app_name} image to {tag} in {env}" + (f" ({repository})" if repository else "")
    first: _ImageFile | None = None
    # Compare-and-swap, not a network retry (hosts retry their own requests): each attempt reads
    # the branch afresh, at most SET_IMAGE_ATTEMPTS times, and a random pause that grows with
    # the attempt keeps writers that collided from colliding again. The loop carries the first
    # image read across attempts (a conflicting change is refused), which a retry library's
    # attempt blocks would hide.
    attempt = 0
    while True:  # ends when an attempt returns or the last one raises
        attempt += 1
        head = ctx.branch(host, entry.url, entry.branch)
        found = _image_file(host, entry, head, names, app_name)
        first = first or found
        wanted = (repository or first.image[0], tag)
        if found.image not in (first.image, wanted):
            raise ImageConflictError(_image_conflict(entry, app_name, first, found, head, wanted))
        edited = set_image_in_text(found.text, tag, repository, file=found.path) or found.text
        try:
            commit = host.commit_files(
                entry.url,
                entry.branch,
                {found.path: edited.encode("utf-8")},
                message,
                expected=head,
                purpose="set-image",
            )
        except StaleBranchError:
            if attempt == SET_IMAGE_ATTEMPTS:
                raise
            pause_after_lost_race(attempt, SET_IMAGE_JITTER)
            continue
        return found.path, commit


def _image_file(host: GitHost, entry: App, head: str, names: Iterable[str], app_name: str) -> _ImageFile:
    """The first of ``config/<name>.yaml`` at ``head`` that holds an image.

    Raises:
        HLDError: None does.
    """
    for name in names:
        path = f"{entry.path}/config/{name}.yaml".lstrip("/")
        data = host.read_file(entry.url, head, path)
        if data is None:
            continue
        text = data.decode("utf-8")
        image = image_in_text(text, file=path)
        if image is not None:
            return _ImageFile(path=path, text=text, image=image)
    raise HLDError(
        f"no image (a map with repository and tag under config) in {', '.join(f'config/{n}.yaml' for n in names)} "
        f"of {app_name} on {entry.branch}"
    )


def _image_conflict(
    entry: App, app_name: str, first: _ImageFile, found: _ImageFile, head: str, wanted: tuple[str, str]
) -> str:
    was, now = ":".join(first.image), ":".join(found.image)
    return (
        f"{shown(entry.url)} {entry.branch}:{found.path}: the image of {app_name} changed from {was} to {now} "
        f"(commit {head[:12]}) while setting {':'.join(wanted)}; not overwritten: run set-image again to replace it"
    )
