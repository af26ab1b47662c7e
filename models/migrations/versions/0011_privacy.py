"""privacy: suppression list, consent channel and text version, erased rows keep no contact

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = '0011'
down_revision = '0009'
branch_labels = None
depends_on = None

UNLINKABLE = ('messages', 'outbox', 'survey_participants')


def upgrade() -> None:
    op.create_table('suppressed_numbers',
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('digest', name=op.f('pk_suppressed_numbers'))
    )
    with op.batch_alter_table('contacts') as batch:
        batch.add_column(sa.Column('consent_channel', sa.String(length=10), nullable=True))
        batch.add_column(sa.Column('consent_version', sa.String(length=20), nullable=True))
    for table in UNLINKABLE:
        with op.batch_alter_table(table) as batch:
            batch.alter_column('contact_id', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    for table in UNLINKABLE:
        op.execute(f"DELETE FROM {table} WHERE contact_id IS NULL")
        with op.batch_alter_table(table) as batch:
            batch.alter_column('contact_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('contacts') as batch:
        batch.drop_column('consent_version')
        batch.drop_column('consent_channel')
    op.drop_table('suppressed_numbers')
