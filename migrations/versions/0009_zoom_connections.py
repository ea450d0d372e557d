"""Zoom connections (OAuth tokens, encrypted)

Revision ID: 0009_zoom_connections
Revises: 0008_attendance
Create Date: 2026-11-24 00:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_zoom_connections'
down_revision = '0008_attendance'
branch_labels = None
depends_on = None


def upgrade():
    # access_token / refresh_token hold Fernet tokens (app.core.encryption.EncryptedText).
    op.create_table('zoom_connections',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('zoom_user_id', sa.String(length=64), nullable=False),
    sa.Column('zoom_account_id', sa.String(length=64), nullable=False),
    sa.Column('zoom_email', sa.String(length=320), nullable=False),
    sa.Column('access_token', sa.Text(), nullable=False),
    sa.Column('refresh_token', sa.Text(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('scopes', sa.Text(), nullable=False),
    sa.Column('connected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('needs_reconnect_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_zoom_connections_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_zoom_connections')),
    sa.UniqueConstraint('user_id', name=op.f('uq_zoom_connections_user_id'))
    )
    with op.batch_alter_table('zoom_connections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_zoom_connections_uuid'), ['uuid'], unique=True)
        batch_op.create_index(batch_op.f('ix_zoom_connections_zoom_account_id'), ['zoom_account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_zoom_connections_zoom_user_id'), ['zoom_user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('zoom_connections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_zoom_connections_zoom_user_id'))
        batch_op.drop_index(batch_op.f('ix_zoom_connections_zoom_account_id'))
        batch_op.drop_index(batch_op.f('ix_zoom_connections_uuid'))

    op.drop_table('zoom_connections')
