"""trend signals, listings and runs announce their changes (NOTIFY), for the API's read cache

Each API process keeps the pages of `GET /v1/trends`, `GET /v1/trends/{id}/similar`,
`GET /v1/listings`, `GET /v1/workflows` and ended runs it has answered, and forgets a
tenant's pages when that tenant's rows change (issue 15, ADR 0030). The workers write
these rows, not the API, so the change is announced by the database: a trigger sends
`group:tenant_id` on the `pod_read_changes` channel, delivered at commit to every process
that listens, on any host (a run's cost lines belong to the `workflow_runs` group).
Postgres sends one notice per distinct payload in a transaction, so a scrape storing 200
signals sends one. A TRUNCATE sends `group:*` (every tenant).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 20:00:00
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = "pod_read_changes"
# table → the group its notices name (what the API's cache keys its pages by)
TABLES = {
    "trend_signals": "trend_signals",
    "listings": "listings",
    "workflow_runs": "workflow_runs",
    "cost_lines": "workflow_runs",
}

NOTIFY_ROW = f"""
CREATE FUNCTION notify_read_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM pg_notify('{CHANNEL}', TG_ARGV[0] || ':' || OLD.tenant_id);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM pg_notify('{CHANNEL}', TG_ARGV[0] || ':' || NEW.tenant_id);
    END IF;
    RETURN NULL;
END
$$
"""

NOTIFY_TRUNCATE = f"""
CREATE FUNCTION notify_read_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', TG_ARGV[0] || ':*');
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.execute(NOTIFY_ROW)
    op.execute(NOTIFY_TRUNCATE)
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
    op.execute("DROP FUNCTION notify_read_truncate()")
    op.execute("DROP FUNCTION notify_read_change()")
