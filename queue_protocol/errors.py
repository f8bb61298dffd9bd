"""Machine-readable error codes carried by `error` replies."""

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    BAD_JSON = "bad_json"  # the frame is not JSON, or not a JSON object
    BAD_REQUEST = "bad_request"  # a field is missing, mistyped or out of range
    UNKNOWN_VERB = "unknown_verb"  # `type` names no request
    TOO_LARGE = "too_large"  # the frame is over the size limit
    RATE_LIMITED = "rate_limited"  # too many requests from this connection; retry later
    VERSION_MISMATCH = "version_mismatch"  # the client speaks another protocol version
    NOT_AUTHENTICATED = "not_authenticated"  # the first message must be `hello`
    ALREADY_AUTHENTICATED = "already_authenticated"  # `hello` sent twice on one connection
    AUTH_FAILED = "auth_failed"  # wrong user, password or token; or disabled account
    ACCOUNT_LOCKED = "account_locked"  # too many wrong passwords: locked until `at`
    FORBIDDEN = "forbidden"  # this role may not do this
    WINDOW_TAKEN = "window_taken"  # another staff member is logged in at that window
    STAFF_ELSEWHERE = "staff_elsewhere"  # this account works at another window (`window`)
    NOT_FOUND = "not_found"  # no such ticket, window, category …
    INVALID_STATE = "invalid_state"  # the ticket or window is not in a state that allows it
    QUEUE_EMPTY = "queue_empty"  # nothing waiting that this window may call
    HALL_CLOSED = "hall_closed"  # outside opening hours, or a holiday
    CAPACITY_REACHED = "capacity_reached"  # the category's daily capacity is used up
    TOO_EARLY = "too_early"  # appointment check-in not open yet; the message says from when
    ID_REUSED = "id_reused"  # a request id was reused for a different request
    NOT_SUPPORTED = "not_supported"  # a known verb this hall's server does not offer yet
    INTERNAL = "internal"  # a server fault; the request was not carried out


# Websocket close code sent to a window connection replaced by a newer login of the same
# staff member at the same window; the client must not reconnect on its own.
CLOSE_LOGGED_IN_ELSEWHERE = 4001
# Websocket close code sent to the connections of a hall that was retired (`queue-server
# halls --retire`): its hello is refused from then on (`not_found`, reason `hall`).
CLOSE_HALL_RETIRED = 4002


class ProtocolError(Exception):
    """A request that cannot be carried out; becomes an `error` reply.

    `details` are the reply's structured fields (messages.ErrorReply: reason, at, window, …),
    from which clients build their own text in the user's language."""

    def __init__(self, code: ErrorCode, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
