"""What shadow mode would do is kept in a table of its own.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

Ending shadow mode carried out the newest `would-remove` or
`would-confirm` history row of each member; that decision now has a row of
its own (one a member), so the history is only read as history.  The
newest such row of each member still in shadow mode is carried over.
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'

_RECORDED = "('would-remove', 'would-confirm')"


def upgrade() -> None:
    op.create_table(
        'bouncerules_shadowed',
        sa.Column('list_id', sa.String(255), primary_key=True),
        sa.Column('email', sa.String(255), primary_key=True),
        sa.Column('change', sa.String(10), nullable=False),
        sa.Column('decided_at', sa.DateTime(), nullable=False),
        sa.Column('classification', sa.String(10)),
        sa.Column('action', sa.String(12)),
        sa.Column('rule', sa.String(100)),
        sa.Column('reason', sa.String(40)),
        sa.Column('status', sa.String(20)),
        sa.Column('smtp_code', sa.String(3)),
        sa.Column('diagnostic', sa.Text()),
        sa.Column('campaign', sa.String(998)),
        sa.Column('evidence', sa.String(12)))
    true = 'true' if op.get_context().dialect.name == 'postgresql' else '1'
    op.execute(
        'INSERT INTO bouncerules_shadowed (list_id, email, change, '
        'decided_at, classification, action, rule, reason, status, '
        'smtp_code, diagnostic, campaign, evidence) '
        "SELECT e.list_id, e.email, CASE WHEN e.event = 'would-remove' "
        "THEN 'remove' ELSE 'confirm' END, e.at, e.classification, "
        'e.action, e.rule, e.reason, e.status, e.smtp_code, e.diagnostic, '
        'e.campaign, e.evidence '
        'FROM bouncerules_event e JOIN bouncerules_member m '
        'ON m.list_id = e.list_id AND m.email = e.email '
        'WHERE m.shadow = %s AND e.id = (SELECT max(n.id) '
        'FROM bouncerules_event n WHERE n.list_id = e.list_id '
        'AND n.email = e.email AND n.event IN %s)' % (true, _RECORDED))


def downgrade() -> None:
    op.drop_table('bouncerules_shadowed')
