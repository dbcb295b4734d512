"""The base of a hosted Git host's REST client, and the checks of its settings (public: plugins import these).

A Git host plugin that talks to a REST API (GitHub, GitLab, Gitea, Azure
DevOps, or a third-party one) subclasses :class:`RestClient` with its own attrs
fields and gives, as class attributes, what differs between hosts: how the
token is sent (:class:`TokenAuth`), its error classes (:class:`HostErrors`),
its name in messages, its rate-limit headers. It inherits the rest: the token
read from its variable at each request and redacted from every message, the
request sent with its timeout under the :class:`fabpromote.network.RetryPolicy`
mounted on the session, no token sent off the API's origin, and an error answer
mapped to the plugin's errors (:meth:`RestClient.failure`, whose parts a host
may override). A host keeps one client per API base in a :class:`ClientsByApi`, each
made with the host's own settings (:func:`client_settings`). :func:`error_message` reads what an error answer says;
:func:`same_origin` and :func:`origin` say where a URL points; :func:`may_have_been_done`
whether a request that got no answer may have reached the server. :data:`DEFAULT_TIMEOUT`,
:data:`DEFAULT_MAX_RETRIES`, :data:`DEFAULT_BACKOFF` and :data:`DEFAULT_MAX_WAIT` are the
defaults of the settings every such host takes.
:class:`SettingChecks` checks the settings every such host takes (``api_url``,
``token_env``, timeouts and counts), raising the plugin's settings error;
:func:`sources_setting` gives a host its ``sources`` (new ones when not given).

See docs/githosts.md ("A REST client"). Importing this module imports requests:
import it where the network is used, not in a plugin's entry-point module.
"""

from __future__ import annotations

from fabpromote._sources.settingchecks import SettingChecks, sources_setting
from fabpromote._util.restclient import (
    DEFAULT_BACKOFF,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_WAIT,
    DEFAULT_TIMEOUT,
    ClientsByApi,
    HostErrors,
    RestClient,
    TokenAuth,
    client_settings,
    error_message,
    may_have_been_done,
    message_and_errors,
    origin,
    same_origin,
)

__all__ = [
    "DEFAULT_BACKOFF",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_MAX_WAIT",
    "DEFAULT_TIMEOUT",
    "ClientsByApi",
    "HostErrors",
    "RestClient",
    "SettingChecks",
    "TokenAuth",
    "client_settings",
    "error_message",
    "may_have_been_done",
    "message_and_errors",
    "origin",
    "same_origin",
    "sources_setting",
]
