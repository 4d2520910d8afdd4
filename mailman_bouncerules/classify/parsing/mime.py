"""Reading the parts of a notification without trusting its MIME.

Bounces are written by every kind of mail software, and plenty of it gets
MIME wrong: undeclared 8-bit text, unknown charsets, missing boundaries,
delivery reports labelled text/plain.  Everything here degrades to "some
text" rather than raising.
"""

import email
import re
from collections.abc import Iterator
from email.header import Header, decode_header
from email.message import Message
from email.policy import compat32
from functools import lru_cache
from typing import Any

# A bounce's useful part comes first; what follows is mostly the returned
# original.  Reading a few MiB is plenty and bounds the work on huge mail.
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
# How much of one part's text is scanned for a recipient's diagnosis.
MAX_TEXT_CHARS = 64 * 1024

RETURNED_MESSAGE_TYPES = frozenset((
    'message/rfc822', 'message/global', 'text/rfc822-headers',
    'message/global-headers', 'message/partial'))
DELIVERY_STATUS_TYPES = frozenset((
    'message/delivery-status', 'message/global-delivery-status'))
FEEDBACK_TYPE = 'message/feedback-report'

# A tag ends at '>' or where the next one starts: text full of '<' that
# never closes is then scanned once, not once per '<'.
_TAG = re.compile(r'<[^<>]*>')
_HIDDEN_ELEMENT = re.compile(r'<(style|script)\b', re.IGNORECASE)
_HIDDEN_END = {name: re.compile(r'</%s' % name, re.IGNORECASE)
               for name in ('style', 'script')}
_ENTITY = re.compile(r'&(nbsp|lt|gt|amp|quot|#\d+);')
_ENTITIES = {'nbsp': ' ', 'lt': '<', 'gt': '>', 'amp': '&', 'quot': '"'}


def load_message(data: bytes | str | Message) -> Message:
    """Parse bytes (or pass through a Message), bounded in size."""
    if isinstance(data, Message):
        return data
    if isinstance(data, str):
        data = data.encode('utf-8', 'surrogateescape')
    return email.message_from_bytes(data[:MAX_MESSAGE_BYTES], policy=compat32)


def header_text(value: object) -> str:
    """A header field's value as text.

    A value holding raw 8-bit bytes (the fields of an SMTPUTF8 report, a
    server's reply in its own language) comes from the email package as a
    Header whose str() turns every byte into a replacement character; its
    chunks keep the bytes, read here as UTF-8, or as Windows-1252 when they
    are not UTF-8.
    """
    if not isinstance(value, Header):
        return str(value)
    text = []
    for chunk, charset in decode_header(value):
        if isinstance(chunk, str):
            text.append(chunk)
            continue
        try:
            text.append(chunk.decode(
                'utf-8' if charset in (None, 'unknown-8bit') else charset))
        except (LookupError, UnicodeDecodeError):
            text.append(chunk.decode('cp1252', 'replace'))
    return ''.join(text)


def field_text(part: Message, name: str, raw_value: Any) -> str:
    """`header_text` of a field as `part.items()` would give it, from the
    raw value `part.raw_items()` gives: plain ASCII comes back unchanged,
    and only other values go through the email package's policy."""
    if isinstance(raw_value, str) and raw_value.isascii():
        return raw_value
    return header_text(part.policy.header_fetch_parse(name, raw_value))


def content_type(part: Message) -> str:
    """The part's MIME type, tolerating garbage in the header."""
    try:
        return part.get_content_type()
    except Exception:
        return 'text/plain'


