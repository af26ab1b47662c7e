"""prices, alerts, subscriptions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('identifier', sa.String(length=200), nullable=False),
    sa.Column('sender', sa.String(length=200), nullable=False),
    sa.Column('sent', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('msg_type', sa.String(length=10), nullable=False),
    sa.Column('scope', sa.String(length=10), nullable=False),
    sa.Column('refs', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('superseded_by_id', sa.Integer(), nullable=True),
    sa.Column('source_file', sa.String(length=200), nullable=False),
    sa.Column('imported_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['superseded_by_id'], ['alerts.id'], name=op.f('fk_alerts_superseded_by_id_alerts'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts')),
    sa.UniqueConstraint('sender', 'identifier', name='uq_alerts_sender_identifier')
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alerts_state'), ['state'], unique=False)

    op.create_table('markets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('department', sa.String(length=40), nullable=False),
    sa.Column('province', sa.String(length=60), nullable=True),
    sa.Column('places', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_markets')),
    sa.UniqueConstraint('key', name=op.f('uq_markets_key'))
    )
    with op.batch_alter_table('markets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_markets_department'), ['department'], unique=False)

    op.create_table('products',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('aliases', sa.JSON(), nullable=False),
    sa.Column('default_unit', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_products')),
    sa.UniqueConstraint('name', name=op.f('uq_products_name'))
    )
    op.create_table('alert_infos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=10), nullable=False),
    sa.Column('event', sa.String(length=200), nullable=False),
    sa.Column('urgency', sa.String(length=12), nullable=False),
    sa.Column('severity', sa.String(length=12), nullable=False),
    sa.Column('certainty', sa.String(length=12), nullable=False),
    sa.Column('sender_name', sa.String(length=200), nullable=True),
    sa.Column('headline', sa.String(length=300), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('instruction', sa.Text(), nullable=True),
    sa.Column('web', sa.String(length=300), nullable=True),
    sa.Column('effective', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('onset', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('expires', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ends_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('parameters', sa.JSON(), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=True),
    sa.Column('hazards', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_alert_infos_alert_id_alerts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_infos'))
    )
    with op.batch_alter_table('alert_infos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_infos_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_infos_ends_at'), ['ends_at'], unique=False)

    op.create_table('price_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('market_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('variety', sa.String(length=60), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('min_cents', sa.Integer(), nullable=True),
    sa.Column('avg_cents', sa.Integer(), nullable=False),
    sa.Column('max_cents', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=80), nullable=False),
    sa.Column('source_file', sa.String(length=200), nullable=False),
    sa.Column('imported_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['market_id'], ['markets.id'], name=op.f('fk_price_reports_market_id_markets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_price_reports_product_id_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_price_reports')),
    sa.UniqueConstraint('date', 'market_id', 'product_id', 'variety', 'unit', name='uq_price_reports_line')
    )
    with op.batch_alter_table('price_reports', schema=None) as batch_op:
        batch_op.create_index('ix_price_reports_product_date', ['product_id', 'date'], unique=False)

    op.create_table('subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('product', sa.String(length=80), nullable=False),
    sa.Column('hazard', sa.String(length=20), nullable=False),
    sa.Column('region', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_subscriptions_contact_id_contacts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscriptions')),
    sa.UniqueConstraint('contact_id', 'kind', 'product', 'hazard', 'region', name='uq_subscriptions_what')
    )
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscriptions_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscriptions_status'), ['status'], unique=False)

    op.create_table('alert_areas',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('info_id', sa.Integer(), nullable=False),
    sa.Column('area_desc', sa.Text(), nullable=False),
    sa.Column('geocodes', sa.JSON(), nullable=False),
    sa.Column('polygons', sa.JSON(), nullable=False),
    sa.Column('regions', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['info_id'], ['alert_infos.id'], name=op.f('fk_alert_areas_info_id_alert_infos'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_areas'))
    )
    with op.batch_alter_table('alert_areas', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_areas_info_id'), ['info_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('alert_areas', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_areas_info_id'))

    op.drop_table('alert_areas')
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscriptions_status'))
        batch_op.drop_index(batch_op.f('ix_subscriptions_contact_id'))

    op.drop_table('subscriptions')
    with op.batch_alter_table('price_reports', schema=None) as batch_op:
        batch_op.drop_index('ix_price_reports_product_date')

    op.drop_table('price_reports')
    with op.batch_alter_table('alert_infos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_infos_ends_at'))
        batch_op.drop_index(batch_op.f('ix_alert_infos_alert_id'))

    op.drop_table('alert_infos')
    op.drop_table('products')
    with op.batch_alter_table('markets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_markets_department'))

    op.drop_table('markets')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alerts_state'))

    op.drop_table('alerts')
