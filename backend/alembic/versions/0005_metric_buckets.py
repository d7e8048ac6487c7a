"""metric_buckets: each curve's multi-resolution min/max summary, so a long curve reads back in milliseconds

Revision ID: 0005
Revises: 0004

- `metric_buckets`: per series, the lowest and highest point of every BASE·2^level consecutive points, and an
  entry row (level -1) per series (backend/store/curve_summary.py says how it is kept and read).
- The runs already stored get theirs here, built from their points by the same code the worker uses
  (`build_rows`): the worker then only appends, and the API reads every run from its summary. Should that code
  ever change what it stores, a new migration rebuilds the table.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from backend.store.curve_summary import BUCKET_COLUMNS, build_rows

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHUNK = 5000  # summary rows per INSERT


def upgrade() -> None:
    buckets = op.create_table(
        "metric_buckets",
        sa.Column("run_id", sa.String(length=16), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("member", sa.String(length=32), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("last_x", sa.Float(), nullable=True),
        sa.Column("lo_x", sa.Float(), nullable=True),
        sa.Column("lo_value", sa.Float(), nullable=True),
        sa.Column("hi_x", sa.Float(), nullable=True),
        sa.Column("hi_value", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", "level", "name", "member", "bucket", name="pk_metric_buckets"),
    )
    assert buckets is not None
    bind = op.get_bind()
    series = bind.execute(sa.text("SELECT DISTINCT run_id, name, member FROM metrics")).all()
    for run_id, name, member in series:
        points = bind.execute(sa.text(
            "SELECT x, value FROM metrics WHERE run_id = :run AND name = :name AND member = :member ORDER BY x"
        ), {"run": run_id, "name": name, "member": member}).all()
        rows = build_rows(run_id, name, member, [(x, value) for x, value in points])
        for start in range(0, len(rows), CHUNK):
            bind.execute(buckets.insert(), [dict(zip(BUCKET_COLUMNS, row, strict=True))
                                            for row in rows[start:start + CHUNK]])


def downgrade() -> None:
    op.drop_table("metric_buckets")
