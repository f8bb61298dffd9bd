"""Fuzzing the request decoder: whatever a frame holds, the answer is a ProtocolError or a
request, never another exception (which would drop the connection with 1011)."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from queue_protocol.codec import RequestError, decode_request, encode
from queue_protocol.errors import ErrorCode
from queue_protocol.messages import ErrorReply
from tests.frames import HOSTILE, request_like


def _check(frame: str | bytes) -> None:
    try:
        decode_request(frame)
    except RequestError as exc:
        assert isinstance(exc.code, ErrorCode)
        # The error must be sendable: its id is text that UTF-8 can carry.
        reply = encode(ErrorReply(re=exc.request_id, code=exc.code, message=exc.message))
        reply.encode("utf-8")


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.one_of(st.text(max_size=200), request_like(), st.binary(max_size=200)))
@example(HOSTILE[0])
def test_no_frame_raises_anything_but_a_protocol_error(frame: str | bytes) -> None:
    """Random text, bytes and near-valid requests decode or fail with a protocol error."""
    _check(frame)


def test_the_frames_that_once_dropped_the_connection_get_errors() -> None:
    """Each known hostile frame fails with bad_json or bad_request, and its id is kept if
    it can be sent back."""
    for frame in HOSTILE:
        try:
            decode_request(frame)
        except RequestError as exc:
            assert exc.code in {ErrorCode.BAD_JSON, ErrorCode.BAD_REQUEST}, (frame[:40], exc)
            if frame.startswith('{"type":"snapshot","id":"a"'):
                assert exc.request_id == "a"
        else:
            if frame != '{"type":"snapshot","id":"a","id":"b"}':
                raise AssertionError(f"accepted {frame[:60]!r}")
    surrogate = HOSTILE[0]
    try:
        decode_request(surrogate)
    except RequestError as exc:
        assert exc.request_id is None  # not sendable as UTF-8: answered with re = null


def test_a_binary_frame_of_invalid_utf8_is_bad_json() -> None:
    """Bytes that are not UTF-8 are refused as bad_json."""
    try:
        decode_request(b"\xff\xfe{")
    except RequestError as exc:
        assert exc.code is ErrorCode.BAD_JSON
    else:
        raise AssertionError("accepted invalid UTF-8")
