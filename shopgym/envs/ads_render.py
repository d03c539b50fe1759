"""What the Ads env shows when rendered: per step (one tick), the impressions won, clicks, purchases and spend per SKU.

``"ansi"``: the latest tick's impressions won, clicks, purchases, stock and ad spend per SKU (first 5 SKUs, then
totals), under a title with today's budget left. ``"rgb_array"``: a 480x320 chart of the last 60 ticks, all SKUs
summed: impressions won, clicks and purchases (counts), and the tick's ad spend and ad margin (currency).
"""

from __future__ import annotations

import numpy as np

from shopgym.envs.render import HISTORY_DAYS, Chart, Column, DayHistory, Line, Panel, render_text
from shopgym.world.ads import AdTickOutcome

#: Per-step series kept, each ``(n_worlds, n_skus)``: counts, except ``on_hand`` (units), ``spend`` and ``margin``
#: (currency).
FIELDS = ("wins", "clicks", "purchases", "on_hand", "spend", "margin")
COLUMNS = (Column("won", "wins"), Column("clicks", "clicks"), Column("bought", "purchases"),
           Column("stock", "on_hand"), Column("spend", "spend", "{:.2f}"))
PANELS = (
    Panel("per tick (all SKUs)", (Line("won", "wins"), Line("clicks", "clicks"), Line("bought", "purchases"))),
    Panel("currency/tick", (Line("spend", "spend"), Line("ad margin", "margin"))),
)


class AdsRenderer:
    """Keeps the last ``HISTORY_DAYS`` ticks (steps) of an Ads env's worlds and renders them."""

    def __init__(self, world, render_mode: str, name: str = "Ads"):
        self.world, self.render_mode, self.name = world, render_mode, name
        self.history = DayHistory(FIELDS, (world.n_worlds, world.catalog.n_skus), HISTORY_DAYS)
        self.chart = Chart(PANELS) if render_mode == "rgb_array" else None
        self.steps = 0
        self._reward = np.zeros(world.n_worlds)

    def on_reset(self) -> None:
        """A new episode: the starting stock, no tick yet."""
        self.history.clear()
        self.steps = 0
        self._reward[:] = 0.0
        self.history.append(0, on_hand=self.world.on_hand)

    def on_step(self, tick: AdTickOutcome) -> None:
        """Record one tick: impressions won, clicks, purchases, spend and ad margin per SKU shown."""
        b, n = self.world.n_worlds, self.world.catalog.n_skus
        key = tick.world * n + tick.item

        def per_sku(values):
            return np.bincount(key, weights=values, minlength=b * n).reshape(b, n)

        spend, margin = per_sku(tick.price), per_sku(tick.margin)
        self._reward += margin.sum(-1) - spend.sum(-1)
        self.steps += 1
        self.history.append(self.steps, wins=per_sku(tick.won), clicks=per_sku(tick.click),
                            purchases=per_sku(tick.purchase), on_hand=self.world.on_hand, spend=spend, margin=margin)

    def title(self, w: int) -> str:
        """``name  tick t  day d/horizon  budget left today  ad margin - spend so far``."""
        state = self.world.ads_state if self.world.day < self.world.horizon else None
        left = f"budget left {state.budget_left[w].sum():,.2f}" if state is not None else "episode over"
        return (f"{self.name}  tick {self.steps}  day {self.world.day}/{self.world.horizon}  {left}  "
                f"margin - spend {self._reward[w]:,.2f}")

    def render(self, w: int = 0) -> str | np.ndarray:
        """World ``w``'s view: a string (``"ansi"``) or an ``(H, W, 3)`` uint8 frame (``"rgb_array"``)."""
        if self.chart is None:
            return render_text(self.history, COLUMNS, self.title(w), world=w)
        return self.chart.frame(self.history, self.title(w), world=w)
