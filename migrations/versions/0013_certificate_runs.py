"""bulk certificate issuing runs

Revision ID: 0013_certificate_runs
Revises: 0012_certificates
Create Date: 2026-11-24 00:40:00

One table, `certificate_issue_runs`: the progress of "issue to all eligible" and the cursor
a resumed run starts after; at most one queued or running run per event (partial unique
index).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_certificate_runs'
down_revision = '0012_certificates'
branch_labels = None
depends_on = None

_UNFINISHED_ROW = "status IN ('queued', 'running')"


def upgrade():
    op.create_table('certificate_issue_runs',
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('started_by_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('queued', 'running', 'done', 'failed', name='issue_run_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('issued', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('cursor_registration_id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_certificate_issue_runs_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['started_by_id'], ['users.id'], name=op.f('fk_certificate_issue_runs_started_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_issue_runs'))
    )
    with op.batch_alter_table('certificate_issue_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_issue_runs_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_issue_runs_uuid'), ['uuid'], unique=True)
        batch_op.create_index('uq_certificate_issue_runs_one_unfinished', ['event_id'], unique=True, sqlite_where=sa.text(_UNFINISHED_ROW), postgresql_where=sa.text(_UNFINISHED_ROW))


def downgrade():
    with op.batch_alter_table('certificate_issue_runs', schema=None) as batch_op:
        batch_op.drop_index('uq_certificate_issue_runs_one_unfinished', sqlite_where=sa.text(_UNFINISHED_ROW), postgresql_where=sa.text(_UNFINISHED_ROW))
        batch_op.drop_index(batch_op.f('ix_certificate_issue_runs_uuid'))
        batch_op.drop_index(batch_op.f('ix_certificate_issue_runs_event_id'))

    op.drop_table('certificate_issue_runs')
