"""The Bounces tab of mailman-bouncerules in Postorius (a Django app)."""

__version__ = '0.1.0'
