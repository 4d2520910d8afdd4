"""A refusal at SMTP time, as Mailman's outgoing runner reports it.

The runner hands the bounce processor a stand-in DSN whose text names the
code and the server's reply, written with str.format: a reply that
smtplib gave as bytes reads b'...'.  This module turns that back into the
server's words and, when the text is no report the classifier knows,
reads it as the server's reply to the refused address.
"""

import ast
import re
from email.message import Message

from public import public

from mailman_bouncerules.classify.parsing.codes import (
    first_smtp_code,
    first_status,
)
from mailman_bouncerules.classify.report import RecipientReport

_BYTES_REPLY = re.compile(r'^(Error message: )(b([\'"]).{0,4000}\3)[ \t]*$',
                          re.MULTILINE)


@public
def read_reply_as_text(msg: Message) -> None:
    """Turn the b'...' of Mailman's stand-in DSN back into the server's
    words, so that history, notices and the panel show the reply."""
    text = msg.get_payload()
    if not isinstance(text, str):
        return

    def as_text(match: re.Match) -> str:
        try:
            value = ast.literal_eval(match.group(2))
        except (ValueError, SyntaxError):
            return match.group(0)
        if not isinstance(value, bytes):
            return match.group(0)
        return match.group(1) + value.decode('utf-8', 'replace')
    readable = _BYTES_REPLY.sub(as_text, text)
    if readable != text:
        msg.set_payload(readable)


@public
def refused_recipient(email: str, msg: Message) -> RecipientReport:
    """The stand-in DSN's text read as the server's reply to `email`."""
    text = str(msg.get_payload())
    return RecipientReport(
        address=email.lower(), action='failed', status=first_status(text),
        smtp_code=first_smtp_code(text), diagnostic=' '.join(text.split()))
