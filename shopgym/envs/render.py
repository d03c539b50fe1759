"""Rendering for shopgym envs: a rolling history of per-day arrays, a text view and an off-screen chart.

Env-agnostic: an env records what it wants to show in a ``DayHistory`` and says which series go into
the text columns (``render_text``) and the chart's panels (``Chart``). Restock shows stock, orders,
demand and sales; Recommend and Ads can show clicks and purchases or spend and budget the same way.

matplotlib is imported only when the first chart is drawn, so ``import shopgym`` stays light.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from gymnasium import logger

from shopgym.errors import RenderModeError, did_you_mean

#: The render modes every shopgym env offers.
RENDER_MODES = ("ansi", "rgb_array")
#: Frames (simulated days) per second of a recorded video.
RENDER_FPS = 8
#: Days of history kept for the chart.
HISTORY_DAYS = 60


def check_render_mode(render_mode: str | None, modes: Sequence[str] = RENDER_MODES) -> str | None:
    """``render_mode`` itself if it is ``None`` or one of ``modes``, else ``RenderModeError`` listing them."""
    if render_mode is not None and render_mode not in modes:
        raise RenderModeError(f"render_mode={render_mode!r} is not offered; use one of {list(modes)} or None "
                              f"(no rendering).{did_you_mean(render_mode, modes)}")
    return render_mode


def warn_no_render_mode(env_id: str) -> None:
    """Gymnasium's warning for ``render()`` on an env made without a render mode."""
    logger.warn("You are calling render method without specifying any render mode. You can specify the "
                f'render_mode at initialization, e.g. gym.make("{env_id}", render_mode="rgb_array")')


class DayHistory:
    """The last ``capacity`` days of named per-day arrays, each shaped ``shape`` (e.g. ``(n_worlds, n_skus)``).

    A ring buffer: ``append`` writes one day in place (one numpy assignment per field, nothing per SKU);
    ``series`` returns the kept days oldest first. Fields missing from an ``append`` are NaN that day
    (e.g. the flows of the starting state, before any day was simulated).
    """

    def __init__(self, fields: Sequence[str], shape: tuple[int, ...], capacity: int = HISTORY_DAYS):
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1 day, got {capacity}.")
        self.fields = tuple(fields)
        self.shape = tuple(shape)
        self.capacity = capacity
        self._data = {f: np.full((capacity, *self.shape), np.nan) for f in self.fields}
        self._day = np.zeros(capacity, dtype=np.int64)
        self._count = 0

    def clear(self) -> None:
        """Forget every day (a new episode)."""
        self._count = 0

    def __len__(self) -> int:
        """Days kept (at most ``capacity``)."""
        return min(self._count, self.capacity)

    def append(self, day: int, **values) -> None:
        """Record day ``day`` (the env's day count): each value broadcast to ``shape``; others NaN."""
        unknown = set(values) - set(self.fields)
        if unknown:
            raise KeyError(f"unknown fields {sorted(unknown)}; this history keeps {list(self.fields)}.")
        i = self._count % self.capacity
        self._day[i] = day
        for name, arr in self._data.items():
            arr[i] = values.get(name, np.nan)
        self._count += 1

    def _order(self) -> np.ndarray:
        n = len(self)
        return (np.arange(self._count - n, self._count)) % self.capacity

    @property
    def days(self) -> np.ndarray:
        """The kept days' numbers, oldest first, ``(len,)``."""
        return self._day[self._order()]

    def series(self, name: str) -> np.ndarray:
        """Field ``name`` on the kept days, oldest first, ``(len, *shape)`` (a copy)."""
        return self._data[name][self._order()]


@dataclass(frozen=True)
class Column:
    """One field shown per SKU in the text view: a label, the history field, and a number format."""

    label: str
    field: str
    fmt: str = "{:.0f}"


def _cell(values: np.ndarray, fmt: str, max_items: int) -> str:
    """Up to ``max_items`` values, then ``+k`` for the rest and ``Σ`` their total when there is more than one."""
    def f(v: float) -> str:
        return "-" if np.isnan(v) else fmt.format(v)

    shown = " ".join(f(v) for v in values[:max_items])  # at most max_items values: bounded, not per SKU
    if len(values) > max_items:
        shown += f" +{len(values) - max_items}"
    if len(values) > 1:
        shown += f" Σ{f(np.sum(values))}"
    return shown


def render_text(history: DayHistory, columns: Sequence[Column], title: str, world: int = 0,
                items: slice = slice(None), n_days: int = 1, max_items: int = 5, item_name: str = "SKU") -> str:
    """A text view: ``title``, a line naming the columns, then one line per day for the last ``n_days`` days.

    The history's arrays are ``(n_worlds, n_items)``; row ``world``, items ``items`` are shown. Each
    column lists the first ``max_items`` of them, ``+k`` for the ``k`` more, and ``Σ`` their total.
    """
    index = np.arange(history.shape[-1])[items]
    n_items, shown = len(index), min(len(index), max_items)
    which = ", ".join(f"{item_name} {i}" for i in index[:shown]) if shown <= 2 else \
        f"{item_name}s {index[0]}-{index[shown - 1]}"
    more = f", +{n_items - shown} more" if n_items > shown else ""
    total = ", Σ all" if n_items > 1 else ""
    lines = [title, "day | " + " | ".join(c.label for c in columns) + f"   ({which}{more}{total})"]
    n = min(n_days, len(history))
    if n == 0:
        return "\n".join(lines + ["(no day yet: call reset())"])
    days = history.days[-n:]
    cols = [history.series(c.field)[-n:, world, items] for c in columns]
    for k in range(n):  # a few lines (n_days)
        cells = [_cell(col[k], c.fmt, max_items) for c, col in zip(columns, cols, strict=True)]
        lines.append(f"{days[k]:>3} | " + " | ".join(cells))
    return "\n".join(lines)


