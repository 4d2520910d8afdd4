"""The parser's one entry point: bytes in, `BounceReport` out."""

import re
from email.message import Message
from itertools import islice

from flufl.bounce import all_failures

from mailman_bouncerules.classify.parsing import dsn, freetext, kinds, ses
from mailman_bouncerules.classify.parsing.budget import Reading, ReadingLimits
from mailman_bouncerules.classify.parsing.codes import clean_address, find_addresses
from mailman_bouncerules.classify.parsing.mime import (
    DELIVERY_STATUS_TYPES,
    FEEDBACK_TYPE,
    RETURNED_MESSAGE_TYPES,
    decoded_text,
    field_text,
    html_to_text,
    load_message,
    walk_notification,
)
from mailman_bouncerules.classify.report import (
    BounceReport,
    OriginalMessage,
    RecipientReport,
)
from mailman_bouncerules.interfaces import Kind

TOKEN_HEADER = 'X-BounceRules-Token'
_HEADERS_IN_TEXT = re.compile(
    r'^(Message-I[dD]|List-Id|Message-ID-Hash|%s)[ \t]*:[ \t]*(.+)$'
    % TOKEN_HEADER, re.IGNORECASE | re.MULTILINE)
_SHORT_NOTICE = 300
_INLINE_TO = re.compile(r'^To:[ \t]*(.+)$', re.MULTILINE)
_SYSTEM_SENDER = re.compile(
    r'(?:^|\s)(?:mailer-daemon|postmaster|mail-daemon|maildaemon|'
    r'mail\.delivery|double-bounce)@|^$', re.IGNORECASE)
# A person's reply or forward ("Re: delivery failed?") is no notice.
_REPLY_SUBJECT = re.compile(r'\s*(?:re|aw|sv|vs|antw|odp|fwd?|wg|tr|rv)\s*:',
                            re.IGNORECASE)
_BOUNCE_SUBJECT = re.compile(
    r'undeliver|undelivered|delivery (?:status|failure|report|has failed|'
    r'notification)|returned mail|mail delivery failed|failure notice|'
    r'could not be delivered|not delivered|delivery problem|nondeliverable|'
    r'non-delivery|rejected|delayed mail|warning: could not send|'
    r'\bfail(?:ed|ure)\b|\bbounced?\b|delivery error|mail error|'
    # The subjects of Exchange's and Outlook's reports in other languages,
    # and Japanese providers' "mail error" notices.
    r'unzustellbar|non remis|no se puede entregar|non recapitabile|'
    r'onbestelbaar|n[ãa]o (?:é|e) poss[íi]vel entregar|niedostarczalne|'
    r'не доставлено|配信不能|无法传递|退信|メールエラー|配信エラー|送信エラー|不達',
    re.IGNORECASE)


def parse_bounce(data: bytes | str | Message,
                 reading: Reading | None = None) -> BounceReport:
    """Read a notification; never raises on bad input.

    `reading` is the budget to spend (`ReadingLimits().start()` if none is
    given).  What could not be read (broken MIME, or what lay past the
    budget) is listed in `problems` so that a caller can log it; the report
    is then as complete as the message and the budget allowed.
    """
    reading = reading or ReadingLimits().start()
    try:
        message = load_message(data)
    except Exception as error:
        return BounceReport(kind=Kind.NOT_BOUNCE,
                            problems=['unreadable message: %s' % error])
    try:
        report = _parse(message, reading)
    except RecursionError:
        report = BounceReport(kind=Kind.NOT_BOUNCE,
                              problems=['MIME structure too deeply nested'])
    report.problems.extend(reading.problems)
    reading.problems.clear()
    return report


