"""Staff passwords (argon2id) and device tokens (random, stored only as a SHA-256 hash)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verifying against this keeps a login for an unknown account as slow as a wrong password,
# so response time does not reveal which accounts exist.
_DUMMY_HASH = _hasher.hash("not a real password")


def hash_password(password: str) -> str:
    if len(password) < 6:
        raise ValueError("a password needs at least 6 characters")
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    return secrets.token_urlsafe(24)


def new_ticket_secret() -> str:
    """The secret printed in a slip's QR code: 96 random bits, short enough for a small QR."""
    return secrets.token_urlsafe(12)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_matches(token_hash: str, token: str) -> bool:
    return hmac.compare_digest(token_hash, hash_token(token))
