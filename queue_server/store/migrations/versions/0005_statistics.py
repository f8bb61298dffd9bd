"""The statistics kept from the event log (issue 16; queue_server/stats/aggregates.py).

- `stats_cell`: one hall's final figures of one hall-local day (`day` YYYY-MM-DD) or of a
  whole month (`day` YYYY-MM, the sum of its days) per grouping key, as a mergeable JSON
  cell (counts, sums, histograms of whole seconds);
- `stats_fold`: how far the cells have read the hall's event log (`seq`) and what was
  still open there, so the next run folds only the events after it.

Both are derived: `queue-server stats rebuild` makes them again from the event log.

Revision ID: 0005
Revises: 0004
Created: 2026-12-02 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stats_cell",
        sa.Column("hall_id", sa.Integer(), sa.ForeignKey("hall.id"), nullable=False),
        sa.Column("dim", sa.String(), nullable=False),
        sa.Column("day", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("cell", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("hall_id", "dim", "day", "key"),
    )
    op.create_table(
        "stats_fold",
        sa.Column("hall_id", sa.Integer(), sa.ForeignKey("hall.id"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("hall_id"),
    )


def downgrade() -> None:
    op.drop_table("stats_fold")
    op.drop_table("stats_cell")
