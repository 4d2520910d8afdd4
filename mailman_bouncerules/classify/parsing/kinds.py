"""Notifications that are not delivery failures: complaints, auto-replies."""

import re
from email.message import Message

from mailman_bouncerules.classify.parsing.codes import strip_address
from mailman_bouncerules.classify.parsing.dsn import field_blocks
from mailman_bouncerules.classify.parsing.mime import header_text
from mailman_bouncerules.classify.report import RecipientReport

_FEEDBACK_REPORT_TYPE = re.compile(r'report-type\s*=\s*"?feedback-report',
                                   re.IGNORECASE)
_AUTOREPLY_SUBJECT = re.compile(
    r'\b(?:out of (?:the )?office|auto(?:matic)?[ -]?(?:reply|response|antwort)|'
    r'autoreply|away until|on vacation|vacation|abwesenheit|absence|'
    r'r[ée]ponse automatique|automatisch antwoord|respuesta autom[aá]tica)\b',
    re.IGNORECASE)


def is_feedback_report(message: Message, mime_types: set[str],
                       returned_headers: Message | None) -> bool:
    """RFC 5965 reports, Hotmail's JMRP and Apple's one-click unsubscribe."""
    if 'message/feedback-report' in mime_types:
        return True
    if (returned_headers is not None
            and returned_headers.get('X-HmXmrOriginalRecipient')):
        return True
    if _FEEDBACK_REPORT_TYPE.search(str(message.get('Content-Type', ''))):
        return True
    return str(message.get('X-Apple-Unsubscribe', '')).strip().lower() == 'true'


def feedback_recipients(message: Message, feedback_text: str | None,
                        returned_headers: Message | None
                        ) -> list[RecipientReport]:
    """Who complained: the report's recipient fields, else the original's To."""
    addresses = []
    for fields in field_blocks(feedback_text or ''):
        for name in ('original-rcpt-to', 'removal-recipient'):
            if name in fields:
                addresses.append(strip_address(fields[name]))
    addresses.extend(_all_field_values(feedback_text or '',
                                       'Original-Rcpt-To'))
    for header in ('X-HmXmrOriginalRecipient', 'To'):
        if returned_headers is not None and not any(addresses):
            addresses.append(strip_address(header_text(
                returned_headers.get(header, ''))))
    if not any(addresses) and message.get('X-Apple-Unsubscribe'):
        addresses.append(strip_address(header_text(message.get('From', ''))))
    unique = list(dict.fromkeys(a for a in addresses if a))
    return [RecipientReport(address=address, action='failed',
                            diagnostic=_feedback_type(feedback_text))
            for address in unique]


def _all_field_values(text: str, name: str) -> list[str | None]:
    pattern = re.compile(r'^%s\s*:\s*(.+)$' % name, re.IGNORECASE | re.MULTILINE)
    return [strip_address(value) for value in pattern.findall(text)]


def _feedback_type(text: str | None) -> str:
    match = re.search(r'^Feedback-Type\s*:\s*(\S+)', text or '',
                      re.IGNORECASE | re.MULTILINE)
    return 'feedback report: %s' % match.group(1) if match else 'feedback report'


def is_auto_reply(message: Message) -> bool:
    """RFC 3834 marks, the older vendor headers, or a vacation subject."""
    auto_submitted = str(message.get('Auto-Submitted', '')).lower()
    if auto_submitted.startswith('auto-replied'):
        return True
    for header in ('X-Autoreply', 'X-Autorespond', 'X-Autoresponder'):
        if message.get(header) is not None:
            return True
    if str(message.get('Precedence', '')).lower() == 'auto_reply':
        return True
    return bool(_AUTOREPLY_SUBJECT.search(str(message.get('Subject', ''))))


def auto_reply_recipient(message: Message) -> list[RecipientReport]:
    address = strip_address(header_text(message.get('From', '')))
    if address is None:
        return []
    return [RecipientReport(address=address, action='failed',
                            diagnostic='auto-reply: %s'
                            % ' '.join(header_text(message.get('Subject', ''))
                                       .split()))]
