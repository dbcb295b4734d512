"""What the operations of a workflow share: the plugins and one view of the remotes, per operation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from fabpromote._cluster.hosts import host_for, sources_for
from fabpromote._cluster.publish import TRAILER_PREFIX
from fabpromote._plugins.manager import Plugins
from fabpromote._util.credentials import redact
from fabpromote.exceptions import MissingBranchError

if TYPE_CHECKING:
    from fabpromote._cluster.models import Cluster
    from fabpromote._sources.sources import Sources
    from fabpromote.typing import GitHost

__all__ = ["RESTORES", "Context", "shown"]

#: The trailer of a commit that puts an earlier tree back (a rollback, or a promotion restoring what one undid).
RESTORES = f"{TRAILER_PREFIX}Restores"


@attrs.define
class Context:
    """What one operation shares: the plugins and one view of the remotes."""

    cluster: Cluster
    plugins: Plugins = attrs.Factory(Plugins.load)
    sources: Sources = attrs.Factory(lambda self: sources_for(self.cluster), takes_self=True)

    def host(self, url: str) -> GitHost:
        return host_for(self.cluster, url, plugins=self.plugins, sources=self.sources)

    def branch(self, host: GitHost, url: str, branch: str) -> str:
        sha = host.read_branch(url, branch)
        if sha is None:
            raise MissingBranchError(f"{shown(url)} has no branch {branch!r}")
        return sha


def shown(url: str) -> str:
    """``url`` as messages show it: redacted."""
    return redact(url)
