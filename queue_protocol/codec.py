"""Turning frames into messages and back, with the error code for each kind of bad input."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from queue_protocol.errors import ErrorCode, ProtocolError
from queue_protocol.messages import (
    REPLY_FOR,
    AnyEvent,
    AnyRequest,
    ErrorReply,
)
from queue_protocol.version import MAX_REQUEST_BYTES

_requests: TypeAdapter[AnyRequest] = TypeAdapter(AnyRequest)
_events: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent)
VERBS: frozenset[str] = frozenset(REPLY_FOR)


def encode(message: BaseModel) -> str:
    """One message as the text of one websocket frame."""
    return message.model_dump_json(exclude_none=False)


def request_id_of(raw: Any) -> str | None:
    """The request id of a frame that failed to parse, so the error can still answer it."""
    if isinstance(raw, dict):
        rid = raw.get("id")
        if isinstance(rid, str) and 0 < len(rid) <= 64:
            return rid
    return None


def decode_request(frame: str | bytes) -> AnyRequest:
    """Parse one client frame; raise ProtocolError with the precise code on bad input."""
    if isinstance(frame, bytes):
        if len(frame) > MAX_REQUEST_BYTES:
            raise ProtocolError(ErrorCode.TOO_LARGE, f"frame over {MAX_REQUEST_BYTES} bytes")
        try:
            frame = frame.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(ErrorCode.BAD_JSON, "frame is not UTF-8 text") from exc
    if len(frame) > MAX_REQUEST_BYTES or len(frame.encode("utf-8")) > MAX_REQUEST_BYTES:
        raise ProtocolError(ErrorCode.TOO_LARGE, f"frame over {MAX_REQUEST_BYTES} bytes")
    try:
        raw = json.loads(frame)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ProtocolError(ErrorCode.BAD_JSON, f"not valid JSON: {exc}") from exc
    return parse_request(raw)


def parse_request(raw: Any) -> AnyRequest:
    if not isinstance(raw, dict):
        raise ProtocolError(ErrorCode.BAD_JSON, "a request must be a JSON object")
    verb = raw.get("type")
    if not isinstance(verb, str):
        raise ProtocolError(ErrorCode.BAD_REQUEST, "field 'type' (the verb) is missing")
    if verb not in VERBS:
        raise ProtocolError(ErrorCode.UNKNOWN_VERB, f"unknown verb {verb[:40]!r}")
    try:
        return _requests.validate_json(json.dumps(raw))
    except ValidationError as exc:
        raise ProtocolError(ErrorCode.BAD_REQUEST, describe(exc)) from exc


def describe(exc: ValidationError) -> str:
    """A short human reading of a validation failure: 'field: problem; …'."""
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"] if not isinstance(p, int) or p)
        # The discriminated union puts the verb first in the location; drop it.
        loc = loc.split(".", 1)[1] if "." in loc else loc
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def decode_server_message(frame: str | bytes) -> dict[str, Any]:
    """Parse a server frame into a plain dict (clients validate replies by verb)."""
    raw = json.loads(frame)
    if not isinstance(raw, dict) or raw.get("type") not in {"ok", "error", "event"}:
        raise ValueError(f"not a server message: {str(frame)[:80]}")
    return raw


def parse_event(raw: dict[str, Any]) -> AnyEvent:
    return _events.validate_python(raw)


def parse_error(raw: dict[str, Any]) -> ErrorReply:
    return ErrorReply.model_validate(raw)
