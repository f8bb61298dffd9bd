"""好差评 and 评必反馈 (issue 15; queue_server/hall/ratings.py, cases.py).

- `rating`: one rating per service (a ticket's one-chain step; step -1: a visit as a whole),
  unique per (ticket, step). The ratings kept so far on the ticket row (`ticket.rating`,
  `rating_comment`, `rating_channel`) move here, as ratings of the ticket's last step, and
  those columns go.
- `rating_case` and `case_step`: a 差评's follow-up case and each of its steps.
- `hall.calendar` (`[calendar]`: statutory holidays and 调休 working days, for deadlines
  in working days) and `hall.ratings` (`[ratings]`), both as JSON.
- `alert.case_id`: the case a 差评 or deadline alert is about.

Revision ID: 0006
Revises: 0005
Created: 2026-12-02 14:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

CHANNELS = {"qr": "qr", "window": "paper", "supervisor": "paper"}


def upgrade() -> None:
    op.add_column("hall", sa.Column("calendar", sa.Text(), nullable=False, server_default="{}"))
    op.add_column("hall", sa.Column("ratings", sa.Text(), nullable=False, server_default="{}"))
    op.add_column("alert", sa.Column("case_id", sa.Integer(), nullable=True))
    op.create_table(
        "rating",
        sa.Column("hall_id", sa.Integer(), sa.ForeignKey("hall.id"), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket", sa.String(), nullable=False),
        sa.Column("day", sa.String(), nullable=False),
        sa.Column("number", sa.String(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("step_name", sa.String(), nullable=True),
        sa.Column("category", sa.String(), nullable=False),
        sa.Column("item", sa.String(), nullable=True),
        sa.Column("window", sa.Integer(), nullable=True),
        sa.Column("staff", sa.String(), nullable=True),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("comment", sa.String(), nullable=True),
        sa.Column("phone", sa.String(), nullable=True),
        sa.Column("rated_at", sa.DateTime(), nullable=False),
        sa.Column("by", sa.String(), nullable=True),
        sa.Column("excluded", sa.Boolean(), nullable=False),
        sa.Column("excluded_reason", sa.String(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("hall_id", "id"),
    )
    op.create_index("ix_rating_service", "rating", ["hall_id", "ticket", "step"], unique=True)
    op.create_index("ix_rating_at", "rating", ["hall_id", "rated_at"])
    op.create_table(
        "rating_case",
        sa.Column("hall_id", sa.Integer(), sa.ForeignKey("hall.id"), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("owner", sa.String(), nullable=True),
        sa.Column("appealed_from", sa.String(), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.Column("callback_level", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("hall_id", "id"),
    )
    op.create_index("ix_rating_case_state", "rating_case", ["hall_id", "state", "due_at"])
    op.create_table(
        "case_step",
        sa.Column("hall_id", sa.Integer(), sa.ForeignKey("hall.id"), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("by", sa.String(), nullable=True),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column("owner", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("hall_id", "case_id", "n"),
    )
    _move_ticket_ratings()
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_column("rating")
        batch_op.drop_column("rating_comment")
        batch_op.drop_column("rating_channel")


def _move_ticket_ratings() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            'SELECT hall_id, id, day, number, chain_step, chain, category, item, "window", staff,'
            " rating, rating_comment, rating_channel, finished_at FROM ticket"
            " WHERE rating IS NOT NULL ORDER BY hall_id, finished_at, id"
        )
    ).all()
    ids: dict[int, int] = {}
    insert = sa.text(
        "INSERT INTO rating (hall_id, id, ticket, day, number, step, step_name, category, item,"
        ' "window", staff, channel, level, reasons, comment, rated_at, excluded)'
        " VALUES (:hall_id, :id, :ticket, :day, :number, :step, NULL, :category, :item,"
        " :window, :staff, :channel, :level, '[]', :comment, :rated_at, :excluded)"
    )
    for r in rows:
        ids[r.hall_id] = ids.get(r.hall_id, 0) + 1
        bind.execute(
            insert,
            {
                "hall_id": r.hall_id,
                "id": ids[r.hall_id],
                "ticket": r.id,
                "day": r.day,
                "number": r.number,
                "step": r.chain_step,
                "category": r.category,
                "item": r.item,
                "window": r.window,
                "staff": r.staff,
                "channel": CHANNELS.get(r.rating_channel or "", "paper"),
                "level": r.rating,
                "comment": r.rating_comment,
                "rated_at": r.finished_at,
                "excluded": False,
            },
        )


def downgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rating", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("rating_comment", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("rating_channel", sa.String(), nullable=True))
    op.drop_table("case_step")
    op.drop_index("ix_rating_case_state", "rating_case")
    op.drop_table("rating_case")
    op.drop_index("ix_rating_at", "rating")
    op.drop_index("ix_rating_service", "rating")
    op.drop_table("rating")
    op.drop_column("alert", "case_id")
    op.drop_column("hall", "ratings")
    op.drop_column("hall", "calendar")
