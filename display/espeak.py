"""What the installed espeak-ng makes of a sentence, and which of its voices reads Mandarin.

espeak-ng's voices for Mandarin differ by release. With Debian's 1.51, `cmn` reads most
Chinese characters through English ("latin as English": `请` comes out as `(en)kI55NTr'i:55`),
while `cmn-latn-pinyin` gives Mandarin phonemes (`tS;h'i21N`). Which one a machine has, and
how it reads, is therefore found out at start, never assumed: `mandarin_voice` asks
espeak-ng for the phonemes of a real announcement in each candidate voice and takes the
first that never switches to another language. A switch shows in espeak-ng's phoneme output
as the language's name in brackets, e.g. `(en)` … `(cmn)`.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence

log = logging.getLogger(__name__)

# Mandarin voices in order of preference; the first that reads the probe without switching
# language is used. A missing one is skipped.
MANDARIN_CANDIDATES = ("cmn-latn-pinyin", "cmn", "zh")
SWITCH = re.compile(r"\(([a-z]{2,3}(?:-[a-z0-9]+)*)\)", re.IGNORECASE)
PHONEME_TIMEOUT = 10.0  # seconds for one espeak-ng run


def espeak_command() -> str | None:
    return shutil.which("espeak-ng")


def phonemes(text: str, voice: str) -> str:
    """espeak-ng's phoneme mnemonics for `text` in `voice` (`espeak-ng -q -x`).

    Raises FileNotFoundError without the espeak-ng program, ValueError for a voice it does
    not have (espeak-ng then says so on stderr and exits 1)."""
    program = espeak_command()
    if program is None:
        raise FileNotFoundError("espeak-ng is not installed (apt-get install espeak-ng)")
    done = subprocess.run(
        [program, "-q", "-x", "-v", voice, "--", text],
        capture_output=True,
        text=True,
        timeout=PHONEME_TIMEOUT,
        check=False,
    )
    if done.returncode != 0 or "Failed to read voice" in done.stderr:
        raise ValueError(f"espeak-ng has no voice {voice!r}: {done.stderr.strip()}")
    return done.stdout.strip()


def language_switches(phoneme_text: str) -> list[str]:
    """The languages espeak-ng switched to while reading (empty: it never switched)."""
    return SWITCH.findall(phoneme_text)


def mandarin_voice(
    probes: Sequence[str], available: Iterable[str], candidates: Sequence[str] = MANDARIN_CANDIDATES
) -> str | None:
    """The first of `candidates` among the `available` voices that reads every probe
    sentence without switching language; without the espeak-ng program to ask, the first
    available candidate. None: no Mandarin voice at all."""
    present = {v.lower() for v in available}
    usable = [c for c in candidates if c.lower() in present]
    if not usable:
        return None
    if espeak_command() is None:
        log.warning("espeak-ng's program is missing; taking voice %s unchecked", usable[0])
        return usable[0]
    for voice in usable:
        try:
            switched = [s for probe in probes for s in language_switches(phonemes(probe, voice))]
        except (ValueError, OSError, subprocess.TimeoutExpired) as exc:
            log.warning("could not ask espeak-ng about voice %s: %s", voice, exc)
            continue
        if not switched:
            return voice
        log.info("espeak-ng voice %s reads Mandarin through %s; not used", voice, switched)
    return None
