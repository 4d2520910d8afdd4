"""The settings file: what switches a safety net off is an error at start."""

import datetime

import pytest

from mailman_bouncerules.config.settings import SCHEMA, SettingsError, _parse


def settings_file(tmp_path, **values):
    path = tmp_path / 'settings.cfg'
    path.write_text('[bouncerules]\n' + ''.join(
        '%s: %s\n' % item for item in values.items()))
    return str(path)


def test_the_defaults_parse(tmp_path):
    parsed = _parse(settings_file(tmp_path))
    assert parsed.probe_min_budget == 10 and parsed.probe_sample == 3
    assert parsed.return_token_lifetime == datetime.timedelta(days=10)
    assert parsed.probe_expiry == datetime.timedelta(hours=72)
    assert parsed.breaker_window_hours == 24


@pytest.mark.parametrize('name, value', [
    ('probe_min_budget', '1000000000'),
    ('probe_cooldown', '0d'),
    ('probe_cooldown', '12h'),
    ('probe_expiry', '1000000000000000d'),
    ('probe_expiry', '3 days'),
    ('breaker_window', '-1h'),
    ('breaker_min_failures', '1000000000'),
    ('breaker_min_failures', '1'),
    ('daily_cap_min', '1000000000'),
    ('probe_hourly_share', '1'),
    ('probe_sample', '1000'),
    ('return_token_lifetime', '365d'),
    ('shadow_mode', 'perhaps'),
])
def test_a_setting_that_switches_a_net_off_is_refused(tmp_path, name, value):
    with pytest.raises(SettingsError) as raised:
        _parse(settings_file(tmp_path, **{name: value}))
    assert name in str(raised.value) and 'expected' in str(raised.value)


def test_every_setting_has_a_default_that_parses():
    for setting in SCHEMA.values():
        setting.parse(setting.default)


def test_durations_read_as_mailman_writes_them(tmp_path):
    parsed = _parse(settings_file(tmp_path, probe_expiry='1d12h',
                                  history_lifetime='8w',
                                  max_time_per_notice='0.5s'))
    assert parsed.probe_expiry == datetime.timedelta(hours=36)
    assert parsed.history_lifetime == datetime.timedelta(weeks=8)
    assert parsed.max_time_per_notice == datetime.timedelta(seconds=0.5)


def test_the_former_keys_are_read_in_their_units(tmp_path):
    parsed = _parse(settings_file(tmp_path, probe_expiry_hours='48',
                                  probe_cooldown_days='7',
                                  breaker_window_hours='6',
                                  max_seconds_per_notice='1.5'))
    assert parsed.probe_expiry == datetime.timedelta(hours=48)
    assert parsed.probe_cooldown == datetime.timedelta(days=7)
    assert parsed.breaker_window_hours == 6
    assert parsed.max_time_per_notice == datetime.timedelta(seconds=1.5)


@pytest.mark.parametrize('values, words', [
    ({'probe_expiry_hours': '72', 'probe_expiry': '3d'}, 'names both'),
    ({'probe_expiry_hours': '72h'}, 'expected a number'),
    ({'probe_cooldown_days': '0'}, 'probe_cooldown'),
])
def test_a_former_key_that_cannot_be_read_is_refused(tmp_path, values, words):
    with pytest.raises(SettingsError) as raised:
        _parse(settings_file(tmp_path, **values))
    assert words in str(raised.value)
