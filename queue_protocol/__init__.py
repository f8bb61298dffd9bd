"""Yichuang wire protocol: message models, codec, error codes and the shared client.

Pure: no I/O libraries, no database, no UI. Every program imports this package.
"""

from queue_protocol.errors import ErrorCode, ProtocolError
from queue_protocol.version import PROTOCOL_VERSION

__all__ = ["PROTOCOL_VERSION", "ErrorCode", "ProtocolError"]
