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

import re
from collections.abc import Iterable
from functools import cached_property
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parser  # type: ignore[attr-defined]
from typing import Any

# Shorter literals pass too often to be worth the check.
MIN_LITERAL = 3


def required_literals(pattern: str) -> list[set[str]] | None:
    """Sets of case-folded strings; every match contains one of each set.

    Returns None when no useful set can be derived (the caller must then
    always run the expression).
    """
    try:
        parsed = sre_parser.parse(pattern)
    except Exception:
        return None
    return _necessary(list(parsed)) or None


def passes(literal_sets: list[set[str]] | None, folded_text: str) -> bool:
    """Might the expression match?  False only when it cannot.

    Plain loops: this runs for every rule and decision, and generator
    expressions cost more than the substring tests themselves.
    """
    if literal_sets is None:
        return True
    for literals in literal_sets:
        for literal in literals:
            if literal in folded_text:
                break
        else:
            return False
    return True


class Gated:
    """A compiled expression behind its literal prefilter.

    For the parser's fixed expressions that run on every address or
    window: most texts lack every word they need, and a substring test
    says so for a fraction of a search's cost.  An expression of
    top-level alternatives is searched one alternative at a time, each
    behind every literal set it needs (a shared set holds only the best
    literal of each): the leftmost match, the earlier alternative where
    two start together, is the one the whole expression finds.
    """

    def __init__(self, regex: re.Pattern[str]) -> None:
        self.regex = regex

    @cached_property
    def branches(self) -> list[tuple[re.Pattern[str], list[set[str]] | None]]:
        """Each alternative, compiled alone, with its literal sets: worked
        out at the first search, not at import (a command that reads one
        bounce may never need them)."""
        return [(branch, required_literals(branch.pattern))
                for branch in split_alternatives(self.regex)]

    def search(self, text: str, folded: str | None = None
               ) -> re.Match[str] | None:
        """`regex.search(text)`; `folded` is `text.casefold()` where the
        caller already has it."""
        if folded is None:
            folded = text.casefold()
        leftmost = None
        for branch, literals in self.branches:
            if passes(literals, folded):
                found = branch.search(text)
                if found is not None and (
                        leftmost is None or found.start() < leftmost.start()):
                    leftmost = found
        return leftmost


class LiteralScanner:
    """Which of many literals a text holds, in one pass over the text.

    The literals are compiled into one expression shaped like a trie, so
    that at each position the search follows the text's characters
    instead of trying every literal.  At each position where a literal
    starts, the search finds the longest one starting there; every other
    literal starting there is a prefix of it, and is added from a table.
    The next search starts one character later, so literals that overlap
    are all found: the set is exactly `{l for l in literals if l in text}`.
    """

    def __init__(self, literals: Iterable[str]) -> None:
        self.literals = frozenset(literals)
        self._expression = re.compile(_trie(self.literals)) \
            if self.literals else None
        self._with_prefixes = {
            literal: frozenset(shorter for shorter in self.literals
                               if literal.startswith(shorter))
            for literal in self.literals}

    def present(self, folded_text: str) -> frozenset[str]:
        if self._expression is None:
            return frozenset()
        found: set[str] = set()
        search = self._expression.search
        position = 0
        while (match := search(folded_text, position)) is not None:
            found.update(self._with_prefixes[match.group()])
            position = match.start() + 1
        return frozenset(found)


def _trie(literals: Iterable[str]) -> str:
    """An expression matching the longest of `literals` at a position:
    their characters as a tree, alternatives sorted, an optional tail
    where a literal ends and a longer one goes on (greedy, so the longer
    is tried first)."""
    tree: dict[str, dict] = {}
    for literal in literals:
        node = tree
        for char in literal:
            node = node.setdefault(char, {})
        node[''] = {}

    def expression(node: dict[str, dict]) -> str:
        branches = [re.escape(char) + expression(child)
                    for char, child in sorted(node.items()) if char]
        if not branches:
            return ''
        body = branches[0] if len(branches) == 1 \
            else '(?:%s)' % '|'.join(branches)
        return '(?:%s)?' % body if '' in node else body
    return expression(tree)


def _necessary(items: list[Any]) -> list[set[str]]:
    """Every necessary set of a sequence: literal runs and the sets of its
    groups and alternations."""
    found = []
    run = []
    for op, argument in items + [(None, None)]:
        if op is sre.LITERAL:
            run.append(chr(argument).casefold())
            continue
        if op is sre.AT:
            continue            # zero-width (\b, ^): does not break a run
        if len(run) >= MIN_LITERAL:
            found.append({''.join(run)})
        run = []
        if op is None:
            break
        literals = _item(op, argument)
        if literals:
            found.append(literals)
    return found


def _best(items: list[Any]) -> set[str] | None:
    """One necessary set of a sequence: the one whose shortest member is
    longest, as long words reject the most text."""
    found = _necessary(items)
    if not found:
        return None
    return max(found, key=lambda literals: min(map(len, literals)))


def _item(op: Any, argument: Any) -> set[str] | None:
    if op is sre.SUBPATTERN:
        return _best(list(argument[-1]))
    if op is sre.BRANCH:
        union = set()
        for branch in argument[1]:
            literals = _best(list(branch))
            if not literals:
                return None
            union |= literals
        return union
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT) and argument[0] >= 1:
        return _best(list(argument[2]))
    return None


def split_alternatives(regex: re.Pattern[str]) -> list[re.Pattern[str]]:
    """The top-level alternatives of a compiled expression, compiled alone.

    "a|b|c" matches where one of a, b, c does; apart, each gets its own
    prefilter instead of sharing the weakest one.
    """
    branches, depth, start, escaped, in_class = [], 0, 0, False, False
    pattern = regex.pattern
    for index, char in enumerate(pattern):
        if escaped:
            escaped = False
        elif char == '\\':
            escaped = True
        elif in_class:
            in_class = char != ']' or index == start
        elif char == '[':
            in_class = True
        elif char == '(':
            depth += 1
        elif char == ')':
            depth -= 1
        elif char == '|' and depth == 0:
            branches.append(pattern[start:index])
            start = index + 1
    branches.append(pattern[start:])
    try:
        return [re.compile(branch, regex.flags) for branch in branches]
    except re.error:
        return [regex]
