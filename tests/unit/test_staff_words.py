"""Every word the staff programs name is one they have, in Chinese and in English: what a
program's own code says is in its words, and what the shared code (staff_tui) says is in
both programs' words (an app's own entry, or the shared one)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from admin_console.i18n import t as admin_words
from staff_tui.i18n import Words
from window_client.i18n import t as window_words

ROOT = Path(__file__).resolve().parents[2]
# A key written out where the code says it: t("login.heading"), self.words("conn.back").
SAID = re.compile(r"\b(?:t|words)\(\s*\"([\w.]+)\"")


def said_in(package: str) -> dict[str, str]:
    """Each key written out in `package`, with a file that says it."""
    said: dict[str, str] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        for key in SAID.findall(path.read_text(encoding="utf-8")):
            said.setdefault(key, str(path.relative_to(ROOT)))
    return said


@pytest.mark.parametrize(
    ("package", "words"),
    [
        ("admin_console", [admin_words]),
        ("window_client", [window_words]),
        ("staff_tui", [admin_words, window_words]),
    ],
)
def test_every_key_said_is_known(package: str, words: list[Words]) -> None:
    said = said_in(package)
    assert said, f"no words found in {package}"  # the pattern still finds what code says
    unknown = {key: where for key, where in said.items() for w in words if key not in w.strings}
    assert unknown == {}


@pytest.mark.parametrize("words", [admin_words, window_words])
def test_every_word_is_in_both_languages(words: Words) -> None:
    assert {key for key, entry in words.strings.items() if set(entry) != {"zh", "en"}} == set()


def test_every_alert_kind_has_its_words() -> None:
    """The console names an alert by its kind (alert.KIND): each kind the server raises
    has its line, in both languages."""
    from queue_protocol.messages import AlertKind

    missing = {kind.value for kind in AlertKind} - {
        key.removeprefix("alert.") for key in admin_words.strings
    }
    assert missing == set()
