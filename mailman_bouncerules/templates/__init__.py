"""Default texts of the plugin's mail, one folder per language.

Sites and lists override them with Mailman's own template URIs, under
the same names (e.g. list:admin:notice:bouncerules-report).
"""

from importlib.resources import files
from urllib.error import URLError

from mailman.interfaces.mailinglist import IMailingList
from mailman.interfaces.template import ITemplateLoader
from public import public
from zope.component import getUtility


@public
def load_template(name: str, mlist: IMailingList,
                  language: str | None = None) -> str:
    """The text of template `name`: Mailman's own lookup first (list,
    domain, site overrides and translations), else the packaged default in
    `language` (a code; default the list's) or English."""
    code = language or mlist.preferred_language.code
    try:
        return getUtility(ITemplateLoader).get(name, mlist, language=code)
    except (URLError, LookupError):
        pass
    folder = files('mailman_bouncerules.templates')
    for candidate_code in (code, 'en'):
        candidate = folder / candidate_code / (name + '.txt')
        if candidate.is_file():
            return candidate.read_text(encoding='utf-8')
    raise LookupError(name)
