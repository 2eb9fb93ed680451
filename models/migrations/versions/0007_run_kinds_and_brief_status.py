"""run kinds, brief status and approval

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 13:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('workflow_runs', sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False, server_default='design_to_listing'))
    op.alter_column('workflow_runs', 'kind', server_default=None)
    op.add_column('briefs', sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False, server_default='pending'))
    op.alter_column('briefs', 'status', server_default=None)
    op.add_column('briefs', sa.Column('screening', postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column('briefs', sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True))
    # Briefs that already have a design were screened and chosen.
    op.execute(
        "UPDATE briefs SET status = 'approved', approved_at = briefs.created_at"
        " FROM designs WHERE designs.brief_id = briefs.id"
    )
    # Briefs of runs that got past screening passed it; those refused by it say why.
    op.execute(
        "UPDATE briefs SET status = 'ready' FROM workflow_runs r"
        " WHERE r.workflow_id = briefs.workflow_id AND briefs.status = 'pending'"
        " AND r.stage NOT IN ('queued', 'generate_brief', 'screen_brief')"
    )
    op.execute(
        "UPDATE briefs SET status = 'refused', screening = r.error -> 'details'"
        " FROM workflow_runs r"
        " WHERE r.workflow_id = briefs.workflow_id AND briefs.status = 'pending'"
        " AND r.error ->> 'code' = 'UNSAFE_CONTENT'"
    )


def downgrade() -> None:
    op.drop_column('briefs', 'approved_at')
    op.drop_column('briefs', 'screening')
    op.drop_column('briefs', 'status')
    op.drop_column('workflow_runs', 'kind')
