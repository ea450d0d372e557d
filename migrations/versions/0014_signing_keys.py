"""credential signing keys

Revision ID: 0014_signing_keys
Revises: 0013_certificate_runs
Create Date: 2026-11-24 00:40:00

Two tables: `signing_keys` (the site's Ed25519 keys; the private key is a Fernet token; one
key has is_signing = TRUE, the others NULL, under a UNIQUE constraint) and
`certificate_credentials` (each certificate's signed Open Badges VC-JWT, one per
certificate, pointing at the key that signed it).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014_signing_keys'
down_revision = '0013_certificate_runs'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('signing_keys',
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('algorithm', sa.String(length=20), nullable=False),
    sa.Column('private_pem', sa.Text(), nullable=False),
    sa.Column('public_jwk', sa.JSON(), nullable=False),
    sa.Column('is_signing', sa.Boolean(), nullable=True),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signing_keys')),
    sa.UniqueConstraint('is_signing', name=op.f('uq_signing_keys_is_signing')),
    sa.UniqueConstraint('kid', name=op.f('uq_signing_keys_kid'))
    )
    with op.batch_alter_table('signing_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signing_keys_uuid'), ['uuid'], unique=True)

    op.create_table('certificate_credentials',
    sa.Column('certificate_id', sa.Integer(), nullable=False),
    sa.Column('signing_key_id', sa.Integer(), nullable=False),
    sa.Column('token', sa.Text(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'], name=op.f('fk_certificate_credentials_certificate_id_certificates'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['signing_key_id'], ['signing_keys.id'], name=op.f('fk_certificate_credentials_signing_key_id_signing_keys'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_credentials')),
    sa.UniqueConstraint('certificate_id', name=op.f('uq_certificate_credentials_certificate_id'))
    )
    with op.batch_alter_table('certificate_credentials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_credentials_signing_key_id'), ['signing_key_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_credentials_uuid'), ['uuid'], unique=True)


def downgrade():
    with op.batch_alter_table('certificate_credentials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_credentials_uuid'))
        batch_op.drop_index(batch_op.f('ix_certificate_credentials_signing_key_id'))

    op.drop_table('certificate_credentials')
    with op.batch_alter_table('signing_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signing_keys_uuid'))

    op.drop_table('signing_keys')
