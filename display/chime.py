"""The chime before each announcement, made here (no downloaded asset), and WAV helpers.

Everything is 16-bit mono PCM, the format espeak-ng renders, so an announcement is simply
chime + (speech + pause) * repeat concatenated into one file.
"""

from __future__ import annotations

import math
import os
import wave
from array import array
from pathlib import Path

SAMPLE_RATE = 22050  # espeak-ng's native rate


def chime(rate: int = SAMPLE_RATE, volume: float = 0.5) -> array[int]:
    """A two-tone 'ding-dong' (E6 then C6), each note with a soft attack and decay."""
    samples: array[int] = array("h")
    for freq, seconds in ((1318.5, 0.35), (1046.5, 0.55)):
        n = int(rate * seconds)
        attack = int(rate * 0.01)
        for i in range(n):
            envelope = min(1.0, i / attack) * math.exp(-4.0 * i / n)
            value = volume * envelope * math.sin(2 * math.pi * freq * i / rate)
            samples.append(int(value * 32767))
    return samples


def silence(seconds: float, rate: int = SAMPLE_RATE) -> array[int]:
    return array("h", bytes(2 * int(rate * seconds)))


def read_wav(path: Path) -> tuple[array[int], int]:
    """The samples and frame rate of a 16-bit mono WAV file."""
    with wave.open(str(path), "rb") as f:
        if f.getsampwidth() != 2 or f.getnchannels() != 1:
            raise ValueError(f"{path}: expected 16-bit mono PCM")
        samples: array[int] = array("h")
        samples.frombytes(f.readframes(f.getnframes()))
        return samples, f.getframerate()


def write_wav(path: Path, samples: array[int], rate: int = SAMPLE_RATE) -> None:
    """Write atomically (temp file + rename) so a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.part")
    with wave.open(str(tmp), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(samples.tobytes())
    os.replace(tmp, path)


def rms(samples: array[int]) -> float:
    """Root mean square amplitude (0 - 32767): how far a recording is from silence."""
    if not samples:
        return 0.0
    return math.sqrt(sum(s * s for s in samples) / len(samples))


def duration(samples: array[int], rate: int = SAMPLE_RATE) -> float:
    return len(samples) / rate
