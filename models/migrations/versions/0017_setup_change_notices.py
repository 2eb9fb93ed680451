"""integrations and product templates announce their changes (NOTIFY), for the API's start setups

A design-to-listing start works out the template's copy and the listing target from the
tenant's templates and integrations: three round trips of reads for rows that change
when a seller edits a template, connects a shop or an Etsy token is refreshed. Each API
process keeps what it worked out (`services.runs.StartSetups`) and forgets a tenant's
when these rows change: the same notices as migration 0014's (ADR 0030, ADR 0035), each
table its own group.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 23:00:00
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table → the group its notices name (services.runs.SETUP_GROUPS)
TABLES = {"integrations": "integrations", "product_templates": "product_templates"}


def upgrade() -> None:
    for table, group in TABLES.items():
        op.execute(
            f"CREATE TRIGGER {table}_changed AFTER INSERT OR UPDATE OR DELETE ON {table}"
            f" FOR EACH ROW EXECUTE FUNCTION notify_read_change('{group}')"
        )
        op.execute(
            f"CREATE TRIGGER {table}_truncated AFTER TRUNCATE ON {table}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION notify_read_truncate('{group}')"
        )


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER {table}_truncated ON {table}")
        op.execute(f"DROP TRIGGER {table}_changed ON {table}")
