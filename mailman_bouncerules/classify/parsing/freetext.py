"""Recipients and diagnoses from notifications written for people.

Many MTAs (qmail, Exim, Exchange, most webmail providers) send no
machine-readable report, or one without the remote server's words.  They all
write the same things in prose, though: the failed address, then what the
remote server said.  So the notification text is cut at the returned
original, the addresses in it that could be recipients are found, and each
one's diagnosis is the text that follows it up to the next recipient.
"""

import re
from collections import Counter
from collections.abc import Collection, Iterator

from mailman_bouncerules.classify.parsing.codes import (
    clean_address,
    find_addresses,
    first_smtp_code,
    first_status,
    smtp_command,
)
from mailman_bouncerules.classify.prefilter import Gated
from mailman_bouncerules.classify.report import RecipientReport

# Where the notification ends and the returned original begins: a line
# that starts (after quoting, rules and indentation, read possessively so
# that a long run of them is scanned once) with one of these phrases.  The
# phrases in the `ruled` group count only after a rule of dashes; the
# others are tried first.
_RETURNED_MARKER = re.compile(
    r'^(?P<lead>[ \t>|=-]*+)(?:'
    r'Original message (?:follows|headers?)|'
    r'(?:Your|The) (?:original )?message '
    r'(?:reads|follows|is attached|headers? follows?)\b|'
    r'Message headers follow|'
    r'(?:Begin|Start) of (?:the )?(?:returned|original|undelivered) message|'
    r'Received: from [^\n]*\S|Return-Path:[ \t]*<|'
    # The original's own header block, returned inline without a word
    # before it: three header lines in a row, starting as a message does
    # (not "To:" or "Subject:", which notices write to say which message).
    r'(?:From|Date|Message-ID):[^\n]*\n(?:(?:From|To|Cc|'
    r'Subject|Date|Message-ID|MIME-Version|Reply-To|Sender|Content-Type|'
    r'In-Reply-To|References):[^\n]*\n){2}|'
    r'(?P<ruled>This is a copy of|Below this line|Original message|'
    r'Undelivered message|The (?:header|text|original message)|'
    r'Message header|Returned message|Unsent message|Forwarded message))',
    re.IGNORECASE | re.MULTILINE)
# A line that introduces the sender or the message, not a recipient.
# Read in the few characters before an address only (_CONTEXT_CHARS).
_NOT_A_RECIPIENT_CONTEXT = Gated(re.compile(
    r'(?:\bfrom|sender|MAIL FROM|envelope-from|Return-Path|Reply-To|'
    r'Message-I[dD]|References|In-Reply-To|helo|ehlo|contact|postmaster at|'
    r'please (?:send|contact|write)|sent by|mailto|https?://\S*)[ \t]*[:=]?[ \t]*<?$',
    re.IGNORECASE))
_CONTEXT_CHARS = 120
_SYSTEM_LOCAL_PARTS = frozenset((
    'mailer-daemon', 'postmaster', 'mail-daemon', 'maildaemon', 'daemon',
    'root', 'abuse', 'noreply', 'no-reply', 'nobody', 'double-bounce'))
_DELAY_WORDS = Gated(re.compile(
    r'\bhas been delayed|\bdelivery (?:is )?delayed|\b\(delay\)|'
    r'\bwill (?:continue|keep) (?:to )?tr(?:y|ying)|\bstill trying|'
    r'\bcould not (?:be )?sen[dt] (?:the )?message for (?:the )?past|'
    r'\bnot yet been delivered|\bis being retried|\btemporarily deferred|'
    r'\bdelivery (?:will be )?retr(?:y|ied)|\bWarning: message .{0,300} delayed',
    re.IGNORECASE))
# What closes an address in prose ("<carl@example.net>: host ..."), never
# a transcript's ">>>".
_ADDRESS_CLOSE = re.compile(r'^[ \t]*>(?!>)[:,;]?[ \t]*')
# A recipient's own line that says its mail went through ("Delivery to
# carl@example.net succeeded."): a notice that lists every recipient names
# the delivered ones too, and they failed at nothing.
_SUCCEEDED = Gated(re.compile(
    r'\b(?:succeeded|successfully delivered|delivered successfully|'
    r'delivery (?:was )?successful|(?:was|has been|were) delivered)\b',
    re.IGNORECASE))
