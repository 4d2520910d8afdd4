"""The plugin's own settings: declared once, typed, validated at start.

The settings file (`[plugin.bouncerules] configuration:`) is read once per
process, like the rest of Mailman's configuration, and every value is
checked against the schema below when Mailman starts (the plugin's
pre_hook).  An unknown key or a value that does not parse is an error that
names the key, the value and what was expected: a typo must never become
a silent default, least of all in a safety setting such as `shadow_mode`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from typing import Any

from mailman.config import config
from mailman.config.config import external_configuration
from public import public

# Used when the plugin runs outside a Mailman site (the console script).
DEFAULT_CONFIGURATION = 'python:mailman_bouncerules.config.bouncerules'
SECTION = 'bouncerules'


@public
class SettingsError(ValueError):
    """A setting that cannot be used; the message names key and value."""


_TRUE = frozenset(('yes', 'on', 'true', '1'))
_FALSE = frozenset(('no', 'off', 'false', '0'))


def _boolean(text: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError('expected yes or no')


def _count(minimum: int, maximum: int = 10 ** 9) -> Callable[[str], int]:
    def parse(text: str) -> int:
        stripped = text.strip()
        if not stripped.isdigit() or len(stripped) > 10:
            raise ValueError('expected a whole number')
        value = int(stripped)
        if not minimum <= value <= maximum:
            raise ValueError('expected %d to %d' % (minimum, maximum))
        return value
    return parse


def _positive(maximum: float, what: str) -> Callable[[str], float]:
    """A number above 0 and at most `maximum`; `what` names it in errors."""
    def parse(text: str) -> float:
        if len(text.strip()) > 20:
            raise ValueError('expected %s' % what)
        value = float(text)
        if not math.isfinite(value) or not 0 < value <= maximum:
            raise ValueError('expected %s above 0, at most %g'
                             % (what, maximum))
        return value
    return parse


_share = _positive(1, 'a number')
_seconds = _positive(600, 'a number of seconds')


def _text(text: str) -> str:
    return text.strip()


def _secret(text: str) -> str:
    value = text.strip()
    if value and len(value.encode('utf-8')) < 32:
        raise ValueError('a secret needs at least 32 bytes (empty: one is '
                         'generated)')
    return value


def _port(text: str) -> int:
    return _count(0, 65535)(text)


@dataclass(frozen=True)
class _Setting:
    parse: Callable[[str], object]
    default: str


# Every setting, its type and its default (as written in the file).
SCHEMA: dict[str, _Setting] = {
    'rules_file': _Setting(_text, ''),
    'confirm_after': _Setting(_count(1, 1000), '3'),
    'secret': _Setting(_secret, ''),
    'tracker_url': _Setting(_text, ''),
    'tracker_host': _Setting(_text, '127.0.0.1'),
    'tracker_port': _Setting(_port, '8025'),
    'token_lifetime_days': _Setting(_count(1, 36500), '180'),
    'return_token_days': _Setting(_count(1, 60), '10'),
    'shadow_mode': _Setting(_boolean, 'no'),
    'shadow_enforce_days': _Setting(_count(1, 36500), '14'),
    # The safety nets have upper bounds: past them a net never acts (a
    # breaker that needs a million failures, a probe budget that mails the
    # whole roster), which an extra zero must not do silently.
    'breaker_min_failures': _Setting(_count(2, 1000), '20'),
    'breaker_share': _Setting(_share, '0.3'),
    'breaker_window_hours': _Setting(_count(1, 24 * 30), '24'),
    'daily_cap_share': _Setting(_share, '0.05'),
    'daily_cap_min': _Setting(_count(1, 1000), '5'),
    'probe_expiry_hours': _Setting(_count(1, 24 * 60), '72'),
    'probe_cooldown_days': _Setting(_count(1, 3650), '30'),
    'probe_hourly_share': _Setting(_positive(0.2, 'a share'), '0.05'),
    'probe_daily_share': _Setting(_positive(0.5, 'a share'), '0.2'),
    'probe_min_budget': _Setting(_count(1, 100), '10'),
    'probe_sample': _Setting(_count(0, 100), '3'),
    'history_days': _Setting(_count(30, 36500), '400'),
    'max_recipients_per_notice': _Setting(_count(1, 10 ** 6), '1000'),
    'max_seconds_per_notice': _Setting(_seconds, '2'),
}


@public
@dataclass(frozen=True)
class Settings:
    """The parsed settings, typed; the fields are the keys of SCHEMA (what
    each means is in the packaged bouncerules.cfg)."""

    rules_file: str
    confirm_after: int
    secret: str
    tracker_url: str
    tracker_host: str
    tracker_port: int
    token_lifetime_days: int
    return_token_days: int
    shadow_mode: bool
    shadow_enforce_days: int
    breaker_min_failures: int
    breaker_share: float
    breaker_window_hours: int
    daily_cap_share: float
    daily_cap_min: int
    probe_expiry_hours: int
    probe_cooldown_days: int
    probe_hourly_share: float
    probe_daily_share: float
    probe_min_budget: int
    probe_sample: int
    history_days: int
    max_recipients_per_notice: int
    max_seconds_per_notice: float


if {field.name for field in fields(Settings)} != set(SCHEMA):
    raise ImportError('Settings and SCHEMA name different settings')


def _parse(path: str) -> Settings:
    try:
        parser = external_configuration(path)
    except Exception as error:
        raise SettingsError('cannot read the settings file %s: %s'
                            % (path, error)) from error
    given = dict(parser[SECTION]) if parser.has_section(SECTION) else {}
    unknown = sorted(set(given) - set(SCHEMA))
    if unknown:
        raise SettingsError('%s: unknown setting %s in [%s] (known: %s)' % (
            path, ', '.join(unknown), SECTION, ', '.join(sorted(SCHEMA))))
    values: dict[str, Any] = {}
    for name, setting in SCHEMA.items():
        text = given.get(name, '')
        if not text.strip():
            text = setting.default
        try:
            values[name] = setting.parse(text)
        except ValueError as error:
            raise SettingsError('%s: [%s] %s = %r: %s' % (
                path, SECTION, name, text[:80], error)) from None
    return Settings(**values)


@lru_cache(maxsize=8)
def _settings_at(path: str) -> Settings:
    return _parse(path)


@public
def settings_path(plugin_name: str = 'bouncerules') -> str:
    plugin_config = getattr(config, 'plugin.' + plugin_name, None)
    return getattr(plugin_config, 'configuration', '') or DEFAULT_CONFIGURATION


_pushed: list[dict] = []


@public
def settings(plugin_name: str = 'bouncerules') -> Settings:
    """The plugin's settings; SettingsError if the file is not usable."""
    parsed = _settings_at(settings_path(plugin_name))
    if not _pushed:
        return parsed
    for layer in _pushed:
        parsed = replace(parsed, **layer)
    return parsed


@public
@contextmanager
def pushed(**values: Any) -> Iterator[None]:
    """Typed settings changed for a while, as Mailman's `config.push` does
    for its own (tests, the demo)."""
    unknown = set(values) - set(SCHEMA)
    if unknown:
        raise SettingsError('unknown setting %s' % ', '.join(sorted(unknown)))
    _pushed.append(values)
    try:
        yield
    finally:
        _pushed.remove(values)


@public
def configured_rules_file(plugin_name: str = 'bouncerules') -> str | None:
    """The admin's rule file named in the settings, or None."""
    return settings(plugin_name).rules_file or None


@public
def default_confirm_after(plugin_name: str = 'bouncerules') -> int:
    """Consecutive hard-bounced campaigns that confirm a bounce (site-wide
    default; a list can override it)."""
    return settings(plugin_name).confirm_after
