"""A rule's `example:` lines, read as the recipient reports they stand for.

An example is the server's words, optionally after facts and a bar:

    example: 550 5.1.1 <anne@example.org>: Recipient address rejected: User unknown
    example: command=data | 550 Unknown user
    example: kind=autoreply | I am out of the office until Monday

Status, reply code and SMTP command are read from the words as the parser
reads them, unless a fact says otherwise.  Facts: kind, action (the DSN's),
status, code, command, domain (the recipient's), host (the remote MTA's).
"""


from public import public

from mailman_bouncerules.classify.parsing.codes import (
    first_smtp_code,
    first_status,
    smtp_command,
)
from mailman_bouncerules.classify.report import RecipientReport
from mailman_bouncerules.interfaces import Kind

_FACTS = frozenset(('kind', 'action', 'status', 'code', 'command', 'domain',
                    'host'))


@public
class ExampleError(ValueError):
    """An example line that does not say what it stands for."""


@public
def example_report(line: str) -> tuple[Kind, RecipientReport]:
    """(kind, RecipientReport) for one example line."""
    facts, bar, words = line.partition(' | ')
    if not bar:
        facts, words = '', line
    given = {}
    for fact in facts.split():
        name, equals, value = fact.partition('=')
        if not equals or name not in _FACTS:
            raise ExampleError('unknown example fact %r (known: %s)'
                               % (fact, ', '.join(sorted(_FACTS))))
        given[name] = value
    recipient = RecipientReport(
        address='member@%s' % given.get('domain', 'example.org'),
        action=given.get('action', 'failed'),
        status=given.get('status') or first_status(words),
        smtp_code=given.get('code') or first_smtp_code(words),
        diagnostic=words,
        smtp_command=(given['command'].upper() if 'command' in given
                      else smtp_command(words)),
        remote_mta=given.get('host'))
    return Kind(given.get('kind', Kind.BOUNCE)), recipient
