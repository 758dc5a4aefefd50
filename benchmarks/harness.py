"""The one output format of every benchmark: `name  ours  peer  ratio`, peers measured in the same run.

A ratio below 1 means we are faster/smaller than the peer (ours / peer).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass


@dataclass
class Row:
    name: str
    ours: float
    peer: float
    unit: str = "ms"
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.ours / self.peer if self.peer else float("inf")


def median_seconds(fn, *, repeat: int = 7, number: int = 1) -> float:
    """Median wall time of one call to fn, over `repeat` batches of `number` calls."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number)
    return statistics.median(samples)


def report(title: str, rows: list[Row]) -> None:
    width = max([len(r.name) for r in rows] + [4])
    print(f"== {title}")
    print(f"{'name':<{width}}  {'ours':>12}  {'peer':>12}  {'ratio':>7}  note")
    for r in rows:
        print(
            f"{r.name:<{width}}  {r.ours:>9.3f} {r.unit:<2}  {r.peer:>9.3f} {r.unit:<2}"
            f"  {r.ratio:>7.3f}  {r.note}"
        )
