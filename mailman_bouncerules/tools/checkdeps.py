"""Are the plugin's requirements met by what is installed?  Nothing else.

    python3 -m mailman_bouncerules.tools.checkdeps

A distribution's Mailman (Debian, Ubuntu) brings every library the plugin
needs, so the plugin is installed alone (`pip install --no-deps`): pip
must never replace or shadow a package the distribution provides (on
Debian 13 a plain install fetches another Mailman from PyPI).  This says,
for each requirement, which installed version meets it, and exits 1 if
one is missing or too old, so that an install recipe (and CI) can stop
there.  Only the plugin's own requirements are checked: the
distribution's packages answer for theirs.
"""

import sys
from importlib.metadata import PackageNotFoundError, requires, version

from packaging.requirements import Requirement

DISTRIBUTION = 'mailman-bouncerules'


def unmet(distribution: str = DISTRIBUTION) -> list[str]:
    """What is missing or too old, one line each (empty: all met)."""
    problems = []
    for text in requires(distribution) or ():
        requirement = Requirement(text)
        if requirement.marker is not None and not \
                requirement.marker.evaluate({'extra': ''}):
            continue            # an extra (the tests'), not the plugin's
        try:
            installed = version(requirement.name)
        except PackageNotFoundError:
            problems.append('%s: not installed' % requirement)
            continue
        if not requirement.specifier.contains(installed, prereleases=True):
            problems.append('%s: %s is installed' % (requirement, installed))
    return problems


def main() -> int:
    problems = unmet()
    for problem in problems:
        print('unmet: %s' % problem)
    if not problems:
        print('%s %s: every requirement is met by what is installed'
              % (DISTRIBUTION, version(DISTRIBUTION)))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
