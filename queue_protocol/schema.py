"""The JSON Schema of the whole protocol, generated from the message models.

`python -m queue_protocol.schema > docs/protocol.schema.json` regenerates the checked-in
copy; a test fails when the two differ.
"""

from __future__ import annotations

import json
from typing import Any, get_args

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from queue_protocol.messages import (
    REPLY_FOR,
    AnyEvent,
    AnyRequest,
    CitizenHelloReply,
    ErrorReply,
    EventBatch,
    TicketUpdate,
)
from queue_protocol.version import MAX_REQUEST_BYTES, PROTOCOL_VERSION

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
REF_TEMPLATE = "#/$defs/{model}"


def _union_members(union: Any) -> list[type[BaseModel]]:
    """The models of an `Annotated[A | B | …, Field(discriminator=…)]`, in declaration order."""
    members = get_args(get_args(union)[0])
    return [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]


def _replies() -> list[type[BaseModel]]:
    unique: dict[str, type[BaseModel]] = {}
    for model in REPLY_FOR.values():
        unique.setdefault(model.__name__, model)
    unique[CitizenHelloReply.__name__] = CitizenHelloReply  # a citizen's hello (no snapshot)
    unique[ErrorReply.__name__] = ErrorReply
    return list(unique.values())


def _refs(models: list[type[BaseModel]]) -> list[dict[str, str]]:
    return [{"$ref": REF_TEMPLATE.format(model=m.__name__)} for m in models]


def _require(schema: dict[str, Any], *fields: str) -> None:
    required = schema.setdefault("required", [])
    for name in reversed(fields):
        if name not in required:
            required.insert(0, name)


def _sorted(value: Any) -> Any:
    """A copy with every object's keys in order, so the output is the same on every run."""
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def protocol_schema() -> dict[str, Any]:
    """One JSON Schema document: every request, reply and event of the protocol."""
    requests = _union_members(AnyRequest)
    events = _union_members(AnyEvent)
    replies = _replies()
    batch: type[BaseModel] = EventBatch
    update: type[BaseModel] = TicketUpdate
    # Validation mode throughout: the schema says what a receiver accepts.
    _, document = models_json_schema(
        [(m, "validation") for m in [*requests, *replies, *events, batch, update]],
        ref_template=REF_TEMPLATE,
    )
    defs = document.get("$defs", {})
    # The tags carry defaults in the models, but on the wire they are always present: the
    # server dispatches on a request's `type`, and clients on a reply's `type` and an
    # event's `name`.
    for model in [*requests, *replies, update]:
        _require(defs[model.__name__], "type")
    for model in events:
        _require(defs[model.__name__], "type", "name")
    schema: dict[str, Any] = {
        "$schema": JSON_SCHEMA_DIALECT,
        "title": "Yichuang (一窗) websocket protocol",
        "description": (
            "Every frame is one JSON object. Clients send requests (discriminated by `type`); "
            "the server answers each with a reply (`type` ok or error, `re` = the request id) "
            "and pushes events (`type` event, discriminated by `name`), several at once in an "
            "EventBatch (`type` events) to a client whose hello said `batch_events`. "
            "A citizen's connection (role citizen) is sent TicketUpdate frames (`type` "
            "ticket_update) about its one ticket instead of events. See docs/protocol.md."
        ),
        "protocol_version": PROTOCOL_VERSION,
        "max_request_bytes": MAX_REQUEST_BYTES,
        "oneOf": [
            {"$ref": "#/$defs/Request"},
            {"$ref": "#/$defs/Reply"},
            {"$ref": "#/$defs/Event"},
            {"$ref": "#/$defs/EventBatch"},
            {"$ref": "#/$defs/TicketUpdate"},
        ],
        "$defs": {
            **defs,
            "Request": {
                "description": "A client frame; `type` names the verb.",
                "oneOf": _refs(requests),
                "discriminator": {
                    "propertyName": "type",
                    "mapping": {
                        m.model_fields["type"].default: REF_TEMPLATE.format(model=m.__name__)
                        for m in requests
                    },
                },
            },
            "Reply": {
                "description": (
                    "The server's answer to one request. The ok model depends on the verb "
                    "(see x-reply-for); errors are ErrorReply."
                ),
                "oneOf": _refs(replies),
                "x-reply-for": {
                    verb: REF_TEMPLATE.format(model=m.__name__) for verb, m in REPLY_FOR.items()
                },
            },
            "Event": {
                "description": "A committed state change pushed by the server; `name` says which.",
                "oneOf": _refs(events),
                "discriminator": {
                    "propertyName": "name",
                    "mapping": {
                        m.model_fields["name"].default: REF_TEMPLATE.format(model=m.__name__)
                        for m in events
                    },
                },
            },
        },
    }
    result: dict[str, Any] = _sorted(schema)
    return result


def main() -> None:
    print(json.dumps(protocol_schema(), indent=2, ensure_ascii=False, sort_keys=True))


if __name__ == "__main__":
    main()
