"""each integration's shop setup and listing defaults; Etsy choices on templates

An Etsy integration keeps what the seller's shop offers (shipping profiles, return
policies, processing profiles) and the seller's defaults among them; a template may name
its own. Nullable: integrations connected before are read on their next run request.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEMPLATE_CHOICES = ('etsy_shipping_profile_id', 'etsy_return_policy_id', 'etsy_readiness_state_id')


def upgrade() -> None:
    op.add_column('integrations', sa.Column('shop_setup', postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column('integrations', sa.Column('listing_defaults', postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    for name in TEMPLATE_CHOICES:
        op.add_column('product_templates', sa.Column(name, sa.BigInteger(), nullable=True))


def downgrade() -> None:
    for name in reversed(TEMPLATE_CHOICES):
        op.drop_column('product_templates', name)
    op.drop_column('integrations', 'listing_defaults')
    op.drop_column('integrations', 'shop_setup')
