"""Rule files: how admins extend, override and disable, and how errors read."""

from textwrap import dedent

import pytest

from mailman_bouncerules.classify.classifier import Classifier
from mailman_bouncerules.classify.rules.loader import RulesError, load_rules
from mailman_bouncerules.classify.rules.ruleset import RuleSet
from mailman_bouncerules.tools.testing import samples


def write(tmp_path, text, name='rules.cfg'):
    path = tmp_path / name
    path.write_text(dedent(text))
    return path


def names(rules):
    return [rule.name for rule in rules]


def test_defaults_load_in_file_order():
    rules = load_rules()
    order = names(rules)
    assert order[0] == 'feedback-report'
    # Sender-side rules come before anything that removes a member.
    assert order.index('spam-or-content-status') < order.index('user-unknown')
    assert order.index('blocklisted') < order.index('user-unknown-status')
    assert order[-1] == 'unrecognised-failure'


def test_admin_rule_goes_first(tmp_path):
    path = write(tmp_path, r'''
        [rule.local-dead-domain]
        text: mailbox full
        classification: hard
        action: unsubscribe
        ''')
    rules = load_rules(path)
    assert names(rules)[0] == 'local-dead-domain'
    classifier = Classifier(RuleSet(rules))
    _report, [decision] = classifier.classify(samples.rfc3464(
        'bart@example.org', '4.2.2', '452 4.2.2 mailbox full', action='delayed'))
    assert (decision.rule, decision.action) == ('local-dead-domain',
                                                'unsubscribe')


def test_override_changes_only_given_keys(tmp_path):
    path = write(tmp_path, '''
        [rule.user-unknown]
        action: count
        ''')
    rules = {rule.name: rule for rule in load_rules(path)}
    defaults = {rule.name: rule for rule in load_rules()}
    assert rules['user-unknown'].action == 'count'
    assert rules['user-unknown'].texts == defaults['user-unknown'].texts
    # In place, not moved to the front.
    assert names(load_rules(path)).index('user-unknown') == \
        names(load_rules()).index('user-unknown')


def test_disable_by_name(tmp_path):
    path = write(tmp_path, '''
        [rule.user-unknown-status]
        enabled: no
        ''')
    assert 'user-unknown-status' not in names(load_rules(path))
    assert 'user-unknown-status' in names(load_rules())


def test_admin_word_list(tmp_path):
    path = write(tmp_path, r'''
        [words.dead]
        text: \bgone fishing forever\b

        [rule.dead-words]
        text: @dead
        classification: hard
        action: count
        ''')
    [rule] = [r for r in load_rules(path) if r.name == 'dead-words']
    assert rule.texts[0].search('Mailbox GONE FISHING FOREVER')


@pytest.mark.parametrize('text, rule, words', [
    ('[rule.x]\nclassification: hard\naction: count\n', 'x', 'at least one'),
    ('[rule.x]\ntext: (unclosed\nclassification: hard\naction: count\n',
     'x', 'bad text pattern'),
    ('[rule.x]\nstatus: 5.x.1\nclassification: hard\naction: count\n',
     'x', 'bad status pattern'),
    ('[rule.x]\nsmtp_code: 5500\nclassification: hard\naction: count\n',
     'x', 'bad smtp_code pattern'),
    ('[rule.x]\nstatus: 5.1.1\nclassification: fatal\naction: count\n',
     'x', 'classification must be one of'),
    ('[rule.x]\nstatus: 5.1.1\nclassification: hard\naction: delete\n',
     'x', 'action must be one of'),
    ('[rule.x]\nstatus: 5.1.1\nclassification: hard\naction: count\n'
     'colour: red\n', 'x', 'unknown key(s): colour'),
    ('[rule.x]\nkind: spam\nclassification: soft\naction: record\n',
     'x', "kind 'spam'"),
    ('[rule.x]\nkind: feedback\nclassification: complaint\naction: count\n',
     'x', 'never counted as a bounce'),
    ('[rule.x]\ntext: @nothing\nclassification: hard\naction: count\n',
     'x', 'no word list'),
    ('[rule.x]\nstatus: 5.1.1\nclassification: hard\naction: count\n'
     'enabled: maybe\n', 'x', 'enabled must be yes or no'),
    ('[other]\nkey: value\n', 'other', 'sections must be named'),
])
def test_bad_rule_file_names_file_rule_and_reason(tmp_path, text, rule, words):
    path = write(tmp_path, text)
    with pytest.raises(RulesError) as raised:
        load_rules(path)
    error = raised.value
    assert error.path == str(path)
    assert error.rule == rule
    assert words in str(error)
    assert str(path) in str(error)


def test_not_an_ini_file(tmp_path):
    path = write(tmp_path, 'this is not\n[an ini file')
    with pytest.raises(RulesError, match='not a valid rule file'):
        load_rules(path)


