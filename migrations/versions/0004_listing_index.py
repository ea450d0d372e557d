"""events: is_listed computed column for the listing index

Revision ID: 0004_listing_index
Revises: 0003_feed_token
Create Date: 2026-11-23 19:53:37.843213

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004_listing_index'
down_revision = '0003_feed_token'
branch_labels = None
depends_on = None


def _recreate() -> str:
    # SQLite cannot ADD a STORED generated column: rebuild the table there; elsewhere ALTER.
    return "always" if op.get_bind().dialect.name == "sqlite" else "auto"


def upgrade():
    with op.batch_alter_table('events', schema=None, recreate=_recreate()) as batch_op:
        batch_op.add_column(sa.Column('is_listed', sa.Boolean(), sa.Computed("visibility = 'public' AND status IN ('published', 'live') AND deleted_at IS NULL", persisted=True), nullable=False))
        batch_op.drop_index(batch_op.f('ix_events_listing'))
        batch_op.create_index('ix_events_listed', ['is_listed', 'start_at', 'id'], unique=False)



def downgrade():
    with op.batch_alter_table('events', schema=None, recreate=_recreate()) as batch_op:
        batch_op.drop_index('ix_events_listed')
        batch_op.create_index(batch_op.f('ix_events_listing'), ['visibility', 'status', 'start_at'], unique=False)
        batch_op.drop_column('is_listed')

