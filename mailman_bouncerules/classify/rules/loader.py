"""Reading rule files: the shipped defaults, then the admin's changes.

A rule file is Mailman-style ini.  Each `[rule.NAME]` section is a rule;
sections are tried in file order.  In the admin's file, a new name is tried
before every default rule, a default's name changes just the keys given
(`enabled: no` switches it off).  Any mistake stops loading with the file,
the rule and the reason: a bounce handler that silently ignores its
configuration would remove the wrong people.
"""

import re
from collections.abc import Iterator, Sequence
from configparser import ConfigParser
from configparser import Error as ConfigParserError
from importlib.resources import files
from importlib.resources.abc import Traversable
from os import PathLike
from typing import Union

from public import public

from mailman_bouncerules.classify.rules.backtracking import backtracking_risk
from mailman_bouncerules.classify.rules.rule import (
    ACTIONS,
    CLASSIFICATIONS,
    SEVERITIES,
    Rule,
)

# Where rules come from, as error messages name it: the admin's file or
# the packaged defaults.
Where = Union[str, 'PathLike[str]', Traversable]
# A rule file's sections: {section name: {key: value}}.
Sections = dict[str, dict[str, str]]

DEFAULT_RULES = files('mailman_bouncerules.config') / 'default-rules.cfg'
DEFAULT_ORIGIN = 'the default rules'

_KEYS = frozenset((
    'description', 'classification', 'action', 'reason', 'enabled', 'kind',
    'dsn_action', 'severity', 'smtp_command', 'status', 'smtp_code', 'text',
    'unless', 'domain', 'host', 'source', 'example', 'any_of'))
_ALTERNATIVES = ('status', 'smtp_code', 'smtp_command', 'text', 'domain',
                 'host')
_CRITERIA = ('kind', 'dsn_action', 'severity', 'smtp_command', 'status',
             'smtp_code', 'text', 'domain', 'host')
_HOST_NAME = re.compile(r'^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)*'
                        r'[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$')
_SMTP_COMMANDS = ('rcpt', 'data', 'mail', 'helo')
_STATUS = re.compile(r'^(?:\*|[245](?:\.\*|\.\d{1,3}(?:\.\*|\.\d{1,3})?)?)$')
_SMTP = re.compile(r'^[245][\d*]{0,2}$')
_KINDS = ('bounce', 'feedback', 'autoreply', 'delivered', 'not-bounce')
_DSN_ACTIONS = ('failed', 'delayed', 'delivered', 'relayed', 'expanded')


@public
class RulesError(Exception):
    """A rule file that cannot be used, and exactly why."""

    def __init__(self, path: Where, rule: str | None, reason: str) -> None:
        self.path, self.rule, self.reason = str(path), rule, reason
        where = '%s, rule %s' % (self.path, rule) if rule else self.path
        super().__init__('%s: %s' % (where, reason))


@public
def load_rules(admin_path: str | PathLike[str] | None = None) -> list[Rule]:
    """The rules in force: defaults, changed by the admin's file if given."""
    sections, words = _read(DEFAULT_RULES.read_text(encoding='utf-8'),
                            DEFAULT_RULES)
    origins = dict.fromkeys(sections, DEFAULT_ORIGIN)
    source: Where = DEFAULT_RULES
    if admin_path:
        try:
            text = open(admin_path, encoding='utf-8').read()
        except OSError as error:
            raise RulesError(admin_path, None, 'cannot read rule file: %s'
                             % error.strerror) from None
        added = []
        admin_sections, admin_words = _read(text, admin_path)
        _refuse_backtracking(admin_sections, admin_words, admin_path)
        words.update(admin_words)
        for name, values in admin_sections.items():
            if name in sections:
                sections[name] = {**sections[name], **values}
                origins[name] = '%s, changed by %s' % (DEFAULT_ORIGIN,
                                                       admin_path)
            else:
                added.append((name, values))
                origins[name] = str(admin_path)
        sections = {**dict(added), **sections}
        source = admin_path
    rules = []
    for name, values in sections.items():
        rule = _build(name, values, words, source, origins)
        if rule is not None:
            rules.append(rule)
    return rules


def _read(text: str, path: Where) -> tuple[Sections, dict[str, str]]:
    parser = ConfigParser(interpolation=None, delimiters=(':', '='),
                          comment_prefixes=('#', ';'),
                          inline_comment_prefixes=None, strict=True)
    parser.optionxform = str.lower  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(text, source=str(path))
    except ConfigParserError as error:
        raise RulesError(path, None, 'not a valid rule file: %s'
                         % ' '.join(str(error).split())) from None
    sections, words = {}, {}
    for section in parser.sections():
        if section.startswith('words.') and len(section) > 6:
            unknown = sorted(set(parser[section]) - {'description', 'text'})
            if unknown:
                raise RulesError(path, section, 'a word list has only '
                                 'description and text, not %s' % ', '.join(unknown))
            words[section[6:]] = parser[section].get('text', '')
            continue
        if not section.startswith('rule.') or len(section) == 5:
            raise RulesError(path, section,
                             'sections must be named [rule.NAME] or [words.NAME]')
        values = dict(parser.items(section))
        unknown = sorted(set(values) - _KEYS)
        if unknown:
            raise RulesError(path, section[5:], 'unknown key(s): %s; known: %s'
                             % (', '.join(unknown), ', '.join(sorted(_KEYS))))
        sections[section[5:]] = values
    return sections, words