_NOT_SUCCEEDED = re.compile(
    r'\b(?:not|fail\w*|error|undeliver\w*|reject\w*|refused|bounced|'
    r'unable|could ?n.t)\b|(?<![\d.])[45]\d\d\b', re.IGNORECASE)
# A reply code may stand on the line after "said:", no further.
_REPLY_LINE = re.compile(
    r'^.*?(?:^|said:?|<<<|error|:)[ \t]*(?:\n[ \t]*)?[245]\d\d\b.*$',
    re.MULTILINE)
# A reply code anywhere: a window without one has no reply line.
_ANY_REPLY_CODE = re.compile(r'[245]\d\d')
_MAX_WINDOW = 1200
# The remote server as Postfix, Exim and Sendmail name it in prose:
# "host mx.example.org[192.0.2.1] said:", "host mx.example.org [192.0.2.1]".
_REMOTE_HOST = Gated(re.compile(
    r'\bhost ([a-z0-9](?:[a-z0-9-]{0,62}\.)+[a-z]{2,63})[ \t]?\[',
    re.IGNORECASE))
# A lone recipient's diagnosis includes the notice's words before its
# address: the first few thousand characters of them.
_MAX_PREAMBLE = 8000


def split_notification(text: str) -> tuple[str, str]:
    """(what the reporting MTA wrote, the original quoted after it).

    The marker must start a line, and not the first one.
    """
    for match in _RETURNED_MARKER.finditer(text, text.find('\n') + 1):
        if match.group('ruled') is None or '-' in match.group('lead'):
            return text[:match.start()], text[match.start():]
    return text, ''


def recipients_in_text(text: str, ignored: Collection[str] = frozenset(),
                       unlikely: Collection[str] = frozenset(),
                       known: Collection[str] = (), subject: str = '',
                       with_preamble: bool = True,
                       limit: int | None = None) -> Iterator[RecipientReport]:
    """Yield a `RecipientReport` per address the prose reports on.

    `ignored` addresses are never recipients (the notice's From);
    `unlikely` ones (its To) are taken only where the text sets them apart
    as a failed address; `known` ones come from a header such as
    X-Failed-Recipients and are reported even if the text omits them.
    `text` is the notice alone, as `split_notification()` returns it.
    `with_preamble` adds the words before a lone recipient's address to its
    diagnosis; without a DSN they are often the only reason given.  At most
    `limit` addresses are read from the text.
    """
    occurrences: list[tuple[int, int, str]] = []
    # Later mentions of a recipient (a transcript's ">>> RCPT To:<...>"),
    # each the start of more lines about it alone.
    mentions: list[tuple[int, int, str]] = []
    mentioned: Counter[str] = Counter()
    redirected: set[int] = set()
    seen = set()
    for match in find_addresses(text):
        if limit is not None and len(occurrences) >= limit:
            break
        address = clean_address(match.group(0))
        if address is not None and address in seen:
            if mentioned[address] < _MAX_MENTIONS:
                mentioned[address] += 1
                mentions.append((match.start(), match.end(), address))
            continue
        if address is None or address in ignored:
            continue
        before = _line_before(text, match.start())
        folded_before = before.casefold()
        if _HIDDEN_REDIRECT.search(before, folded_before):
            # Exim hides the address it redirected to: the failure is of
            # this one, the list's recipient, and its lines say so.
            seen.add(address)
            redirected.add(match.start())
            occurrences.append((match.start(), match.end(), address))
            continue
        if redirected and occurrences[-1][0] in redirected and \
                match.start() - occurrences[-1][1] < _MAX_WINDOW and \
                _RCPT_BEFORE.search(before, folded_before):
            # ... and the hidden address, in its RCPT TO, is no recipient
            # of the list's: a mention of the one it was generated from.
            mentions.append((match.start(), match.end(), occurrences[-1][2]))
            continue
        if address not in known and (
                address.partition('@')[0] in _SYSTEM_LOCAL_PARTS
                or _NOT_A_RECIPIENT_CONTEXT.search(before, folded_before)
                or (address in unlikely
                    and not _set_apart(text, match.start(), match.end()))):
            continue
        seen.add(address)
        occurrences.append((match.start(), match.end(), address))
    windows = _own_lines(text, occurrences, mentions, redirected)
    occurrences.extend((len(text), len(text), address) for address in known
                       if address not in seen)
    delayed = None      # looked up only if a status leaves it open
    for start, end, address in occurrences:
        if address not in known and _delivered(text, start, end):
            continue
        # The address's own closing bracket and colon ("<carl@...>: host
        # ... said: 550 ...") are not part of what was said.
        window = _ADDRESS_CLOSE.sub('', windows.get(address, ''), count=1)
        if with_preamble and (len(occurrences) == 1 or start == len(text)):
            # One recipient: the whole notice is about it, including the
            # words some MTAs put before the address.
            window = text[:min(start, _MAX_PREAMBLE)].rstrip(
                ' \t<"\'(') + ' ' + window
        status = first_status(window)
        if delayed is None and _is_temporary(status):
            delayed = _says_delayed(subject or '') or _says_delayed(text)
        host = _REMOTE_HOST.search(window)
        yield RecipientReport(
            address=address,
            action='delayed' if delayed and _is_temporary(status) else 'failed',
            status=status,
            smtp_code=_reply_code(window),
            diagnostic=_compact(window) or None,
            smtp_command=smtp_command(window),
            remote_mta=host.group(1).lower() if host else None)


