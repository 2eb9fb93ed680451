"""orders: paid Etsy receipts forwarded to Printify, and the Etsy token's scopes

`orders` holds one row per tenant and Etsy receipt with its items, the buyer's address,
the amounts, the Printify order made for it and the tracking posted back (issue 16,
ADR 0031); `order_syncs` holds each tenant's checkpoint in Etsy's receipts and whether
orders go straight to production. `integrations.scopes` records what Etsy's
`tokenScopes` says the access token was granted, so a seller whose connection predates
`transactions_r`/`transactions_w` is told to connect again.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        'integrations',
        sa.Column('scopes', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.create_table(
        'orders',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('tenant_id', sa.String(length=64), nullable=False),
        sa.Column('etsy_shop_id', sa.BigInteger(), nullable=False),
        sa.Column('etsy_receipt_id', sa.BigInteger(), nullable=False),
        sa.Column('status', sa.String(length=32), nullable=False),
        sa.Column('fulfilment', sa.String(length=16), nullable=False),
        sa.Column('hold_reason', sa.String(length=64), nullable=True),
        sa.Column('hold_message', sa.String(length=500), nullable=True),
        sa.Column('printify_shop_id', sa.BigInteger(), nullable=True),
        sa.Column('printify_order_id', sa.String(length=64), nullable=True),
        sa.Column('items', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('address', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('amounts', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('tracking', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column('etsy_shipment_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('lease_owner', sa.String(length=300), nullable=True),
        sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('receipt_updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('tenant_id', 'etsy_receipt_id', name='uq_order_receipt'),
    )
    op.create_index('ix_orders_tenant_created', 'orders', ['tenant_id', 'created_at', 'id'])
    op.create_index('ix_orders_tenant_status', 'orders', ['tenant_id', 'status'])
    op.create_index('ix_orders_printify_order', 'orders', ['printify_order_id'], unique=True)
    op.create_table(
        'order_syncs',
        sa.Column('tenant_id', sa.String(length=64), nullable=False),
        sa.Column('auto_production', sa.Boolean(), nullable=False),
        sa.Column('checkpoint', sa.BigInteger(), nullable=False),
        sa.Column('last_synced_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id']),
        sa.PrimaryKeyConstraint('tenant_id'),
    )


def downgrade() -> None:
    op.drop_table('order_syncs')
    op.drop_index('ix_orders_printify_order', table_name='orders')
    op.drop_index('ix_orders_tenant_status', table_name='orders')
    op.drop_index('ix_orders_tenant_created', table_name='orders')
    op.drop_table('orders')
    op.drop_column('integrations', 'scopes')
