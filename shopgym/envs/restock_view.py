"""The restocking view of a world, batched over worlds: spaces, observations, actions, rewards, infos.

Shared by the single env (``RestockEnv``, one world) and the native vector env (many worlds), so
both translate exactly alike.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from shopgym.envs.restock_obs import observe_worlds
from shopgym.errors import ActionError, ScenarioError
from shopgym.world.calendar import calendar_features
from shopgym.world.kernel import Q_FIELDS
from shopgym.world.kpis import TOTAL_FIELDS, day_kpis
from shopgym.world.outcome import DayOutcome
from shopgym.world.world import World

CALENDAR_FIELDS = ("dow_sin", "dow_cos", "doy_sin", "doy_cos", "elapsed")
#: Ledger rows of the per-SKU flows in an info: ordered, demand, sold, lost, received, expired, on_hand.
_INFO_ROWS_ARRAY = np.array([Q_FIELDS.index(f) for f in ("ordered", "demand", "sold", "lost", "received", "expired",
                                                          "end_stock")])
_PROFIT = TOTAL_FIELDS.index("profit")


class RestockView:
    """Translates between a ``World`` and the Restock env's spaces.

    Observation: a flat float32 vector, a block of per-SKU features for each SKU (``sku_fields``,
    in that order), then the calendar features (``CALENDAR_FIELDS``).
    """

    def __init__(self, world: World, continuous: bool = False):
        if not isinstance(continuous, (bool, np.bool_)):  # "yes" or "false" would be truthy: refuse, never guess
            raise ScenarioError(f"continuous = {continuous!r} must be True or False (a bool), got {type(continuous).__name__}.")
        self.world = world
        env = world.scenario.env
        self.n_skus = world.catalog.n_skus
        self.continuous = continuous
        self.order_step = env.order_step
        self.max_order = env.max_order
        self.n_levels = env.max_order // env.order_step + 1
        self.window = env.history_window
        self.n_pipeline = world.max_lead_time  # slots: arriving 1 .. max_lead_time days ahead
        self.with_forecast = env.forecast_in_obs
        self.reward_scale = env.reward_scale
        fields = ["on_hand", "backlog"] + [f"pipeline_{k + 1}" for k in range(self.n_pipeline)]
        fields += [f"sales_lag_{k}" for k in range(self.window, 0, -1)]
        fields += ["price", "unit_cost", "lead_time"]
        if self.with_forecast:
            fields += ["forecast_today", "forecast_lead"]
        self.sku_fields = tuple(fields)
        self.field_index = {name: i for i, name in enumerate(fields)}
        n_f = len(fields)
        size = self.n_skus * n_f + len(CALENDAR_FIELDS)
        self.block_size, self.obs_size = self.n_skus * n_f, size
        self.forecast_days = world.max_lead_time + 1
        elapsed = np.minimum(np.arange(world.n_calendar_days) / world.horizon, 1.0)
        self.calendar = np.column_stack([calendar_features(world.dates), elapsed]).astype(np.float32)
        self._no_forecast = np.zeros((0, 0, 0))
        self._one_order = np.zeros((1, 1), dtype=np.int64)
        low = np.zeros(size, dtype=np.float32)
        low[self.n_skus * n_f : self.n_skus * n_f + 4] = -1.0
        high = np.full(size, np.inf, dtype=np.float32)
        high[self.n_skus * n_f :] = 1.0
        self.observation_space = spaces.Box(low, high, dtype=np.float32)
        if continuous:
            self.action_space = spaces.Box(0.0, float(self.max_order), (self.n_skus,), dtype=np.float32)
        elif self.n_skus == 1:
            self.action_space = spaces.Discrete(self.n_levels)
        else:
            self.action_space = spaces.MultiDiscrete(np.full(self.n_skus, self.n_levels))

    # ------------------------------------------------------------------ observations
    def observe(self) -> np.ndarray:
        """Observations of every world for the next decision, ``(n_worlds, obs_size)`` float32."""
        if observe_worlds is None or self.world.engine != "compiled":
            return self.observe_numpy()
        w = self.world
        day = min(w.day, w.n_calendar_days - 1)
        obs = np.empty((w.n_worlds, self.obs_size), dtype=np.float32)
        fc = (np.ascontiguousarray(w.forecast_rows(self.forecast_days), dtype=np.float64) if self.with_forecast
              else self._no_forecast)
        observe_worlds(obs, w.stock, w.backlog, w.pipeline, w.sales_history, self.window, w.price_on(day),
                       w.unit_cost, w.lead_time_on(day), fc, self.calendar[day])
        return obs

    def observe_numpy(self) -> np.ndarray:
        """``observe`` in vectorised numpy (the reference implementation of the compiled one)."""
        w = self.world
        b, n, day = w.n_worlds, self.n_skus, w.day
        obs = np.empty((b, self.obs_size), dtype=np.float32)
        block = obs[:, : self.block_size].reshape(b, n, len(self.sku_fields))  # a view into obs
        i = self.field_index
        block[..., 0] = w.on_hand
        block[..., 1] = w.backlog
        if self.n_pipeline:
            block[..., 2 : 2 + self.n_pipeline] = w.pipeline[..., : self.n_pipeline]
        s0 = i[f"sales_lag_{self.window}"]
        block[..., s0 : s0 + self.window] = w.sales_history[..., -self.window :]
        block[..., i["price"]] = w.price_on(day)
        block[..., i["unit_cost"]] = w.unit_cost
        lead = w.lead_time_on(day)
        block[..., i["lead_time"]] = lead
        if self.with_forecast:
            fc = w.forecast(self.forecast_days)
            block[..., i["forecast_today"]] = fc[..., 0]
            block[..., i["forecast_lead"]] = np.take_along_axis(np.cumsum(fc, axis=-1), lead[None, :, None], -1)[..., 0]
        obs[:, self.block_size :] = self.calendar[min(day, len(self.calendar) - 1)]
        return obs

    def parse(self, obs: np.ndarray) -> dict[str, np.ndarray]:
        """Named arrays from one observation (or a batch): per-SKU fields shaped ``(..., n_skus)``."""
        obs = np.asarray(obs)
        n_f = len(self.sku_fields)
        block = obs[..., : self.n_skus * n_f].reshape(*obs.shape[:-1], self.n_skus, n_f)
        named = {name: block[..., i] for i, name in enumerate(self.sku_fields)}
        for i, name in enumerate(CALENDAR_FIELDS):
            named[name] = obs[..., self.n_skus * n_f + i]
        return named

    # ------------------------------------------------------------------ actions
    def orders_from_actions(self, actions) -> np.ndarray:
        """Order quantities ``(n_worlds, n_skus)`` (units) from a batch of actions; bad actions raise ``ActionError``."""
        b, n = self.world.n_worlds, self.n_skus
        if b == 1 and n == 1 and not self.continuous and isinstance(actions, (int, np.integer)) \
                and not isinstance(actions, bool) and 0 <= actions < self.n_levels:
            self._one_order[0, 0] = int(actions) * self.order_step  # fast path: one valid level (the world copies it)
            return self._one_order
        a = np.asarray(actions)
        if self.continuous:
            a = a.astype(np.float64, copy=False)
            if a.size != b * n:
                raise ActionError(f"action must hold {n} order quantities per env (shape {(n,)}), got shape {np.shape(actions)}.")
            a = a.reshape(b, n)
            if not np.isfinite(a).all():
                raise ActionError(f"action contains NaN or inf: {actions!r}. Order quantities must be finite.")
            if (a < 0).any() or (a > self.max_order).any():
                raise ActionError(
                    f"action {actions!r} is outside the action space [0, {self.max_order}] units; "
                    "clip it (SB3 does so for Box spaces) or raise scenario key max_order."
                )
            return (np.rint(a / self.order_step) * self.order_step).astype(np.int64)
        if a.dtype.kind == "f":
            if not np.isfinite(a).all():
                raise ActionError(f"action contains NaN or inf: {actions!r}; this env takes integer order levels.")
            if (a != np.round(a)).any():
                raise ActionError(f"action {actions!r} is not an integer; this env takes order levels 0..{self.n_levels - 1}.")
        elif a.dtype.kind not in "iub":
            raise ActionError(f"action {actions!r} of type {a.dtype} is not an integer order level.")
        if a.size != b * n:
            raise ActionError(f"action must hold one order level per SKU ({n}), got shape {np.shape(actions)}.")
        a = a.reshape(b, n).astype(np.int64)
        if (a < 0).any() or (a >= self.n_levels).any():
            raise ActionError(
                f"action {actions!r} is out of range: order levels are 0..{self.n_levels - 1} "
                f"(level k orders k x {self.order_step} units)."
            )
        return a * self.order_step

    def action_for_orders(self, orders: np.ndarray):
        """The action of one env that orders (about) ``orders`` units per SKU, clipped to the space."""
        q = np.clip(np.asarray(orders, dtype=np.float64).reshape(self.n_skus), 0, self.max_order)
        if self.continuous:
            return q.astype(np.float32)
        levels = np.rint(q / self.order_step).astype(np.int64)
        return int(levels[0]) if self.n_skus == 1 else levels

    # ------------------------------------------------------------------ rewards and infos
    def rewards(self, out: DayOutcome) -> np.ndarray:
        """The day's profit per world (currency x reward_scale), summed over SKUs."""
        return self.world.kpis.last[:, _PROFIT] * self.reward_scale

    def world_info(self, out: DayOutcome, w: int) -> dict:
        """World ``w``'s entries of ``infos(out)``: KPIs as floats, per-SKU flows as fresh ``(n_skus,)`` arrays."""
        info = day_kpis(self.world.kpis.last[w].tolist())
        # fancy indexing copies: the rows are fresh memory, safe for users to keep
        ordered, demand, sold, lost, received, expired, on_hand = out.q[w, _INFO_ROWS_ARRAY]
        info.update(demand=demand, sold=sold, lost=lost, expired=expired, ordered=ordered, received=received,
                    on_hand=on_hand)
        clipped = getattr(self.world.demand_model, "clipped_today", None)  # learned demand cut to its ceiling
        info["demand_clipped"] = 0 if clipped is None else int(clipped[w])
        return info

    def infos(self, out: DayOutcome) -> dict[str, np.ndarray]:
        """The day's KPIs per world (``shopgym.world.kpis.day_kpis``; see ``RestockEnv`` for units) and per-SKU
        flows."""
        info = {k: np.asarray(v, dtype=np.float64) for k, v in self.world.last_kpis.items()}
        for name, arr in (("ordered", out.ordered), ("demand", out.demand), ("sold", out.sold), ("lost", out.lost),
                          ("received", out.received), ("expired", out.expired), ("on_hand", out.end_stock)):
            info[name] = arr.copy()  # users keep infos: never hand out the world's own buffers
        # Learned demand draws cut to the model's ceiling today, per world (count of SKUs; 0 for the ground truth).
        clipped = getattr(self.world.demand_model, "clipped_today", None)
        info["demand_clipped"] = np.zeros(self.world.n_worlds, np.int64) if clipped is None else clipped.copy()
        return info
