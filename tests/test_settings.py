"""The settings file: what switches a safety net off is an error at start."""

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
    assert parsed.return_token_days == 10


@pytest.mark.parametrize('name, value', [
    ('probe_min_budget', '1000000000'),
    ('probe_cooldown_days', '0'),
    ('breaker_min_failures', '1000000000'),
    ('breaker_min_failures', '1'),
    ('daily_cap_min', '1000000000'),
    ('probe_hourly_share', '1'),
    ('probe_sample', '1000'),
    ('return_token_days', '365'),
])
def test_a_setting_that_switches_a_net_off_is_refused(tmp_path, name, value):
    with pytest.raises(SettingsError) as raised:
        _parse(settings_file(tmp_path, **{name: value}))
    assert name in str(raised.value) and 'expected' in str(raised.value)


def test_every_setting_has_a_default_that_parses():
    for setting in SCHEMA.values():
        setting.parse(setting.default)
