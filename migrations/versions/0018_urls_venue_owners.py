"""venues belong to an organizer, an organization or the whole site

Revision ID: 0018_urls_venue_owners
Revises: 0017_uploads_hashed_tokens
Create Date: 2026-12-07 23:40:00

Venues were offered to every organizer. They now belong to the organizer who added them
(`owner_id`), to an organization (`organization_id`), or to the whole site (`is_site_wide`,
curated by admins); both keys are ON DELETE SET NULL, leaving a venue that is offered to no
one but stays on the events that use it.

Nobody recorded who added a venue, so existing venues are assigned from the events that use
them (soft-deleted events included):
- every such event is in one organization: that organization's venue;
- otherwise every such event was created by one person: that person's venue;
- otherwise (events of several organizers, or no event at all): site-wide, so that nobody
  loses a venue they were offered before; admins can retire or narrow those later.
"""
from collections import defaultdict

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018_urls_venue_owners'
down_revision = '0017_uploads_hashed_tokens'
branch_labels = None
depends_on = None

VENUES = sa.table('event_locations', sa.column('id', sa.Integer),
                  sa.column('owner_id', sa.Integer), sa.column('organization_id', sa.Integer),
                  sa.column('is_site_wide', sa.Boolean))
EVENTS = sa.table('events', sa.column('venue_id', sa.Integer),
                  sa.column('organization_id', sa.Integer), sa.column('created_by_id', sa.Integer))


def upgrade():
    with op.batch_alter_table('event_locations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('organization_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('is_site_wide', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index(batch_op.f('ix_event_locations_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_locations_owner_id'), ['owner_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_event_locations_owner_id_users'), 'users', ['owner_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_event_locations_organization_id_organizations'), 'organizations', ['organization_id'], ['id'], ondelete='SET NULL')
    _assign_existing_venues()


def _assign_existing_venues():
    bind = op.get_bind()
    uses = defaultdict(list)
    for venue_id, organization_id, creator_id in bind.execute(
        sa.select(EVENTS.c.venue_id, EVENTS.c.organization_id, EVENTS.c.created_by_id)
        .where(EVENTS.c.venue_id.is_not(None))
    ):
        uses[venue_id].append((organization_id, creator_id))
    for (venue_id,) in bind.execute(sa.select(VENUES.c.id)).all():
        organizations = {organization for organization, _ in uses[venue_id]}
        creators = {creator for _, creator in uses[venue_id]}
        if len(organizations) == 1 and None not in organizations:
            values = {'organization_id': organizations.pop()}
        elif len(creators) == 1 and None not in creators:
            values = {'owner_id': creators.pop()}
        else:
            values = {'is_site_wide': True}
        bind.execute(sa.update(VENUES).where(VENUES.c.id == venue_id).values(**values))


def downgrade():
    with op.batch_alter_table('event_locations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_event_locations_organization_id_organizations'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_event_locations_owner_id_users'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_event_locations_owner_id'))
        batch_op.drop_index(batch_op.f('ix_event_locations_organization_id'))
        batch_op.drop_column('is_site_wide')
        batch_op.drop_column('organization_id')
        batch_op.drop_column('owner_id')
