"""Rules-based bounce handling for GNU Mailman 3."""

__version__ = '0.1.0'