def decoded_text(part: Message, limit: int = MAX_TEXT_CHARS) -> str:
    """The part's body as text, whatever its transfer encoding and charset."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if not isinstance(payload, bytes):
        raw = part.get_payload()
        if isinstance(raw, list):
            return '\n\n'.join(str(sub) for sub in raw)[:limit]
        return str(raw or '')[:limit]
    payload = payload[:limit * 4]
    for charset in _charsets(part):
        try:
            return payload.decode(charset)[:limit]
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode('latin-1')[:limit]


def _charsets(part: Message) -> Iterator[str]:
    declared = _declared_charset(part)
    if declared:
        yield declared
    # Japanese carriers send undeclared ISO-2022-JP; it is 7-bit, so try it
    # before the 8-bit guesses.
    yield 'utf-8'
    yield 'iso-2022-jp'
    yield 'cp1252'


def _declared_charset(part: Message) -> str | None:
    """The part's charset parameter, as `get_content_charset()` reads it.

    Parsing the parameters is most of the cost of decoding a short part,
    and notices repeat a few Content-Type values ("text/plain;
    charset=us-ascii"): each value is parsed once.  Only short values are
    kept, so that crafted ones cannot fill the memory.
    """
    value = part.get('content-type')
    if isinstance(value, str) and len(value) <= _CACHED_CONTENT_TYPE:
        return _charset_of_content_type(value)
    return _charset_of(part)


# The longest Content-Type value whose charset is kept: honest ones are
# a few dozen characters.
_CACHED_CONTENT_TYPE = 200


@lru_cache(maxsize=256)
def _charset_of_content_type(value: str) -> str | None:
    holder = Message()
    holder['Content-Type'] = value
    return _charset_of(holder)


def _charset_of(part: Message) -> str | None:
    try:
        return part.get_content_charset()
    except Exception:
        return None


def html_to_text(html: str) -> str:
    """Good enough to find addresses and reply codes in an HTML notice."""
    html = _without_hidden_elements(html)
    html = re.sub(r'(?i)<br[ \t\n/]*>|</(p|div|tr|li|h\d)>', '\n', html)
    text = _TAG.sub(' ', html)
    return _ENTITY.sub(
        lambda m: _ENTITIES.get(m.group(1)) or chr(int(m.group(1)[1:])),
        text)


def _without_hidden_elements(html: str) -> str:
    """Drop style and script elements; an unclosed one runs to the end.

    A search for each element's end tag, not one expression with a lazy
    `.*?`: that rescans the rest of the text for every unclosed start tag.
    """
    kept, position = [], 0
    while (match := _HIDDEN_ELEMENT.search(html, position)) is not None:
        kept.append(html[position:match.start()])
        close = _HIDDEN_END[match.group(1).lower()].search(html, match.end())
        if close is None:
            return ' '.join(kept)
        position = html.find('>', close.start())
        position = len(html) if position < 0 else position + 1
        kept.append(' ')
    kept.append(html[position:])
    return ''.join(kept)


def walk_notification(message: Message) -> Iterator[tuple[Message, str]]:
    """Yield (part, mime type) for the parts written by the reporting MTA.

    Unlike `Message.walk()` this does not descend into the returned
    original: its text is the list's own post, not a diagnosis.
    """
    stack = [message]
    seen = 0
    while stack and seen < 200:
        part = stack.pop(0)
        seen += 1
        mime_type = content_type(part)
        yield part, mime_type
        if mime_type.startswith('multipart/') and part.is_multipart():
            payload = part.get_payload()
            if isinstance(payload, list):
                subparts = [sub for sub in payload if isinstance(sub, Message)]
                if mime_type == 'multipart/alternative':
                    subparts = _one_alternative(subparts)
                stack[0:0] = subparts


def _one_alternative(parts: list[Message]) -> list[Message]:
    """The plain-text version of a multipart/alternative, when it has one.

    Its parts are versions of the same text (RFC 2046 section 5.1.4):
    reading the HTML one as well reads every word twice and converts the
    longest of them.  Without a plain one, or with one that holds no words
    (a generator that fills only its HTML), all are read.
    """
    for part in parts:
        if content_type(part) == 'text/plain' and decoded_text(part).strip():
            return [part]
    return parts