def _build(name: str, values: dict[str, str], words: dict[str, str],
           path: Where, origins: dict[str, str]) -> Rule | None:
    enabled = values.get('enabled', 'yes').strip().lower()
    if enabled not in ('yes', 'no', 'true', 'false', 'on', 'off', '1', '0'):
        raise RulesError(path, name, 'enabled must be yes or no')
    if enabled in ('no', 'false', 'off', '0'):
        return None
    classification = _one_of(values, 'classification', CLASSIFICATIONS,
                             path, name)
    action = _one_of(values, 'action', ACTIONS, path, name)
    if classification == 'complaint' and action != 'record':
        raise RulesError(path, name,
                         'a complaint is never counted as a bounce: '
                         'its action must be record')
    if not any(values.get(key, '').strip() for key in _CRITERIA):
        raise RulesError(path, name, 'a rule needs at least one of: %s'
                         % ', '.join(_CRITERIA))
    return Rule(
        name=name,
        classification=classification,
        action=action,
        reason=values.get('reason', '').strip() or name,
        description=' '.join(values.get('description', '').split()),
        kinds=frozenset(_words(values, 'kind', _KINDS, path, name)),
        dsn_actions=frozenset(_words(values, 'dsn_action', _DSN_ACTIONS,
                                     path, name)),
        severities=frozenset(_words(values, 'severity', SEVERITIES,
                                    path, name)),
        smtp_commands=frozenset(word.upper() for word in _words(
            values, 'smtp_command', _SMTP_COMMANDS, path, name)),
        statuses=tuple(_patterns(values, 'status', _STATUS, path, name)),
        smtp_codes=tuple(_patterns(values, 'smtp_code', _SMTP, path, name)),
        texts=tuple(_regexes(_expand(values.get('text', ''), words, path,
                                     name), path, name)),
        vetoes=tuple(_regexes(_expand(values.get('unless', ''), words, path,
                                      name), path, name)),
        domains=tuple(_patterns(values, 'domain', _HOST_NAME, path, name)),
        hosts=tuple(_patterns(values, 'host', _HOST_NAME, path, name)),
        source=' '.join(values.get('source', '').split()),
        examples=tuple(line.strip() for line in values.get(
            'example', '').splitlines() if line.strip()),
        origin=origins.get(name, str(path)),
        any_of=_any_of(values, path, name))


def _any_of(values: dict[str, str], path: Where,
            name: str) -> frozenset[str]:
    """The tests named in `any_of`: one of them passing is enough."""
    keys = frozenset(_words(values, 'any_of', _ALTERNATIVES, path, name))
    missing = sorted(key for key in keys if not values.get(key, '').strip())
    if len(keys) == 1 or missing:
        raise RulesError(path, name, 'any_of names two or more of the '
                         "rule's own tests (%s)" % ', '.join(_ALTERNATIVES))
    return keys


def _one_of(values: dict[str, str], key: str, choices: Sequence[str],
            path: Where, name: str) -> str:
    value = values.get(key, '').strip().lower()
    if value not in choices:
        raise RulesError(path, name, '%s must be one of %s, not %r'
                         % (key, ', '.join(choices), value))
    return value


def _words(values: dict[str, str], key: str, choices: Sequence[str],
           path: Where, name: str) -> list[str]:
    words = values.get(key, '').lower().split()
    for word in words:
        if word not in choices:
            raise RulesError(path, name, '%s %r is not one of %s'
                             % (key, word, ', '.join(choices)))
    return words


def _patterns(values: dict[str, str], key: str, shape: re.Pattern[str],
              path: Where, name: str) -> list[str]:
    patterns = values.get(key, '').lower().split() if key in (
        'domain', 'host') else values.get(key, '').split()
    for pattern in patterns:
        if not shape.match(pattern):
            raise RulesError(path, name, 'bad %s pattern %r' % (key, pattern))
    return patterns


def _expand(text: str, words: dict[str, str], path: Where,
            name: str) -> str:
    """Replace each '@NAME' line with the lines of [words.NAME]."""
    lines = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith('@'):
            if line[1:] not in words:
                raise RulesError(path, name, 'no word list [words.%s]'
                                 % line[1:])
            lines.extend(words[line[1:]].splitlines())
        else:
            lines.append(line)
    return '\n'.join(lines)


def _regexes(text: str, path: Where, name: str) -> Iterator[re.Pattern[str]]:
    """One regular expression per line, matched case-insensitively.

    Lines stay separate expressions: each gets its own literal prefilter
    (see prefilter.py), so most are never run at all.
    """
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            compiled = re.compile(line, re.IGNORECASE)
        except re.error as error:
            raise RulesError(path, name, 'bad text pattern %r: %s'
                             % (line, error)) from None
        yield compiled


def _refuse_backtracking(sections: Sections, words: dict[str, str],
                         path: Where) -> None:
    """Refuse the admin's patterns that can backtrack without bound.

    Only the admin's: the default file's are checked by the test suite
    (test_every_default_pattern_is_safe), not at every start.
    """
    lines = [(name, line) for name, values in sections.items()
             for key in ('text', 'unless')
             for line in values.get(key, '').splitlines()]
    lines += [('words.' + name, line) for name, text in words.items()
              for line in text.splitlines()]
    for name, line in lines:
        line = line.strip()
        if not line or line.startswith('@'):
            continue
        try:
            risk = backtracking_risk(line, re.IGNORECASE)
        except re.error:
            continue                # reported where it is compiled
        if risk:
            raise RulesError(path, name, 'text pattern "%s" can take very '
                             'long to match: %s' % (line, risk))
