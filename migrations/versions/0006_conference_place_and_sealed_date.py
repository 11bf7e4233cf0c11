"""a conference's place, told to the child; a conference's date and place, and a person's name,
under their seals

The child's story about the meeting says when and where it is, and who chairs it, so each is
sealed: someone who can write to the database cannot tell a child another time, place or
name. Rows whose seal held are sealed again over the new fields (this migration needs the
instance secret; ``flask --app voiceapp init-db`` passes it); a row whose seal had already
failed keeps failing.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 14:00:00.000000
"""

from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# The sealed fields of each table, before this revision and after it.
CONFERENCE = (("id", "organisation_id", "chair_id"),
              ("id", "organisation_id", "chair_id", "starts_at", "place"))
PERSON = (("id", "organisation_id", "email", "role", "advocacy_service_id", "disabled_at"),
          ("id", "organisation_id", "email", "name", "role", "advocacy_service_id",
           "disabled_at"))


def upgrade() -> None:
    with op.batch_alter_table('conference', schema=None) as batch_op:
        batch_op.add_column(sa.Column('place', sa.String(length=120), nullable=False,
                                      server_default=''))
    with op.batch_alter_table('conference', schema=None) as batch_op:
        batch_op.alter_column('place', server_default=None)
    _reseal('conference', *CONFERENCE)
    _reseal('app_user', *PERSON)


def downgrade() -> None:
    _reseal('app_user', *reversed(PERSON))
    _reseal('conference', *reversed(CONFERENCE))
    with op.batch_alter_table('conference', schema=None) as batch_op:
        batch_op.drop_column('place')


def _reseal(name: str, before: tuple[str, ...], after: tuple[str, ...]) -> None:
    """Seal each row of table ``name`` over ``after``, if its seal over ``before`` holds."""
    import hmac

    from voiceapp import crypto, integrity
    from voiceapp.models import Conference, User

    table = {'conference': Conference, 'app_user': User}[name].__table__  # its column types
    connection = op.get_bind()
    rows = connection.execute(sa.select(table.c.seal, *[
        table.c[field] for field in dict.fromkeys(before + after)])).all()
    if not rows:
        return
    secret = op.get_context().config.attributes.get("secret_key")
    if not secret:
        raise RuntimeError("This migration seals rows again with the instance secret: run it "
                           "with `flask --app voiceapp init-db`.")
    key = crypto.derive_key(secret.encode(), "instance/row-seal")
    for row in rows:
        values = row._mapping
        held = integrity.seal_over(name, [values[f] for f in before], key=key)
        if hmac.compare_digest(row.seal or "", held):
            seal = integrity.seal_over(name, [values[f] for f in after], key=key)
            connection.execute(table.update().where(table.c.id == row.id).values(seal=seal))
