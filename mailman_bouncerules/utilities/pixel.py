"""The tracking pixel: a 1x1 image in each HTML part of a post copy."""

import re
from email.message import Message

from public import public

# The same bytes for every request, valid token or not: a transparent GIF.
GIF = (b'GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9'
       b'\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02'
       b'\x02D\x01\x00;')

_BODY_END = re.compile(r'</body\s*>', re.IGNORECASE)


@public
def pixel_tag(url: str) -> str:
    return ('<img src="%s" width="1" height="1" alt="" '
            'style="display:none;border:0">' % url)


@public
def add_pixel(msg: Message, url: str) -> int:
    """Put the pixel into every text/html part, once; returns how many.

    Text parts get nothing: no tracking without HTML.
    """
    added = 0
    for part in msg.walk():
        if part.is_multipart() or part.get_content_type() != 'text/html':
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            payload = b''
        charset = part.get_content_charset() or 'utf-8'
        try:
            html = payload.decode(charset)
        except (LookupError, UnicodeDecodeError):
            charset, html = 'utf-8', payload.decode('utf-8', 'replace')
        if url in html:
            continue
        tag = pixel_tag(url)
        ends = list(_BODY_END.finditer(html))
        if ends:
            html = html[:ends[-1].start()] + tag + html[ends[-1].start():]
        else:
            html += tag
        del part['Content-Transfer-Encoding']
        part.set_payload(html, charset)
        added += 1
    return added
