"""The first schema of the plugin's tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-26

A database meeting the plugin for the first time gets the schema of
model.py through create_all and is stamped at the newest revision, so this
first revision only anchors the chain; later revisions alter what it
describes.
"""

revision = '0001'
down_revision = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
