"""the organisation's settings and the advocacy services under seals

A child who feels unsafe is shown the out-of-hours number, "Leave this page quickly" goes to
the exit site, urgent messages go to the duty addresses, and a child chooses a helper and
agrees to share by the service's name: someone who can write to the database must not be
able to change any of them quietly. Rows already there are sealed as they are (this
migration needs the instance secret; ``flask --app voiceapp init-db`` passes it).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08 02:00:00.000000
"""

from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# The sealed fields at this revision.
FIELDS_HERE = {
    "organisation": ("id", "name", "exit_url", "out_of_hours_phone", "languages", "duty_email",
                     "out_of_hours_email", "retention_days_after_recorded",
                     "retention_days_after_meeting"),
    "advocacy_service": ("id", "organisation_id", "name", "in_a_sentence", "description",
                         "contact", "translations", "shared_email", "active"),
}


# Plain ALTER TABLE, never SQLite's batch copy of a table: other tables' rows refer to these
# ones, and SQLite (3.35 and later) adds and drops a column in place.
def upgrade() -> None:
    for name in FIELDS_HERE:
        op.add_column(name, sa.Column('seal', sa.String(length=64), nullable=False,
                                      server_default=''))
    _seal_existing_rows()


def downgrade() -> None:
    for name in reversed(FIELDS_HERE):
        op.drop_column(name, 'seal')


def _seal_existing_rows() -> None:
    from voiceapp import crypto, integrity
    from voiceapp.models import AdvocacyService, Organisation

    connection = op.get_bind()
    tables = [model.__table__ for model in (Organisation, AdvocacyService)]
    rows = {table.name: connection.execute(sa.select(
        *[table.c[field] for field in FIELDS_HERE[table.name]])).all() for table in tables}
    if not any(rows.values()):
        return
    secret = op.get_context().config.attributes.get("secret_key")
    if not secret:
        raise RuntimeError("This migration seals existing rows with the instance secret: run "
                           "it with `flask --app voiceapp init-db`.")
    key = crypto.derive_key(secret.encode(), "instance/row-seal")
    for table in tables:
        for row in rows[table.name]:
            seal = integrity.seal_over(table.name, list(row), key=key)
            connection.execute(table.update().where(table.c.id == row.id).values(seal=seal))
