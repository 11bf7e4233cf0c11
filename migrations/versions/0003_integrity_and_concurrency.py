"""integrity seals, sealed invite labels, versioned drafts and sessions, key reset approval

Rows that decide who reads, or what a reader is shown, get an integrity seal (an HMAC under a
key from the instance secret); rows already there are sealed here, so this migration needs
the instance secret (``flask --app voiceapp init-db`` passes it). Invite labels are sealed
under the instance key. Drafts become one per session and invite, with a version, and
sessions get a version, so two tabs merge instead of overwriting each other.

Sessions and one-time staff links are now named by an HMAC under the instance secret: every
session and unused link from before stops working (people sign in again; a new link is made
for anyone still waiting to set up their account).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 09:00:00
"""

from alembic import op
import sqlalchemy as sa

import voiceapp.db

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

SEALED = ("app_user", "recipient_key", "conference", "invite", "submission")


def upgrade() -> None:
    for table in SEALED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('seal', sa.String(length=64), nullable=False,
                                          server_default=''))
    with op.batch_alter_table('invite', schema=None) as batch_op:
        batch_op.add_column(sa.Column('label_sealed', sa.LargeBinary(), nullable=True))
    _seal_existing_rows()
    with op.batch_alter_table('invite', schema=None) as batch_op:
        batch_op.drop_column('label')
    for table in SEALED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('seal', server_default=None)

    # One draft per session and invite: keep the newest of any duplicates.
    op.execute("DELETE FROM draft WHERE EXISTS (SELECT 1 FROM draft AS newer "
               "WHERE newer.session_id = draft.session_id AND newer.invite_id = draft.invite_id "
               "AND newer.updated_at > draft.updated_at)")
    with op.batch_alter_table('draft', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False,
                                      server_default='1'))
        batch_op.drop_index('ix_draft_session_id')
        batch_op.create_unique_constraint('uq_draft_session_id_invite_id',
                                          ['session_id', 'invite_id'])
        batch_op.alter_column('version', server_default=None)
    with op.batch_alter_table('web_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False,
                                      server_default='1'))
        batch_op.alter_column('version', server_default=None)

    op.create_table('key_reset_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('requested_at', voiceapp.db.UTCDateTime(), nullable=False),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', voiceapp.db.UTCDateTime(), nullable=True),
    sa.Column('approved', sa.Boolean(), nullable=True),
    sa.Column('seal', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['approved_by_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['requested_by_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('key_reset_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_key_reset_request_user_id'), ['user_id'],
                              unique=False)


# The sealed fields as they were at this revision (later revisions seal more, and reseal).
FIELDS_HERE = {
    "app_user": ("id", "organisation_id", "email", "role", "advocacy_service_id",
                 "disabled_at"),
    "recipient_key": ("id", "organisation_id", "user_id", "public_key", "created_at",
                      "retired_at"),
    "conference": ("id", "organisation_id", "chair_id"),
    "invite": ("id", "conference_id", "code_lookup", "assigned_advocate_id", "revoked_at"),
    "submission": ("id", "conference_id", "invite_id", "author", "author_user_id", "language",
                   "urgent", "advocacy_service_id", "shared_with_advocates", "format_version",
                   "idempotency_key", "created_at", "read_at", "read_by_id", "recorded_at"),
}


def _seal_existing_rows() -> None:
    """Seal every row already there, and every invite label, with the instance secret."""
    from voiceapp import crypto, integrity
    from voiceapp.models import Conference, Invite, RecipientKey, Submission, User

    connection = op.get_bind()
    tables = [model.__table__ for model in (User, RecipientKey, Conference, Invite, Submission)]
    rows = {table.name: connection.execute(sa.select(
        *[table.c[name] for name in FIELDS_HERE[table.name]])).all() for table in tables}
    labels = connection.execute(sa.text(
        "SELECT id, label FROM invite WHERE label IS NOT NULL AND label <> ''")).all()
    if not any(rows.values()) and not labels:
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
    label_key = crypto.derive_key(secret.encode(), "instance/invite-label")
    for invite_id, label in labels:
        sealed = crypto.seal_secret(label.encode(), label_key,
                                    crypto.context("invite-label", invite=invite_id))
        connection.execute(sa.text("UPDATE invite SET label_sealed = :sealed WHERE id = :id"),
                           {"sealed": sealed, "id": invite_id})


def downgrade() -> None:
    op.drop_table('key_reset_request')
    with op.batch_alter_table('web_session', schema=None) as batch_op:
        batch_op.drop_column('version')
    with op.batch_alter_table('draft', schema=None) as batch_op:
        batch_op.drop_constraint('uq_draft_session_id_invite_id', type_='unique')
        batch_op.create_index('ix_draft_session_id', ['session_id'], unique=False)
        batch_op.drop_column('version')
    with op.batch_alter_table('invite', schema=None) as batch_op:
        batch_op.add_column(sa.Column('label', sa.String(length=60), nullable=False,
                                      server_default=''))
        batch_op.drop_column('label_sealed')
    for table in SEALED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('seal')
