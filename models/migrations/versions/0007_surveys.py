"""surveys

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('surveys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=60), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('source_date', sa.Date(), nullable=True),
    sa.Column('questions', sa.JSON(), nullable=False),
    sa.Column('texts', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('segment', sa.JSON(), nullable=False),
    sa.Column('reminder_after_hours', sa.Integer(), nullable=False),
    sa.Column('closes_after_days', sa.Integer(), nullable=False),
    sa.Column('closes_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_surveys')),
    sa.UniqueConstraint('slug', name=op.f('uq_surveys_slug'))
    )
    with op.batch_alter_table('surveys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_surveys_status'), ['status'], unique=False)

    op.create_table('survey_participants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('question_index', sa.Integer(), nullable=False),
    sa.Column('invalid_count', sa.Integer(), nullable=False),
    sa.Column('invited_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reminded_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_answer_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_survey_participants_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'], name=op.f('fk_survey_participants_survey_id_surveys'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_participants')),
    sa.UniqueConstraint('survey_id', 'contact_id', name=op.f('uq_survey_participants_survey_id'))
    )
    with op.batch_alter_table('survey_participants', schema=None) as batch_op:
        batch_op.create_index('ix_survey_participants_contact_status', ['contact_id', 'status'], unique=False)

    op.create_table('survey_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('question_key', sa.String(length=40), nullable=False),
    sa.Column('value', sa.String(length=400), nullable=True),
    sa.Column('raw', sa.Text(), nullable=True),
    sa.Column('skipped', sa.Boolean(), nullable=False),
    sa.Column('answered_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['participant_id'], ['survey_participants.id'], name=op.f('fk_survey_answers_participant_id_survey_participants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_answers')),
    sa.UniqueConstraint('participant_id', 'question_key', name=op.f('uq_survey_answers_participant_id'))
    )
    with op.batch_alter_table('survey_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_answers_participant_id'), ['participant_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('survey_answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_answers_participant_id'))

    op.drop_table('survey_answers')
    with op.batch_alter_table('survey_participants', schema=None) as batch_op:
        batch_op.drop_index('ix_survey_participants_contact_status')

    op.drop_table('survey_participants')
    with op.batch_alter_table('surveys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_surveys_status'))

    op.drop_table('surveys')
