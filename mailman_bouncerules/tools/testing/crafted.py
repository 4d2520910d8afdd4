"""Hostile bounces: inputs built to make a parser slow, at any size.

A list's -bounces address is public, so anyone can send it a message made
to hit a regular expression's worst case.  Each family here grows one such
shape to a given size; tests check that doubling the size at most about
doubles the time, and `bench` reports the worst seconds per message.
"""

import base64

from mailman_bouncerules.tools.testing.samples import LIST_BOUNCES

_BOUNDARY = 'CRAFTED-BOUNDARY'


def _wrap(*parts: str) -> bytes:
    """A multipart/report notice of the given parts (each headers + body)."""
    head = ('From: MAILER-DAEMON@relay.example.com\n'
            'To: %s\n'
            'Subject: Undelivered Mail Returned to Sender\n'
            'Message-ID: <crafted@relay.example.com>\n'
            'MIME-Version: 1.0\n'
            'Content-Type: multipart/report; report-type=delivery-status; '
            'boundary="%s"\n\n' % (LIST_BOUNCES, _BOUNDARY))
    body = ''.join('--%s\n%s\n' % (_BOUNDARY, part) for part in parts)
    return (head + body + '--%s--\n' % _BOUNDARY).encode('utf-8')


def _text(body: str, subtype: str = 'plain') -> str:
    """A part whose body keeps its long lines (base64 does not fold them)."""
    return ('Content-Type: text/%s; charset=utf-8\n'
            'Content-Transfer-Encoding: base64\n\n%s'
            % (subtype, base64.encodebytes(body.encode('utf-8')).decode('ascii')))


def _delivery_status(fields: str) -> str:
    return 'Content-Type: message/delivery-status\n\n' + fields


def dashes(size: int) -> bytes:
    """A text part whose second line is all '-', the returned-mail marker's
    leading characters."""
    return _wrap(_text('Delivery failed.\n' + '-' * size + '\n'))


def angle_brackets(size: int) -> bytes:
    """An HTML part full of '<' that never closes a tag."""
    return _wrap(_text('<p>Delivery failed</p>' + '<' * size, 'html'))


