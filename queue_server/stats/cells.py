"""Cells: the mergeable figures of one hall, one hall-local day, one grouping key.

Every statistic of a report is counted into cells keyed by (day, dimension, key), e.g.
("2026-11-24", "window", "11"). A cell holds counts, sums and exact histograms of whole
seconds, so cells add up (in any order, in any chunks) to exactly the figures a
computation over the whole event log gives: the incremental aggregates (aggregates.py)
store cells, the from-scratch computation (compute.py) builds them in memory.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# The dimensions a cell can be keyed by. Weekday, day, week and month come from the
# cell's day, so they need no cells of their own.
DIMENSIONS: tuple[str, ...] = ("hall", "category", "item", "window", "staff", "priority", "hour")


@dataclass
class Cell:
    """Counts (n), sums of seconds (s), paused seconds by reason (paused), waits in whole
    seconds per category they waited in (waits: the category's target decides "within"),
    service seconds (services)."""

    n: Counter[str] = field(default_factory=Counter)
    s: Counter[str] = field(default_factory=Counter)
    paused: Counter[str] = field(default_factory=Counter)
    waits: dict[str, Counter[int]] = field(default_factory=dict)
    services: Counter[int] = field(default_factory=Counter)

    def merge(self, other: Cell) -> None:
        self.n.update(other.n)
        self.s.update(other.s)
        self.paused.update(other.paused)
        self.services.update(other.services)
        for category, hist in other.waits.items():
            mine = self.waits.get(category)
            if mine is None:
                self.waits[category] = Counter(hist)
            else:
                mine.update(hist)

    def wait(self, category: str, seconds: int) -> None:
        hist = self.waits.get(category)
        if hist is None:
            hist = self.waits[category] = Counter()
        hist[seconds] += 1

    def to_json(self) -> str:
        data: dict[str, Any] = {}
        for name in ("n", "s", "paused"):
            counter: Counter[str] = getattr(self, name)
            kept = {k: v for k, v in counter.items() if v}
            if kept:
                data[name] = kept
        if self.waits:
            data["waits"] = {c: _pairs(h) for c, h in self.waits.items()}
        if self.services:
            data["services"] = _pairs(self.services)
        return json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Cell:
        data = json.loads(text)
        return cls(
            n=Counter(data.get("n", {})),
            s=Counter(data.get("s", {})),
            paused=Counter(data.get("paused", {})),
            waits={c: _unpairs(p) for c, p in data.get("waits", {}).items()},
            services=_unpairs(data.get("services", [])),
        )

    def plain(self) -> dict[str, Any]:
        """Comparable form without zero entries (tests)."""
        result: dict[str, Any] = json.loads(self.to_json())
        return result


def _pairs(hist: Counter[int]) -> list[int]:
    """A histogram as a flat list [value, count, value, count, …] (compact JSON)."""
    out: list[int] = []
    for value in sorted(hist):
        count = hist[value]
        if count:
            out.extend((value, count))
    return out


def _unpairs(flat: list[int]) -> Counter[int]:
    return Counter(dict(zip(flat[::2], flat[1::2], strict=True)))


CellKey = tuple[str, str, str]  # (day, dimension, key)
Cells = dict[CellKey, Cell]


def merge_into(target: Cells, source: Cells) -> None:
    for key, cell in source.items():
        mine = target.get(key)
        if mine is None:
            target[key] = mine = Cell()
        mine.merge(cell)
