"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26 09:16:13.717171
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
import pgvector.sqlalchemy
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.create_table('briefs',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('workflow_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('keyword', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=140), nullable=False),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('embedding', pgvector.sqlalchemy.vector.VECTOR(dim=384), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('workflow_id')
    )
    op.create_index(op.f('ix_briefs_tenant_id'), 'briefs', ['tenant_id'], unique=False)
    op.create_table('external_refs',
    sa.Column('workflow_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('tenant_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('workflow_id', 'kind')
    )
    op.create_index(op.f('ix_external_refs_tenant_id'), 'external_refs', ['tenant_id'], unique=False)
    op.create_table('trend_signals',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('keyword', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('normalized_keyword', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('sources', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('metrics', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('embedding', pgvector.sqlalchemy.vector.VECTOR(dim=384), nullable=True),
    sa.Column('first_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'normalized_keyword', name='uq_trend_kw')
    )
    op.create_index(op.f('ix_trend_signals_tenant_id'), 'trend_signals', ['tenant_id'], unique=False)
    op.create_table('workflow_runs',
    sa.Column('workflow_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('tenant_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('request_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('request_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('keyword', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('stage', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('input', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('result', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('error', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('workflow_id'),
    sa.UniqueConstraint('tenant_id', 'request_key', name='uq_run_request_key')
    )
    op.create_index(op.f('ix_workflow_runs_status'), 'workflow_runs', ['status'], unique=False)
    op.create_index(op.f('ix_workflow_runs_tenant_id'), 'workflow_runs', ['tenant_id'], unique=False)
    op.create_table('designs',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('workflow_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('brief_id', sa.Uuid(), nullable=False),
    sa.Column('storage_key', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('preview_key', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('dpi', sa.Integer(), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['brief_id'], ['briefs.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('workflow_id')
    )
    op.create_index(op.f('ix_designs_tenant_id'), 'designs', ['tenant_id'], unique=False)
    op.create_table('listings',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('workflow_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('design_id', sa.Uuid(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=140), nullable=False),
    sa.Column('printify_shop_id', sa.BigInteger(), nullable=False),
    sa.Column('printify_product_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('printify_image_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('etsy_shop_id', sa.BigInteger(), nullable=False),
    sa.Column('etsy_listing_id', sa.BigInteger(), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['design_id'], ['designs.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('etsy_listing_id'),
    sa.UniqueConstraint('workflow_id')
    )
    op.create_index(op.f('ix_listings_tenant_id'), 'listings', ['tenant_id'], unique=False)
    # ### end Alembic commands ###


def downgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    op.drop_index(op.f('ix_listings_tenant_id'), table_name='listings')
    op.drop_table('listings')
    op.drop_index(op.f('ix_designs_tenant_id'), table_name='designs')
    op.drop_table('designs')
    op.drop_index(op.f('ix_workflow_runs_tenant_id'), table_name='workflow_runs')
    op.drop_index(op.f('ix_workflow_runs_status'), table_name='workflow_runs')
    op.drop_table('workflow_runs')
    op.drop_index(op.f('ix_trend_signals_tenant_id'), table_name='trend_signals')
    op.drop_table('trend_signals')
    op.drop_index(op.f('ix_external_refs_tenant_id'), table_name='external_refs')
    op.drop_table('external_refs')
    op.drop_index(op.f('ix_briefs_tenant_id'), table_name='briefs')
    op.drop_table('briefs')
    # ### end Alembic commands ###