def style_tags(size: int) -> bytes:
    """An HTML part full of '<style ' that never closes a style element."""
    return _wrap(_text('<style ' * (size // 7), 'html'))


def addresses_on_one_line(size: int) -> bytes:
    """Thousands of distinct addresses on one body line."""
    count = size // 24
    line = ' '.join('user%06d@example.org' % n for n in range(count))
    return _wrap(_text('Delivery to these recipients failed: ' + line + '\n'))


def one_address_repeated(size: int) -> bytes:
    """One recipient named over and over, on one long line and then on
    lines of transcript commands (each mention adds lines to its text)."""
    count = size // 40
    line = ' '.join('<anne@example.org>' for _ in range(count // 2))
    transcript = ''.join('>>> RCPT To:<anne@example.org>\n'
                         for _ in range(count // 2))
    return _wrap(_text('Delivery failed: ' + line + '\n' + transcript))


def folded_diagnostic(size: int) -> bytes:
    """A Diagnostic-Code folded over thousands of continuation lines."""
    lines = '\n'.join(' 550 5.1.1 no such user here' for _ in range(size // 29))
    return _wrap(_text('Delivery failed.\n'), _delivery_status(
        'Reporting-MTA: dns; relay.example.com\n\n'
        'Final-Recipient: rfc822; anne@example.org\n'
        'Action: failed\nStatus: 5.1.1\n'
        'Diagnostic-Code: smtp;\n' + lines + '\n'))


def many_recipients(size: int) -> bytes:
    """A delivery status part naming a recipient every 80 bytes."""
    blocks = ''.join(
        'Final-Recipient: rfc822; r%07d@example.org\nAction: failed\n'
        'Status: 5.1.1\n\n' % n for n in range(size // 70))
    return _wrap(_text('Delivery failed.\n'), _delivery_status(
        'Reporting-MTA: dns; relay.example.com\n\n' + blocks))


def status_runs(size: int) -> bytes:
    """A run of dot-separated digits: status codes that never end."""
    return _wrap(_text('Delivery failed: 550 ' + '5.1' * (size // 3) + '\n'))


def long_word_domain(size: int) -> bytes:
    """An address-like word whose domain label never ends well."""
    return _wrap(_text('Delivery to x@' + 'a' * size + '- failed\n'))


def whitespace_line(size: int) -> bytes:
    """A line of spaces and tabs after a sender-context word."""
    return _wrap(_text('Failed.\nfrom' + ' \t' * (size // 2) + 'x\n'))


def many_parts(size: int) -> bytes:
    """Small text parts, as many as fit."""
    parts = [_text('Delivery to p%d@example.org failed: 550 5.1.1 no such '
                   'user\n' % n) for n in range(size // 200)]
    return _wrap(*parts)


def attachment(size: int) -> bytes:
    """One large binary attachment beside a short notice."""
    return _wrap(_text('Delivery to anne@example.org failed: 550 user '
                       'unknown\n'),
                 'Content-Type: application/octet-stream\n'
                 'Content-Transfer-Encoding: base64\n\n'
                 + base64.encodebytes(b'\0\xff' * (size // 2)).decode('ascii'))


def blank_lines(size: int) -> bytes:
    """One recipient, then a reply-like colon and nothing but line breaks."""
    return _wrap(_text('Delivery failed: error:' + '\n' * size
                       + 'anne@example.org\n'))


def transcript_blanks(size: int) -> bytes:
    """A session transcript of blank lines that never reaches a command."""
    return _wrap(_text('anne@example.org\n' + ' \n' * (size // 2) + '>>> x\n'))


def repeated_delay_warnings(size: int) -> bytes:
    """"Warning: message" many times on one line, "delayed" at its end."""
    return _wrap(_text('Warning: message ' * (size // 17) + 'delayed\n'))


def rule_words(size: int) -> bytes:
    """A diagnostic of the words the rules look for, never completing one."""
    words = ('user account mailbox address recipient does not no such '
             'unknown quota spam policy blocked full over ')
    return _wrap(_text('Delivery failed.\n'), _delivery_status(
        'Reporting-MTA: dns; relay.example.com\n\n'
        'Final-Recipient: rfc822; anne@example.org\n'
        'Action: failed\nStatus: 5.0.0\n'
        'Diagnostic-Code: smtp; 550 ' + words * (size // len(words)) + '\n'))


def empty_parts(size: int) -> bytes:
    """Empty parts naming no one, as many as fit: the parser finds nobody,
    so stock Mailman's detector would be asked."""
    return _wrap(*['Content-Type: text/plain\n'] * (size // 40))


def unfolded_lines(size: int) -> bytes:
    """Lines of up to 64 KiB naming no one (RFC 5322 allows 998
    characters)."""
    line = 'Delivery failed for a reason ' * (min(size, 64 * 1024) // 29)
    return _wrap(_text('\n'.join([line] * max(1, size // len(line))) + '\n'))


FAMILIES = {
    'dashes': dashes,
    'angle-brackets': angle_brackets,
    'style-tags': style_tags,
    'addresses-on-one-line': addresses_on_one_line,
    'one-address-repeated': one_address_repeated,
    'folded-diagnostic': folded_diagnostic,
    'many-recipients': many_recipients,
    'status-runs': status_runs,
    'long-word-domain': long_word_domain,
    'whitespace-line': whitespace_line,
    'many-parts': many_parts,
    'attachment': attachment,
    'blank-lines': blank_lines,
    'transcript-blanks': transcript_blanks,
    'repeated-delay-warnings': repeated_delay_warnings,
    'rule-words': rule_words,
    'empty-parts': empty_parts,
    'unfolded-lines': unfolded_lines,
}
