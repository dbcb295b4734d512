"""The checks of a hosted Git host's settings, raising the plugin's own error. Public in :mod:`fabpromote.rest`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

import attrs

from fabpromote._sources.githost import BranchPolicy
from fabpromote._sources.sources import Sources
from fabpromote._util.hostsettings import Error, api_url_setting, number_setting, token_env_setting
from fabpromote.exceptions import BranchPolicyError

__all__ = ["SettingChecks", "sources_setting"]

N = TypeVar("N", int, float)
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


@attrs.frozen
class SettingChecks:
    """The checks of one host's settings, each raising that host's ``error``.

    Give them to attrs fields as ``converter=lambda value: CHECKS.api_url(value)``:
    mypy's attrs plugin takes no bound method as a converter.

    Attributes:
        error: The plugin's settings error, called with the message.
        default_token_env: The variable an empty ``token_env`` names.
    """

    error: Error
    default_token_env: str

    def known(self, settings: Iterable[str], names: Sequence[str], host: str) -> None:
        """Refuse the ``settings`` of the host named ``host`` that are not among ``names``, all in one line."""
        unknown = sorted(set(settings) - set(names))
        if unknown:
            raise self.error(f"unknown setting(s) of the {host} host: {', '.join(unknown)} (known: {', '.join(names)})")

    def take(
        self,
        settings: dict[str, Any],
        *,
        renamed: Mapping[str, str] | None = None,
        counts: Iterable[str] = (),
        booleans: Iterable[str] = (),
    ) -> dict[str, Any]:
        """Take settings out of ``settings`` (those a host hands on, to its protection policy say), checked.

        Args:
            renamed: Settings taken as they are, under another name (``required_contexts`` -> ``contexts``).
            counts: Settings that are whole numbers.
            booleans: Settings that are yes or no (see :meth:`boolean`).

        Returns:
            The settings taken that were given, by the name they are handed on under.
        """
        taken = {new: settings.pop(old) for old, new in (renamed or {}).items() if old in settings}
        taken |= {name: self.number(name, settings.pop(name), int) for name in counts if name in settings}
        taken |= {name: self.boolean(name, settings.pop(name)) for name in booleans if name in settings}
        return taken

    def api_url(self, value: Any) -> str:
        """An ``api_url`` (see :func:`api_url_setting`)."""
        return api_url_setting(value, self.error)

    def optional_api_url(self, value: Any) -> str | None:
        """An ``api_url`` that may be left out (None or empty): derived from the repository's URL then."""
        return self.api_url(value) if value else None

    def token_env(self, value: Any) -> str:
        """A ``token_env`` (see :func:`token_env_setting`)."""
        return token_env_setting(value, self.default_token_env, self.error)

    def number(self, name: str, value: Any, kind: type[N]) -> N:
        """A number (see :func:`number_setting`)."""
        return number_setting(name, value, kind, self.error)

    def boolean(self, name: str, value: Any) -> bool:
        """A yes/no setting: a bool, or ``true``/``false``, ``yes``/``no``, ``on``/``off``, ``1``/``0``."""
        text = str(value).strip().lower()
        if isinstance(value, bool) or text in _TRUE | _FALSE:
            return value if isinstance(value, bool) else text in _TRUE
        raise self.error(f"{name} must be true or false, not {value!r}")

    def branch_policy(self, value: Mapping[str, Iterable[str]] | None) -> BranchPolicy:
        """The ``protected`` setting: core's :class:`fabpromote.git.BranchPolicy`, refused in the host's terms."""
        try:
            return BranchPolicy(value)
        except BranchPolicyError as exc:
            raise self.error(str(exc)) from None


def sources_setting(value: Sources | None) -> Sources:
    """The ``sources`` setting: the cache's mirrors, a default :class:`fabpromote.git.Sources` when not given."""
    return value if value is not None else Sources()
