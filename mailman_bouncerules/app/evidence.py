"""How far the list can trust a bounce: only its own mail proves a failure.

A list's `-bounces` address is public (it is the envelope sender of every
post and shows in every archived message), so anyone can mail it a notice
that names any member and quotes any archived post.  What only the list
can know is what it signed or saw itself:

- a bounce to a signed per-recipient envelope sender (tracked delivery),
  which names the member and the post exactly;
- a refusal that Mailman's own outgoing runner got at SMTP time;
- the bounce of a verification probe, whose envelope sender carries a
  signed token and which went to the member's address alone.

Everything else is unverified: recorded, classified and counted like any
bounce, but a removal or confirmation it would cause waits for a probe.
"""

from __future__ import annotations

from enum import StrEnum

from public import public


@public
class EvidenceLevel(StrEnum):
    TOKEN = 'token'
    SMTP = 'smtp'
    PROBE = 'probe'
    UNVERIFIED = 'unverified'

    @classmethod
    def of(cls, recorded: str | None) -> EvidenceLevel:
        """The level a history row recorded (rows from before levels
        existed read as unverified)."""
        return cls(recorded or cls.UNVERIFIED.value)

    @property
    def verified(self) -> bool:
        return self is not EvidenceLevel.UNVERIFIED

    @property
    def described(self) -> str:
        return _DESCRIBED[self]


_DESCRIBED = {
    EvidenceLevel.TOKEN: 'verified by token',
    EvidenceLevel.SMTP: 'verified at SMTP time',
    EvidenceLevel.PROBE: 'verified by probe',
    EvidenceLevel.UNVERIFIED: 'unverified',
}


# The levels a history row may record that count as verified.
VERIFIED_LEVELS = tuple(level.value for level in EvidenceLevel
                        if level.verified)
