"""external refs: one workflow per vendor id (unique kind + external_id)

Two runs whose drafts had the same copy could both record one Etsy listing; the second
then failed forever on `listings.etsy_listing_id`. A vendor id now has one owner. Rows a
race already doubled keep their oldest claim (such runs were stuck anyway).

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
    op.execute(
        """
        DELETE FROM external_refs AS later
        USING external_refs AS earlier
        WHERE later.kind = earlier.kind
          AND later.external_id = earlier.external_id
          AND (later.created_at, later.workflow_id) > (earlier.created_at, earlier.workflow_id)
        """
    )
    op.drop_index('ix_external_refs_kind_external_id', table_name='external_refs')
    op.create_index('ix_external_refs_kind_external_id', 'external_refs', ['kind', 'external_id'], unique=True)


def downgrade() -> None:
    op.drop_index('ix_external_refs_kind_external_id', table_name='external_refs')
    op.create_index('ix_external_refs_kind_external_id', 'external_refs', ['kind', 'external_id'], unique=False)
