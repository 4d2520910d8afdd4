"""Default texts of the plugin's owner mail, one folder per language.

Sites and lists override them with Mailman's own template URIs, under
the same names (e.g. list:admin:notice:bouncerules-report).
"""
