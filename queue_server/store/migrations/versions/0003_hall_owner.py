"""Which server process owns each hall (PostgreSQL, several server processes).

A process owns a hall while it holds the hall's lease, a session advisory lock
(store/lease.py); `hall_owner` says where that process listens, so that the others forward
the hall's connections to it. A row outlives its owner's death; the lease is the truth,
the row only the address.

Revision ID: 0003
Revises: 0002
Created: 2026-12-02 01:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hall_owner",
        sa.Column("hall_id", sa.Integer(), sa.ForeignKey("hall.id"), nullable=False),
        sa.Column("address", sa.String(), nullable=False),
        sa.Column("process", sa.String(), nullable=False),
        sa.Column("since", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("hall_id"),
    )


def downgrade() -> None:
    op.drop_table("hall_owner")