def _parse(message: Message, reading: Reading) -> BounceReport:
    headers = _header_map(message)
    subject = ' '.join(' '.join(headers.get('subject', ())).split())
    status_texts, human_texts, feedback_text = [], [], None
    returned = None
    mime_types = set()
    for part, mime_type in walk_notification(message):
        if reading.out_of_time() or not reading.chars_left:
            break
        mime_types.add(mime_type)
        if mime_type in DELIVERY_STATUS_TYPES:
            status_texts.append(reading.take(_delivery_status_text(
                part, reading.limits.max_recipients)))
        elif mime_type == FEEDBACK_TYPE:
            feedback_text = reading.take(decoded_text(part))
        elif mime_type in RETURNED_MESSAGE_TYPES:
            if returned is None:
                returned = _returned_headers(part)
        elif mime_type in ('text/plain', 'text/html') or not part.is_multipart():
            if part is not message and not mime_type.startswith('text/'):
                continue    # attachments, images
            text = reading.take(decoded_text(part))
            if mime_type == 'text/html':
                text = html_to_text(text)
            if dsn.looks_like_dsn(text) and not status_texts:
                status_texts.append(text)
            human_texts.append(text)
    notice, quoted = freetext.split_notification('\n'.join(human_texts))
    original = _original_identity(returned, quoted)
    report = BounceReport(kind=Kind.NOT_BOUNCE, original=original,
                          subject=subject or None)
    if kinds.is_feedback_report(message, mime_types, returned):
        report.kind = Kind.FEEDBACK
        report.recipients = kinds.feedback_recipients(
            message, feedback_text, returned)
        return report
    found = ses.ses_notification(notice)
    if found is not None:
        report.kind, report.recipients = found
        return report
    enough = reading.limits.max_recipients + 1
    recipients: list[RecipientReport] = []
    for text in status_texts:
        recipients.extend(islice(dsn.recipient_blocks(text),
                                 enough - len(recipients)))
    addresses = _header_addresses(headers)
    looks_like_bounce = _looks_like_bounce(headers, addresses, subject)
    # Prose alone names failed recipients only in a notice from a mail
    # system: a person's reply that quotes "550 5.1.1 user unknown for
    # carl@..." is no bounce of carl's.
    prose = [] if reading.out_of_time() or not (
        recipients or looks_like_bounce or _from_null_sender(headers)
    ) else list(
        freetext.recipients_in_text(
            notice, with_preamble=not recipients,
            ignored=_addresses_in(addresses, 'from', 'sender', 'return-path'),
            unlikely=_addresses_in(addresses, 'to', 'cc', 'reply-to'),
            known=_addresses_in(addresses, 'x-failed-recipients')[:enough],
            subject=subject, limit=enough))
    if (not recipients and not looks_like_bounce
            and kinds.is_auto_reply(message)):
        report.kind = Kind.AUTOREPLY
        report.recipients = kinds.auto_reply_recipient(message)
        return report
    recipients = reading.capped(
        _merge(recipients, prose, freetext.notice_summary(notice)))
    if not recipients and looks_like_bounce:
        recipients = _returned_recipient(returned, notice, quoted)
    if not recipients and not reading.out_of_time():
        if _small_enough_for_stock(message):
            recipients = reading.capped(_found_by_stock(message, notice))
        else:
            reading.note('stock detector not run: over %d parts, %d '
                         'characters or lines of %d' % (
                             STOCK_MAX_PARTS, STOCK_MAX_CHARS,
                             STOCK_MAX_LINE))
    if recipients and any(r.is_failure for r in recipients):
        report.kind = Kind.BOUNCE
    elif recipients:
        report.kind = Kind.DELIVERED
    report.recipients = recipients
    return report


def _delivery_status_text(part: Message, max_recipients: int) -> str:
    payload = part.get_payload()
    if isinstance(payload, list):
        # Already split into header blocks by the email package; writing
        # them back field by field is much cheaper than as_string().  One
        # block per recipient and one for the message: no more are read.
        # A message/global-delivery-status (RFC 6533) is parsed as one
        # message: its per-message fields, and the per-recipient ones as
        # that message's body.
        return '\n\n'.join(
            '\n'.join('%s: %s' % (name, field_text(block, name, value))
                      for name, value in block.raw_items())
            + ('\n\n' + decoded_text(block) if _has_body(block) else '')
            for block in payload[:max_recipients + 2]
            if isinstance(block, Message))
    return decoded_text(part)


def _has_body(block: Message) -> bool:
    """Does a report's header block carry text after its fields?  A
    message/global-delivery-status one does (its per-recipient fields), as
    does one cut short by a malformed continuation line; an ordinary
    block's body is empty and is not decoded."""
    body = block.get_payload()
    return isinstance(body, str) and bool(body.strip())


