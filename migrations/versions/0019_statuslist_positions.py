"""revocation status lists (W3C Bitstring Status List)

Revision ID: 0019_statuslist_positions
Revises: 0018_urls_venue_owners
Create Date: 2026-12-07 23:50:00

Adds `status_lists` (one row per published list; `is_filling` TRUE on the list that gives
out positions, NULL on the others, under a UNIQUE constraint; `allocated` counts the
positions it gave) and each certificate's place in one: `certificates.status_list_id` and
`status_list_index`, unique together, and an index that reads a list's revoked positions
(its set bits) without touching the table. The foreign-key column is added with a plain
ALTER on SQLite, restated as a named table constraint, never a batch copy of `certificates`
(the same helpers as 0012 and 0016). Both columns stay nullable: SQLite cannot add a NOT
NULL reference, and the issuing service gives every new certificate its position.

Backfill: every existing certificate gets a distinct random position (random, so that a
position says nothing about when it was issued), 131,072 per list, in as many lists as
needed; the last list keeps filling unless it is full. The stored signed credentials are
deleted: they name the old per-certificate status endpoint, and each is signed again, with
its status list entry, the next time it is verified or downloaded (copies already handed
out keep verifying against the published keys).
"""
import random
import uuid
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019_statuslist_positions'
down_revision = '0018_urls_venue_owners'
branch_labels = None
depends_on = None

ENTRIES = 131_072  # positions per list (app/certificates/models.py STATUS_LIST_ENTRIES)


def _add_foreign_key_column(table, column, target, ondelete):
    name = f"fk_{table}_{column}_{target}"
    if op.get_bind().dialect.name != "sqlite":
        op.add_column(table, sa.Column(column, sa.Integer(), nullable=True))
        op.create_foreign_key(name, table, target, [column], ['id'], ondelete=ondelete)
        return
    inline = f"{column} INTEGER REFERENCES {target} (id) ON DELETE {ondelete}"
    op.execute(f"ALTER TABLE {table} ADD COLUMN {inline}")
    # SQLite keeps an inline REFERENCES without its name and SQLAlchemy reflects no
    # ON DELETE from it: restate it as the named table constraint that CREATE TABLE makes.
    _sqlite_rewrite_table_sql(table, inline, (
        f"{column} INTEGER, CONSTRAINT {name} FOREIGN KEY({column}) "
        f"REFERENCES {target} (id) ON DELETE {ondelete}"
    ))


def _drop_foreign_key_column(table, column, target, ondelete):
    name = f"fk_{table}_{column}_{target}"
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(name, table, type_='foreignkey')
        op.drop_column(table, column)
        return
    # DROP COLUMN refuses a column named by a table constraint; an inline one it drops.
    _sqlite_rewrite_table_sql(
        table,
        f"{column} INTEGER, CONSTRAINT {name} FOREIGN KEY({column}) "
        f"REFERENCES {target} (id) ON DELETE {ondelete}",
        f"{column} INTEGER REFERENCES {target} (id) ON DELETE {ondelete}",
    )
    op.drop_column(table, column)


def _sqlite_rewrite_table_sql(table, old, new):
    """Replace text in a table's stored CREATE statement (same columns, same constraints)."""
    bind = op.get_bind()
    stored = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).scalar()
    if stored.count(old) != 1:
        raise RuntimeError(f"cannot find {old!r} in the definition of {table}")
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?",
        (stored.replace(old, new), table),
    )
    bind.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def _backfill():
    bind = op.get_bind()
    lists = sa.table(
        'status_lists', sa.column('id', sa.Integer()), sa.column('uuid', sa.Uuid()),
        sa.column('created_at', sa.DateTime(timezone=True)),
        sa.column('updated_at', sa.DateTime(timezone=True)),
        sa.column('allocated', sa.Integer()), sa.column('is_filling', sa.Boolean()),
    )
    certificates = sa.table(
        'certificates', sa.column('id', sa.Integer()),
        sa.column('status_list_id', sa.Integer()), sa.column('status_list_index', sa.Integer()),
    )
    ids = bind.execute(sa.select(certificates.c.id).order_by(certificates.c.id)).scalars().all()
    now = datetime.now(timezone.utc)
    if bind.dialect.name == 'sqlite':
        now = now.replace(tzinfo=None)  # stored as naive UTC there (app/core/types.py)
    randomness = random.SystemRandom()
    for start in range(0, len(ids), ENTRIES):
        chunk = ids[start:start + ENTRIES]
        list_uuid = uuid.uuid4()
        bind.execute(lists.insert().values(
            uuid=list_uuid, created_at=now, updated_at=now, allocated=len(chunk),
            is_filling=True if len(chunk) < ENTRIES else None,
        ))
        list_id = bind.execute(
            sa.select(lists.c.id).where(lists.c.uuid == list_uuid)
        ).scalar_one()
        positions = randomness.sample(range(ENTRIES), len(chunk))
        bind.execute(
            certificates.update()
            .where(certificates.c.id == sa.bindparam('certificate_id'))
            .values(status_list_id=list_id, status_list_index=sa.bindparam('position')),
            [{'certificate_id': certificate_id, 'position': position}
             for certificate_id, position in zip(chunk, positions)],
        )
    bind.execute(sa.text('DELETE FROM certificate_credentials'))


def upgrade():
    op.create_table('status_lists',
    sa.Column('allocated', sa.Integer(), server_default='0', nullable=False),
    sa.Column('is_filling', sa.Boolean(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint(f'allocated BETWEEN 0 AND {ENTRIES}', name=op.f('ck_status_lists_allocated_within_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_status_lists')),
    sa.UniqueConstraint('is_filling', name=op.f('uq_status_lists_is_filling'))
    )
    with op.batch_alter_table('status_lists', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_status_lists_uuid'), ['uuid'], unique=True)

    _add_foreign_key_column('certificates', 'status_list_id', 'status_lists', 'RESTRICT')
    op.add_column('certificates', sa.Column('status_list_index', sa.Integer(), nullable=True))
    op.create_index('uq_certificates_status_list_position', 'certificates', ['status_list_id', 'status_list_index'], unique=True)
    op.create_index('ix_certificates_status_list_bits', 'certificates', ['status_list_id', 'status', 'status_list_index'], unique=False)
    _backfill()


def downgrade():
    op.drop_index('ix_certificates_status_list_bits', table_name='certificates')
    op.drop_index('uq_certificates_status_list_position', table_name='certificates')
    op.drop_column('certificates', 'status_list_index')
    _drop_foreign_key_column('certificates', 'status_list_id', 'status_lists', 'RESTRICT')
    with op.batch_alter_table('status_lists', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_status_lists_uuid'))
    op.drop_table('status_lists')
