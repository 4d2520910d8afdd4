"""Amazon SES notifications delivered by e-mail (SNS topic subscriptions).

SES can report bounces, complaints and deliveries as a JSON document in a
plain e-mail body, optionally wrapped in an SNS envelope whose "Message"
field is the same document as a string.
"""

import json
from collections.abc import Iterator
from typing import Any

from mailman_bouncerules.classify.parsing.codes import (
    first_smtp_code,
    first_status,
    strip_address,
)
from mailman_bouncerules.classify.report import RecipientReport
from mailman_bouncerules.interfaces import Kind

_DECODER = json.JSONDecoder(strict=False)
# A JSON document from a stranger: anything may be anywhere in it, so each
# value is checked where it is read.
JSON = Any


def ses_notification(text: str) -> tuple[Kind, list[RecipientReport]] | None:
    """Return (kind, recipients) for an SES notice, or None."""
    if '"notificationType"' not in text and '\\"notificationType\\"' not in text:
        return None
    document = _first_json_object(text)
    if isinstance(document, dict) and isinstance(document.get('Message'), str):
        document = _first_json_object(document['Message'])
    if not isinstance(document, dict):
        return None
    notification = str(document.get('notificationType', '')).lower()
    if notification == 'bounce':
        return Kind.BOUNCE, list(_bounced(document.get('bounce') or {}))
    if notification == 'complaint':
        complaint = document.get('complaint') or {}
        return Kind.FEEDBACK, [
            RecipientReport(address=address, action='failed',
                            diagnostic='feedback report: %s' % complaint.get(
                                'complaintFeedbackType', 'abuse'))
            for address in _addresses(complaint.get('complainedRecipients'))]
    if notification == 'delivery':
        delivery = document.get('delivery') or {}
        response = str(delivery.get('smtpResponse') or '')
        return Kind.DELIVERED, [
            RecipientReport(address=address, action='delivered',
                            status=first_status(response),
                            smtp_code=first_smtp_code(response),
                            diagnostic=response or None)
            for address in _addresses(
                [{'emailAddress': a} for a in delivery.get('recipients') or ()])]
    return None


def _bounced(bounce: dict[str, JSON]) -> Iterator[RecipientReport]:
    temporary = str(bounce.get('bounceType', '')).lower() == 'transient'
    for entry in bounce.get('bouncedRecipients') or ():
        if not isinstance(entry, dict):
            continue
        address = strip_address(str(entry.get('emailAddress', '')))
        if address is None:
            continue
        diagnostic = str(entry.get('diagnosticCode') or '')
        if diagnostic.lower().startswith('smtp;'):
            diagnostic = diagnostic[5:].strip()
        sub_type = bounce.get('bounceSubType')
        yield RecipientReport(
            address=address,
            action=str(entry.get('action') or
                       ('delayed' if temporary else 'failed')).lower(),
            status=first_status(str(entry.get('status') or '')) or
            first_status(diagnostic),
            smtp_code=first_smtp_code(diagnostic),
            diagnostic=diagnostic or ('SES %s bounce: %s' % (
                bounce.get('bounceType'), sub_type)),
            reporting_mta=str(bounce.get('reportingMTA') or '') or None)


def _addresses(entries: JSON) -> Iterator[str]:
    for entry in entries or ():
        if isinstance(entry, dict):
            address = strip_address(str(entry.get('emailAddress', '')))
            if address:
                yield address


def _first_json_object(text: str) -> JSON:
    start = text.find('{')
    if start < 0:
        return None
    try:
        document, _end = _DECODER.raw_decode(text, start)
    except ValueError:
        return None
    return document