def test_missing_file_is_an_error_not_a_fallback(tmp_path):
    with pytest.raises(RulesError, match='cannot read rule file'):
        load_rules(tmp_path / 'absent.cfg')


def test_shipped_example_loads_and_applies():
    from pathlib import Path
    example = Path(__file__).parent.parent / 'etc' / 'example-rules.cfg'
    rules = {rule.name: rule for rule in load_rules(example)}
    assert 'mail-loop' not in rules
    assert rules['user-unknown-after-data'].action == 'count'
    assert next(iter(rules)) == 'example-provider-unavailable'


def test_any_of_makes_only_the_named_tests_alternatives(tmp_path):
    from mailman_bouncerules.classify.report import RecipientReport
    rules = tmp_path / 'rules.cfg'
    rules.write_text('[rule.mine]\nclassification: hard\naction: count\n'
                     'status: 5.1.*\nsmtp_command: rcpt\n'
                     'any_of: status smtp_command\ntext: nobody here\n')
    [mine] = [rule for rule in load_rules(str(rules)) if rule.name == 'mine']

    def report(status=None, command=None, words='550 nobody here'):
        return RecipientReport(address='a@example.org', action='failed',
                               status=status, smtp_command=command,
                               diagnostic=words)
    assert mine.match('bounce', report(status='5.1.1')) is not None
    assert mine.match('bounce', report(command='RCPT')) is not None
    # The words are still required, and one alternative must pass.
    assert mine.why_not('bounce', report(status='5.1.1', words='550')) == 'text'
    assert mine.why_not('bounce', report(command='DATA')) == 'any_of'


def test_a_provider_is_known_by_its_domain_or_its_servers(tmp_path):
    """`any_of: domain host`: a Gmail address, or any domain whose mail
    Google's servers take (Workspace)."""
    from mailman_bouncerules.classify.report import RecipientReport
    rules = tmp_path / 'rules.cfg'
    rules.write_text('[rule.mine]\nclassification: soft\naction: record\n'
                     'domain: gmail.com\nhost: google.com\n'
                     'any_of: domain host\ntext: unusual rate\n')
    [mine] = [rule for rule in load_rules(str(rules)) if rule.name == 'mine']

    def report(address, host=None, words='421 unusual rate'):
        return RecipientReport(address=address, action='failed',
                               remote_mta=host, diagnostic=words)
    assert mine.match('bounce', report('a@gmail.com')) is not None
    evidence = mine.match('bounce', report('a@corp.example',
                                           'aspmx.l.google.com'))
    assert evidence is not None and 'host aspmx.l.google.com' in evidence.facts
    assert mine.why_not('bounce', report('a@corp.example')) == 'any_of'
    assert mine.why_not('bounce', report('a@corp.example', 'mx.other.example')
                        ) == 'any_of'
    assert mine.why_not('bounce', report('a@gmail.com', words='421')) == 'text'


@pytest.mark.parametrize('tests, places', [
    ('domain: gmail.com\n', {'gmail.com'}),
    ('host: google.com\n', {'google.com'}),
    ('domain: gmail.com\nhost: google.com\nany_of: domain host\n',
     {'gmail.com', 'google.com'}),
    # A place that is only one alternative of the words: anywhere.
    ('domain: gmail.com\nany_of: domain text\n', None),
    ('', None),
])
def test_a_rule_says_where_it_can_match(tmp_path, tests, places):
    rules = tmp_path / 'rules.cfg'
    rules.write_text('[rule.mine]\nclassification: soft\naction: record\n'
                     + tests + 'text: unusual rate\n')
    [mine] = [rule for rule in load_rules(str(rules)) if rule.name == 'mine']
    assert mine.places == (frozenset(places) if places else None)


def test_a_rule_set_skips_a_provider_elsewhere_and_only_there(tmp_path):
    """Skipping by place is a shortcut: every decision is the one the
    rules tried in order would make."""
    from mailman_bouncerules.classify.report import RecipientReport
    rules = tmp_path / 'rules.cfg'
    rules.write_text(
        '[rule.at-gmail]\nclassification: soft\naction: record\n'
        'domain: gmail.com\nhost: google.com\nany_of: domain host\n'
        'text: unusual rate\n'
        '[rule.gmail-or-words]\nclassification: soft\naction: record\n'
        'domain: gmail.com\nany_of: domain text\ntext: unusual rate\n')
    ruleset = RuleSet.from_files(str(rules))

    def rule_for(address, host=None):
        recipient = RecipientReport(address=address, action='failed',
                                    remote_mta=host,
                                    diagnostic='421 unusual rate')
        return ruleset.decide('bounce', recipient).rule
    assert rule_for('a@gmail.com') == 'at-gmail'
    assert rule_for('a@corp.example', 'ASPMX.L.Google.COM.') == 'at-gmail'
    assert rule_for('a@corp.example', 'mx.other.example') == 'gmail-or-words'
