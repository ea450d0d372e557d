"""certificate templates, certificates, status history, declines

Revision ID: 0012_certificates
Revises: 0011_zoom_recordings
Create Date: 2026-11-24 00:40:00

Adds the certificate tables, `events.certificate_template_id` and the decline columns of
`registrations`. On SQLite the two foreign-key columns are added with a plain ALTER, never a
batch copy: the copy of `events` fails on its computed column (SQLAlchemy misreads the
columns ALTERed in after it), and copying `registrations` risks its partial unique index.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_certificates'
down_revision = '0011_zoom_recordings'
branch_labels = None
depends_on = None


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
    op.create_table('certificate_templates',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.Enum('html', 'background', name='certificate_template_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('html', sa.Text(), nullable=False),
    sa.Column('css', sa.Text(), nullable=False),
    sa.Column('page_size', sa.String(length=10), nullable=False),
    sa.Column('orientation', sa.String(length=10), nullable=False),
    sa.Column('background_key', sa.String(length=300), nullable=True),
    sa.Column('field_positions', sa.JSON(), nullable=False),
    sa.Column('is_default', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_certificate_templates_owner_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_templates'))
    )
    with op.batch_alter_table('certificate_templates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_templates_deleted_at'), ['deleted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_templates_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_templates_uuid'), ['uuid'], unique=True)

    op.create_table('certificates',
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('active', 'revoked', name='certificate_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('verification_code', sa.String(length=32), nullable=False),
    sa.Column('attendee_name', sa.String(length=200), nullable=False),
    sa.Column('attendee_email', sa.String(length=254), nullable=False),
    sa.Column('event_title', sa.String(length=200), nullable=False),
    sa.Column('event_starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('event_ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('event_timezone', sa.String(length=64), nullable=False),
    sa.Column('cpd_credits', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('organizer_name', sa.String(length=200), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by_id', sa.Integer(), nullable=True),
    sa.Column('revocation_reason', sa.Text(), nullable=False),
    sa.Column('pdf_key', sa.String(length=300), nullable=True),
    sa.Column('pdf_rendered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('emailed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('cpd_credits >= 0', name=op.f('ck_certificates_cpd_credits_not_negative')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_certificates_event_id_events'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_certificates_issued_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_certificates_registration_id_registrations'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['users.id'], name=op.f('fk_certificates_revoked_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['template_id'], ['certificate_templates.id'], name=op.f('fk_certificates_template_id_certificate_templates'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_certificates_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificates')),
    sa.UniqueConstraint('verification_code', name=op.f('uq_certificates_verification_code'))
    )
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificates_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificates_registration_id'), ['registration_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificates_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificates_template_id'), ['template_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificates_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificates_uuid'), ['uuid'], unique=True)
        batch_op.create_index('uq_certificates_one_active', ['registration_id'], unique=True, sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))

    op.create_table('certificate_status_history',
    sa.Column('certificate_id', sa.Integer(), nullable=False),
    sa.Column('from_status', sa.Enum('active', 'revoked', name='from_status', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('to_status', sa.Enum('active', 'revoked', name='to_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('changed_by_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'], name=op.f('fk_certificate_status_history_certificate_id_certificates'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['changed_by_id'], ['users.id'], name=op.f('fk_certificate_status_history_changed_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_status_history'))
    )
    with op.batch_alter_table('certificate_status_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_status_history_certificate_id'), ['certificate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_status_history_uuid'), ['uuid'], unique=True)

    _add_foreign_key_column('events', 'certificate_template_id', 'certificate_templates', 'RESTRICT')
    op.create_index(op.f('ix_events_certificate_template_id'), 'events', ['certificate_template_id'], unique=False)

    op.add_column('registrations', sa.Column('certificate_declined_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('registrations', sa.Column('certificate_decline_reason', sa.Text(), server_default='', nullable=False))
    _add_foreign_key_column('registrations', 'certificate_declined_by_id', 'users', 'SET NULL')


def downgrade():
    _drop_foreign_key_column('registrations', 'certificate_declined_by_id', 'users', 'SET NULL')
    op.drop_column('registrations', 'certificate_decline_reason')
    op.drop_column('registrations', 'certificate_declined_at')

    op.drop_index(op.f('ix_events_certificate_template_id'), table_name='events')
    _drop_foreign_key_column('events', 'certificate_template_id', 'certificate_templates', 'RESTRICT')

    with op.batch_alter_table('certificate_status_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_status_history_uuid'))
        batch_op.drop_index(batch_op.f('ix_certificate_status_history_certificate_id'))

    op.drop_table('certificate_status_history')
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_index('uq_certificates_one_active', sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))
        batch_op.drop_index(batch_op.f('ix_certificates_uuid'))
        batch_op.drop_index(batch_op.f('ix_certificates_user_id'))
        batch_op.drop_index(batch_op.f('ix_certificates_template_id'))
        batch_op.drop_index(batch_op.f('ix_certificates_status'))
        batch_op.drop_index(batch_op.f('ix_certificates_registration_id'))
        batch_op.drop_index(batch_op.f('ix_certificates_event_id'))

    op.drop_table('certificates')
    with op.batch_alter_table('certificate_templates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_templates_uuid'))
        batch_op.drop_index(batch_op.f('ix_certificate_templates_owner_id'))
        batch_op.drop_index(batch_op.f('ix_certificate_templates_deleted_at'))

    op.drop_table('certificate_templates')
