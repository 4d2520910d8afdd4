"""The install check: the plugin's requirements, met by what is installed."""

from mailman_bouncerules.tools import checkdeps


def test_everything_met_here(capsys):
    assert checkdeps.main() == 0
    assert 'every requirement is met' in capsys.readouterr().out


def test_missing_and_too_old_are_named(monkeypatch, capsys):
    monkeypatch.setattr(checkdeps, 'requires', lambda name: [
        'mailman>=99', 'no-such-distribution-here', 'click',
        "pytest-no-such-plugin; extra == 'test'"])
    assert checkdeps.main() == 1
    out = capsys.readouterr().out
    assert 'unmet: mailman>=99: 3.3.' in out
    assert 'unmet: no-such-distribution-here: not installed' in out
    assert 'click' not in out and 'pytest-no-such-plugin' not in out


def test_the_docker_lines_are_the_site_lines():
    """etc/docker/mailman-extra.cfg enables exactly what
    etc/mailman-bouncerules.cfg does (its optional tracker aside)."""
    from pathlib import Path
    etc = Path(__file__).parent.parent / 'etc'

    def settings(path):
        return [line for line in path.read_text().splitlines()
                if line and not line.startswith('#')]
    assert settings(etc / 'docker' / 'mailman-extra.cfg') == \
        settings(etc / 'mailman-bouncerules.cfg')