def _returned_headers(part: Message) -> Message | None:
    """The returned original's headers, as a Message, when they came back."""
    payload = part.get_payload()
    if isinstance(payload, list) and payload and \
            isinstance(payload[0], Message):
        return payload[0]
    text = decoded_text(part)
    try:
        return load_message(text.split('\n\n', 1)[0] + '\n\n')
    except Exception:
        return None


_IDENTITY_HEADERS = frozenset(
    ('message-id', 'list-id', 'message-id-hash', TOKEN_HEADER.lower()))


def _original_identity(returned: Message | None,
                       quoted: str) -> OriginalMessage:
    found: dict[str, str] = {}
    if returned is not None:
        # One pass over the original's headers, a post's dozens, each
        # name's first value as `returned.get(name)` gives it.
        first: dict[str, object] = {}
        fetch = returned.policy.header_fetch_parse
        for name, value in returned.raw_items():
            key = name.lower()
            if key in _IDENTITY_HEADERS and key not in first:
                first[key] = fetch(name, value)
        for key, fetched in first.items():
            if fetched:
                found[key] = ' '.join(str(fetched).split())
    for name, quoted_value in _HEADERS_IN_TEXT.findall(quoted):
        found.setdefault(name.lower(), quoted_value.strip())
    return OriginalMessage(
        message_id=found.get('message-id'),
        message_id_hash=found.get('message-id-hash'),
        list_id=found.get('list-id'),
        token=found.get(TOKEN_HEADER.lower()))


# The notice's own headers the reading looks at.
_READ_HEADERS = frozenset({
    'subject', 'from', 'sender', 'return-path', 'to', 'cc', 'reply-to',
    'x-failed-recipients', 'x-mailfrom'})


def _header_map(message: Message) -> dict[str, list[str]]:
    """{lower-case name: [values]} of the headers read: one pass instead of
    a scan per lookup, and only those values decoded (a notice carries
    dozens of Received and provider headers nobody reads)."""
    headers: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        key = name.lower()
        if key in _READ_HEADERS:
            headers.setdefault(key, []).append(
                field_text(message, name, value))
    return headers


# The notice's headers that name addresses.
_ADDRESS_HEADERS = ('from', 'sender', 'return-path', 'to', 'cc', 'reply-to',
                    'x-failed-recipients')


def _header_addresses(headers: dict[str, list[str]]) -> dict[str, list[str]]:
    """{header name: the addresses in its values}, each header read once:
    the reading asks for the sender's headers twice."""
    return {name: [address for value in headers[name]
                   for match in find_addresses(value)
                   if (address := clean_address(match.group(0)))]
            for name in _ADDRESS_HEADERS if name in headers}


def _addresses_in(addresses: dict[str, list[str]],
                  *names: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(address for name in names
                               for address in addresses.get(name, ())))


def _looks_like_bounce(headers: dict[str, list[str]],
                       addresses: dict[str, list[str]], subject: str) -> bool:
    """Sent by a mail system about a failure, going by its envelope."""
    sender = ' '.join(_addresses_in(addresses, 'from', 'return-path'))
    return bool(_SYSTEM_SENDER.search(sender)
                or (_BOUNCE_SUBJECT.search(subject)
                    and not _REPLY_SUBJECT.match(subject))
                or 'x-failed-recipients' in headers)


def _from_null_sender(headers: dict[str, list[str]]) -> bool:
    """Sent with an empty envelope sender, as notifications are (RFC 5321
    section 4.5.5) and auto-replies should be (RFC 3834): Mailman's LMTP
    runner keeps the envelope sender as X-MailFrom, a delivering MTA as
    Return-Path."""
    return any(value.strip() in ('', '<>')
               for name in ('return-path', 'x-mailfrom')
               for value in headers.get(name, ()))


# What stock Mailman's detector (flufl.bounce) may be given: it has no
# budget of its own, and costs about 0.4 s per MB of text and 40 us per
# part, more on long lines.  Notices it finds someone in that the parser
# does not are short and plain.
STOCK_MAX_PARTS = 100
STOCK_MAX_CHARS = 256 * 1024
STOCK_MAX_LINE = 4096


