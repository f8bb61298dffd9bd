"""The checked-in JSON Schema and docs/protocol.md stay in step with the message models."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from queue_protocol import errors
from queue_protocol.codec import parse_event, parse_request
from queue_protocol.errors import ErrorCode
from queue_protocol.messages import (
    EVENT_NAMES,
    REPLY_FOR,
    CitizenHelloReply,
    ErrorReply,
    Role,
    Snapshot,
    TicketUpdate,
)
from queue_protocol.schema import protocol_schema
from queue_server.roles import OWN_WINDOW_EVENTS, VERB_ROLES, VISIBLE_EVENTS

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SERVER_PY = ROOT / "queue_server" / "server.py"
SCHEMA_FILE = DOCS / "protocol.schema.json"
PROTOCOL_MD = DOCS / "protocol.md"
REGENERATE = "python -m queue_protocol.schema > docs/protocol.schema.json"

# Every JSON example in protocol.md is tagged, right above its fence, with what it is:
#   <!-- example: request VERB | reply VERB | error CODE | event NAME | update ticket_update -->
# (a status page's hello reply is `reply hello_citizen`, a CitizenHelloReply).
EXAMPLE = re.compile(
    r"<!-- example: (request|reply|error|event|update) (\S+) -->\n```json\n(.*?)\n```",
    re.DOTALL,
)
JSON_FENCE = re.compile(r"^```json$", re.MULTILINE)


def _examples() -> list[tuple[str, str, str]]:
    return [(m[1], m[2], m[3]) for m in EXAMPLE.finditer(PROTOCOL_MD.read_text("utf-8"))]


def _example_ids() -> list[str]:
    return [f"{i:02d}-{kind}-{name}" for i, (kind, name, _) in enumerate(_examples())]


def _is_within(example: Any, dumped: Any, where: str = "") -> None:
    """Every field of the example is a field of the model, with the same value."""
    if isinstance(example, dict):
        assert isinstance(dumped, dict), f"{where}: expected an object"
        for key, value in example.items():
            assert key in dumped, f"{where}.{key}: not a field of the model"
            _is_within(value, dumped[key], f"{where}.{key}")
    elif isinstance(example, list):
        assert isinstance(dumped, list) and len(dumped) == len(example), f"{where}: list differs"
        for i, (a, b) in enumerate(zip(example, dumped, strict=True)):
            _is_within(a, b, f"{where}[{i}]")
    else:
        assert example == dumped, f"{where}: {example!r} reads back as {dumped!r}"


def test_checked_in_schema_matches_the_models() -> None:
    """docs/protocol.schema.json is exactly what the models generate today."""
    generated = json.dumps(protocol_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    assert SCHEMA_FILE.read_text("utf-8") == generated, (
        f"docs/protocol.schema.json is out of date; regenerate it with `{REGENERATE}`"
    )


def test_schema_names_every_request_reply_and_event() -> None:
    """The schema's request, reply and event groups cover every verb, reply model and event."""
    schema = protocol_schema()
    defs = schema["$defs"]
    assert set(defs["Request"]["discriminator"]["mapping"]) == set(REPLY_FOR)
    assert set(defs["Event"]["discriminator"]["mapping"]) == set(EVENT_NAMES)
    replies = {ref["$ref"].rsplit("/", 1)[1] for ref in defs["Reply"]["oneOf"]}
    assert replies == {m.__name__ for m in REPLY_FOR.values()} | {
        "ErrorReply",
        "CitizenHelloReply",
    }
    assert set(defs["Reply"]["x-reply-for"]) == set(REPLY_FOR)
    assert schema["protocol_version"] == 1


def test_every_json_block_in_protocol_md_is_tagged() -> None:
    """Each ```json block carries an example tag, so the next test can check it."""
    text = PROTOCOL_MD.read_text("utf-8")
    assert len(JSON_FENCE.findall(text)) == len(_examples())


def test_every_verb_has_a_request_and_a_reply_example() -> None:
    """docs/protocol.md shows each verb's request and its ok reply."""
    examples = _examples()
    requests = {name for kind, name, _ in examples if kind == "request"}
    replies = {name for kind, name, _ in examples if kind == "reply"}
    assert set(REPLY_FOR) - requests == set(), "verbs without a request example"
    assert set(REPLY_FOR) - replies == set(), "verbs without a reply example"


