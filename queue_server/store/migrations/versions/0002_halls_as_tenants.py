"""Halls as tenants: one database holds a district's halls (SPEC §7).

The hall table gains its `code` (how programs name the hall; the existing hall becomes
"main") and `retired`; every other table gains `hall_id`, which leads its primary key and
indexes, so each hall has its own categories, windows, accounts, devices, numbering and
gapless event `seq`. Every row of a database of the first schema belongs to its one hall.

Primary keys change, which SQLite cannot alter in place, so each table is rebuilt the same
way on both backends: the old one renamed aside, the new one made, the rows copied, the old
one dropped. Plain SQLAlchemy types only (see 0001).

Revision ID: 0002
Revises: 0001
Created: 2026-12-02 01:10:00
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

FIRST_HALL = 1  # the id of the one hall of a first-schema database
FIRST_HALL_CODE = "main"


def _hall_id() -> sa.Column[int]:
    return sa.Column("hall_id", sa.Integer(), sa.ForeignKey("hall.id"), nullable=False)


# table -> (its new columns besides hall_id, its other constraints); in creation order
# (a table before those referring to it)
def _tables() -> dict[str, Callable[[str], None]]:
    def hall(name: str) -> None:
        op.create_table(
            name,
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("code", sa.String(), nullable=False),
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
            sa.Column("retired", sa.Boolean(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("code"),
        )

    def category(name: str) -> None:
        op.create_table(
            name,
            _hall_id(),
            sa.Column("code", sa.String(), nullable=False),
            sa.Column("name", sa.String(), nullable=False),
            sa.Column("prefix", sa.String(), nullable=False),
            sa.Column("position", sa.Integer(), nullable=False),
            sa.Column("target_wait_minutes", sa.Integer(), nullable=False),
            sa.Column("daily_capacity", sa.Integer(), nullable=True),
            sa.Column("service_minutes", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("hall_id", "code"),
            sa.UniqueConstraint("hall_id", "prefix", name="uq_category_prefix"),
        )

    def service_item(name: str) -> None:
        op.create_table(
            name,
            sa.Column("id", sa.Integer(), nullable=False),
            _hall_id(),
            sa.Column("name", sa.String(), nullable=False),
            sa.Column("category", sa.String(), nullable=False),
            sa.Column("time_limit_days", sa.Integer(), nullable=False),
            sa.Column("materials", sa.Text(), nullable=False),
            sa.Column("appointment", sa.Boolean(), nullable=False),
            sa.Column("chain", sa.Text(), nullable=False),
            sa.ForeignKeyConstraint(["hall_id", "category"], ["category.hall_id", "category.code"]),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("hall_id", "name", name="uq_service_item_name"),
        )

    def window(name: str) -> None:
        op.create_table(
            name,
            _hall_id(),
            sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
            sa.Column("name", sa.String(), nullable=False),
            sa.Column("zone", sa.String(), nullable=False),
            sa.Column("profile", sa.Text(), nullable=False),
            sa.Column("state", sa.String(), nullable=False),
            sa.Column("staff", sa.String(), nullable=True),
            sa.Column("pause_reason", sa.String(), nullable=True),
            sa.Column("ticket", sa.String(), nullable=True),
            sa.Column("connected", sa.Boolean(), nullable=False),
            sa.PrimaryKeyConstraint("hall_id", "number"),
        )

    def staff(name: str) -> None:
        op.create_table(
            name,
            _hall_id(),
            sa.Column("account", sa.String(), nullable=False),
            sa.Column("name", sa.String(), nullable=False),
            sa.Column("role", sa.String(), nullable=False),
            sa.Column("password_hash", sa.String(), nullable=False),
            sa.Column("disabled", sa.Boolean(), nullable=False),
            sa.PrimaryKeyConstraint("hall_id", "account"),
        )

    def device(name: str) -> None:
        op.create_table(
            name,
            _hall_id(),
            sa.Column("name", sa.String(), nullable=False),
            sa.Column("kind", sa.String(), nullable=False),
            sa.Column("token_hash", sa.String(), nullable=False),
            sa.Column("zone", sa.String(), nullable=True),
            sa.Column("windows", sa.Text(), nullable=False),
            sa.Column("revoked", sa.Boolean(), nullable=False),
            sa.PrimaryKeyConstraint("hall_id", "name"),
            sa.UniqueConstraint("token_hash"),
        )

    def ticket(name: str) -> None:
        op.create_table(
            name,
            _hall_id(),
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
            sa.PrimaryKeyConstraint("hall_id", "id"),
        )

    def service(name: str) -> None:
        op.create_table(
            name,
            sa.Column("id", sa.Integer(), nullable=False),
            _hall_id(),
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

    def number_counter(name: str) -> None:
        op.create_table(
            name,
            _hall_id(),
            sa.Column("day", sa.String(), nullable=False),
            sa.Column("category", sa.String(), nullable=False),
            sa.Column("last", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("hall_id", "day", "category"),
        )

    def event(name: str) -> None:
        op.create_table(
            name,
            _hall_id(),
            sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
            sa.Column("at", sa.DateTime(), nullable=False),
            sa.Column("name", sa.String(), nullable=False),
            sa.Column("payload", sa.Text(), nullable=False),
            sa.Column("window", sa.Integer(), nullable=True),
            sa.Column("zone", sa.String(), nullable=True),
            sa.PrimaryKeyConstraint("hall_id", "seq"),
        )

    def request_log(name: str) -> None:
        op.create_table(
            name,
            _hall_id(),
            sa.Column("principal", sa.String(), nullable=False),
            sa.Column("request_id", sa.String(), nullable=False),
            sa.Column("fingerprint", sa.String(), nullable=False),
            sa.Column("reply", sa.Text(), nullable=False),
            sa.Column("at", sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint("hall_id", "principal", "request_id"),
        )

    def appointment(name: str) -> None:
        op.create_table(
            name,
            _hall_id(),
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
            sa.PrimaryKeyConstraint("hall_id", "code"),
        )

    def appointment_rules(name: str) -> None:
        op.create_table(
            name,
            _hall_id(),
            sa.Column("check_in_before_minutes", sa.Integer(), nullable=False),
            sa.Column("check_in_after_minutes", sa.Integer(), nullable=False),
            sa.Column("slots", sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint("hall_id"),
        )

    return {
        "hall": hall,
        "category": category,
        "service_item": service_item,
        "window": window,
        "staff": staff,
        "device": device,
        "ticket": ticket,
        "service": service,
        "number_counter": number_counter,
        "event": event,
        "request_log": request_log,
        "appointment": appointment,
        "appointment_rules": appointment_rules,
    }


OLD_INDEXES = {
    "appointment": ["ix_appointment_slot"],
    "request_log": ["ix_request_log_at"],
    "service": ["ix_service_ticket", "ix_service_window_day"],
    "ticket": ["ix_ticket_day_number", "ix_ticket_done", "ix_ticket_waiting"],
}
NEW_INDEXES = {
    "ix_appointment_slot": ("appointment", ["hall_id", "day", "category", "slot", "state"], False),
    "ix_request_log_at": ("request_log", ["hall_id", "at"], False),
    "ix_service_ticket": ("service", ["hall_id", "ticket"], False),
    "ix_service_window_day": ("service", ["hall_id", "day", "window"], False),
    "ix_ticket_day_number": ("ticket", ["hall_id", "day", "number"], True),
    "ix_ticket_done": ("ticket", ["hall_id", "category", "state", "finished_at"], False),
    "ix_ticket_waiting": ("ticket", ["hall_id", "state", "category", "queued_at"], False),
}
SERIAL = {"hall": "id", "service": "id", "service_item": "id"}  # PostgreSQL sequences


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    quote = bind.dialect.identifier_preparer.quote
    tables = _tables()
    old_columns: dict[str, list[str]] = {}
    for name in tables:  # the old tables aside, their index and key names freed
        old_columns[name] = [c["name"] for c in sa.inspect(bind).get_columns(name)]
        for index in OLD_INDEXES.get(name, []):
            op.drop_index(index, table_name=name)
        op.rename_table(name, f"{name}_0001")
        if postgres:
            op.execute(
                f"ALTER INDEX {quote(name + '_pkey')} RENAME TO {quote(name + '_0001_pkey')}"
            )
    for name, make in tables.items():
        make(name)
        columns = old_columns[name]
        if name == "hall":
            added, values = ["code", "retired"], [f"'{FIRST_HALL_CODE}'", "false"]
        elif name == "appointment_rules":  # its id was the hall's
            columns = [c for c in columns if c != "id"]
            added, values = ["hall_id"], ["id"]
        else:
            added, values = ["hall_id"], [str(FIRST_HALL)]
        listed = ", ".join(quote(c) for c in [*columns, *added])
        selected = ", ".join([*(quote(c) for c in columns), *values])
        op.execute(f"INSERT INTO {quote(name)} ({listed}) SELECT {selected} FROM {name}_0001")
    for name in reversed(tables):  # those referring to a table first
        op.drop_table(f"{name}_0001")
    for index, (table, columns, unique) in NEW_INDEXES.items():
        op.create_index(index, table, columns, unique=unique)
    if postgres:  # the copied ids were given: the next one follows the largest
        for table, column in SERIAL.items():
            op.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                f"COALESCE((SELECT MAX({column}) FROM {table}), 0) + 1, false)"
            )


def downgrade() -> None:
    raise NotImplementedError("a district database cannot go back to one hall per database")
