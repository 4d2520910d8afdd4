"""The plugin's alembic chain upgrades and downgrades a real schema."""

from alembic import command
from sqlalchemy import create_engine, inspect, text

from mailman_bouncerules.model.database import VERSION_TABLE, alembic_config
from mailman_bouncerules.model.tables import Base

FALSE = 'false'


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
    assert 'bouncerules_shadowed' in inspect(engine).get_table_names()
    # Mailman's own version table is never created or touched.
    assert 'alembic_version' not in inspect(engine).get_table_names()
    assert VERSION_TABLE in inspect(engine).get_table_names()


def _fresh_engines(tmp_path):
    """A new SQLite file, and a new PostgreSQL database when the tests run
    on PostgreSQL."""
    import os
    engines = [create_engine('sqlite:///%s' % (tmp_path / 'carry.sqlite'))]
    url = os.environ.get('BOUNCERULES_TEST_DATABASE', '')
    if url.startswith('postgresql'):
        admin = create_engine(url, isolation_level='AUTOCOMMIT')
        with admin.connect() as connection:
            connection.execute(text('DROP DATABASE IF EXISTS bouncerules_carry'))
            connection.execute(text('CREATE DATABASE bouncerules_carry'))
        admin.dispose()
        engines.append(create_engine(url.rsplit('/', 1)[0] + '/bouncerules_carry'))
    return engines


def test_the_one_pass_revision_carries_what_the_history_said(tmp_path):
    for engine in _fresh_engines(tmp_path):
        with engine.begin() as connection:
            Base.metadata.create_all(connection)
            command.stamp(alembic_config(connection), 'head')
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), '0005')
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO bouncerules_member (list_id, email, state, run, "
                "reset_after, shadow) VALUES ('l', 'a@x', 'ok', 0, 0, %s), "
                "('l', 'b@x', 'ok', 0, 0, %s)" % ((FALSE,) * 2 if
                                                   engine.dialect.name ==
                                                   'postgresql' else (0, 0))))
            for email, evidence, counted in (
                    ('a@x', 'smtp', 'false'), ('a@x', 'unverified', 'false'),
                    ('a@x', 'unverified', 'false'), ('b@x', 'unverified',
                                                     'true')):
                connection.execute(text(
                    "INSERT INTO bouncerules_event (list_id, email, event, at, "
                    "evidence, counted) VALUES ('l', :email, 'bounce', "
                    "'2026-01-0%d 10:00:00', :evidence, :counted)"
                    % (1 + len(evidence) % 3)), dict(
                        email=email, evidence=evidence,
                        counted=counted == 'true'))
            connection.execute(text(
                "INSERT INTO bouncerules_event (id, list_id, email, event, at, "
                "counted, rule, status) VALUES (900, 'l', 'b@x', 'bounce', "
                "'2026-02-01 10:00:00', :no, 'user-unknown', '5.1.1')"),
                dict(no=False))
            connection.execute(text(
                "INSERT INTO bouncerules_probe (list_id, email, change, status, "
                "created_at, due_at, priority, event_id) VALUES ('l', 'b@x', "
                "'remove', 'sent', '2026-02-01 10:00:00', "
                "'2026-02-04 10:00:00', 0, 900)"))
            # An open hold keeps a removal back; a decided one held another.
            for number, status in ((1, 'held'), (2, 'released')):
                connection.execute(text(
                    "INSERT INTO bouncerules_hold (id, list_id, scope, domain, "
                    "rule, failures, recipients, tripped_at, status) VALUES "
                    "(%d, 'l', 'window', '*', 'r', 20, 40, "
                    "'2026-02-01 10:00:00', '%s')" % (number, status)))
                connection.execute(text(
                    "INSERT INTO bouncerules_event (list_id, email, event, at, "
                    "counted, hold_id, detail, rule) VALUES ('l', 'a@x', "
                    "'held', '2026-02-01 10:00:00', :no, %d, 'would remove', "
                    "'user-unknown')" % number), dict(no=False))
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), 'head')
            rows = {row.email: row for row in connection.execute(text(
                'SELECT email, verified_failure_at, probed_at, unverified_kept '
                'FROM bouncerules_member'))}
        assert rows['a@x'].verified_failure_at is not None
        assert rows['a@x'].unverified_kept == 2
        assert rows['a@x'].probed_at is None
        assert rows['b@x'].verified_failure_at is None
        assert rows['b@x'].unverified_kept == 0
        assert rows['b@x'].probed_at is not None
        with engine.connect() as connection:
            held = connection.execute(text(
                'SELECT hold_id, email, change, rule FROM bouncerules_held'
            )).all()
        assert [tuple(row) for row in held] == [
            (1, 'a@x', 'remove', 'user-unknown')]
        with engine.connect() as connection:
            waiting = connection.execute(text(
                'SELECT rule, reply_status FROM bouncerules_probe')).all()
        assert [tuple(row) for row in waiting] == [('user-unknown', '5.1.1')]
        engine.dispose()