def test_every_event_has_an_example() -> None:
    """docs/protocol.md shows an example of each event."""
    events = {name for kind, name, _ in _examples() if kind == "event"}
    assert set(EVENT_NAMES) - events == set()


def test_every_error_code_is_documented() -> None:
    """Each error code has a row in the error table of docs/protocol.md."""
    text = PROTOCOL_MD.read_text("utf-8")
    missing = [code.value for code in ErrorCode if f"| `{code.value}` |" not in text]
    assert missing == []


def test_snapshot_table_lists_every_field() -> None:
    """The snapshot table in docs/protocol.md has a row for each field of Snapshot."""
    text = PROTOCOL_MD.read_text("utf-8")
    missing = [name for name in Snapshot.model_fields if f"| `{name}` |" not in text]
    assert missing == []


def test_every_close_code_of_the_server_is_documented() -> None:
    """Each `ws.close(code, reason)` in queue_server/server.py has a row in the close-code
    table of docs/protocol.md: `| code | `reason` | …`."""
    source = SERVER_PY.read_text("utf-8")
    closes = re.findall(r"\.close\((\w+), \"([^\"]+)\"\)", source)
    assert len(closes) >= 4, "expected the server's close calls"
    text = PROTOCOL_MD.read_text("utf-8")
    for code, reason in closes:
        number = int(code) if code.isdigit() else getattr(errors, code)
        assert f"| {number} | `{reason}` |" in text, f"close {number} {reason!r} undocumented"
    assert f"| {errors.CLOSE_LOGGED_IN_ELSEWHERE} |" in text


def _table(first_column: str) -> dict[str, set[Role]]:
    """The ✓ marks of the markdown table whose header starts with `first_column`."""
    lines = PROTOCOL_MD.read_text("utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_column} |"))
    roles = [Role(cell.strip()) for cell in lines[start].strip("|").split("|")[1:]]
    table: dict[str, set[Role]] = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        name, *marks = (cell.strip() for cell in line.strip("|").split("|"))
        ticked = {r for r, mark in zip(roles, marks, strict=True) if mark.startswith("✓")}
        table[name.strip("`")] = ticked
    return table


def test_role_table_matches_the_server() -> None:
    """The verb/role table in docs/protocol.md is VERB_ROLES (hello is open to every role)."""
    expected = {verb: set(roles) for verb, roles in VERB_ROLES.items()} | {"hello": set(Role)}
    assert _table("verb") == expected


def test_event_visibility_table_matches_the_server() -> None:
    """The event/role table in docs/protocol.md is VISIBLE_EVENTS."""
    visible = {  # None = all; an empty set (citizen) = none
        r: frozenset(EVENT_NAMES) if VISIBLE_EVENTS[r] is None else VISIBLE_EVENTS[r] for r in Role
    }
    expected = {name: {r for r in Role if name in visible[r]} for name in EVENT_NAMES}
    assert _table("event") == expected


@pytest.mark.parametrize(("kind", "name", "body"), _examples(), ids=_example_ids())
def test_example_validates_against_its_model(kind: str, name: str, body: str) -> None:
    """The example parses as the message it is tagged as, and has no field the model lacks."""
    raw = json.loads(body)
    model: BaseModel
    if kind == "request":
        model = parse_request(raw)
        assert model.type == name
    elif kind == "reply" and name == "hello_citizen":
        model = CitizenHelloReply.model_validate(raw)
        assert raw["type"] == "ok"
    elif kind == "reply":
        assert name in REPLY_FOR, f"no verb {name}"
        model = REPLY_FOR[name].model_validate(raw)
        assert raw["type"] == "ok"
    elif kind == "update":
        model = TicketUpdate.model_validate(raw)
        assert model.type == name
    elif kind == "error":
        model = ErrorReply.model_validate(raw)
        assert model.code == ErrorCode(name)
    else:
        model = parse_event(raw)
        assert model.name == name
    _is_within(raw, model.model_dump(mode="json"))


def test_own_window_events_are_marked_in_the_table() -> None:
    """The events a window receives only about itself are the table's "✓¹" marks."""
    lines = PROTOCOL_MD.read_text("utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| event |"))
    marked = set()
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        name, window_mark, *_ = (cell.strip() for cell in line.strip("|").split("|"))
        if window_mark == "✓¹":
            marked.add(name.strip("`"))
    assert marked == OWN_WINDOW_EVENTS
