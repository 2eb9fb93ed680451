"""external refs: one workflow per vendor id (unique kind + external_id)

Two runs whose drafts had the same copy could both record one Etsy listing; the second
then failed forever on `listings.etsy_listing_id`. A vendor id now has one owner. Of the
claims a race already doubled, the run that recorded its listing keeps it, else the
oldest (the others were stuck anyway); each removed claim is logged.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 00:00:00
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger('alembic.runtime.migration')


def upgrade() -> None:
    # No run may record a vendor id between the clean-up and the unique index. Taken
    # whole at once (dropping the index needs it anyway: a weaker lock upgraded later can
    # deadlock with a reader that then writes); give up rather than stall every activity
    # behind a long transaction on the table. A timed-out upgrade can simply be rerun.
    op.execute("SET LOCAL lock_timeout = '10s'")
    op.execute('LOCK TABLE external_refs IN ACCESS EXCLUSIVE MODE')
    op.execute('SET LOCAL lock_timeout = DEFAULT')  # later migrations share the transaction
    # Of the claims on one vendor id keep the one of the run that recorded its listing
    # (for an Etsy listing: that listing) - that run finished; otherwise the oldest.
    removed = op.get_bind().execute(
        sa.text(
            """
            DELETE FROM external_refs AS doomed
            USING (
                SELECT ref.workflow_id, ref.kind,
                       row_number() OVER (
                           PARTITION BY ref.kind, ref.external_id
                           ORDER BY NOT EXISTS (
                               SELECT 1 FROM listings AS listing
                               WHERE listing.workflow_id = ref.workflow_id
                                 AND (ref.kind <> 'etsy_listing'
                                      OR listing.etsy_listing_id::text = ref.external_id)
                           ), ref.created_at, ref.workflow_id
                       ) AS claim
                FROM external_refs AS ref
            ) AS ranked
            WHERE doomed.workflow_id = ranked.workflow_id
              AND doomed.kind = ranked.kind
              AND ranked.claim > 1
            RETURNING doomed.workflow_id, doomed.kind, doomed.external_id
            """
        )
    ).all()
    for workflow_id, kind, external_id in removed:
        # Such a run may still hold the id in memory: terminate it (a cancelled run's
        # compensation would delete what the other run owns).
        log.warning(
            'removed the claim of %s on %s %s (another run holds it); terminate that run',
            workflow_id,
            kind,
            external_id,
        )
    op.drop_index('ix_external_refs_kind_external_id', table_name='external_refs')
    op.create_index('ix_external_refs_kind_external_id', 'external_refs', ['kind', 'external_id'], unique=True)


def downgrade() -> None:
    op.drop_index('ix_external_refs_kind_external_id', table_name='external_refs')
    op.create_index('ix_external_refs_kind_external_id', 'external_refs', ['kind', 'external_id'], unique=False)
