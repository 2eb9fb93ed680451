"""trend signals merged by niche, HNSW indexes, campaigns

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 16:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('trend_signals', sa.Column('niche_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
    op.execute("UPDATE trend_signals SET niche_key = normalized_keyword")
    op.alter_column('trend_signals', 'niche_key', nullable=False)
    op.add_column('trend_signals', sa.Column('aliases', postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column('trend_signals', sa.Column('observations', sa.Integer(), nullable=False, server_default='0'))
    op.alter_column('trend_signals', 'observations', server_default=None)
    op.add_column('trend_signals', sa.Column('score_components', postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column('trend_signals', sa.Column('embedding_model', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
    op.drop_constraint('uq_trend_kw', 'trend_signals', type_='unique')
    op.create_unique_constraint('uq_trend_niche', 'trend_signals', ['tenant_id', 'niche_key'])
    op.create_index('ix_trend_signals_tenant_score', 'trend_signals', ['tenant_id', 'score'])
    op.create_index('ix_trend_signals_tenant_last_seen', 'trend_signals', ['tenant_id', 'last_seen'])
    op.create_index(
        'ix_trend_signals_embedding_hnsw', 'trend_signals', ['embedding'],
        postgresql_using='hnsw', postgresql_ops={'embedding': 'vector_cosine_ops'},
    )
    op.add_column('briefs', sa.Column('embedding_model', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
    op.create_index(
        'ix_briefs_embedding_hnsw', 'briefs', ['embedding'],
        postgresql_using='hnsw', postgresql_ops={'embedding': 'vector_cosine_ops'},
    )
    op.create_table(
        'campaigns',
        sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('tenant_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('request_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('request_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('options', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('outcomes', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('tenant_id', 'request_key', name='uq_campaign_request'),
    )
    op.create_index(op.f('ix_campaigns_tenant_id'), 'campaigns', ['tenant_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_campaigns_tenant_id'), table_name='campaigns')
    op.drop_table('campaigns')
    op.drop_index('ix_briefs_embedding_hnsw', table_name='briefs')
    op.drop_column('briefs', 'embedding_model')
    op.drop_index('ix_trend_signals_embedding_hnsw', table_name='trend_signals')
    op.drop_index('ix_trend_signals_tenant_last_seen', table_name='trend_signals')
    op.drop_index('ix_trend_signals_tenant_score', table_name='trend_signals')
    op.drop_constraint('uq_trend_niche', 'trend_signals', type_='unique')
    op.create_unique_constraint('uq_trend_kw', 'trend_signals', ['tenant_id', 'normalized_keyword'])
    op.drop_column('trend_signals', 'embedding_model')
    op.drop_column('trend_signals', 'score_components')
    op.drop_column('trend_signals', 'observations')
    op.drop_column('trend_signals', 'aliases')
    op.drop_column('trend_signals', 'niche_key')
