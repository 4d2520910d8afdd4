"""The `bouncerules classify` contract that scripts rely on."""

import json

from click.testing import CliRunner

from mailman_bouncerules.commands.standalone import bouncerules
from mailman_bouncerules.tools.testing import samples


def bounce_files(tmp_path):
    unknown = tmp_path / 'unknown.eml'
    unknown.write_bytes(samples.rfc3464(
        'bart@example.org', '5.1.1',
        '550 5.1.1 <bart@example.org>: Recipient address rejected: '
        'User unknown in local recipient table'))
    spam = tmp_path / 'spam.eml'
    spam.write_bytes(samples.rfc3464(
        'cris@example.org', '5.7.1', '550 5.7.1 Message rejected as spam'))
    return str(unknown), str(spam)


def test_json_contract(tmp_path):
    unknown, spam = bounce_files(tmp_path)
    result = CliRunner().invoke(bouncerules, ['classify', '--json', unknown, spam])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first == {
        'file': unknown,
        'kind': 'bounce',
        'recipients': [{
            'address': 'bart@example.org',
            'status': '5.1.1',
            'smtp_code': '550',
            'diagnostic': first['recipients'][0]['diagnostic'],
            'classification': 'hard',
            'action': 'unsubscribe',
            'rule': 'user-unknown',
        }],
        'problems': [],
    }
    assert 'User unknown' in first['recipients'][0]['diagnostic']
    assert second['recipients'][0]['action'] == 'record'
    assert second['recipients'][0]['classification'] == 'soft'


def test_table_explains(tmp_path):
    unknown, _spam = bounce_files(tmp_path)
    result = CliRunner().invoke(bouncerules, ['classify', unknown])
    assert result.exit_code == 0
    assert 'bart@example.org' in result.output
    assert 'unsubscribe' in result.output
    assert 'why: rule user-unknown' in result.output


def test_unreadable_file_reported_after_the_others(tmp_path):
    unknown, spam = bounce_files(tmp_path)
    missing = str(tmp_path / 'missing.eml')
    try:
        # click before 8.2 (Debian 12 and 13) mixes stderr in unless told.
        runner = CliRunner(mix_stderr=False)
    except TypeError:
        runner = CliRunner()
    result = runner.invoke(
        bouncerules, ['classify', '--json', unknown, missing, spam])
    assert result.exit_code == 1
    assert 'cannot read %s' % missing in result.stderr
    files = [json.loads(line)['file'] for line in result.stdout.splitlines()]
    assert files == [unknown, spam]


def test_rules_option_applies(tmp_path):
    unknown, _spam = bounce_files(tmp_path)
    rules = tmp_path / 'rules.cfg'
    rules.write_text('[rule.user-unknown]\naction: count\n')
    result = CliRunner().invoke(
        bouncerules, ['classify', '--json', '--rules', str(rules), unknown])
    assert json.loads(result.output)['recipients'][0]['action'] == 'count'


def test_bad_rules_file_is_a_clear_error(tmp_path):
    unknown, _spam = bounce_files(tmp_path)
    rules = tmp_path / 'rules.cfg'
    rules.write_text('[rule.broken]\ntext: (\nclassification: hard\n'
                     'action: count\n')
    result = CliRunner().invoke(
        bouncerules, ['classify', '--rules', str(rules), unknown])
    assert result.exit_code != 0
    assert 'rule broken' in result.output
    assert 'bad text pattern' in result.output


def test_rules_lists_the_order_and_where_each_rule_came_from(tmp_path):
    mine = tmp_path / 'mine.cfg'
    mine.write_text('[rule.my-first]\nclassification: soft\naction: record\n'
                    'text: vacances\n\n[rule.user-unknown]\naction: count\n')
    result = CliRunner().invoke(bouncerules, ['rules', '--rules', str(mine)])
    assert result.exit_code == 0, result.output
    header, *lines = result.output.splitlines()
    assert header.split()[:3] == ['#', 'rule', 'class']
    assert lines[0].split()[:2] == ['1.', 'my-first']
    assert lines[0].rstrip().endswith(str(mine))
    [changed] = [line for line in lines if ' user-unknown ' in line]
    assert 'count' in changed and 'changed by %s' % mine in changed


def test_explain_shows_what_was_read_and_each_rule_before_the_winner(
        tmp_path):
    _unknown, spam = bounce_files(tmp_path)
    result = CliRunner().invoke(bouncerules, ['explain', spam])
    assert result.exit_code == 0, result.output
    assert 'read: status 5.7.1, reply 550' in result.output
    assert 'blocklisted                          no: any_of' in result.output
    assert 'YES: rule spam-or-content' in result.output
    # Nothing after the winner is listed.
    assert 'user-unknown ' not in result.output
