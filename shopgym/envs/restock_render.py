"""What the Restock envs show when rendered, batched over worlds: shared by ``RestockEnv`` and its vector twin.

``"ansi"``: the latest day's stock, pipeline, demand, sales and profit per SKU (first 5 SKUs, then
totals). ``"rgb_array"``: a 480x320 chart of the last 60 days, all SKUs summed: stock on hand,
pipeline, orders, demand and sales (units), and the day's profit (currency).
"""

from __future__ import annotations

import numpy as np

from shopgym.envs.render import HISTORY_DAYS, Chart, Column, DayHistory, Line, Panel, render_text
from shopgym.world.outcome import DayOutcome
from shopgym.world.world import World

#: Per-day series kept, each ``(n_worlds, n_skus)``: units except ``profit`` (currency).
FIELDS = ("on_hand", "pipeline", "ordered", "demand", "sold", "lost", "profit")
COLUMNS = (Column("stock", "on_hand"), Column("pipeline", "pipeline"), Column("demand", "demand"),
           Column("sold", "sold"), Column("profit", "profit", "{:.1f}"))
PANELS = (
    Panel("units (all SKUs)", (Line("on hand", "on_hand"), Line("pipeline", "pipeline"), Line("ordered", "ordered"),
                               Line("demand", "demand"), Line("sold", "sold"))),
    Panel("profit/day", (Line("profit", "profit"),)),
)


class RestockRenderer:
    """Keeps the last ``HISTORY_DAYS`` days of every world of a Restock env and renders one world's view.

    The env calls ``on_reset`` after the world resets and ``on_step`` with each day's info and outcome;
    it builds one only when a render mode is set, so unrendered envs pay nothing.
    """

    def __init__(self, world: World, render_mode: str, name: str = "Restock"):
        self.world, self.render_mode, self.name = world, render_mode, name
        self.history = DayHistory(FIELDS, (world.n_worlds, world.catalog.n_skus), HISTORY_DAYS)
        self.chart = Chart(PANELS) if render_mode == "rgb_array" else None
        self._profit = np.zeros(world.n_worlds)  # episode profit so far (currency), per world

    def on_reset(self) -> None:
        """Start a new episode's history with the starting state (stock and pipeline; no flows yet)."""
        self.history.clear()
        self._profit[:] = 0.0
        self.history.append(self.world.day, on_hand=self.world.on_hand, pipeline=self.world.pipeline.sum(-1))

    def on_step(self, info: dict, out: DayOutcome) -> None:
        """Record the day just simulated from its info (per-SKU flows, ``(n_skus,)`` or ``(n_worlds, n_skus)``).

        Reads ``on_hand, ordered, demand, sold, lost`` (units) from the info, per-SKU profit
        (currency) from the outcome and the units still in the pipeline from the world.
        """
        profit = out.profit
        self._profit += profit.sum(-1)
        self.history.append(self.world.day, on_hand=info["on_hand"], ordered=info["ordered"],
                            demand=info["demand"], sold=info["sold"], lost=info["lost"], profit=profit,
                            pipeline=self.world.pipeline.sum(-1))

    def title(self, w: int) -> str:
        """``name  day d/horizon  date  profit so far``; the date is the day just simulated."""
        day = self.world.day
        date = self.world.dates[max(day - 1, 0)]
        return f"{self.name}  day {day}/{self.world.horizon}  {date}  episode profit {self._profit[w]:,.1f}"

    def render(self, w: int = 0, sku: int | None = None) -> str | np.ndarray:
        """World ``w``'s view (of SKU ``sku`` alone if given) in the render mode: a string (``"ansi"``) or
        an ``(H, W, 3)`` uint8 frame (``"rgb_array"``)."""
        items = slice(None) if sku is None else slice(sku, sku + 1)
        title = self.title(w) if sku is None else f"{self.title(w)}  SKU {sku}"
        if self.chart is None:
            return render_text(self.history, COLUMNS, title, world=w, items=items)
        return self.chart.frame(self.history, title, world=w, items=items)
