"""hashed bearer tokens: invitation links and calendar feeds keep only the token's SHA-256

Revision ID: 0017_uploads_hashed_tokens
Revises: 0016_organizations
Create Date: 2026-12-08 00:30:00

`organization_invitations.token`, `event_invitations.token` and `users.feed_token` held the
secret of a link in plaintext. Each becomes a `*_hash` column holding the hex SHA-256 of the
token (what app/core/bearer.hash_token computes, copied here: a revision never imports the
app), filled from the plaintext before the plaintext column is dropped, so links already
sent and feed URLs already subscribed keep working. The downgrade cannot bring the tokens
back: invitations get new random tokens (their emailed links stop working) and feeds are
left to be made again.
"""
import hashlib
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017_uploads_hashed_tokens'
down_revision = '0016_organizations'
branch_labels = None
depends_on = None

# (table, plaintext column, hash column, whether every row has a token)
TOKENS = (
    ('organization_invitations', 'token', 'token_hash', True),
    ('event_invitations', 'token', 'token_hash', True),
    ('users', 'feed_token', 'feed_token_hash', False),
)
BATCH = 500


def _hash(token):
    return hashlib.sha256(token.encode('utf-8', 'surrogatepass')).hexdigest()


def _rewrite(table, source, target, convert):
    """Set `target` to convert(source) on every row whose `source` is set, BATCH at a time."""
    bind = op.get_bind()
    rows = sa.table(table, sa.column('id', sa.Integer), sa.column(source, sa.String),
                    sa.column(target, sa.String))
    update = (rows.update().where(rows.c.id == sa.bindparam('row_id'))
              .values({target: sa.bindparam('value')}))
    last_id = 0
    while True:
        batch = bind.execute(
            sa.select(rows.c.id, rows.c[source])
            .where(rows.c[source].is_not(None), rows.c.id > last_id)
            .order_by(rows.c.id).limit(BATCH)
        ).all()
        if not batch:
            return
        bind.execute(update, [{'row_id': row_id, 'value': convert(value)}
                              for row_id, value in batch])
        last_id = batch[-1][0]


def upgrade():
    for table, plain, hashed, required in TOKENS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(hashed, sa.String(length=64), nullable=True))
        _rewrite(table, plain, hashed, _hash)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'uq_{table}_{plain}'), type_='unique')
            batch_op.drop_column(plain)
            if required:
                batch_op.alter_column(hashed, existing_type=sa.String(length=64),
                                      nullable=False)
            batch_op.create_unique_constraint(batch_op.f(f'uq_{table}_{hashed}'), [hashed])


def downgrade():
    for table, plain, hashed, required in reversed(TOKENS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(plain, sa.String(length=64), nullable=True))
        if required:  # a feed is made again on first use; an invitation needs a token
            _rewrite(table, hashed, plain, lambda _digest: secrets.token_urlsafe(32))
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'uq_{table}_{hashed}'), type_='unique')
            batch_op.drop_column(hashed)
            if required:
                batch_op.alter_column(plain, existing_type=sa.String(length=64),
                                      nullable=False)
            batch_op.create_unique_constraint(batch_op.f(f'uq_{table}_{plain}'), [plain])
