"""CPD requirements and external activities

Revision ID: 0015_cpd
Revises: 0014_signing_keys
Create Date: 2026-11-24 00:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_cpd'
down_revision = '0014_signing_keys'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('cpd_requirements',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('professional_body', sa.String(length=200), nullable=False),
    sa.Column('credits_required', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('period_kind', sa.Enum('yearly', 'rolling', name='cpd_period_kind', native_enum=False, create_constraint=True, length=7), nullable=False),
    sa.Column('start_month', sa.Integer(), nullable=False),
    sa.Column('period_months', sa.Integer(), nullable=False),
    sa.Column('active_from', sa.Date(), nullable=True),
    sa.Column('active_until', sa.Date(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('credits_required > 0', name=op.f('ck_cpd_requirements_credits_required_positive')),
    sa.CheckConstraint('start_month BETWEEN 1 AND 12', name=op.f('ck_cpd_requirements_start_month_valid')),
    sa.CheckConstraint('period_months BETWEEN 1 AND 120', name=op.f('ck_cpd_requirements_period_months_valid')),
    sa.CheckConstraint('active_until IS NULL OR active_from IS NULL OR active_until >= active_from', name=op.f('ck_cpd_requirements_active_range_valid')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_cpd_requirements_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cpd_requirements'))
    )
    with op.batch_alter_table('cpd_requirements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cpd_requirements_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cpd_requirements_uuid'), ['uuid'], unique=True)

    op.create_table('cpd_activities',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('requirement_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('provider', sa.String(length=200), nullable=False),
    sa.Column('completed_on', sa.Date(), nullable=False),
    sa.Column('credits', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('evidence_url', sa.String(length=500), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('credits > 0', name=op.f('ck_cpd_activities_credits_positive')),
    sa.ForeignKeyConstraint(['requirement_id'], ['cpd_requirements.id'], name=op.f('fk_cpd_activities_requirement_id_cpd_requirements'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_cpd_activities_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cpd_activities'))
    )
    with op.batch_alter_table('cpd_activities', schema=None) as batch_op:
        batch_op.create_index('ix_cpd_activities_user_completed', ['user_id', 'completed_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_cpd_activities_requirement_id'), ['requirement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cpd_activities_uuid'), ['uuid'], unique=True)


def downgrade():
    with op.batch_alter_table('cpd_activities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cpd_activities_uuid'))
        batch_op.drop_index(batch_op.f('ix_cpd_activities_requirement_id'))
        batch_op.drop_index('ix_cpd_activities_user_completed')

    op.drop_table('cpd_activities')
    with op.batch_alter_table('cpd_requirements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cpd_requirements_uuid'))
        batch_op.drop_index(batch_op.f('ix_cpd_requirements_user_id'))

    op.drop_table('cpd_requirements')
