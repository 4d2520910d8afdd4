"""The small vocabulary every bounce shares: addresses and status codes."""

import re
from collections.abc import Iterator

from mailman_bouncerules.classify.prefilter import Gated

# RFC 3463 class.subject.detail; classes 2, 4 and 5 only.  The class
# digit comes first and the look back after it (no digit or dot before
# it), so that a search skips to the next 2, 4 or 5 instead of trying the
# look back at every character.
STATUS = re.compile(r'([245])(?<![\d.][245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)')
# An SMTP reply code where a reply would stand: at the start of the text or
# after a colon, '<<<', 'said:' ..., followed by a space, '-' or a status.
SMTP_CODE = re.compile(r'(?:^|[\s:(\[>"])([245][0-5]\d)(?=[\s\-.,;:)]|$)')
# An address is a whole word of any script: SMTPUTF8 (RFC 6531) local parts
# and internationalised domains are read whole, and a match never starts or
# ends inside a word (`bärt@example.org` is never read as `rt@example.org`).
# The lookbehind makes a match start only where a local part can start, so
# each word of a long text is tried once, not once per character.
# Undecodable bytes (surrogate escapes, U+FFFD) count as part of a word too.
# A local part may hold any of RFC 5322's atext, '/' included, and '-',
# which each character class below puts last.
_LOCAL_PART = r"\w!#$%&'*+/=?^`{|}~."
ADDRESS = re.compile(
    r"(?<![%s\udc80-\udcff\ufffd-])[%s-]+@" % (_LOCAL_PART, _LOCAL_PART)
    + r'[^\W_](?:[\w-]*[^\W_])?'
    r'(?:\.[^\W_](?:[\w-]*[^\W_])?)+(?![\w-])')
# The local-part characters, read backwards from an '@'.
_LOCAL_PART_REVERSED = re.compile(r'[%s-]+' % _LOCAL_PART)


def find_addresses(text: str) -> Iterator[re.Match[str]]:
    """The matches `ADDRESS.finditer(text)` yields, found from the '@'s.

    Every match's local part ends at an '@' and starts where the run of
    local-part characters before it starts (the look back allows no
    other place), so only that one place is tried for each '@', instead
    of the start of every word of the text: a notice holds few addresses
    among thousands of words.
    """
    position = 0
    backwards = None
    while (at := text.find('@', position)) >= 0:
        if backwards is None:
            backwards = text[::-1]
        local_part = _LOCAL_PART_REVERSED.match(backwards, len(text) - at)
        start = at - len(local_part.group()) if local_part else at
        # A run that starts before `position` started inside the last
        # match, where the look back fails everywhere.
        match = ADDRESS.match(text, start) if position <= start < at else None
        if match is not None:
            yield match
            position = match.end()
        else:
            position = at + 1


# RFC 3463's names of its codes, as DSN generators write them after a code
# ("Status: 5.1.1 (bad destination mailbox address)"): the code's label,
# not the receiving server's words, so never evidence for a rule's text.
_LABELS = (
    'other undefined status', 'other address status',
    'bad destination mailbox address', 'bad destination system address',
    'bad destination mailbox address syntax',
    'destination mailbox address ambiguous', 'destination address valid',
    'destination mailbox has moved, no forwarding address',
    "bad sender's mailbox address syntax", "bad sender's system address",
    'other or undefined mailbox status',
    'mailbox disabled, not accepting messages', 'mailbox full',
    'message length exceeds administrative limit',
    'mailing list expansion problem', 'other or undefined mail system status',
    'mail system full', 'system not accepting network messages',
    'system not capable of selected features', 'message too big for system',
    'system incorrectly configured',
    'other or undefined network or routing status', 'no answer from host',
    'bad connection', 'routing server failure', 'directory server failure',
    'unable to route', 'mail system congestion', 'routing loop detected',
    'delivery time expired', 'other or undefined protocol status',
    'invalid command', 'syntax error', 'too many recipients',
    'invalid command arguments', 'wrong protocol version',
    'other or undefined media error', 'media not supported',
    'conversion required and prohibited',
    'conversion required but not supported', 'conversion with loss performed',
    'conversion failed', 'other or undefined security status',
    'delivery not authorized, message refused',
    'mailing list expansion prohibited',
    'security conversion required but not possible',
    'security features not supported', 'cryptographic failure',
    'cryptographic algorithm not supported', 'message integrity failure')
_LABEL_AFTER_CODE = re.compile(
    r'([245](?<![\d.][245])\.\d{1,3}\.\d{1,3})\s*\(\s*(?:%s)\s*\.?\s*\)'
    % '|'.join(
        re.escape(label).replace(r'\ ', r'\s+') for label in _LABELS),
    re.IGNORECASE)


def without_status_labels(text: str) -> str:
    """`text` with RFC 3463's label of each code dropped ("5.1.1 (bad
    destination mailbox address)" -> "5.1.1")."""
    return _LABEL_AFTER_CODE.sub(r'\1', text) if '(' in text else text


# What some MTAs write in front of an address inside the same word
# ("smtp=anne@example.org", "'anne@example.org'"): never a local part.
_GLUED_PREFIX = re.compile(r"^(?:['`]+|(?:smtp|rfc822|to|for|recipient|addr|address)=)",
                           re.IGNORECASE)
