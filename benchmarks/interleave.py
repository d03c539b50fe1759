"""Interleaved timing of loops for the throughput benchmarks: a reference loop and an env's loop timed pass by
pass in turn (``interleaved``), so that both see the same machine speed, and each ratio taken within its repeat
(``per_repeat_ratios``), summarised as the median and range of the repeats (``Spread``). Used by
``benchmarks/throughput.py`` (docs/performance.md)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

#: One pass's rates, in the row's unit per second: (by the wall clock, by this process's CPU time).
Rates = tuple[float, float]
WALL, CPU = 0, 1


@dataclass(frozen=True)
class Loop:
    """A loop to time: ``run(n)`` performs ``n`` steps; a pass runs ``steps`` of them, each worth ``per_step``
    units of the row's unit (64 env-steps for one step of a vector env of 64, 1,000 SKU-steps for a day of a
    1,000-SKU env)."""

    run: Callable[[int], object]
    steps: int
    per_step: float = 1.0


def interleaved(loops: dict[str, Loop], repeats: int,
                clocks: tuple[Callable[[], float], Callable[[], float]] = (time.perf_counter, time.process_time),
                ) -> dict[str, list[Rates]]:
    """Time ``repeats`` interleaved passes of ``loops``: each repeat runs one pass of every loop, in the dict's
    order (reference first), after one warm-up run of a tenth of a pass each. Returns, per loop, the rates of its
    passes in repeat order (units per second by the wall clock and by CPU time: ``clocks``)."""
    if repeats < 1:
        raise ValueError(f"repeats={repeats!r}: need at least one interleaved pass per loop (e.g. --repeats 5).")
    wall, cpu = clocks
    for loop in loops.values():
        loop.run(max(loop.steps // 10, 1))
    rates: dict[str, list[Rates]] = {name: [] for name in loops}
    for _ in range(repeats):
        for name, loop in loops.items():
            t, c = wall(), cpu()
            loop.run(loop.steps)
            dt, dc = wall() - t, cpu() - c
            units = loop.steps * loop.per_step
            rates[name].append((units / max(dt, 1e-9), units / max(dc, 1e-9)))
    return rates


@dataclass(frozen=True)
class Spread:
    """The median of one figure over repeats, and its range (the smallest and the largest repeat)."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Iterable[float]) -> Spread:
        """The spread of one figure's values, one per repeat (or per pass), in the figure's unit."""
        values = list(values)
        if not values:
            raise ValueError("no repeats to summarise: time at least one pass (--repeats 1 or more).")
        return cls(statistics.median(values), min(values), max(values))


def per_repeat_ratios(numerator: list[Rates], denominator: list[Rates], clock: int = WALL) -> list[float]:
    """The ratio of two loops' rates in each repeat (pass ``i`` of one over pass ``i`` of the other, timed back to
    back), by the wall clock (``WALL``) or CPU time (``CPU``)."""
    if len(numerator) != len(denominator):
        raise ValueError(f"{len(numerator)} passes against {len(denominator)}: a ratio per repeat needs loops timed "
                         "in the same interleaved repeats (one call of interleaved).")
    return [n[clock] / d[clock] for n, d in zip(numerator, denominator, strict=True)]


class Figures:
    """Every pass of one run, by the group of interleaved loops that timed it (a row timed in two groups, such as
    native vector Restock against CartPole and against SyncVectorEnv, pools its passes in the rows table)."""

    def __init__(self, repeats: int, clocks=(time.perf_counter, time.process_time)):
        self.repeats, self.clocks = repeats, clocks
        self.groups: dict[str, dict[str, list[Rates]]] = {}
        self.units: dict[str, str] = {}
        self.no_cpu: set[str] = set()  # rows whose CPU time is not shown (SB3: torch's threads would add up)

    def time(self, group: str, loops: dict[str, tuple[Loop, str]], repeats: int | None = None,
             cpu_time: bool = True) -> None:
        """Time ``loops`` (row name -> (loop, unit)) in interleaved repeats under the name ``group``; print each."""
        rates = interleaved({name: loop for name, (loop, _) in loops.items()}, repeats or self.repeats, self.clocks)
        self.groups[group] = rates
        for name, (_, unit) in loops.items():
            self.units.setdefault(name, unit)
            if not cpu_time:
                self.no_cpu.add(name)
            w = Spread.of(r[WALL] for r in rates[name])  # this group's passes (the rows table pools groups)
            cpu = "" if not cpu_time else f"; CPU time {Spread.of(r[CPU] for r in rates[name]).median:,.0f}"
            print(f"{name:<60} {w.median:>14,.0f} {unit}   ({w.low:,.0f} to {w.high:,.0f}{cpu})", flush=True)

    def row(self, name: str, clock: int = WALL) -> Spread:
        """Median and range of a row's rate over all its passes (every group that timed it)."""
        return Spread.of(r[clock] for rates in self.groups.values() for r in rates.get(name, ()))

    def value(self, target: Target, clock: int = WALL) -> Spread:
        """A target's figure per repeat of its group (a ratio within each repeat, or the rate itself): median, range."""
        rates = self.groups[target.group]
        if target.denominator is None:
            return Spread.of(r[clock] for r in rates[target.numerator])
        return Spread.of(per_repeat_ratios(rates[target.numerator], rates[target.denominator], clock))


@dataclass(frozen=True)
class Target:
    """A wanted figure: a row's rate, or the ratio of two rows timed in the same interleaved group."""

    name: str
    wanted: str  # e.g. ">= 0.5"
    group: str
    numerator: str
    denominator: str | None = None
