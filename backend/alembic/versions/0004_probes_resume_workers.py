"""probes, where a resumed run picked up, and which workers are alive

- `probes`: one row per writer that proves the database takes writes (the API's readiness check).
- `runs.resumed_from`: the x on its progress axis from which the current attempt resumed (its checkpoint's);
  NULL for an attempt that started from the beginning. The UI says "resumed" instead of showing a run whose
  progress went back as if training had regressed.
- `workers`: each worker's queues, device and last sign of life, so a run queued where no worker serves says
  so instead of waiting without a word.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "probes",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
    )
    op.create_table(
        "workers",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("queues", sa.String(256), nullable=False),  # ",cpu,gpu,": each name between commas
        sa.Column("device", sa.String(16), nullable=False),
        sa.Column("threads", sa.Integer, nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.add_column("runs", sa.Column("resumed_from", sa.Float, nullable=True))  # in place: no rebuild, no cascade


def downgrade() -> None:
    op.drop_column("runs", "resumed_from")
    op.drop_table("workers")
    op.drop_table("probes")
