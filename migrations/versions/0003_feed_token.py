"""feed token: the secret in the URL of each user's private "my events" calendar feed

Revision ID: 0003_feed_token
Revises: 0002_events
Create Date: 2026-11-23 19:37:01.872704

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003_feed_token'
down_revision = '0002_events'
branch_labels = None
depends_on = None


def upgrade():
    # Nullable: a token is made the first time a user asks for their feed.
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('feed_token', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_users_feed_token'), ['feed_token'])


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_feed_token'), type_='unique')
        batch_op.drop_column('feed_token')
