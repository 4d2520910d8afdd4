"""Literal prefilters: skip a regular expression that cannot match.

Most text rules do not match most diagnostics, and searching a few hundred
characters with dozens of alternations is the classifier's main cost.  Every
match of a rule's expression must contain one of a few literal words
("unknown", "quota", ...); a plain substring test for those words is far
cheaper and lets the expression run only where it might match.  Results
never change: literals and text are both case-folded, a superset of what
IGNORECASE matches, and when no such words can be derived the expression
always runs.
"""

from re import _constants as sre, _parser as sre_parser

# Shorter literals pass too often to be worth the check.
MIN_LITERAL = 3


def required_literals(pattern):
    """A set of case-folded strings one of which every match contains.

    Returns None when no useful set can be derived (the caller must then
    always run the expression).
    """
    try:
        parsed = sre_parser.parse(pattern)
    except Exception:
        return None
    return _sequence(list(parsed))


def _sequence(items):
    """The best necessary set of a sequence: the one with the longest
    shortest member, as long words reject the most text."""
    candidates = []
    run = []
    for op, argument in items + [(None, None)]:
        if op is sre.LITERAL:
            run.append(chr(argument).casefold())
            continue
        if op is sre.AT:
            continue            # zero-width (\b, ^): does not break a run
        if len(run) >= MIN_LITERAL:
            candidates.append({''.join(run)})
        run = []
        if op is None:
            break
        found = _item(op, argument)
        if found:
            candidates.append(found)
    if not candidates:
        return None
    return max(candidates, key=lambda found: min(map(len, found)))


def _item(op, argument):
    if op is sre.SUBPATTERN:
        return _sequence(list(argument[-1]))
    if op is sre.BRANCH:
        union = set()
        for branch in argument[1]:
            found = _sequence(list(branch))
            if not found:
                return None
            union |= found
        return union
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT) and argument[0] >= 1:
        return _sequence(list(argument[2]))
    return None
