"""shared locations of contacts, CAP circles, media references of hand-offs

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('contacts') as batch:
        batch.add_column(sa.Column('latitude', sa.Double(), nullable=True))
        batch.add_column(sa.Column('longitude', sa.Double(), nullable=True))
        batch.add_column(sa.Column('located_at', models.base.UTCDateTime(timezone=True),
                                   nullable=True))
    with op.batch_alter_table('alert_areas') as batch:
        batch.add_column(sa.Column('circles', sa.JSON(), nullable=False, server_default='[]'))
    with op.batch_alter_table('handoff_requests') as batch:
        batch.add_column(sa.Column('media', sa.JSON(), nullable=False, server_default='[]'))


def downgrade() -> None:
    with op.batch_alter_table('handoff_requests') as batch:
        batch.drop_column('media')
    with op.batch_alter_table('alert_areas') as batch:
        batch.drop_column('circles')
    with op.batch_alter_table('contacts') as batch:
        batch.drop_column('located_at')
        batch.drop_column('longitude')
        batch.drop_column('latitude')
