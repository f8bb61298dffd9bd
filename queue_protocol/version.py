"""Protocol version carried in `hello`; bumped on any incompatible message change."""

PROTOCOL_VERSION = 1

# Largest accepted request, in bytes of UTF-8 text. Larger frames get a `too_large` error.
MAX_REQUEST_BYTES = 64 * 1024
