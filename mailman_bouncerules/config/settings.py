"""The plugin's own settings: declared once, typed, validated at start.

The settings file (`[plugin.bouncerules] configuration:`) is read once per
process, like the rest of Mailman's configuration, and every value is
checked against the schema below when Mailman starts (the plugin's
pre_hook).  An unknown key or a value that does not parse is an error that
names the key, the value and what was expected: a typo must never become
a silent default, least of all in a safety setting such as `shadow_mode`.

Durations are written as Mailman writes its own (`3d`, `12h`, `1w2d`, read
by lazr.config's `as_timedelta`); the keys of earlier releases, whole
numbers with the unit in the name (`probe_expiry_hours: 72`), are still
read.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from datetime import timedelta
from functools import lru_cache
from typing import Any

from lazr.config import as_boolean, as_timedelta
from mailman.config import config
from mailman.config.config import external_configuration
from public import public

# Used when the plugin runs outside a Mailman site (the console script).
DEFAULT_CONFIGURATION = 'python:mailman_bouncerules.config.bouncerules'
SECTION = 'bouncerules'


@public
class SettingsError(ValueError):
    """A setting that cannot be used; the message names key and value."""


def _boolean(text: str) -> bool:
    """Yes or no, as Mailman reads its own (lazr.config's as_boolean)."""
    try:
        return as_boolean(text.strip())
    except ValueError:
        raise ValueError('expected yes or no') from None


HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def _duration(shortest: timedelta,
              longest: timedelta) -> Callable[[str], timedelta]:
    """A duration as Mailman writes one (`3d`, `12h`, `1w2d`), within
    bounds: past them a safety net never acts."""
    def parse(text: str) -> timedelta:
        expected = 'expected a duration such as 3d or 12h, from %s to %s' % (
            _written(shortest), _written(longest))
        try:
            value = as_timedelta(text.strip()) if len(text) < 40 else None
        except (ValueError, OverflowError):
            value = None
        if value is None or not shortest <= value <= longest:
            raise ValueError(expected)
        return value
    return parse


@public
def in_words(duration: timedelta) -> str:
    """A duration as a notice or a history row says it: `3 days`."""
    for unit, length in (('day', DAY), ('hour', HOUR),
                         ('minute', timedelta(minutes=1))):
        if duration % length == timedelta(0):
            count = duration // length
            return '%d %s%s' % (count, unit, '' if count == 1 else 's')
    return '%g seconds' % duration.total_seconds()


def _written(duration: timedelta) -> str:
    """A bound as the file would write it."""
    for unit, length in (('d', DAY), ('h', HOUR)):
        if duration % length == timedelta(0):
            return '%d%s' % (duration // length, unit)
    return '%gs' % duration.total_seconds()


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
    'token_lifetime': _Setting(_duration(DAY, 36500 * DAY), '180d'),
    'return_token_lifetime': _Setting(_duration(DAY, 60 * DAY), '10d'),
    'shadow_mode': _Setting(_boolean, 'no'),
    'shadow_enforce_within': _Setting(_duration(DAY, 36500 * DAY), '14d'),
    # The safety nets have upper bounds: past them a net never acts (a
    # breaker that needs a million failures, a probe budget that mails the
    # whole roster), which an extra zero must not do silently.
    'breaker_min_failures': _Setting(_count(2, 1000), '20'),
    'breaker_share': _Setting(_share, '0.3'),
    'breaker_window': _Setting(_duration(HOUR, 30 * DAY), '24h'),
    'daily_cap_share': _Setting(_share, '0.05'),
    'daily_cap_min': _Setting(_count(1, 1000), '5'),
    'probe_expiry': _Setting(_duration(HOUR, 60 * DAY), '72h'),
    'probe_cooldown': _Setting(_duration(DAY, 3650 * DAY), '30d'),
    'probe_hourly_share': _Setting(_positive(0.2, 'a share'), '0.05'),
    'probe_daily_share': _Setting(_positive(0.5, 'a share'), '0.2'),
    'probe_min_budget': _Setting(_count(1, 100), '10'),
    'probe_sample': _Setting(_count(0, 100), '3'),
    'history_lifetime': _Setting(_duration(30 * DAY, 36500 * DAY), '400d'),
    'max_recipients_per_notice': _Setting(_count(1, 10 ** 6), '1000'),
    'max_time_per_notice': _Setting(
        _duration(timedelta(milliseconds=1), 600 * timedelta(seconds=1)),
        '2s'),
}

# The keys of earlier releases: a whole number, in the unit the key named.
FORMER_KEYS = {
    'token_lifetime_days': ('token_lifetime', 'd'),
    'return_token_days': ('return_token_lifetime', 'd'),
    'shadow_enforce_days': ('shadow_enforce_within', 'd'),
    'breaker_window_hours': ('breaker_window', 'h'),
    'probe_expiry_hours': ('probe_expiry', 'h'),
    'probe_cooldown_days': ('probe_cooldown', 'd'),
    'history_days': ('history_lifetime', 'd'),
    'max_seconds_per_notice': ('max_time_per_notice', 's'),
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
    token_lifetime: timedelta
    return_token_lifetime: timedelta
    shadow_mode: bool
    shadow_enforce_within: timedelta
    breaker_min_failures: int
    breaker_share: float
    breaker_window: timedelta
    daily_cap_share: float
    daily_cap_min: int
    probe_expiry: timedelta
    probe_cooldown: timedelta
    probe_hourly_share: float
    probe_daily_share: float
    probe_min_budget: int
    probe_sample: int
    history_lifetime: timedelta
    max_recipients_per_notice: int
    max_time_per_notice: timedelta

    @property
    def breaker_window_hours(self) -> int:
        """The window in the whole hours the breaker counts by."""
        return math.ceil(self.breaker_window / HOUR)


if {field.name for field in fields(Settings)} != set(SCHEMA):
    raise ImportError('Settings and SCHEMA name different settings')


def _parse(path: str) -> Settings:
    try:
        parser = external_configuration(path)
    except Exception as error:
        raise SettingsError('cannot read the settings file %s: %s'
                            % (path, error)) from error
    given = _former_keys_read(path, dict(parser[SECTION]) if
                              parser.has_section(SECTION) else {})
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


def _former_keys_read(path: str, given: dict[str, str]) -> dict[str, str]:
    """`given` with each former key as its current one (`72` in hours
    is `72h`); a file that names both is refused."""
    for former, (current, unit) in FORMER_KEYS.items():
        if former not in given:
            continue
        if current in given:
            raise SettingsError('%s: [%s] names both %s and %s (the first is '
                                'the former name of the second)' % (
                                    path, SECTION, former, current))
        text = given.pop(former).strip()
        if not text.replace('.', '', 1).isdigit():
            raise SettingsError('%s: [%s] %s = %r: expected a number (or '
                                'write %s, a duration such as 3d)' % (
                                    path, SECTION, former, text[:80],
                                    current))
        given[current] = text + unit
    return given


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
