"""Zoom meetings and registrants

Revision ID: 0010_zoom_meetings
Revises: 0009_zoom_connections
Create Date: 2026-11-24 00:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_zoom_meetings'
down_revision = '0009_zoom_connections'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('zoom_meetings',
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('meeting_id', sa.String(length=64), nullable=False),
    sa.Column('join_url', sa.Text(), nullable=False),
    sa.Column('start_url', sa.Text(), nullable=False),
    sa.Column('host_user_id', sa.Integer(), nullable=True),
    sa.Column('topic', sa.String(length=200), nullable=False),
    sa.Column('start_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('sync_status', sa.Enum('pending', 'synced', 'failed', 'deleted', name='meeting_sync_status', native_enum=False, create_constraint=True, length=7), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_zoom_meetings_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['host_user_id'], ['users.id'], name=op.f('fk_zoom_meetings_host_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['session_id'], ['event_sessions.id'], name=op.f('fk_zoom_meetings_session_id_event_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_zoom_meetings'))
    )
    with op.batch_alter_table('zoom_meetings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_zoom_meetings_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_zoom_meetings_host_user_id'), ['host_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_zoom_meetings_meeting_id'), ['meeting_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_zoom_meetings_session_id'), ['session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_zoom_meetings_sync_status'), ['sync_status'], unique=False)
        batch_op.create_index(batch_op.f('ix_zoom_meetings_uuid'), ['uuid'], unique=True)

    op.create_table('zoom_registrants',
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('zoom_meeting_id', sa.Integer(), nullable=False),
    sa.Column('registrant_id', sa.String(length=200), nullable=False),
    sa.Column('join_url', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'active', 'cancelled', 'failed', name='registrant_status', native_enum=False, create_constraint=True, length=9), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_zoom_registrants_registration_id_registrations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['zoom_meeting_id'], ['zoom_meetings.id'], name=op.f('fk_zoom_registrants_zoom_meeting_id_zoom_meetings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_zoom_registrants')),
    sa.UniqueConstraint('registration_id', 'zoom_meeting_id', name=op.f('uq_zoom_registrants_registration_id_zoom_meeting_id'))
    )
    with op.batch_alter_table('zoom_registrants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_zoom_registrants_registrant_id'), ['registrant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_zoom_registrants_registration_id'), ['registration_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_zoom_registrants_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_zoom_registrants_uuid'), ['uuid'], unique=True)
        batch_op.create_index(batch_op.f('ix_zoom_registrants_zoom_meeting_id'), ['zoom_meeting_id'], unique=False)


def downgrade():
    with op.batch_alter_table('zoom_registrants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_zoom_registrants_zoom_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_zoom_registrants_uuid'))
        batch_op.drop_index(batch_op.f('ix_zoom_registrants_status'))
        batch_op.drop_index(batch_op.f('ix_zoom_registrants_registration_id'))
        batch_op.drop_index(batch_op.f('ix_zoom_registrants_registrant_id'))

    op.drop_table('zoom_registrants')
    with op.batch_alter_table('zoom_meetings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_zoom_meetings_uuid'))
        batch_op.drop_index(batch_op.f('ix_zoom_meetings_sync_status'))
        batch_op.drop_index(batch_op.f('ix_zoom_meetings_session_id'))
        batch_op.drop_index(batch_op.f('ix_zoom_meetings_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_zoom_meetings_host_user_id'))
        batch_op.drop_index(batch_op.f('ix_zoom_meetings_event_id'))

    op.drop_table('zoom_meetings')
