"""webhook events: vendor webhooks acted on once; external refs found by vendor id

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('webhook_events',
    sa.Column('vendor', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('tenant_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('topic', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('vendor', 'event_id')
    )
    op.create_index(op.f('ix_webhook_events_tenant_id'), 'webhook_events', ['tenant_id'], unique=False)
    op.create_index('ix_external_refs_kind_external_id', 'external_refs', ['kind', 'external_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_external_refs_kind_external_id', table_name='external_refs')
    op.drop_index(op.f('ix_webhook_events_tenant_id'), table_name='webhook_events')
    op.drop_table('webhook_events')
