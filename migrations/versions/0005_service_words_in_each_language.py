"""advocacy services in each language: a name to use inside a sentence, and translations

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 08:30:00.000000
"""

from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('advocacy_service', schema=None) as batch_op:
        batch_op.add_column(sa.Column('in_a_sentence', sa.String(length=160), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('translations', sa.JSON(), nullable=False,
                                      server_default='{}'))
    with op.batch_alter_table('advocacy_service', schema=None) as batch_op:
        batch_op.alter_column('in_a_sentence', server_default=None)
        batch_op.alter_column('translations', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('advocacy_service', schema=None) as batch_op:
        batch_op.drop_column('translations')
        batch_op.drop_column('in_a_sentence')
