"""runs under way that will make an image, counted per tenant by triggers

A start's image quota counts the images the tenant's runs under way will make. It
counted them under the tenant's lock with a scan of the live image-making runs and an
anti-join on `usage_events`: its cost grew with every run waiting for approval (0.25 ms
a thousand, more while the rows are new), and every other start of the tenant waited
for it. `make bench-api` showed Postgres going from 0.06 to 0.6 of a core within ten
seconds of starts (docs/performance.md, ADR 0035). The count is now a row per tenant,
kept by triggers on `workflow_runs` (a run starts, ends or goes) and on `usage_events`
(a run's image is metered), so `quota_counts` reads one row.

Which runs count is `makes_image(kind, status)`: `domain.plans.IMAGE_MAKING_KINDS` and
`models.payloads.LIVE_STATUSES`, checked equal by `tests/models/test_migrations.py`.
A run's row and its image's usage row are locked in the same order by both triggers
(the run's, then the count's), so a run that ends while its image is metered is
counted once.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 23:30:00
"""

import runpy
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MAKES_IMAGE = """
CREATE FUNCTION makes_image(p_kind text, p_status text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT p_kind IN ('design_to_listing', 'design')
       AND p_status IN ('running', 'awaiting_approval')
$$
"""

# Whether a run's image is metered (`domain.plans.IMAGES`).
_IMAGED = """EXISTS (SELECT 1 FROM usage_events u WHERE u.tenant_id = {row}.tenant_id
                       AND u.workflow_id = {row}.workflow_id AND u.metric = 'images')"""

ADD = """
CREATE FUNCTION add_pending_images(p_tenant_id text, p_runs bigint) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO pending_images (tenant_id, runs) VALUES (p_tenant_id, p_runs)
    ON CONFLICT (tenant_id) DO UPDATE SET runs = pending_images.runs + p_runs
$$
"""

COUNT_RUNS = f"""
CREATE FUNCTION count_pending_images() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was boolean := TG_OP <> 'INSERT' AND makes_image(OLD.kind, OLD.status);
    is_now boolean := TG_OP <> 'DELETE' AND makes_image(NEW.kind, NEW.status);
BEGIN
    -- Neither side counts, or the same run counts on both: nothing to do (no lookups).
    IF NOT (was OR is_now) OR (was AND is_now AND OLD.tenant_id = NEW.tenant_id
                                AND OLD.workflow_id = NEW.workflow_id) THEN
        RETURN NULL;
    END IF;
    IF was AND NOT {_IMAGED.format(row='OLD')} THEN
        PERFORM add_pending_images(OLD.tenant_id, -1);
    END IF;
    IF is_now AND NOT {_IMAGED.format(row='NEW')} THEN
        PERFORM add_pending_images(NEW.tenant_id, 1);
    END IF;
    RETURN NULL;
END
$$
"""

COUNT_IMAGES = """
CREATE FUNCTION count_metered_images() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    event usage_events%ROWTYPE := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    live boolean;
BEGIN
    IF event.metric <> 'images' THEN
        RETURN NULL;
    END IF;
    -- The run's lock orders this against a change of its status (count_pending_images).
    SELECT makes_image(r.kind, r.status) INTO live FROM workflow_runs r
    WHERE r.tenant_id = event.tenant_id AND r.workflow_id = event.workflow_id FOR UPDATE;
    IF live THEN  -- one image row per run and metric (uq_usage_once)
        PERFORM add_pending_images(event.tenant_id, CASE WHEN TG_OP = 'DELETE' THEN 1 ELSE -1 END);
    END IF;
    RETURN NULL;
END
$$
"""

QUOTA_COUNTS = """
CREATE OR REPLACE FUNCTION quota_counts(
    p_tenant_id text, p_period text, p_image_kinds text[], p_live text[], p_images text,
    OUT started bigint, OUT images_made bigint, OUT images_coming bigint
) LANGUAGE sql STABLE AS $$
    -- p_image_kinds and p_live: what makes_image says now (migration 0018).
    SELECT
        coalesce((SELECT c.started FROM run_counts c
                  WHERE c.tenant_id = p_tenant_id AND c.period = p_period), 0)::bigint,
        (SELECT coalesce(sum(u.quantity), 0) FROM usage_events u
         WHERE u.tenant_id = p_tenant_id AND u.period = p_period AND u.metric = p_images)::bigint,
        coalesce((SELECT p.runs FROM pending_images p WHERE p.tenant_id = p_tenant_id), 0)::bigint
$$
"""


def upgrade() -> None:
    op.create_table(
        'pending_images',
        sa.Column('tenant_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('runs', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('tenant_id'),
    )
    op.execute(MAKES_IMAGE)
    op.execute(ADD)
    op.execute(COUNT_RUNS)
    op.execute(COUNT_IMAGES)
    op.execute(
        "CREATE TRIGGER workflow_runs_pending_images"
        " AFTER INSERT OR DELETE OR UPDATE OF tenant_id, workflow_id, kind, status"
        " ON workflow_runs FOR EACH ROW EXECUTE FUNCTION count_pending_images()"
    )
    op.execute(
        "CREATE TRIGGER usage_events_pending_images AFTER INSERT OR DELETE"
        " ON usage_events FOR EACH ROW EXECUTE FUNCTION count_metered_images()"
    )
    op.execute(
        "INSERT INTO pending_images (tenant_id, runs)"
        " SELECT r.tenant_id, count(*) FROM workflow_runs r"
        f" WHERE makes_image(r.kind, r.status) AND NOT {_IMAGED.format(row='r')}"
        " GROUP BY r.tenant_id"
    )
    op.execute(QUOTA_COUNTS)


def downgrade() -> None:
    # Counting again: migration 0012's definition.
    before = runpy.run_path(str(Path(__file__).with_name("0012_run_counts.py")))
    op.execute(before["QUOTA_COUNTS"].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"))
    op.execute("DROP TRIGGER usage_events_pending_images ON usage_events")
    op.execute("DROP TRIGGER workflow_runs_pending_images ON workflow_runs")
    op.execute("DROP FUNCTION count_metered_images()")
    op.execute("DROP FUNCTION count_pending_images()")
    op.execute("DROP FUNCTION add_pending_images(text, bigint)")
    op.execute("DROP FUNCTION makes_image(text, text)")
    op.drop_table('pending_images')
