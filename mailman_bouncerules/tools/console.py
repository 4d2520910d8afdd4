"""Where the `bouncerules` console script is, for the measuring tools.

A virtualenv puts it beside its interpreter; a system pip (Debian's, into
/usr/local) puts it in its own prefix's bin, on the PATH.
"""

import shutil
import sys
from pathlib import Path

from public import public


@public
def console_script() -> str:
    beside = Path(sys.executable).with_name('bouncerules')
    if beside.exists():
        return str(beside)
    found = shutil.which('bouncerules')
    if found is None:
        raise FileNotFoundError('the bouncerules script is neither beside %s '
                                'nor on the PATH' % sys.executable)
    return found
