"""The supervisors' half of the hall: who did what, time in state, paused issuing, alerts.

- `event.by`: the principal whose request made the event ("staff:zhuren"; none for the
  server's own changes) — the audit trail, filterable by account.
- `window.since`: when the window entered its state (the console's time in state).
- `category.issuing_paused_reason`: a supervisor paused issuing for the category (e.g. the
  day's capacity was reached early); kiosks are refused while it is set.
- `hall.alerts`: the hall's alert thresholds (JSON, hallconfig's `[alerts]`).
- `alert`: every alert raised, cleared and acknowledged (hall/alerts.py).

Revision ID: 0004
Revises: 0003
Created: 2026-12-02 05:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("event", sa.Column("by", sa.String(), nullable=True))
    op.create_index("ix_event_by", "event", ["hall_id", "by", "seq"])
    op.add_column("window", sa.Column("since", sa.DateTime(), nullable=True))
    op.add_column("category", sa.Column("issuing_paused_reason", sa.String(), nullable=True))
    op.add_column("hall", sa.Column("alerts", sa.Text(), nullable=False, server_default="{}"))
    op.create_table(
        "alert",
        sa.Column("hall_id", sa.Integer(), sa.ForeignKey("hall.id"), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("severity", sa.String(), nullable=False),
        sa.Column("raised_at", sa.DateTime(), nullable=False),
        sa.Column("cleared_at", sa.DateTime(), nullable=True),
        sa.Column("category", sa.String(), nullable=True),
        sa.Column("window", sa.Integer(), nullable=True),
        sa.Column("ticket", sa.String(), nullable=True),
        sa.Column("device", sa.String(), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("acknowledged_by", sa.String(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("hall_id", "id"),
    )
    op.create_index("ix_alert_raised", "alert", ["hall_id", "raised_at"])


def downgrade() -> None:
    op.drop_index("ix_alert_raised", "alert")
    op.drop_table("alert")
    op.drop_column("hall", "alerts")
    op.drop_column("category", "issuing_paused_reason")
    op.drop_column("window", "since")
    op.drop_index("ix_event_by", "event")
    op.drop_column("event", "by")
