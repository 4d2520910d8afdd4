"""What a bounce says, independent of what we decide to do about it.

The parser fills these records from a bounce email; the rules read them.
Keeping the two apart lets an admin re-classify stored reports with a new
rule set and lets the explanation quote exactly what the bounce said.
"""

from dataclasses import dataclass, field

from public import public

from mailman_bouncerules.interfaces import Kind


@public
@dataclass
class RecipientReport:
    """One recipient's fate as the notification tells it."""
    address: str
    original_address: str | None = None
    action: str | None = None           # RFC 3464 Action, lower case
    status: str | None = None           # RFC 3463 enhanced status code
    smtp_code: str | None = None        # SMTP reply code, e.g. '550'
    diagnostic: str | None = None       # the remote server's or MTA's words
    smtp_command: str | None = None     # what the server was answering: RCPT, DATA...
    remote_mta: str | None = None
    reporting_mta: str | None = None

    @property
    def is_failure(self) -> bool:
        """Success and relay notices are reports too, but not failures."""
        return self.action not in ('delivered', 'relayed', 'expanded')


@public
@dataclass
class OriginalMessage:
    """Identity of the message that bounced, when its headers came back."""
    message_id: str | None = None
    message_id_hash: str | None = None
    list_id: str | None = None
    token: str | None = None            # X-BounceRules-Token, if we sent one


@public
@dataclass
class BounceReport:
    """Everything the parser learned from one notification."""
    kind: Kind
    recipients: list = field(default_factory=list)
    original: OriginalMessage = field(default_factory=OriginalMessage)
    subject: str | None = None
    problems: list = field(default_factory=list)   # what we could not read

    @property
    def failures(self) -> list[RecipientReport]:
        return [recipient for recipient in self.recipients
                if recipient.is_failure]
