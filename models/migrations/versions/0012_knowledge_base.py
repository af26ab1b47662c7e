"""knowledge base working copy and unanswered questions

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kb_categories',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_categories'))
    )
    op.create_table('kb_revision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('counter', sa.Integer(), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_revision'))
    )
    op.create_table('kb_topic_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('topic_id', sa.String(length=60), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('retired', sa.Boolean(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('author_email', sa.String(length=254), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('published_by_email', sa.String(length=254), nullable=True),
    sa.Column('published_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_kb_topic_versions_author_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_topic_versions')),
    sa.UniqueConstraint('topic_id', 'number', name=op.f('uq_kb_topic_versions_topic_id'))
    )
    with op.batch_alter_table('kb_topic_versions', schema=None) as batch_op:
        batch_op.create_index('ix_kb_topic_versions_status', ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_kb_topic_versions_topic_id'), ['topic_id'], unique=False)

    op.create_table('unanswered_questions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('reason', sa.String(length=12), nullable=False),
    sa.Column('topic_id', sa.String(length=60), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('handoff_id', sa.Integer(), nullable=True),
    sa.Column('new_topic_id', sa.String(length=60), nullable=True),
    sa.Column('resolved_by_email', sa.String(length=254), nullable=True),
    sa.Column('resolved_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_unanswered_questions_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['handoff_id'], ['handoff_requests.id'], name=op.f('fk_unanswered_questions_handoff_id_handoff_requests'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_unanswered_questions_message_id_messages'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unanswered_questions'))
    )
    with op.batch_alter_table('unanswered_questions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unanswered_questions_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_unanswered_questions_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_unanswered_questions_status'), ['status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('unanswered_questions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unanswered_questions_status'))
        batch_op.drop_index(batch_op.f('ix_unanswered_questions_created_at'))
        batch_op.drop_index(batch_op.f('ix_unanswered_questions_contact_id'))

    op.drop_table('unanswered_questions')
    with op.batch_alter_table('kb_topic_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_topic_versions_topic_id'))
        batch_op.drop_index('ix_kb_topic_versions_status')

    op.drop_table('kb_topic_versions')
    op.drop_table('kb_revision')
    op.drop_table('kb_categories')