# Mailman's own addresses (a list's -bounces, -owner, -request ...): a
# notice may name them, but they are never a member whose mail bounced.
_LIST_SYSTEM_SUFFIX = re.compile(
    r'-(?:bounces|owner|request|admin|confirm|join|leave|subscribe|'
    r'unsubscribe)(?:\+[^@]*)?@', re.IGNORECASE)


def clean_address(found: str) -> str | None:
    """An address as ADDRESS matched it, in the form recipients are kept:
    lower case, without trailing dots or a glued-on prefix; None if it is
    a list's own system address or nothing is left of its local part."""
    address = _GLUED_PREFIX.sub('', found.strip('.').lower())
    if address.startswith('@') or _LIST_SYSTEM_SUFFIX.search(address):
        return None
    return address


def first_status(text: str) -> str | None:
    match = STATUS.search(text or '')
    return '.'.join(match.groups()) if match else None


def first_smtp_code(text: str) -> str | None:
    match = SMTP_CODE.search(text or '')
    return match.group(1) if match else None


def strip_address(value: str) -> str | None:
    """'<Anne@Example.COM>' or 'rfc822;anne@example.com' -> the address.

    Header fields with raw UTF-8 (SMTPUTF8 DSNs) come from the email
    package with their bytes escaped; they are read as UTF-8 here.
    """
    value = str(value or '')
    if not value.isascii():
        try:
            value = value.encode('utf-8', 'surrogateescape').decode('utf-8')
        except UnicodeError:
            pass
    match = next(find_addresses(value), None)
    if match is None:
        return None
    return clean_address(match.group(0))


# Which SMTP command the remote server was answering.  A "user unknown" in
# reply to RCPT TO is about the address; the same words after DATA come
# from a filter that read the message (Japanese carriers answer filtered
# senders this way), so the rules need to tell them apart.
# Each phrase behind the words it cannot match without (`Gated`): a plain
# substring test skips the expression on the many texts that lack them.
_COMMAND_PHRASES = tuple(Gated(re.compile(pattern, re.IGNORECASE)) for pattern in (
    r'in\s+reply\s+to\s+(?:the\s+)?(?:end\s+of\s+)?'
    r'(DATA|RCPT\s+TO|MAIL\s+FROM|HELO|EHLO)\b',
    r'\bafter\s+(?:end\s+of\s+)?(data|RCPT\s+TO|MAIL\s+FROM|HELO|EHLO)\b',
    r"(?:did not|does not|didn't|doesn't) like (?:our )?"
    r'(RCPT TO|recipient|MAIL FROM|sender|DATA)\b',
    # qmail-remote, having tried every MX: "Sorry, no SMTP connection got
    # far enough; most progress was RCPT TO response; remote host ...
    # said: 550 ...": the reply quoted answers that command.
    r'\bmost\s+progress\s+was\s+(RCPT(?:\s+TO)?|MAIL(?:\s+FROM)?|DATA|HELO|'
    r'EHLO)\b',
    # A command named as the protocol's, before the host that answered it:
    # "SMTP:RCPT host 192.0.2.8: 553 ...".
    r'\bSMTP:(RCPT|MAIL|DATA|HELO|EHLO)\s+host\b'))
_TRANSCRIPT = re.compile(r'^[ \t]*>>>[ \t]*(DATA|RCPT TO|MAIL FROM|HELO|EHLO|QUIT|\.)'
                         r'|^[ \t]*<<<[ \t]*([45]\d\d)', re.IGNORECASE | re.MULTILINE)
_NO_RECIPIENTS = re.compile(r'no (?:valid )?recipients|need RCPT', re.IGNORECASE)
_COMMAND_NAMES = {'data': 'DATA', '.': 'DATA', 'rcpt to': 'RCPT', 'rcpt': 'RCPT',
                  'recipient': 'RCPT', 'mail from': 'MAIL', 'mail': 'MAIL',
                  'sender': 'MAIL',
                  'helo': 'HELO', 'ehlo': 'HELO', 'quit': 'QUIT'}


def smtp_command(text: str | None) -> str | None:
    """'RCPT', 'DATA', 'MAIL' or 'HELO' if the text tells, else None."""
    if not text:
        return None
    last_command, answered = None, None
    transcript = (_TRANSCRIPT.finditer(text)
                  if '>>>' in text or '<<<' in text else ())
    for match in transcript:
        if match.group(1):
            if answered is not None:
                break
            last_command = match.group(1).lower()
        elif answered is not None:
            # With PIPELINING (RFC 2920) the client sends RCPT TO and DATA
            # at once, and its transcript shows the RCPT TO's refusal after
            # ">>> DATA"; the second reply, DATA's own, then says that no
            # recipient was valid.
            line_end = text.find('\n', match.end())
            if _NO_RECIPIENTS.search(text, match.end(),
                                     len(text) if line_end < 0 else line_end):
                return 'RCPT'
            break
        elif last_command is not None:
            answered = _COMMAND_NAMES.get(last_command)
            if answered != 'DATA':
                return answered
    if answered is not None:
        return answered
    folded = text.casefold()
    for gated in _COMMAND_PHRASES:
        phrase = gated.search(text, folded)
        if phrase:
            return _COMMAND_NAMES.get(' '.join(phrase.group(1).lower().split()))
    return None