@dataclass(frozen=True)
class Line:
    """One line of a chart panel: a label and the history field, summed over items (SKUs)."""

    label: str
    field: str


@dataclass(frozen=True)
class Panel:
    """One chart panel: a y-axis label (with its unit) and its lines."""

    ylabel: str
    lines: tuple[Line, ...]


def nice_limits(values: Sequence[np.ndarray], current: tuple[float, float] | None) -> tuple[float, float]:
    """Y-axis limits for ``values``: ``current`` while they fit it and fill at least a third of it, else new
    round limits (``1, 2, 2.5, 5 x 10^k``) that include 0. Few changes mean few full redraws of a chart."""
    finite = np.concatenate([np.ravel(v) for v in values]) if len(values) else np.zeros(0)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return current if current is not None else (0.0, 1.0)
    lo, hi = min(float(finite.min()), 0.0), max(float(finite.max()), 0.0)
    if current is not None and current[0] <= lo and hi <= current[1] and 3 * (hi - lo) >= current[1] - current[0]:
        return current
    if hi == lo:  # all zero
        return 0.0, 1.0
    return (-_round_up(-lo) if lo < 0 else 0.0), (_round_up(hi) if hi > 0 else 0.0)


def _round_up(x: float) -> float:
    """The smallest of ``1, 2, 2.5, 5 x 10^k`` at least ``1.05 x`` (``x > 0``)."""
    x *= 1.05
    scale = 10.0 ** np.floor(np.log10(x))
    return float(scale * next(m for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * scale >= x))


class Chart:
    """Panels of per-day totals over the last days, drawn off-screen into an ``(height, width, 3)`` uint8 frame.

    Uses matplotlib's Agg canvas directly (no pyplot, no display). The figure is built on the first
    frame and reused, so every frame has the same size (as video writers need). The x axis counts
    days back from the latest (0), so it never moves; the y limits change only when the data
    outgrow or shrink well inside them (``nice_limits``). Between such changes a frame restores the
    saved background (axes, ticks, legends) and draws only the lines and the title (blitting).
    """

    def __init__(self, panels: Sequence[Panel], width: int = 480, height: int = 320, days: int = HISTORY_DAYS):
        self.panels = tuple(panels)
        self.width, self.height, self.days = width, height, days
        self._fig = None

    def _build(self) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator

        dpi = 80
        self._fig = Figure(figsize=(self.width / dpi, self.height / dpi), dpi=dpi)
        self._canvas = FigureCanvasAgg(self._fig)
        axes = self._fig.subplots(len(self.panels), 1, sharex=True, squeeze=False)[:, 0]
        self._title = self._fig.suptitle("", fontsize=9, animated=True)
        self._axes, self._lines = list(axes), []
        for ax, panel in zip(axes, self.panels, strict=True):
            ax.set_ylabel(panel.ylabel, fontsize=8)
            ax.tick_params(labelsize=7)
            ax.yaxis.set_major_locator(MaxNLocator(4))
            ax.grid(alpha=0.3)
            self._lines.append([ax.plot([], [], label=line.label, lw=1.2, animated=True)[0] for line in panel.lines])
            ax.legend(loc="upper left", fontsize=6, ncol=len(panel.lines), frameon=False)
        axes[-1].set_xlim(-(self.days - 1), 0)
        axes[-1].set_xlabel("days before the latest day", fontsize=8)
        self._fig.subplots_adjust(left=0.13, right=0.98, top=0.9, bottom=0.13, hspace=0.15)
        self._limits: list[tuple[float, float] | None] = [None] * len(self.panels)
        self._background = None

    def frame(self, history: DayHistory, title: str, world: int = 0, items: slice = slice(None)) -> np.ndarray:
        """The chart of world ``world``'s kept days, lines summed over ``items``, ``(height, width, 3)`` uint8."""
        if self._fig is None:
            self._build()
        days = history.days
        x = days - days[-1] if len(days) else days
        redraw = self._background is None
        for i, (ax, panel, lines) in enumerate(zip(self._axes, self.panels, self._lines, strict=True)):
            # a day's total over items; NaN stays NaN (a gap, e.g. the starting state's flows)
            totals = [history.series(line.field)[:, world, items].sum(axis=-1) for line in panel.lines]
            for artist, y in zip(lines, totals, strict=True):
                artist.set_data(x, y)
            limits = nice_limits(totals, self._limits[i])
            if limits != self._limits[i]:
                ax.set_ylim(*limits)
                self._limits[i], redraw = limits, True
        if redraw:
            self._canvas.draw()  # everything but the animated artists (lines, title)
            self._background = self._canvas.copy_from_bbox(self._fig.bbox)
        else:
            self._canvas.restore_region(self._background)
        self._title.set_text(title)
        for lines in self._lines:
            for artist in lines:  # a handful of lines, not per SKU
                self._fig.draw_artist(artist)
        self._fig.draw_artist(self._title)
        return np.asarray(self._canvas.buffer_rgba())[..., :3].copy()
