"""Zoom recordings, files, views

Revision ID: 0011_zoom_recordings
Revises: 0010_zoom_meetings
Create Date: 2026-11-24 00:40:00

ZoomRecording (one per meeting instance), ZoomRecordingFile (Zoom's files of it) and
RecordingView (each watch or download). AttendanceSource already allows "zoom_report"
(0007), which the past-meeting participants report writes: no CHECK change here.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_zoom_recordings'
down_revision = '0010_zoom_meetings'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('zoom_recordings',
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('meeting_id', sa.String(length=64), nullable=False),
    sa.Column('meeting_uuid', sa.String(length=200), nullable=False),
    sa.Column('host_id', sa.String(length=64), nullable=False),
    sa.Column('topic', sa.String(length=300), nullable=False),
    sa.Column('start_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('share_url', sa.String(length=1000), nullable=False),
    sa.Column('play_passcode', sa.Text(), nullable=True),
    sa.Column('total_size', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_zoom_recordings_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['event_sessions.id'], name=op.f('fk_zoom_recordings_session_id_event_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_zoom_recordings')),
    sa.UniqueConstraint('meeting_uuid', name=op.f('uq_zoom_recordings_meeting_uuid'))
    )
    with op.batch_alter_table('zoom_recordings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_zoom_recordings_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_zoom_recordings_session_id'), ['session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_zoom_recordings_uuid'), ['uuid'], unique=True)

    op.create_table('zoom_recording_files',
    sa.Column('recording_id', sa.Integer(), nullable=False),
    sa.Column('file_id', sa.String(length=200), nullable=False),
    sa.Column('file_type', sa.String(length=32), nullable=False),
    sa.Column('file_extension', sa.String(length=16), nullable=False),
    sa.Column('recording_type', sa.String(length=64), nullable=False),
    sa.Column('file_size', sa.BigInteger(), nullable=False),
    sa.Column('play_url', sa.String(length=1000), nullable=False),
    sa.Column('download_url', sa.String(length=1000), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('recording_start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('recording_end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recording_id'], ['zoom_recordings.id'], name=op.f('fk_zoom_recording_files_recording_id_zoom_recordings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_zoom_recording_files')),
    sa.UniqueConstraint('recording_id', 'file_id', name=op.f('uq_zoom_recording_files_recording_id_file_id'))
    )
    with op.batch_alter_table('zoom_recording_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_zoom_recording_files_recording_id'), ['recording_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_zoom_recording_files_uuid'), ['uuid'], unique=True)

    op.create_table('recording_views',
    sa.Column('recording_id', sa.Integer(), nullable=False),
    sa.Column('recording_file_id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.Enum('watch', 'download', name='recording_action', native_enum=False, create_constraint=True, length=8), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recording_file_id'], ['zoom_recording_files.id'], name=op.f('fk_recording_views_recording_file_id_zoom_recording_files'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recording_id'], ['zoom_recordings.id'], name=op.f('fk_recording_views_recording_id_zoom_recordings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_recording_views_registration_id_registrations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_recording_views_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recording_views'))
    )
    with op.batch_alter_table('recording_views', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recording_views_recording_file_id'), ['recording_file_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_recording_views_recording_id'), ['recording_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_recording_views_registration_id'), ['registration_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_recording_views_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_recording_views_uuid'), ['uuid'], unique=True)


def downgrade():
    with op.batch_alter_table('recording_views', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recording_views_uuid'))
        batch_op.drop_index(batch_op.f('ix_recording_views_user_id'))
        batch_op.drop_index(batch_op.f('ix_recording_views_registration_id'))
        batch_op.drop_index(batch_op.f('ix_recording_views_recording_id'))
        batch_op.drop_index(batch_op.f('ix_recording_views_recording_file_id'))

    op.drop_table('recording_views')
    with op.batch_alter_table('zoom_recording_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_zoom_recording_files_uuid'))
        batch_op.drop_index(batch_op.f('ix_zoom_recording_files_recording_id'))

    op.drop_table('zoom_recording_files')
    with op.batch_alter_table('zoom_recordings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_zoom_recordings_uuid'))
        batch_op.drop_index(batch_op.f('ix_zoom_recordings_session_id'))
        batch_op.drop_index(batch_op.f('ix_zoom_recordings_event_id'))

    op.drop_table('zoom_recordings')
