"""alert feeds, their polls, and review before push

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('alert_feeds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('mode', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('etag', sa.String(length=300), nullable=True),
    sa.Column('last_modified', sa.String(length=100), nullable=True),
    sa.Column('seen', sa.JSON(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('next_poll_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('polling_until', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_polled_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_error_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_feeds')),
    sa.UniqueConstraint('url', name=op.f('uq_alert_feeds_url'))
    )
    op.create_table('alert_feed_polls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('feed_id', sa.Integer(), nullable=False),
    sa.Column('polled_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('millis', sa.Integer(), nullable=False),
    sa.Column('http_status', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=12), nullable=False),
    sa.Column('entries', sa.Integer(), nullable=False),
    sa.Column('imported', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('pushes', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['feed_id'], ['alert_feeds.id'], name=op.f('fk_alert_feed_polls_feed_id_alert_feeds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_feed_polls'))
    )
    with op.batch_alter_table('alert_feed_polls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_feed_polls_feed_id'), ['feed_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_feed_polls_polled_at'), ['polled_at'], unique=False)
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review', sa.String(length=10), nullable=False, server_default='none'))
        batch_op.add_column(sa.Column('feed_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_alerts_review'), ['review'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_alerts_feed_id_alert_feeds'), 'alert_feeds', ['feed_id'], ['id'], ondelete='SET NULL')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.alter_column('review', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_alerts_feed_id_alert_feeds'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_alerts_review'))
        batch_op.drop_column('feed_id')
        batch_op.drop_column('review')
    with op.batch_alter_table('alert_feed_polls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_feed_polls_polled_at'))
        batch_op.drop_index(batch_op.f('ix_alert_feed_polls_feed_id'))
    op.drop_table('alert_feed_polls')
    op.drop_table('alert_feeds')
