"""privacy and translations: suppression list, consent channel and text version, erased rows
keep no contact, text overrides and their version counter

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

UNLINKABLE = ('messages', 'outbox', 'survey_participants')


def upgrade() -> None:
    op.create_table('suppressed_numbers',
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('digest', name=op.f('pk_suppressed_numbers'))
    )
    op.create_table('text_overrides',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('field', sa.String(length=20), nullable=False),
    sa.Column('lang', sa.String(length=2), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('updated_by', sa.String(length=254), nullable=True),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('checked_by', sa.String(length=254), nullable=True),
    sa.Column('checked_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('es_hash', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_text_overrides')),
    sa.UniqueConstraint('kind', 'key', 'field', 'lang', name='uq_text_overrides_text')
    )
    op.create_table('texts_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_texts_version'))
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
    op.drop_table('texts_version')
    op.drop_table('text_overrides')
    op.drop_table('suppressed_numbers')
