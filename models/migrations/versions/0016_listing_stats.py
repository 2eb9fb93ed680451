"""listing_stats: each listing's views, favourites and sales per day; orders announce
their changes to the read cache

The order sync pulls each listing's views and favourites from Etsy and counts its orders,
units, revenue and margin from `orders`, one row per listing and day (issue 16): the
trend score's `performance` and `GET /v1/listings` read them. `orders` and
`listing_stats` send `listings:tenant` on `pod_read_changes` (migration 0014), since the
listing page shows their sums.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("orders", "listing_stats")


def upgrade() -> None:
    op.create_table(
        'listing_stats',
        sa.Column('listing_id', sa.Uuid(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('tenant_id', sa.String(length=64), nullable=False),
        sa.Column('views', sa.Integer(), nullable=False),
        sa.Column('favorites', sa.Integer(), nullable=False),
        sa.Column('orders', sa.Integer(), nullable=False),
        sa.Column('units', sa.Integer(), nullable=False),
        sa.Column('revenue_cents', sa.BigInteger(), nullable=False),
        sa.Column('margin_cents', sa.BigInteger(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('listing_id', 'day'),
    )
    op.create_index('ix_listing_stats_tenant_day', 'listing_stats', ['tenant_id', 'day'])
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_changed AFTER INSERT OR UPDATE OR DELETE ON {table}"
            f" FOR EACH ROW EXECUTE FUNCTION notify_read_change('listings')"
        )
        op.execute(
            f"CREATE TRIGGER {table}_truncated AFTER TRUNCATE ON {table}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION notify_read_truncate('listings')"
        )


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER {table}_truncated ON {table}")
        op.execute(f"DROP TRIGGER {table}_changed ON {table}")
    op.drop_index('ix_listing_stats_tenant_day', table_name='listing_stats')
    op.drop_table('listing_stats')
