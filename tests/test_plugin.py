"""The plugin inside a real (test) Mailman: loading, utility, sub-command."""

import json

import pytest
from click.testing import CliRunner
from zope.component import getUtility

from mailman_bouncerules.interfaces import IClassifier
from mailman_bouncerules.plugin import BounceRulesPlugin
from mailman_bouncerules.tools.testing import samples


def test_plugin_is_loaded_by_mailman(mailman):
    plugin = mailman.plugins['bouncerules']
    assert isinstance(plugin, BounceRulesPlugin)
    assert plugin.name == 'bouncerules'


def test_classifier_utility_registered(mailman):
    classifier = getUtility(IClassifier)
    _report, [decision] = classifier.classify(samples.rfc3464(
        'bart@example.org', '5.7.1', '550 5.7.1 rejected by spam filter'))
    assert decision.action == 'record'


def test_per_list_services_are_adapters_of_the_list(mailman):
    """As core reaches its per-list managers (IBanManager(mlist))."""
    from sitehelpers import make_list
    from zope.interface.verify import verifyObject

    from mailman_bouncerules.app.admin import ListAdmin
    from mailman_bouncerules.app.ledger import Ledger
    from mailman_bouncerules.interfaces import IBounceAdmin, IBounceStandings
    mlist = make_list()
    admin, standings = IBounceAdmin(mlist), IBounceStandings(mlist)
    assert isinstance(admin, ListAdmin) and admin.mlist is mlist
    assert isinstance(standings, Ledger) and standings.mlist is mlist
    assert verifyObject(IBounceAdmin, admin)
    assert verifyObject(IBounceStandings, standings)


def test_mailman_sub_command_is_found(mailman):
    from mailman.bin.mailman import Subcommands
    command = Subcommands().get_command(None, 'bouncerules')
    assert command is not None
    assert 'classify' in command.commands


def test_mailman_bouncerules_classify(mailman, tmp_path):
    from mailman.bin.mailman import Subcommands
    bounce = tmp_path / 'b.eml'
    bounce.write_bytes(samples.exim(
        'bart@example.org', '550 5.1.1 <bart@example.org>: unknown user'))
    command = Subcommands().get_command(None, 'bouncerules')
    result = CliRunner().invoke(command, ['classify', '--json', str(bounce)])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert record['recipients'][0]['action'] == 'unsubscribe'


def test_bad_admin_rules_stop_the_plugin(mailman, tmp_path, monkeypatch,
                                         capsys):
    from mailman_bouncerules import plugin as plugin_module
    from mailman_bouncerules.app.availability import why_inactive
    rules = tmp_path / 'rules.cfg'
    rules.write_text('[rule.bad]\nstatus: 9.9.9\nclassification: hard\n'
                     'action: count\n')
    monkeypatch.setattr(plugin_module, 'configured_rules_file',
                        lambda name: str(rules))
    BounceRulesPlugin().pre_hook()
    assert 'rule bad' in why_inactive()
    assert 'bouncerules: NOT ACTIVE' in capsys.readouterr().err


def test_tables_created_with_their_own_version_table(mailman):
    from sqlalchemy import inspect, text

    from mailman_bouncerules.model.database import VERSION_TABLE, setup_tables
    from mailman_bouncerules.model.tables import Base
    names = set(inspect(mailman.db.engine).get_table_names())
    assert set(Base.metadata.tables) <= names
    assert VERSION_TABLE in names
    # Mailman's own version table is not ours to touch.
    with mailman.db.engine.connect() as connection:
        ours = connection.execute(text(
            'SELECT version_num FROM %s' % VERSION_TABLE)).scalars().all()
    assert ours == ['0007']
    setup_tables()                  # idempotent, as every process runs it
    with mailman.db.engine.connect() as connection:
        assert connection.execute(text(
            'SELECT count(*) FROM %s' % VERSION_TABLE)).scalar() == 1


@pytest.mark.parametrize('broken', ['short', 'directory', 'dangling link'])
def test_an_unusable_secret_stops_the_plugin_at_start(mailman, broken,
                                                      capsys):
    """Found at start, not by the first tracked post: stock Mailman takes
    over, loudly."""
    import os
    import shutil

    from mailman.config import config

    from mailman_bouncerules.app.availability import plugin_active, why_inactive
    path = os.path.join(config.VAR_DIR, 'bouncerules-secret')
    saved = open(path, 'rb').read() if os.path.isfile(path) else None
    if os.path.lexists(path):
        os.remove(path)
    try:
        if broken == 'short':
            open(path, 'wb').write(b'too short')
        elif broken == 'directory':
            os.mkdir(path)
        else:
            os.symlink(os.path.join(config.VAR_DIR, 'nowhere', 'x'), path)
        BounceRulesPlugin().post_hook()
        assert not plugin_active()
        assert 'secret' in why_inactive()
        assert 'bouncerules: NOT ACTIVE' in capsys.readouterr().err
    finally:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        elif os.path.lexists(path):
            os.remove(path)
        if saved is not None:
            open(path, 'wb').write(saved)
        BounceRulesPlugin().pre_hook()
        BounceRulesPlugin().post_hook()
    assert plugin_active()