def _own_lines(text: str, occurrences: list[tuple[int, int, str]],
               mentions: list[tuple[int, int, str]],
               whole_line: Collection[int] = ()) -> dict[str, str]:
    """{address: the text about it alone}.

    A recipient's text runs from its address to the next mention of any
    recipient, and a later mention of it (in a transcript, say) adds the
    lines from there on, starting with the command lines just above it
    (">>> RCPT To:<anne@...>"): one recipient's lines never give another
    its command, reply code or words.  Each is bounded by _MAX_WINDOW.
    An address at a position in `whole_line` takes the words before it on
    its line too ("undisclosed address (generated from ...").
    """
    first = {start for start, _end, _address in occurrences}
    marks = sorted(occurrences + mentions)
    pieces: dict[str, list[str]] = {}
    for index, (start, end, address) in enumerate(marks):
        begin = (end if start in first and start not in whole_line
                 else _block_start(text, start))
        if index + 1 < len(marks):
            following = marks[index + 1][0]
            stop = (following if _same_line(text, start, following)
                    else _block_start(text, following))
        else:
            stop = len(text)
        stop = max(begin, min(stop, begin + _MAX_WINDOW))
        pieces.setdefault(address, []).append(text[begin:stop])
    return {address: ' '.join(parts)[:_MAX_WINDOW]
            for address, parts in pieces.items()}


# Exim's line for a recipient redirected to a hidden address, and the
# RCPT TO that then names the hidden one.
_HIDDEN_REDIRECT = Gated(re.compile(
    r'undisclosed address[ \t]*\(generated from[ \t]*<?$', re.IGNORECASE))
_RCPT_BEFORE = Gated(re.compile(r'RCPT TO:[ \t]*<?$', re.IGNORECASE))
# How many later mentions of one recipient add lines to its text, and how
# far back a line's start is looked for (both bound the work on crafted
# notices that repeat one address over and over).
_MAX_MENTIONS = 4
_MAX_LINE = 1000
# Transcript lines that introduce the reply naming an address below them,
# and Sendmail's line about the host that address is at, which it writes
# just before it ("550 example.org (smtp)... 550 Host unknown").
_COMMAND_LINE = re.compile(
    r'[ \t]*(?:>>>|\.\.\. while talking to|'
    r'\d{3} [a-z0-9][a-z0-9.-]* \([a-z0-9-]+\)\.\.\. )[^\n]*\n$',
    re.IGNORECASE)


