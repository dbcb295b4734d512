"""Paths of an HLD tree, and keeping paths inside it (public: plugins import these).

DESIGN's safety rule: a path from a fetched component (``path``, ``source``, a
symlink) never leads out of that component's snapshot. A generator or engine
that follows such a path checks it with :func:`check_inside` against the
``boundary`` it was given (``RenderRequest.boundary``, ``Engine.render``'s
``boundary``).

- :data:`COMPONENT_FILES`: the file names of a component definition, in the
  order Fabrikate looks for them.
- :func:`output_dir_name`: the folder under ``generated/`` that ``fab
  generate`` writes for a list of environments.
"""

from __future__ import annotations

from fabpromote._engine.walk import check_inside, output_dir_name
from fabpromote._hld.model import COMPONENT_FILES

__all__ = ["COMPONENT_FILES", "check_inside", "output_dir_name"]
