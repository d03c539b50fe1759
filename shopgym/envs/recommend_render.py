"""What the Recommend env shows when rendered: per step (one session), the items shown, clicked and bought.

``"ansi"``: the latest sessions' impressions, clicks, purchases and stock per SKU (first 5 SKUs, then
totals). ``"rgb_array"``: a 480x320 chart of the last 60 sessions, all SKUs summed: items shown,
clicks and purchases (counts), and the session's margin (currency).
"""

from __future__ import annotations

import numpy as np

from shopgym.envs.render import HISTORY_DAYS, Chart, Column, DayHistory, Line, Panel, render_text
from shopgym.world.sessions import SessionOutcome
from shopgym.world.world import World

#: Per-step series kept, each ``(n_worlds, n_skus)``: counts, except ``on_hand`` (units) and ``margin`` (currency).
FIELDS = ("shown", "clicks", "purchases", "on_hand", "margin")
COLUMNS = (Column("shown", "shown"), Column("clicks", "clicks"), Column("bought", "purchases"),
           Column("stock", "on_hand"), Column("margin", "margin", "{:.1f}"))
PANELS = (
    Panel("per session (all SKUs)", (Line("shown", "shown"), Line("clicks", "clicks"), Line("bought", "purchases"))),
    Panel("margin/session", (Line("margin", "margin"),)),
)


class RecommendRenderer:
    """Keeps the last ``HISTORY_DAYS`` sessions (steps) of a Recommend env and renders them."""

    def __init__(self, world: World, render_mode: str, name: str = "Recommend"):
        self.world, self.render_mode, self.name = world, render_mode, name
        self.history = DayHistory(FIELDS, (world.n_worlds, world.catalog.n_skus), HISTORY_DAYS)
        self.chart = Chart(PANELS) if render_mode == "rgb_array" else None
        self.steps = 0
        self._margin = np.zeros(world.n_worlds)

    def on_reset(self) -> None:
        """A new episode: the starting stock, no session yet."""
        self.history.clear()
        self.steps = 0
        self._margin[:] = 0.0
        self.history.append(0, on_hand=self.world.on_hand)

    def on_step(self, out: SessionOutcome) -> None:
        """Record one step's sessions (``SessionOutcome``): impressions, clicks, purchases and margin per SKU."""
        b, n = self.world.n_worlds, self.world.catalog.n_skus
        key = out.world * n + out.item

        def per_sku(values):
            return np.bincount(key, weights=values, minlength=b * n).reshape(b, n)

        margin = per_sku(out.margin)
        self._margin += margin.sum(-1)
        self.steps += 1
        self.history.append(self.steps, shown=per_sku(np.ones(len(key))), clicks=per_sku(out.click),
                            purchases=per_sku(out.purchase), on_hand=self.world.on_hand, margin=margin)

    def title(self, w: int) -> str:
        """``name  session s  day d/horizon  margin so far``."""
        return (f"{self.name}  session {self.steps}  day {self.world.day}/{self.world.horizon}  "
                f"episode margin {self._margin[w]:,.1f}")

    def render(self, w: int = 0) -> str | np.ndarray:
        """World ``w``'s view: a string (``"ansi"``) or an ``(H, W, 3)`` uint8 frame (``"rgb_array"``)."""
        if self.chart is None:
            return render_text(self.history, COLUMNS, self.title(w), world=w)
        return self.chart.frame(self.history, self.title(w), world=w)
