"""probes, and where a resumed run picked up

- `probes`: one row per writer that proves the database takes writes (the API's readiness check).
- `runs.resumed_from`: the x on its progress axis from which the current attempt resumed (its checkpoint's);
  NULL for an attempt that started from the beginning. The UI says "resumed" instead of showing a run whose
  progress went back as if training had regressed.

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
    op.add_column("runs", sa.Column("resumed_from", sa.Float, nullable=True))  # in place: no rebuild, no cascade


def downgrade() -> None:
    op.drop_column("runs", "resumed_from")
    op.drop_table("probes")
