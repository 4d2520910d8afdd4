"""Text that came from outside: shown as a quotation, never as our words.

A bounce's diagnostic is whatever the sender of the bounce wrote; a forged
one can say "ownership of this list must be re-confirmed at https://...".
So wherever the plugin shows it to a person (owner notices, reports, the
command line) it is shortened, quoted line by line, its links defanged,
and control characters (terminal escape sequences) removed.
"""

import re

from public import public

# C0 and C1 controls except tab and newline, DEL, and the bidirectional
# overrides that can make text read differently than it is.
_CONTROLS = re.compile(
    '[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]')
_SCHEME = re.compile(r'\b(https?|ftp)://', re.IGNORECASE)
_WWW = re.compile(r'\bwww\.', re.IGNORECASE)
_DEFANGED = {'http': 'hxxp', 'https': 'hxxps', 'ftp': 'fxp'}


@public
def printable(text: str | None) -> str:
    """`text` without control characters (a safe line for a terminal)."""
    return _CONTROLS.sub('', text or '')


@public
def defanged(text: str) -> str:
    """Links that no mail reader turns into something to click."""
    text = _SCHEME.sub(
        lambda match: _DEFANGED[match.group(1).lower()] + '[:]//', text)
    return _WWW.sub('www[.]', text)


@public
def quoted(text: str | None, lines: int = 3, width: int = 76) -> str:
    """At most `lines` lines of `text`, each at most `width` characters,
    quoted with '> ', defanged and printable; '> (none)' if empty."""
    words = ' '.join(printable(text).split())
    if not words:
        return '    > (none)'
    words = defanged(words)
    out: list[str] = []
    while words and len(out) < lines:
        if len(words) <= width:
            out.append(words)
            words = ''
            break
        cut = words.rfind(' ', 0, width)
        cut = cut if cut > width // 2 else width
        out.append(words[:cut])
        words = words[cut:].lstrip()
    if words:
        out[-1] = out[-1][:width - 4] + ' ...'
    return '\n'.join('    > ' + line for line in out)
