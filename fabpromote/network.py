"""The time a network operation may take (public: plugins import these).

One setting bounds every network operation fabpromote makes, whoever makes it:
``$FABPROMOTE_NETWORK_TIMEOUT`` (:data:`ENV_TIMEOUT`) seconds, read by
:func:`network_timeout`. A plugin that talks to the network itself gives each
operation a :class:`Deadline` and sends every request of it with
``Deadline.timeouts()``, so that retries and redirects together never outlast it.

Importing this module imports urllib3: import it where the network is used,
not in a plugin's entry-point module.
"""

from __future__ import annotations

from fabpromote._util.network import ENV_TIMEOUT, Deadline, network_timeout

__all__ = ["ENV_TIMEOUT", "Deadline", "network_timeout"]
