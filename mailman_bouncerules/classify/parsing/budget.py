"""How much of one message the parser reads: bounded work, whatever arrives.

A list's -bounces address is public.  Every expression here runs in time
linear in its input, and this budget bounds the input: the text read across
all parts, the recipients taken from one notice, and the seconds spent.  A
message over budget is read as far as the budget allows; what was left out
is listed in the report's `problems`, for the caller to log.
"""

import time
from dataclasses import dataclass, field

from public import public

from mailman_bouncerules.classify.report import RecipientReport

# A bounce's useful part comes first; what follows is mostly the returned
# original.  A few MiB of text is plenty.
MAX_TEXT_CHARS = 4 * 1024 * 1024
# Mailman's own SMTP batches (max_recipients) hold at most 500 recipients,
# so no honest notice names more than that.
MAX_RECIPIENTS = 1000
# The runner serves every list; no single message may hold it long.
MAX_SECONDS = 2.0


@public
@dataclass(frozen=True)
class ReadingLimits:
    """The budget for one message."""
    max_chars: int = MAX_TEXT_CHARS
    max_recipients: int = MAX_RECIPIENTS
    max_seconds: float = MAX_SECONDS

    def start(self) -> "Reading":
        return Reading(self)


@public
@dataclass
class Reading:
    """The budget of one message, as it is spent."""
    limits: ReadingLimits
    chars_left: int = field(init=False)
    deadline: float = field(init=False)
    problems: list = field(default_factory=list)

    def __post_init__(self) -> None:
        self.chars_left = self.limits.max_chars
        self.deadline = time.monotonic() + self.limits.max_seconds

    def take(self, text: str) -> str:
        """As much of `text` as the character budget still allows."""
        if len(text) > self.chars_left:
            self.note('text past %d characters not read'
                       % self.limits.max_chars)
            text = text[:self.chars_left]
        self.chars_left -= len(text)
        return text

    def out_of_time(self) -> bool:
        """True, and noted, once the time budget is spent."""
        if time.monotonic() <= self.deadline:
            return False
        self.note('reading stopped after %g seconds' % self.limits.max_seconds)
        return True

    def capped(self, recipients: list[RecipientReport]
               ) -> list[RecipientReport]:
        """At most `max_recipients` of them, noting any left out."""
        if len(recipients) > self.limits.max_recipients:
            self.note('recipients past the first %d not read'
                       % self.limits.max_recipients)
            return recipients[:self.limits.max_recipients]
        return recipients

    def note(self, problem: str) -> None:
        if problem not in self.problems:
            self.problems.append(problem)
