"""Pure helpers: signed tokens, the tracking pixel, untrusted text."""
