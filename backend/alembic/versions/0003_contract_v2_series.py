"""contract v2: metric points per series (member, float x, write sequence), float progress, code version, threads

Revision ID: 0003
Revises: 0002

- `metrics` is rebuilt as (run_id, name, member, x, value, seq), primary key (run_id, name, member, x):
  `member` is the family member ('' for a plain metric; else the member's float as text, exact), `x` a float on
  the metric's axis, `seq` the run's write order (the live cursor and the resume point). Old rows become
  member '', x = step, seq numbered in (step, name) order per run.
- `runs`: trainer_version → code_version, progress_step → progress_x (float), progress_total float,
  a `threads` column (torch threads the run was trained with).
- `checkpoints.seq`: the write sequence a checkpoint covers (a resumed run reloads its curves up to it).

`runs` is altered in place (RENAME/ADD COLUMN), never rebuilt: on SQLite, rebuilding a parent table with
foreign keys on would cascade-delete its metrics.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    op.create_table(
        "metrics_v2",
        sa.Column("run_id", sa.String(length=16), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("member", sa.String(length=32), nullable=False, server_default=""),
        sa.Column("x", sa.Float(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "name", "member", "x", name="pk_metric_points"),
    )
    op.execute(
        "INSERT INTO metrics_v2 (run_id, name, member, x, value, seq) "
        "SELECT run_id, name, '', CAST(step AS FLOAT), value, "
        "ROW_NUMBER() OVER (PARTITION BY run_id ORDER BY step, name) FROM metrics"
    )
    op.drop_table("metrics")
    op.rename_table("metrics_v2", "metrics")
    op.create_index("ix_metrics_run_seq", "metrics", ["run_id", "seq"])

    op.execute("ALTER TABLE runs RENAME COLUMN trainer_version TO code_version")
    op.execute("ALTER TABLE runs RENAME COLUMN progress_step TO progress_x")
    if _postgres():
        op.execute("ALTER TABLE runs ALTER COLUMN progress_x TYPE DOUBLE PRECISION")
        op.execute("ALTER TABLE runs ALTER COLUMN progress_total TYPE DOUBLE PRECISION")
    op.add_column("runs", sa.Column("threads", sa.Integer(), nullable=True))
    op.add_column("checkpoints", sa.Column("seq", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("checkpoints", "seq")
    op.drop_column("runs", "threads")
    if _postgres():
        op.execute("ALTER TABLE runs ALTER COLUMN progress_total TYPE INTEGER USING round(progress_total)")
        op.execute("ALTER TABLE runs ALTER COLUMN progress_x TYPE INTEGER USING round(progress_x)")
    op.execute("ALTER TABLE runs RENAME COLUMN progress_x TO progress_step")
    op.execute("ALTER TABLE runs RENAME COLUMN code_version TO trainer_version")

    op.create_table(
        "metrics_v1",
        sa.Column("run_id", sa.String(length=16), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", "name", "step", name="pk_metrics_v1"),
    )
    # Only what v1 can hold: plain metrics at whole-number x. Family members and fractional x are dropped.
    op.execute(
        "INSERT INTO metrics_v1 (run_id, name, step, value) SELECT run_id, name, CAST(x AS INTEGER), value "
        "FROM metrics WHERE member = '' AND x = CAST(x AS INTEGER)"
    )
    op.drop_index("ix_metrics_run_seq", table_name="metrics")
    op.drop_table("metrics")
    op.rename_table("metrics_v1", "metrics")