def _block_start(text: str, position: int) -> int:
    """The start of the line holding `position`, moved up over the
    transcript command lines right above it (at most two).  Lines are
    looked for within _MAX_LINE characters only: a longer line is no
    transcript, and the position itself starts the block."""
    line = text.rfind('\n', max(0, position - _MAX_LINE), position) + 1
    if line == 0 and position > _MAX_LINE:
        return position
    for _step in range(2):
        above = text.rfind('\n', max(0, line - 1 - _MAX_LINE),
                           max(0, line - 1)) + 1
        if line == 0 or not _COMMAND_LINE.fullmatch(text, above, line):
            break
        line = above
    return line


def _same_line(text: str, first: int, second: int) -> bool:
    return '\n' not in text[first:second]


def _says_delayed(text: str) -> bool:
    return _DELAY_WORDS.search(text) is not None


def _set_apart(text: str, start: int, end: int) -> bool:
    """Is the address alone on its line, or named as the RCPT TO?

    Only the few characters around the address are read: on a line of
    thousands of addresses, each one rescanning the line would take time
    quadratic in its length.  (An address with more blanks around it than
    that does not count as alone: the cautious answer.)
    """
    before = _line_before(text, start)
    after = _line_after(text, end)
    line_start, line_end = start - len(before), end + len(after)
    whole_line = ((line_start == 0 or text[line_start - 1] == '\n')
                  and (line_end == len(text) or text[line_end] == '\n'))
    return ((whole_line and re.fullmatch(r'[ \t<"\']*', before) is not None
            and re.fullmatch(r'[ \t\r>"\':.,]*', after) is not None)
            or _RCPT_BEFORE.search(before) is not None)


def notice_summary(text: str) -> str | None:
    """The notice's own words, compacted: evidence when it names no one."""
    return _compact(text, 600) or None


def _delivered(text: str, start: int, end: int) -> bool:
    """Does the address's own line say its mail was delivered?"""
    line = _line_before(text, start) + ' ' + _line_after(text, end)
    return bool(_SUCCEEDED.search(line)) and not _NOT_SUCCEEDED.search(line)


def _line_before(text: str, position: int) -> str:
    """The line's text before `position`, at most _CONTEXT_CHARS of it."""
    window_start = max(0, position - _CONTEXT_CHARS)
    return text[text.rfind('\n', window_start, position) + 1 or window_start:
                position]


def _line_after(text: str, position: int) -> str:
    """The line's text after `position`, at most _CONTEXT_CHARS of it."""
    window_end = min(len(text), position + _CONTEXT_CHARS)
    line_end = text.find('\n', position, window_end)
    return text[position:window_end if line_end < 0 else line_end]


def _is_temporary(status: str | None) -> bool:
    return status is None or status.startswith('4')


def _reply_code(window: str) -> str | None:
    """The first reply code on a line that carries a reply (skip dates,
    IPs).  A reply line holds a code on itself or the line after, so the
    lines before the one above the first code are skipped, and the lines
    after the first with a code are not read."""
    first_code = _ANY_REPLY_CODE.search(window)
    if first_code is None:
        return None
    line = window.rfind('\n', 0, first_code.start())
    start = window.rfind('\n', 0, line) + 1 if line > 0 else 0
    for reply_line in _REPLY_LINE.finditer(window, start):
        code = first_smtp_code(reply_line.group())
        if code is not None:
            return code
    return None


def _compact(text: str, limit: int = _MAX_WINDOW) -> str:
    """The text's words, one blank between each, at most `limit`
    characters of them.  A prefix of the text compacts to a prefix of the
    whole compacted (a word cut at its end is a prefix of that word), so
    only as much of a long notice as the limit needs is split."""
    size = limit + limit // 2
    while True:
        compacted = ' '.join(text[:size].split())
        if len(compacted) >= limit or size >= len(text):
            return compacted[:limit]
        size *= 4
