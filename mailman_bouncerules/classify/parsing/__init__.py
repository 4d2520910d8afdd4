"""Turn a bounce email into a `BounceReport`.

The parser only reads; it never decides.  Deciding is the rules' job.
"""

from mailman_bouncerules.classify.parsing.bounce import parse_bounce

__all__ = ['parse_bounce']
