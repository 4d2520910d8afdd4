"""Refusing text patterns whose matching time can explode.

Python's `re` backtracks: `(\\S+\\s*)+\\s+unknown` takes seconds on 28
letters and hours on 40.  A rule's pattern is searched in every bounce a
public address receives, so the loader refuses the shapes that backtrack
without bound, before any bounce is read:

- atomic groups `(?>...)`, possessive repeats (`a++`), conditionals
  `(?(1)...|...)` and back-references `\\1`: Python's engine backtracks
  inside an atomic group while it matches it, and the others are no
  language of bounces;
- a repeated group (`+`, `*`, `{2,}`, `{24}`) that holds a repeat of
  varying length (`(a+)+`, `(\\S+\\s*)*`, `(?:\\w?){24}`), unless a
  literal the inner repeat cannot match ends each turn
  (`(?:[a-z0-9-]+\\.)+` is fine: every turn ends at a dot);
- a quantified alternation whose branches can start alike (`(a|ab)+`);
- more than two open-ended repeats of wide classes (`.`, `\\S`, `\\w`,
  negated sets) in one pattern: each one multiplies the work by the length
  of the text.  Bounded repeats (`.{0,40}`) are always fine.

What remains runs in at most quadratic time, over diagnostics that the
parser bounds in length (see `parsing.dsn.MAX_FIELD_CHARS`).
"""

from collections.abc import Sequence
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parser  # type: ignore[attr-defined]
from typing import Any

from public import public

# Open-ended repeats of wide classes one pattern may hold.
MAX_WIDE_REPEATS = 2
_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT)
_NARROW_CATEGORIES = frozenset((sre.CATEGORY_DIGIT, sre.CATEGORY_SPACE))
# Constructs refused outright, and what the loader calls them.
_REFUSED = {
    sre.ATOMIC_GROUP: 'an atomic group (?>...)',
    sre.POSSESSIVE_REPEAT: 'a possessive repeat (*+, ++, ?+)',
    sre.GROUPREF_EXISTS: 'a conditional (?(1)...|...)',
    sre.GROUPREF: 'a back-reference',
}
# re's private parse tree, which has no types: (opcode, argument) pairs
# whose arguments nest further sequences of them.
Items = Sequence[tuple[Any, Any]]


@public
def backtracking_risk(pattern: str, flags: int = 0) -> str | None:
    """Why `pattern` may backtrack without bound, or None if it cannot."""
    items = list(sre_parser.parse(pattern, flags))
    return _nested(items) or _too_wide(items)


def _nested(items: Items, quantified: bool = False) -> str | None:
    """A refused construct, or a repeat of varying length or an ambiguous
    alternation inside a repeated group."""
    for index, (op, argument) in enumerate(items):
        if op in _REFUSED:
            return '%s is not allowed' % _REFUSED[op]
        if op in _REPEATS:
            low, high, body = argument
            if quantified and low != high and not _fenced(
                    list(body), items[index + 1:]):
                return 'a quantified group holds another quantifier'
            problem = _nested(list(body), quantified or high > 1)
            if problem:
                return problem
        elif op is sre.BRANCH:
            branches = [list(branch) for branch in argument[1]]
            if quantified and not _distinct_starts(branches):
                return ('a quantified alternation has branches that can '
                        'start with the same character')
            for branch in branches:
                problem = _nested(branch, quantified)
                if problem:
                    return problem
        else:
            for inner in _inner_sequences(op, argument):
                problem = _nested(inner, quantified)
                if problem:
                    return problem
    return None


def _too_wide(items: Items) -> str | None:
    count = _wide_repeats(items)
    if count > MAX_WIDE_REPEATS:
        return ('%d open-ended repeats of wide classes such as .* or \\S+ '
                '(at most %d; bound them, e.g. .{0,40})'
                % (count, MAX_WIDE_REPEATS))
    return None


def _wide_repeats(items: Items) -> int:
    count = 0
    for op, argument in items:
        if op in _REPEATS:
            _low, high, body = argument
            body = list(body)
            if high == sre.MAXREPEAT and any(_is_wide(*item) for item in body):
                count += 1
            count += _wide_repeats(body)
        elif op is sre.BRANCH:
            count += max(_wide_repeats(list(branch)) for branch in argument[1])
        else:
            count += sum(_wide_repeats(inner)
                         for inner in _inner_sequences(op, argument))
    return count


def _is_wide(op: Any, argument: Any) -> bool:
    """Does one character of this kind match most of a text?"""
    if op in (sre.ANY, sre.NOT_LITERAL):
        return True
    if op is sre.IN:
        if argument and argument[0][0] is sre.NEGATE:
            return True
        return any(item_op is sre.CATEGORY and value not in _NARROW_CATEGORIES
                   for item_op, value in argument)
    return False


def _distinct_starts(branches: Sequence[Items]) -> bool:
    """Does each branch begin with its own literal character?"""
    starts = []
    for branch in branches:
        if not branch or branch[0][0] is not sre.LITERAL:
            return False
        starts.append(chr(branch[0][1]).casefold())
    return len(set(starts)) == len(starts)


def _fenced(body: Items, rest: Items) -> bool:
    """Is a repeat of `body` followed, in its group, by a literal that it
    cannot match?  Then each turn of the outer repeat ends there, and the
    two repeats cannot share out the same characters."""
    for op, argument in rest:
        if op is sre.LITERAL:
            char = chr(argument)
            return not any(_matches(item, char) for item in body)
        if op is not sre.AT:
            return False
    return False


def _matches(item: tuple[Any, Any], char: str) -> bool:
    """Can this one-character item match `char`?  (True when unsure.)"""
    op, argument = item
    if op is sre.LITERAL:
        return _in_set(item, char)
    if op is sre.NOT_LITERAL:
        return chr(argument) != char
    if op is sre.IN:
        negated = bool(argument) and argument[0][0] is sre.NEGATE
        found = any(_in_set(entry, char) for entry in argument)
        return found != negated
    return True


def _in_set(entry: tuple[Any, Any], char: str) -> bool:
    op, value = entry
    if op is sre.LITERAL:
        return chr(value).casefold() == char.casefold()
    if op is sre.RANGE:
        return any(value[0] <= ord(c) <= value[1]
                   for c in (char.lower(), char.upper()))
    if op is sre.CATEGORY:
        return {sre.CATEGORY_DIGIT: char.isdigit(),
                sre.CATEGORY_NOT_DIGIT: not char.isdigit(),
                sre.CATEGORY_SPACE: char.isspace(),
                sre.CATEGORY_NOT_SPACE: not char.isspace(),
                sre.CATEGORY_WORD: char.isalnum() or char == '_',
                sre.CATEGORY_NOT_WORD: not (char.isalnum() or char == '_'),
                }.get(value, True)
    return False


def _inner_sequences(op: Any, argument: Any) -> list[Items]:
    """The sub-patterns of a group or a look-around."""
    if op is sre.SUBPATTERN:
        return [list(argument[-1])]
    if op in (sre.ASSERT, sre.ASSERT_NOT):
        return [list(argument[1])]
    return []
