"""Turning frames into messages and back, with the error code for each kind of bad input."""

from __future__ import annotations

import json
import re
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
_TOO_LARGE = f"frame over {MAX_REQUEST_BYTES} bytes"


def encode(message: BaseModel) -> str:
    """One message as the text of one websocket frame."""
    return message.model_dump_json(exclude_none=False)


def request_id_of(raw: Any) -> str | None:
    """The request id of a frame that failed to parse, so the error can still answer it.

    An id that cannot be sent back as UTF-8 text (a lone surrogate escape such as "\\ud800")
    is unreadable: the error then answers with `re: null`."""
    if isinstance(raw, dict):
        rid = raw.get("id")
        if isinstance(rid, str) and 0 < len(rid) <= 64:
            try:
                rid.encode("utf-8")
            except UnicodeEncodeError:
                return None
            return rid
    return None


class _Integer:
    """An integer's digits, unconverted: neither a str nor an int to the checks below."""

    __slots__ = ("digits",)

    def __init__(self, digits: str) -> None:
        self.digits = digits


class RequestError(ProtocolError):
    """A frame that is not a valid request, with the request id it carried (if readable)."""

    def __init__(self, code: ErrorCode, message: str, request_id: str | None) -> None:
        super().__init__(code, message)
        self.request_id = request_id


def decode_request(frame: str | bytes) -> AnyRequest:
    """Parse one client frame; raise RequestError with the precise code on bad input.

    The frame is read twice: by the standard library (to find the verb and the id, whatever
    else is wrong) and by pydantic's strict JSON validation, which refuses lone surrogates
    and nesting deeper than its recursion limit. Nothing here raises anything else, whatever
    the frame holds (tests/unit/test_codec_fuzz.py)."""
    if isinstance(frame, bytes):
        try:
            frame = frame.decode("utf-8")
        except UnicodeDecodeError:
            raise RequestError(ErrorCode.BAD_JSON, "frame is not UTF-8 text", None) from None
    too_large = len(frame) > MAX_REQUEST_BYTES or (
        len(frame.encode("utf-8", "surrogatepass")) > MAX_REQUEST_BYTES
    )
    try:
        # Integers are not converted here (one of over 4,300 digits raises ValueError): this
        # reading only finds the verb and the id; pydantic's validation reads the numbers.
        raw = json.loads(frame, parse_int=_Integer)
    except RecursionError:
        rid = _leading_id(frame)
        raise RequestError(ErrorCode.BAD_JSON, "not valid JSON: nested too deeply", rid) from None
    except json.JSONDecodeError as exc:
        if too_large:
            raise RequestError(ErrorCode.TOO_LARGE, _TOO_LARGE, None) from None
        raise RequestError(ErrorCode.BAD_JSON, f"not valid JSON: {exc}", None) from None
    rid = request_id_of(raw)
    if too_large:  # still answered by its id: the socket's own limit (1 MiB) bounds the cost
        raise RequestError(ErrorCode.TOO_LARGE, _TOO_LARGE, rid)
    _verb_of(raw, rid)
    try:
        return _requests.validate_json(frame)
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            message = "not valid JSON: nested too deeply, or text that is not Unicode"
            raise RequestError(ErrorCode.BAD_JSON, message, rid) from None
        raise RequestError(ErrorCode.BAD_REQUEST, describe(exc), rid) from None


# `{"type": "…", "id": "…", …`: the id of a frame nested too deeply for any parser, when it
# comes before the nesting among plain string or number fields.
_LEADING_ID = re.compile(
    r'\s*\{(?:\s*"[a-z_]{1,20}"\s*:\s*(?:"[^"\\]{0,64}"|[-0-9.eE+]{1,30})\s*,)*?'
    r'\s*"id"\s*:\s*("(?:[^"\\]|\\.){1,64}")'
)


def _leading_id(frame: str) -> str | None:
    match = _LEADING_ID.match(frame)
    if match is None:
        return None
    try:
        return request_id_of({"id": json.loads(match.group(1))})
    except ValueError:
        return None


def parse_request(raw: Any) -> AnyRequest:
    """A request from already parsed JSON (tests and the documentation's examples)."""
    rid = request_id_of(raw)
    _verb_of(raw, rid)
    try:
        return _requests.validate_json(json.dumps(raw))
    except ValidationError as exc:
        raise RequestError(ErrorCode.BAD_REQUEST, describe(exc), rid) from None


def _verb_of(raw: Any, rid: str | None) -> str:
    if not isinstance(raw, dict):
        raise RequestError(ErrorCode.BAD_JSON, "a request must be a JSON object", None)
    verb = raw.get("type")
    if not isinstance(verb, str):
        raise RequestError(ErrorCode.BAD_REQUEST, "field 'type' (the verb) is missing", rid)
    if verb not in VERBS:
        raise RequestError(ErrorCode.UNKNOWN_VERB, f"unknown verb {verb[:40]!r}", rid)
    return verb


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
    if not isinstance(raw, dict) or raw.get("type") not in {"ok", "error", "event", "events"}:
        raise ValueError(f"not a server message: {str(frame)[:80]}")
    return raw


def parse_event(raw: dict[str, Any]) -> AnyEvent:
    return _events.validate_python(raw)


def parse_error(raw: dict[str, Any]) -> ErrorReply:
    return ErrorReply.model_validate(raw)