def _small_enough_for_stock(message: Message) -> bool:
    """Whether the message is within what the stock detector is given;
    counts stop at the first limit passed."""
    chars = 0
    for parts, part in enumerate(message.walk(), start=1):
        if parts > STOCK_MAX_PARTS:
            return False
        if part.is_multipart():
            continue
        try:
            payload = part.get_payload(decode=True)
        except Exception:
            return False
        if not isinstance(payload, bytes):
            continue
        chars += len(payload)
        if chars > STOCK_MAX_CHARS or any(
                len(line) > STOCK_MAX_LINE for line in payload.splitlines()):
            return False
    return True


def _found_by_stock(message: Message, notice: str) -> list[RecipientReport]:
    """What stock Mailman's detector (flufl.bounce) finds, when this parser
    finds no one: each gets the notice's words, but no status or reply
    code, because flufl.bounce does not say which words are about whom;
    so the rules can count such a failure, never remove on it."""
    try:
        temporary, permanent = all_failures(message)
    except Exception:
        return []
    summary = freetext.notice_summary(notice)
    found: dict[str, RecipientReport] = {}
    for action, addresses in (('failed', permanent), ('delayed', temporary)):
        for raw in sorted(addresses):
            address = clean_address(raw.decode('utf-8', 'replace'))
            if address and '@' in address and address not in found:
                found[address] = RecipientReport(
                    address=address, action=action, diagnostic=summary)
    return list(found.values())


def _returned_recipient(returned: Message | None, notice: str,
                        quoted: str) -> list[RecipientReport]:
    """Last resort: the returned original's single To address.

    Some notices ("Delivery report unavailable", old Sendmail transcripts)
    never name the recipient; when the original went to exactly one
    address, that is the one that failed.
    """
    if returned is not None:
        to_header = str(returned.get('To', ''))
    else:
        match = _INLINE_TO.search(quoted)
        to_header = match.group(1) if match else ''
    to = [match.group(0).lower() for match in find_addresses(to_header)]
    if len(set(to)) != 1:
        return []
    return list(freetext.recipients_in_text(notice, known=(to[0],)))[:1]


def _merge(from_dsn: list[RecipientReport], from_prose: list[RecipientReport],
           notice: str | None = None) -> list[RecipientReport]:
    """DSN fields win; the prose fills in what the DSN left out.

    A DSN that names no recipient (or names none the prose does) leaves the
    prose's recipients standing.
    """
    if not from_dsn:
        return from_prose
    by_address = {r.address: r for r in from_prose}
    merged = []
    for report in from_dsn:
        prose = (by_address.get(report.address)
                 or by_address.get(report.original_address or ''))
        if (prose is None and len(from_dsn) == 1 and notice
                and len(notice) <= _SHORT_NOTICE):
            # A short notice that never names the address is still about
            # the one recipient, and says why in few words: keep them as
            # evidence too.  (Long notices are boilerplate.)
            prose = RecipientReport(address=report.address, diagnostic=notice)
        if prose is not None:
            report.status = report.status or prose.status
            report.smtp_code = report.smtp_code or prose.smtp_code
            report.smtp_command = report.smtp_command or prose.smtp_command
            report.diagnostic = _join_diagnostics(report.diagnostic,
                                                  prose.diagnostic)
        merged.append(report)
    return _unique(merged)


def _join_diagnostics(from_dsn: str | None, from_prose: str | None) -> str | None:
    """Both the DSN's and the notice's words, so no evidence is dropped.

    When the two disagree (the DSN says "user unknown", the notice "not
    enough disk space") the rules see both, and the more cautious rule,
    which comes first, wins.
    """
    if not from_prose or (from_dsn and from_prose in from_dsn):
        return from_dsn
    if not from_dsn or len(from_dsn) < 8:
        return from_prose
    if from_dsn in from_prose:
        return from_prose
    return '%s / %s' % (from_dsn, from_prose[:600])


def _unique(reports: list[RecipientReport]) -> list[RecipientReport]:
    seen, unique = set(), []
    for report in reports:
        if report.address not in seen:
            seen.add(report.address)
            unique.append(report)
    return unique
