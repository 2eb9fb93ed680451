"""cost lines: model usage per workflow stage attempt and model

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('cost_lines',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('workflow_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('stage', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('vendor', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('model', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('input_tokens', sa.Integer(), nullable=False),
    sa.Column('output_tokens', sa.Integer(), nullable=False),
    sa.Column('images', sa.Integer(), nullable=False),
    sa.Column('calls', sa.Integer(), nullable=False),
    sa.Column('cost_micros', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('workflow_id', 'stage', 'attempt', 'model', name='uq_cost_line_attempt')
    )
    op.create_index(op.f('ix_cost_lines_tenant_id'), 'cost_lines', ['tenant_id'], unique=False)
    op.create_index(op.f('ix_cost_lines_workflow_id'), 'cost_lines', ['workflow_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_cost_lines_workflow_id'), table_name='cost_lines')
    op.drop_index(op.f('ix_cost_lines_tenant_id'), table_name='cost_lines')
    op.drop_table('cost_lines')
