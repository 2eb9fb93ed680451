"""product templates with pricing rules

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 13:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('product_templates',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('blueprint_id', sa.Integer(), nullable=False),
    sa.Column('print_provider_id', sa.Integer(), nullable=False),
    sa.Column('variant_ids', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('position', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('pricing', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'name', name='uq_template_name')
    )
    op.create_index(op.f('ix_product_templates_tenant_id'), 'product_templates', ['tenant_id'], unique=False)
    op.create_index('uq_template_default', 'product_templates', ['tenant_id'], unique=True, postgresql_where=sa.text('is_default'))


def downgrade() -> None:
    op.drop_index('uq_template_default', table_name='product_templates', postgresql_where=sa.text('is_default'))
    op.drop_index(op.f('ix_product_templates_tenant_id'), table_name='product_templates')
    op.drop_table('product_templates')
