"""external refs: one workflow per vendor id (unique kind + external_id)

Two runs whose drafts had the same copy could both record one Etsy listing; the second
then failed forever on `listings.etsy_listing_id`. A vendor id now has one owner. Of the
claims a race already doubled, the run that recorded its listing keeps it, else the
oldest (the others were stuck anyway).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 00:00:00
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # No run may record a vendor id between the clean-up and the unique index.
    op.execute('LOCK TABLE external_refs IN SHARE ROW EXCLUSIVE MODE')
    # Of the claims on one vendor id keep the one whose run made its listing row (that
    # run finished); otherwise the oldest.
    op.execute(
        """
        DELETE FROM external_refs AS doomed
        USING (
            SELECT ref.workflow_id, ref.kind,
                   row_number() OVER (
                       PARTITION BY ref.kind, ref.external_id
                       ORDER BY listing.workflow_id IS NULL, ref.created_at, ref.workflow_id
                   ) AS claim
            FROM external_refs AS ref
            LEFT JOIN listings AS listing
              ON ref.kind = 'etsy_listing'
             AND listing.workflow_id = ref.workflow_id
             AND listing.etsy_listing_id::text = ref.external_id
        ) AS ranked
        WHERE doomed.workflow_id = ranked.workflow_id
          AND doomed.kind = ranked.kind
          AND ranked.claim > 1
        """
    )
    op.drop_index('ix_external_refs_kind_external_id', table_name='external_refs')
    op.create_index('ix_external_refs_kind_external_id', 'external_refs', ['kind', 'external_id'], unique=True)


def downgrade() -> None:
    op.drop_index('ix_external_refs_kind_external_id', table_name='external_refs')
    op.create_index('ix_external_refs_kind_external_id', 'external_refs', ['kind', 'external_id'], unique=False)
