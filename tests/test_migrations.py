"""The plugin's alembic chain upgrades and downgrades a real schema."""

from alembic import command
from sqlalchemy import create_engine, inspect

from mailman_bouncerules.model.database import VERSION_TABLE, alembic_config
from mailman_bouncerules.model.tables import Base


def columns(engine, table):
    return {column['name'] for column in inspect(engine).get_columns(table)}


def test_downgrade_and_upgrade_through_every_revision(tmp_path):
    engine = create_engine('sqlite:///%s' % (tmp_path / 'db.sqlite'))
    with engine.begin() as connection:
        Base.metadata.create_all(connection)
        command.stamp(alembic_config(connection), 'head')
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), '0001')
    assert 'tracking' not in columns(engine, 'bouncerules_list')
    assert 'bouncerules_open' not in inspect(engine).get_table_names()
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), 'head')
    assert 'tracking' in columns(engine, 'bouncerules_list')
    assert 'recipients' in columns(engine, 'bouncerules_campaign')
    assert 'bouncerules_open' in inspect(engine).get_table_names()
    assert {'snapshot', 'actor', 'hold_id'} <= columns(engine,
                                                       'bouncerules_event')
    assert 'shadow' in columns(engine, 'bouncerules_member')
    assert 'shadow' in columns(engine, 'bouncerules_list')
    assert {'bouncerules_hold', 'bouncerules_campaign_domain',
            'bouncerules_failures'} <= set(
        inspect(engine).get_table_names())
    assert {'bouncerules_probe', 'bouncerules_window'} <= set(
        inspect(engine).get_table_names())
    assert 'evidence' in columns(engine, 'bouncerules_event')
    assert 'scope' in columns(engine, 'bouncerules_hold')
    # Mailman's own version table is never created or touched.
    assert 'alembic_version' not in inspect(engine).get_table_names()
    assert VERSION_TABLE in inspect(engine).get_table_names()
