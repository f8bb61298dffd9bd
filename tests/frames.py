"""Hostile and random frames shared by the decoder's fuzz test and the server's."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from queue_protocol.codec import VERBS

# Frames that once dropped the connection (issue "A correct hall day", defect 5).
HOSTILE = [
    '{"type":"snapshot","id":"sur\\ud800"}',
    '{"type":"snapshot","id":"a","x":' + "9" * 5000 + "}",
    '{"type":"snapshot","id":"a","x":' + "[" * 980 + "]" * 980 + "}",
    '{"type":"snapshot","id":"a","x":' + "[" * 5000 + "]" * 5000 + "}",
    '{"type":"issue_ticket","id":"a","category":"\\udfff"}',
    '{"type":"snapshot","id":"a","x":1e999}',
    '{"type":"snapshot","id":"a","x":NaN}',
    '{"type":"snapshot","id":"a","x":-Infinity}',
    '{"type":"snapshot","id":"a","id":"b"}',
    "\ufeff{}",
    "\x00",
    "",
    "[]",
    "null",
    '"hello"',
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def request_like(draw: st.DrawFn) -> str:
    """A JSON object with a known verb, a request id and random fields: close to valid."""
    body: dict[str, Any] = draw(st.dictionaries(st.text(max_size=12), json_values, max_size=5))
    body["type"] = draw(st.sampled_from(sorted(VERBS)) | st.text(max_size=12))
    if draw(st.booleans()):
        body["id"] = draw(st.text(min_size=1, max_size=70))
    return json.dumps(body, ensure_ascii=draw(st.booleans()))
