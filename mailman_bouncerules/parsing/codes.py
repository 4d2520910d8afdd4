"""The small vocabulary every bounce shares: addresses and status codes."""

import re

# RFC 3463 class.subject.detail; classes 2, 4 and 5 only.
STATUS = re.compile(r'(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)')
# An SMTP reply code where a reply would stand: at the start of the text or
# after a colon, '<<<', 'said:' ..., followed by a space, '-' or a status.
SMTP_CODE = re.compile(r'(?:^|[\s:(\[>"])([245][0-5]\d)(?=[\s\-.,;:)]|$)')
ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@"
    r'[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?'
    r'(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+')


def first_status(text):
    match = STATUS.search(text or '')
    return '.'.join(match.groups()) if match else None


def first_smtp_code(text):
    match = SMTP_CODE.search(text or '')
    return match.group(1) if match else None


def strip_address(value):
    """'<Anne@Example.COM>' or 'rfc822;anne@example.com' -> the address."""
    match = ADDRESS.search(value or '')
    if match is None:
        return None
    return match.group(0).strip('.').lower()
