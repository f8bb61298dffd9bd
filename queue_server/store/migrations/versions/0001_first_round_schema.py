"""The hall schema as of the first round: one hall per database.

Every database made before migrations existed is at this revision (engine.BASELINE). Plain
SQLAlchemy types only, never the application's: a migration must keep meaning what it
meant when it was written. Times are DateTime (UTC, naive: tables.UTCDateTime), lists JSON
text.

Revision ID: 0001
Revises:
Created: 2026-12-01 22:25:48.036897
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "appointment",
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("category", sa.String(), nullable=False),
        sa.Column("item", sa.String(), nullable=True),
        sa.Column("day", sa.String(), nullable=False),
        sa.Column("slot", sa.String(), nullable=False),
        sa.Column("slot_at", sa.DateTime(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("phone", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("ticket", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("checked_in_at", sa.DateTime(), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("code"),
    )
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.create_index(
            "ix_appointment_slot", ["day", "category", "slot", "state"], unique=False
        )

    op.create_table(
        "appointment_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("check_in_before_minutes", sa.Integer(), nullable=False),
        sa.Column("check_in_after_minutes", sa.Integer(), nullable=False),
        sa.Column("slots", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "category",
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("prefix", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("target_wait_minutes", sa.Integer(), nullable=False),
        sa.Column("daily_capacity", sa.Integer(), nullable=True),
        sa.Column("service_minutes", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("code"),
        sa.UniqueConstraint("prefix"),
    )
    op.create_table(
        "device",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("token_hash", sa.String(), nullable=False),
        sa.Column("zone", sa.String(), nullable=True),
        sa.Column("windows", sa.Text(), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "event",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("window", sa.Integer(), nullable=True),
        sa.Column("zone", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_table(
        "hall",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("timezone", sa.String(), nullable=False),
        sa.Column("policy", sa.String(), nullable=False),
        sa.Column("max_wait_minutes", sa.Integer(), nullable=False),
        sa.Column("rank_penalty", sa.Float(), nullable=False),
        sa.Column("no_show_after_recalls", sa.Integer(), nullable=False),
        sa.Column("reinstate_grace_minutes", sa.Integer(), nullable=False),
        sa.Column("notice", sa.String(), nullable=False),
        sa.Column("hours", sa.Text(), nullable=False),
        sa.Column("holidays", sa.Text(), nullable=False),
        sa.Column("lock_after_failures", sa.Integer(), nullable=False),
        sa.Column("lock_minutes", sa.Integer(), nullable=False),
        sa.Column("close_out_grace_minutes", sa.Integer(), nullable=False),
        sa.Column("window_offline_minutes", sa.Integer(), nullable=False),
        sa.Column("staff_multiple_windows", sa.Boolean(), nullable=False),
        sa.Column("config_version", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("closed_out_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "number_counter",
        sa.Column("day", sa.String(), nullable=False),
        sa.Column("category", sa.String(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "category"),
    )
    op.create_table(
        "request_log",
        sa.Column("principal", sa.String(), nullable=False),
        sa.Column("request_id", sa.String(), nullable=False),
        sa.Column("fingerprint", sa.String(), nullable=False),
        sa.Column("reply", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("principal", "request_id"),
    )
    with op.batch_alter_table("request_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_request_log_at"), ["at"], unique=False)

    op.create_table(
        "service",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket", sa.String(), nullable=False),
        sa.Column("day", sa.String(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("step_name", sa.String(), nullable=True),
        sa.Column("category", sa.String(), nullable=False),
        sa.Column("window", sa.Integer(), nullable=False),
        sa.Column("staff", sa.String(), nullable=True),
        sa.Column("called_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("service", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_service_ticket"), ["ticket"], unique=False)
        batch_op.create_index("ix_service_window_day", ["day", "window"], unique=False)

    op.create_table(
        "staff",
        sa.Column("account", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("password_hash", sa.String(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("account"),
    )
    op.create_table(
        "ticket",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("day", sa.String(), nullable=False),
        sa.Column("number", sa.String(), nullable=False),
        sa.Column("category", sa.String(), nullable=False),
        sa.Column("item", sa.String(), nullable=True),
        sa.Column("priority", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("queued_at", sa.DateTime(), nullable=False),
        sa.Column("call_times", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("no_show_at", sa.DateTime(), nullable=True),
        sa.Column("window", sa.Integer(), nullable=True),
        sa.Column("staff", sa.String(), nullable=True),
        sa.Column("recall_count", sa.Integer(), nullable=False),
        sa.Column("transfers", sa.Text(), nullable=False),
        sa.Column("chain_step", sa.Integer(), nullable=False),
        sa.Column("chain", sa.Text(), nullable=False),
        sa.Column("target_window", sa.Integer(), nullable=True),
        sa.Column("appointment_at", sa.DateTime(), nullable=True),
        sa.Column("secret_hash", sa.String(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("rating_comment", sa.String(), nullable=True),
        sa.Column("rating_channel", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_day_number", ["day", "number"], unique=True)
        batch_op.create_index("ix_ticket_done", ["category", "state", "finished_at"], unique=False)
        batch_op.create_index("ix_ticket_waiting", ["state", "category", "queued_at"], unique=False)

    op.create_table(
        "window",
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("zone", sa.String(), nullable=False),
        sa.Column("profile", sa.Text(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("staff", sa.String(), nullable=True),
        sa.Column("pause_reason", sa.String(), nullable=True),
        sa.Column("ticket", sa.String(), nullable=True),
        sa.Column("connected", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("number"),
    )
    op.create_table(
        "service_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("category", sa.String(), nullable=False),
        sa.Column("time_limit_days", sa.Integer(), nullable=False),
        sa.Column("materials", sa.Text(), nullable=False),
        sa.Column("appointment", sa.Boolean(), nullable=False),
        sa.Column("chain", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category"],
            ["category.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("service_item")
    op.drop_table("window")
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_waiting")
        batch_op.drop_index("ix_ticket_done")
        batch_op.drop_index("ix_ticket_day_number")

    op.drop_table("ticket")
    op.drop_table("staff")
    with op.batch_alter_table("service", schema=None) as batch_op:
        batch_op.drop_index("ix_service_window_day")
        batch_op.drop_index(batch_op.f("ix_service_ticket"))

    op.drop_table("service")
    with op.batch_alter_table("request_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_log_at"))

    op.drop_table("request_log")
    op.drop_table("number_counter")
    op.drop_table("hall")
    op.drop_table("event")
    op.drop_table("device")
    op.drop_table("category")
    op.drop_table("appointment_rules")
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.drop_index("ix_appointment_slot")

    op.drop_table("appointment")