def test_shadow_decisions_move_from_the_history_to_their_table(tmp_path):
    for engine in _fresh_engines(tmp_path):
        postgresql = engine.dialect.name == 'postgresql'
        with engine.begin() as connection:
            Base.metadata.create_all(connection)
            command.stamp(alembic_config(connection), 'head')
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), '0006')
        with engine.begin() as connection:
            # a@x in shadow: removal recorded, then a newer confirmation;
            # b@x no longer in shadow: nothing to carry.
            for email, shadow in (('a@x', True), ('b@x', False)):
                connection.execute(text(
                    "INSERT INTO bouncerules_member (list_id, email, state, "
                    "run, reset_after, shadow) VALUES ('l', :email, "
                    "'confirmed', 3, 0, :shadow)"), dict(
                        email=email, shadow=shadow if postgresql
                        else int(shadow)))
            for number, (email, event, rule) in enumerate((
                    ('a@x', 'would-remove', 'user-unknown'),
                    ('a@x', 'would-confirm', 'mailbox-disabled'),
                    ('a@x', 'bounce', 'quota'),
                    ('b@x', 'would-remove', 'user-unknown')), start=1):
                connection.execute(text(
                    "INSERT INTO bouncerules_event (id, list_id, email, event, "
                    "at, counted, rule, evidence) VALUES (:id, 'l', :email, "
                    ":event, '2026-03-0%d 10:00:00', :no, :rule, 'smtp')"
                    % number), dict(id=number, email=email, event=event,
                                    rule=rule, no=False))
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), 'head')
        with engine.connect() as connection:
            carried = connection.execute(text(
                'SELECT email, change, rule, evidence FROM '
                'bouncerules_shadowed')).all()
        assert [tuple(row) for row in carried] == [
            ('a@x', 'confirm', 'mailbox-disabled', 'smtp')]
        engine.dispose()


def test_the_member_row_reads_right_whatever_the_column_order(tmp_path):
    """A table that migrations grew holds its columns in their order, not
    the model's: the upsert that locks a member's row must still fill
    each attribute from its own column."""
    from sqlalchemy.orm import Session

    from mailman_bouncerules.model.storage import upsert_locked
    from mailman_bouncerules.model.tables import MemberState
    engine = create_engine('sqlite:///%s' % (tmp_path / 'order.sqlite'))
    table = MemberState.__table__
    reversed_columns = list(reversed(table.c))
    with engine.begin() as connection:
        connection.execute(text('CREATE TABLE bouncerules_member (%s, '
                                'UNIQUE (list_id, email))' % ', '.join(
            '%s %s' % (column.name, 'INTEGER PRIMARY KEY'
                       if column.primary_key else
                       column.type.compile(engine.dialect))
            for column in reversed_columns)))
        connection.execute(text(
            "INSERT INTO bouncerules_member (list_id, email, state, run, "
            "reset_after, shadow, unverified_kept) VALUES "
            "('l', 'a@x', 'hard', 2, 7, 0, 5)"))
    with Session(engine) as session:
        row = upsert_locked(session, MemberState, dict(
            list_id='l', email='a@x', state='ok', run=0, reset_after=0),
            ('list_id', 'email'))
        assert (row.email, row.state, row.run, row.reset_after,
                row.unverified_kept) == ('a@x', 'hard', 2, 7, 5)
