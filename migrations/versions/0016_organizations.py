"""organizations, memberships, invitations, permissions, activity log

Revision ID: 0016_organizations
Revises: 0015_cpd
Create Date: 2026-11-24 00:40:00

Adds the organization tables and the nullable `organization_id` of `events` and
`certificate_templates` (seed 003 "Modified Entities"). Those two are ON DELETE SET NULL:
organizations are soft-deleted, and should one ever be removed for good, its events and
templates fall back to being their creators' own (their organizer roles are untouched)
instead of blocking the removal. Certificates get the organization's logo key and colour
frozen at issue, like the rest of their data. The permissions are a mapping in
app/organizations/permissions.py, not a table. The foreign-key columns are added with a plain
ALTER on SQLite, restated as a named table constraint, never a batch copy of `events`
(the same helpers as 0012).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016_organizations'
down_revision = '0015_cpd'
branch_labels = None
depends_on = None

ROLE = sa.Enum('owner', 'admin', 'manager', 'member', name='org_role', native_enum=False,
               create_constraint=True)
ACTION = sa.Enum('created', 'settings_changed', 'member_invited', 'invitation_resent',
                 'invitation_cancelled', 'member_joined', 'role_changed', 'member_removed',
                 'member_left', 'ownership_transferred', 'event_created', 'template_shared',
                 name='org_action',
                 native_enum=False, create_constraint=True)


def _base_columns():
    return [
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('uuid', sa.Uuid(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    ]


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


def upgrade():
    op.create_table('organizations',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('logo_key', sa.String(length=300), nullable=True),
    sa.Column('primary_colour', sa.String(length=7), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('slug', sa.String(length=200), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    *_base_columns(),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_organizations_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organizations'))
    )
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organizations_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_organizations_deleted_at'), ['deleted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_organizations_slug'), ['slug'], unique=True)
        batch_op.create_index(batch_op.f('ix_organizations_uuid'), ['uuid'], unique=True)

    op.create_table('organization_memberships',
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', ROLE, nullable=False),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
    *_base_columns(),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_organization_memberships_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_organization_memberships_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organization_memberships')),
    sa.UniqueConstraint('organization_id', 'user_id', name=op.f('uq_organization_memberships_organization_id_user_id'))
    )
    with op.batch_alter_table('organization_memberships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organization_memberships_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_organization_memberships_uuid'), ['uuid'], unique=True)
        batch_op.create_index('uq_organization_memberships_one_owner', ['organization_id'], unique=True, sqlite_where=sa.text("role = 'owner'"), postgresql_where=sa.text("role = 'owner'"))

    op.create_table('organization_invitations',
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('role', ROLE, nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('invited_by_id', sa.Integer(), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    *_base_columns(),
    sa.ForeignKeyConstraint(['invited_by_id'], ['users.id'], name=op.f('fk_organization_invitations_invited_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_organization_invitations_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organization_invitations')),
    sa.UniqueConstraint('token', name=op.f('uq_organization_invitations_token'))
    )
    with op.batch_alter_table('organization_invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organization_invitations_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_organization_invitations_uuid'), ['uuid'], unique=True)

    op.create_table('organization_activity',
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', ACTION, nullable=False),
    sa.Column('target', sa.String(length=300), nullable=False),
    sa.Column('data', sa.JSON(), nullable=True),
    *_base_columns(),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_organization_activity_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_organization_activity_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organization_activity'))
    )
    with op.batch_alter_table('organization_activity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organization_activity_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index('ix_organization_activity_org_created', ['organization_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_organization_activity_uuid'), ['uuid'], unique=True)

    _add_foreign_key_column('events', 'organization_id', 'organizations', 'SET NULL')
    op.create_index(op.f('ix_events_organization_id'), 'events', ['organization_id'], unique=False)
    _add_foreign_key_column('certificate_templates', 'organization_id', 'organizations', 'SET NULL')
    op.create_index(op.f('ix_certificate_templates_organization_id'), 'certificate_templates', ['organization_id'], unique=False)
    # A certificate keeps the brand it was issued with (its name is organizer_name).
    op.add_column('certificates', sa.Column('organization_logo_key', sa.String(length=300), server_default='', nullable=False))
    op.add_column('certificates', sa.Column('organization_colour', sa.String(length=7), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_column('organization_colour')
        batch_op.drop_column('organization_logo_key')
    op.drop_index(op.f('ix_certificate_templates_organization_id'), table_name='certificate_templates')
    _drop_foreign_key_column('certificate_templates', 'organization_id', 'organizations', 'SET NULL')
    op.drop_index(op.f('ix_events_organization_id'), table_name='events')
    _drop_foreign_key_column('events', 'organization_id', 'organizations', 'SET NULL')

    with op.batch_alter_table('organization_activity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organization_activity_uuid'))
        batch_op.drop_index('ix_organization_activity_org_created')
        batch_op.drop_index(batch_op.f('ix_organization_activity_actor_id'))
    op.drop_table('organization_activity')

    with op.batch_alter_table('organization_invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organization_invitations_uuid'))
        batch_op.drop_index(batch_op.f('ix_organization_invitations_organization_id'))
    op.drop_table('organization_invitations')

    with op.batch_alter_table('organization_memberships', schema=None) as batch_op:
        batch_op.drop_index('uq_organization_memberships_one_owner', sqlite_where=sa.text("role = 'owner'"), postgresql_where=sa.text("role = 'owner'"))
        batch_op.drop_index(batch_op.f('ix_organization_memberships_uuid'))
        batch_op.drop_index(batch_op.f('ix_organization_memberships_user_id'))
    op.drop_table('organization_memberships')

    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organizations_uuid'))
        batch_op.drop_index(batch_op.f('ix_organizations_slug'))
        batch_op.drop_index(batch_op.f('ix_organizations_deleted_at'))
        batch_op.drop_index(batch_op.f('ix_organizations_created_by_id'))
    op.drop_table('organizations')
