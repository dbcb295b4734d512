"""The time a network operation may take, and how a REST API's requests are retried (public: plugins import these).

One setting bounds every network operation fabpromote makes, whoever makes it:
``$FABPROMOTE_NETWORK_TIMEOUT`` (:data:`ENV_TIMEOUT`) seconds, read by
:func:`network_timeout`. A plugin that talks to the network itself gives each
operation a :class:`Deadline` and sends every request of it with
``Deadline.timeouts()``, so that retries and redirects together never outlast it.

A plugin with a REST API (a Git host) mounts a :class:`RetryPolicy` on its
``requests.Session``: each request is then one operation with its own
deadline, retried by urllib3 on connection errors, 5xx answers and rate
limits, honouring ``Retry-After``; :func:`retry_stopped` says why an error
answer was not tried again. :data:`RETRIED_STATUSES` are the answers tried
again (a 403 only when it is a rate limit); after a timeout, only
:data:`IDEMPOTENT_METHODS` are sent again. Tests give the policy a fake :class:`Clock`
(``fabpromote.testing.clock.FakeClock``) instead of sleeping. A request that failed
without an answer is told in a few words by :func:`request_failure` ("Connection
refused", "Read timed out"), as the core tells its own. The settings every such host
takes are checked alike by :func:`api_url_setting`, :func:`token_env_setting` and
:func:`number_setting`, each raising the plugin's own error.

Importing this module imports requests and urllib3: import it where the
network is used, not in a plugin's entry-point module.
"""

from __future__ import annotations

from fabpromote._util.hostsettings import api_url_setting, number_setting, token_env_setting
from fabpromote._util.httpretry import IDEMPOTENT_METHODS, RETRIED_STATUSES, RetryPolicy, retry_stopped
from fabpromote._util.network import ENV_TIMEOUT, Clock, Deadline, network_timeout, request_failure

__all__ = [
    "ENV_TIMEOUT",
    "IDEMPOTENT_METHODS",
    "RETRIED_STATUSES",
    "Clock",
    "Deadline",
    "RetryPolicy",
    "api_url_setting",
    "network_timeout",
    "number_setting",
    "request_failure",
    "retry_stopped",
    "token_env_setting",
]
