"""Per-recipient tokens: which campaign went to which member, signed.

A token names a campaign and a recipient (the plugin's id for a member's
address on the list), with an HMAC over them and the list's List-ID, keyed
by a site secret.  It is short and case-insensitive (base32) so that it
survives in a VERP envelope sender (`ant-bounces+<token>@example.com`), an
X-BounceRules-Token header and a pixel URL, and it reveals no address.

Each copy carries two tokens for the same campaign and member, signed
under different purposes (`TokenPurpose`), so that neither passes for the
other:

- the **open** token goes where people see it (the header, the pixel URL,
  a footer's `$bouncerules_token`): HTML replies quote the pixel, archives
  keep the replies, members forward their copies.  It attributes an open
  or a bounce to its campaign and member, and never verifies a failure;
- the **return** token goes only into the copy's envelope sender, which
  the receiving system alone sees (as the address it returns a failure
  to).  Only it verifies a bounce.

Probes carry a third kind, in their envelope sender only.

Checking a token costs one HMAC and a constant-time comparison; a forged,
altered or foreign token reads as None.
"""

import base64
import hashlib
import hmac
import os
import re
import secrets
from enum import Enum

from mailman.config import config
from public import public

from mailman_bouncerules.config.settings import settings

MAC_BYTES = 6               # 48 bits: forging an open is not worth a guess
MAX_TOKEN_CHARS = 40
TOKEN_SHAPE = re.compile(r'^[a-z2-7]{%d,%d}$' % (12, MAX_TOKEN_CHARS))


@public
class TokenPurpose(Enum):
    """What a token is for; each is signed under its own domain, so a token
    made for one purpose never passes for another."""
    # Public (header, pixel, footer): attributes, never verifies.
    OPEN = b'bouncerules-token-1'
    # A copy's envelope sender only: verifies its bounce.
    RETURN = b'bouncerules-return-1'
    # A probe's envelope sender only: verifies the probe's bounce.
    PROBE = b'bouncerules-probe-1'


MIN_SECRET_BYTES = 32


@public
class SecretError(ValueError):
    """A secret too short to sign with; the message says which and why."""


@public
def site_secret() -> bytes:
    """The secret from the settings file, or one generated on first use.

    A generated secret (32 random bytes, hex) lives in Mailman's var
    directory, readable by its owner only, written to a temporary file and
    linked into place so that no process ever reads a partial one; it is
    never logged.  A secret shorter than 32 bytes, configured or found, is
    refused: anyone could then sign tokens.
    """
    configured = settings().secret
    if configured:
        return _checked(configured.encode('utf-8'), 'the secret: setting')
    path = os.path.join(config.VAR_DIR, 'bouncerules-secret')
    try:
        with open(path, 'rb') as file:
            return _checked(file.read().strip(), path)
    except FileNotFoundError:
        pass
    temporary = '%s.%d.tmp' % (path, os.getpid())
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                         0o600)
    with os.fdopen(descriptor, 'wb') as file:
        file.write(secrets.token_hex(MIN_SECRET_BYTES).encode('ascii'))
        file.flush()
        os.fsync(file.fileno())
    try:
        # Another process may have been first: its secret wins.
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(temporary)
    with open(path, 'rb') as file:
        return _checked(file.read().strip(), path)


def _checked(secret: bytes, where: str) -> bytes:
    if len(secret) < MIN_SECRET_BYTES:
        raise SecretError('%s holds %d bytes; at least %d are needed to sign '
                          'tokens' % (where, len(secret), MIN_SECRET_BYTES))
    return secret


def _mac(secret: bytes, list_id: str, payload: bytes,
         purpose: TokenPurpose) -> bytes:
    message = b'|'.join((purpose.value, list_id.encode('utf-8'), payload))
    return hmac.new(secret, message, hashlib.sha256).digest()[:MAC_BYTES]


def _varint(number: int) -> bytes:
    out = bytearray()
    while True:
        byte, number = number & 0x7f, number >> 7
        out.append(byte | (0x80 if number else 0))
        if not number:
            return bytes(out)


def _read_varints(data: bytes) -> list[int] | None:
    numbers, number, shift = [], 0, 0
    for byte in data:
        number |= (byte & 0x7f) << shift
        shift += 7
        if shift > 63:
            return None
        if not byte & 0x80:
            numbers.append(number)
            number, shift = 0, 0
    return numbers if shift == 0 else None


@public
def make_token(secret: bytes, list_id: str, campaign_id: int,
               recipient_id: int,
               purpose: TokenPurpose = TokenPurpose.OPEN) -> str:
    """The token of one copy of a campaign, for `purpose`."""
    return _signed(secret, list_id, campaign_id, recipient_id, purpose)


def _signed(secret: bytes, list_id: str, first: int, second: int,
            purpose: TokenPurpose) -> str:
    payload = _varint(first) + _varint(second)
    return _encoded(payload + _mac(secret, list_id, payload, purpose))


def _encoded(raw: bytes) -> str:
    return base64.b32encode(raw).decode('ascii').rstrip('=').lower()


@public
def split_token(token: str) -> tuple[int, int, bytes, bytes] | None:
    """(campaign_id, recipient_id, payload, mac) or None if malformed."""
    if not isinstance(token, str) or not TOKEN_SHAPE.match(token):
        return None
    padded = token.upper() + '=' * (-len(token) % 8)
    try:
        raw = base64.b32decode(padded)
    except ValueError:
        return None
    if _encoded(raw) != token:
        # The last character carries unused bits: each token has exactly
        # one spelling, so an altered one never passes for the original.
        return None
    payload, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
    numbers = _read_varints(payload)
    if numbers is None or len(numbers) != 2:
        return None
    return numbers[0], numbers[1], payload, mac


@public
def verify(secret: bytes, list_id: str, payload: bytes, mac: bytes,
           purpose: TokenPurpose = TokenPurpose.OPEN) -> bool:
    return hmac.compare_digest(_mac(secret, list_id, payload, purpose), mac)


@public
def make_probe_token(secret: bytes, list_id: str, probe_id: int,
                     recipient_id: int) -> str:
    """The token in a verification probe's envelope sender."""
    return _signed(secret, list_id, probe_id, recipient_id,
                   TokenPurpose.PROBE)


@public
def read_probe_token(secret: bytes, list_id: str,
                     token: str) -> tuple[int, int] | None:
    """(probe id, recipient id) a valid probe token of the list names, or
    None."""
    parts = split_token(token)
    if parts is None:
        return None
    probe_id, recipient_id, payload, mac = parts
    if not verify(secret, list_id, payload, mac, TokenPurpose.PROBE):
        return None
    return probe_id, recipient_id
