"""RFC 3464 delivery status fields, wherever they turn up.

Standard DSNs carry them in a message/delivery-status part; some MTAs put
the same fields into a text/plain part or the body.  Both go through
`recipient_blocks()`.
"""

import re
from collections.abc import Iterator

from mailman_bouncerules.classify.parsing.codes import (
    first_smtp_code,
    first_status,
    smtp_command,
    strip_address,
)
from mailman_bouncerules.classify.report import RecipientReport

_FIELD = re.compile(r'^([A-Za-z][A-Za-z0-9-]*)[ \t]*:[ \t]*(.*)$')
# Longer than any honest server reply (RFC 5321 lines are at most 512
# characters, and a reply has a few).
MAX_FIELD_CHARS = 2000
_RECIPIENT_FIELDS = ('final-recipient', 'original-recipient',
                     'x-actual-recipient')
# Fields that only ever appear in delivery status blocks: seeing two of them
# in a text part means the MTA wrote a DSN without the right MIME type.
_DSN_MARKERS = re.compile(
    r'^(Final-Recipient|Original-Recipient|Reporting-MTA|Diagnostic-Code)'
    r'[ \t]*:', re.IGNORECASE | re.MULTILINE)


def looks_like_dsn(text: str) -> bool:
    first = _DSN_MARKERS.search(text, 0, 20000)
    return first is not None and _DSN_MARKERS.search(
        text, first.end(), 20000) is not None


def field_blocks(text: str) -> list[dict[str, str]]:
    """Split DSN text into blocks of {lower-case field name: value}.

    Continuation lines are unfolded, up to MAX_FIELD_CHARS per field; a
    repeated field keeps its first value because later ones are usually the
    MTA's afterthoughts.
    """
    blocks: list[dict[str, str]] = []
    fields: dict[str, list[str]] = {}
    name: str | None = None
    for line in text.splitlines():
        if not line.strip():
            if fields:
                blocks.append(_joined(fields))
            fields, name = {}, None
            continue
        if line[0] in ' \t' and name is not None:
            fields[name].append(line.strip())
            continue
        match = _FIELD.match(line)
        if match is None:
            name = None
            continue
        name = match.group(1).lower()
        if name in _RECIPIENT_FIELDS and name in fields:
            # Some MTAs forget the blank line between recipient blocks.
            blocks.append(_joined(fields))
            fields = {}
        value = match.group(2).strip()
        if fields.setdefault(name, [value])[0] != value:
            name = None     # do not glue continuations onto a duplicate
    if fields:
        blocks.append(_joined(fields))
    return blocks


def _joined(fields: dict[str, list[str]]) -> dict[str, str]:
    """Each field's lines unfolded into one value, bounded in length."""
    return {name: ' '.join(lines)[:MAX_FIELD_CHARS]
            for name, lines in fields.items()}


def recipient_blocks(text: str) -> Iterator[RecipientReport]:
    """Yield a `RecipientReport` per recipient block of DSN text."""
    reporting_mta = None
    for fields in field_blocks(text):
        if 'reporting-mta' in fields and reporting_mta is None:
            reporting_mta = _typed_value(fields['reporting-mta'])
        final = _address(fields.get('final-recipient'))
        original = _address(fields.get('original-recipient'))
        actual = _address(fields.get('x-actual-recipient'))
        address = final or actual or original
        if address is None:
            continue
        diagnostic = _typed_value(fields.get('diagnostic-code', '')) or None
        status = _most_specific(first_status(fields.get('status', '')),
                                first_status(diagnostic or ''))
        yield RecipientReport(
            address=address,
            original_address=original if original != address else None,
            action=(fields.get('action') or '').split()[0].lower()
            if fields.get('action') else None,
            status=status,
            smtp_code=first_smtp_code(diagnostic or ''),
            diagnostic=diagnostic,
            smtp_command=smtp_command(diagnostic),
            remote_mta=_typed_value(fields.get('remote-mta', '')) or None,
            reporting_mta=reporting_mta)


def _most_specific(reported: str | None, replied: str | None) -> str | None:
    """The remote server's own code beats the reporting MTA's generic one.

    MTAs fill Status with X.0.0 when they have nothing better, even when
    the server's reply quoted in Diagnostic-Code says "5.7.1".
    """
    if reported is None or (replied is not None
                            and reported.endswith('.0.0')
                            and replied[0] == reported[0]):
        return replied or reported
    return reported


_TYPE_PREFIX = re.compile(r'\s*[A-Za-z0-9-]{2,12}\s*')


def _typed_value(value: str) -> str:
    """Drop the RFC 3464 type prefix: 'smtp; 550 ...' -> '550 ...'."""
    head, sep, rest = value.partition(';')
    if sep and _TYPE_PREFIX.fullmatch(head):
        return rest.strip()
    return value.strip()


def _address(value: str | None) -> str | None:
    if not value:
        return None
    return strip_address(_typed_value(value))
