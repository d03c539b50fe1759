"""The ``directbackprop`` agent: a residual (s, S) policy network, per SKU, trained on the torch rollout.

Training (``agents.directbackprop.train``) ascends the gradient of simulated whole-episode profit, estimated by
antithetic evolution strategies on the exact rollout (the default) or by backpropagation through the relaxed
rollout (``--estimator pathwise``; biased for the (s, S) trigger, docs/agents.md).

Policy: the tuned (s, S) heuristic (``agents.heuristics.SSPolicy``, parameters ``z, cover``) with ``s`` and
``S`` scaled per SKU and day by ``max_scale ** a`` (the ``shopgym.envs.restock_actions.ResidualSS``
parameterisation), ``a = tanh(MLP(features))`` in ``[-1, 1]``. One small MLP is shared by every SKU; its
input is that SKU's scale-free features (``FEATURES``). The last layer starts at zero, so the untrained
agent is exactly the heuristic. Orders use the exact (s, S) rule forward; with ``tau > 0`` the trigger
``position <= s`` and the rounding get straight-through gradients (``agents.directbackprop.rollout``).

One function (``order_quantities``) computes orders from named fields, both in the differentiable rollout
(``rollout.observe``) and on env observations (``fields_from_obs``), so training and acting agree.

Saved as ``DIR/model.pt`` (a ``state_dict``, loaded with ``weights_only=True``) and ``DIR/config.json``
(architecture, ``z, cover``, scenario, seeds, scores): nothing is unpickled but tensors.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
from pathlib import Path

import numpy as np
import torch
from torch import nn

from agents.directbackprop.rollout import DTYPE, Constants, constants_of, straight_through
from shopgym.atomic import atomic_write_bytes, atomic_write_json
from shopgym.errors import ModelFileError

#: Per-SKU input features of the network, in order (all dimensionless).
FEATURES = ("position_days", "forecast_ratio", "lead_days", "promo_ratio", "cost_ratio", "order_cost_ratio",
            "holding_ratio", "dow_sin", "dow_cos", "doy_sin", "doy_cos", "elapsed")
CONFIG = "config.json"
WEIGHTS = "model.pt"


class ResidualNet(nn.Module):
    """Per-SKU MLP: ``(..., len(FEATURES))`` features -> ``(..., 2)`` adjustments of ``(s, S)`` in ``[-1, 1]``."""

    def __init__(self, hidden: tuple[int, ...] = (32, 32)):
        super().__init__()
        layers: list[nn.Module] = []
        width = len(FEATURES)
        for h in hidden:
            layers += [nn.Linear(width, h), nn.Tanh()]
            width = h
        last = nn.Linear(width, 2)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)  # the untrained agent is exactly the (s, S) heuristic
        self.body = nn.Sequential(*layers, last).to(DTYPE)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.body(x))


def features(f: dict[str, torch.Tensor], c: Constants) -> torch.Tensor:
    """``(B, n, len(FEATURES))``: stock position in days of demand (/10), today's forecast over the lead-time
    mean, lead time (/10 days), price over list price, unit cost over list price, fixed order cost over a
    day's demand at list price, holding cost per year over unit cost, and the calendar."""
    daily = torch.clamp(f["forecast_lead"] / (f["lead_time"] + 1), min=1e-3)
    pos = f["on_hand"] + f["on_order"] - f["backlog"]
    b, n = pos.shape
    cols = [pos / daily / 10, f["forecast_today"] / daily, f["lead_time"] / 10, f["price"] / c.list_price,
            (c.unit_cost / c.list_price).expand(b, n), (c.order_cost / (daily * c.list_price)),
            (c.holding_cost * 365 / c.unit_cost).expand(b, n)]
    cols += [f[k].expand(b, n) for k in ("dow_sin", "dow_cos", "doy_sin", "doy_cos", "elapsed")]
    return torch.stack(cols, -1)


def st_round(x: torch.Tensor) -> torch.Tensor:
    """``round(x)`` (half to even, as ``np.rint``) with the identity's gradient."""
    return straight_through(torch.round(x), x)


def order_quantities(f: dict[str, torch.Tensor], net: ResidualNet | None, z: float, cover: float, max_scale: float,
                     dispersion: float, c: Constants, tau: float = 0.0, with_trigger: bool = False
                     ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Orders ``(B, n)`` (whole units, multiples of ``order_step``, in ``[0, max_order]``) of the residual (s, S);
    ``net=None`` is the heuristic itself. With ``with_trigger``, also the relaxed trigger ``position <= s`` (for
    the fixed order cost's gradient, ``rollout.step``'s ``flag``)."""
    daily, lead_mean, lead = f["forecast_today"], f["forecast_lead"], f["lead_time"]
    var = lead_mean + (lead_mean**2 / (dispersion * torch.clamp(lead + 1, min=1)) if dispersion > 0 else 0.0)
    s = torch.round(lead_mean + z * torch.sqrt(var))
    big_s = torch.maximum(torch.round(s + cover * daily), s + 1)
    pos = f["on_hand"] + f["on_order"] - f["backlog"]
    if net is not None:
        a = net(features(f, c))
        s = st_round(s * max_scale ** a[..., 0])
        big_s = torch.maximum(st_round(big_s * max_scale ** a[..., 1]), s + 1)
    hard = (pos <= s).to(DTYPE)
    # the trigger's gradient reaches s only: through the position it multiplies along the episode and explodes
    trigger = straight_through(hard, torch.sigmoid((s + 0.5 - pos.detach()) / tau)) if tau > 0 else hard
    raw = trigger * (big_s - pos)
    # the end-of-horizon cap of agents.heuristics.end_of_horizon_cap
    remaining = c.horizon - torch.round(f["elapsed"] * c.horizon)
    cap = torch.ceil(torch.clamp(daily * remaining - pos, min=0.0))
    raw = torch.where(remaining > lead, torch.minimum(raw, cap), torch.zeros_like(raw))
    step = c.order_step
    orders = st_round(torch.clamp(raw, 0.0, float(c.max_order)) / step) * step
    return (orders, trigger) if with_trigger else orders


def fields_from_obs(view, obs: np.ndarray) -> dict[str, torch.Tensor]:
    """The named fields of ``rollout.observe`` from a Restock observation (one, or a batch), as float64 tensors."""
    f = view.parse(np.asarray(obs))
    t = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float64))  # noqa: E731
    on_order = sum((v for k, v in f.items() if k.startswith("pipeline_")), np.zeros_like(f["on_hand"]))
    out = {k: t(f[k]).reshape(-1, view.n_skus) for k in ("on_hand", "backlog", "forecast_today", "forecast_lead",
                                                         "lead_time", "price")}
    out["on_order"] = t(on_order).reshape(-1, view.n_skus)
    for k in ("dow_sin", "dow_cos", "doy_sin", "doy_cos", "elapsed"):
        out[k] = t(f[k]).reshape(-1, 1)
    return out


class DirectBackpropPolicy:
    """A trained residual (s, S) agent behind the ``Policy`` protocol (``reset``, ``act``), for one Restock env.

    Args:
        env: the Restock env it acts on (its scenario must be the one trained on: same SKU count).
        net: the network (``None``: the plain (s, S) heuristic); z, cover, max_scale: see the module docstring.
    """

    def __init__(self, env, net: ResidualNet | None, z: float, cover: float, max_scale: float = 2.0,
                 name: str = "directbackprop"):
        base = env.unwrapped
        self.name, self.view = name, base.view
        self.net, self.z, self.cover, self.max_scale = net, float(z), float(cover), float(max_scale)
        self.dispersion = base.scenario.demand.dispersion
        self.constants = constants_of(base.world)

    def reset(self, seed: int | None = None) -> None:
        """Deterministic: nothing to reset."""

    @torch.no_grad()
    def act(self, obs: np.ndarray):
        f = fields_from_obs(self.view, obs)
        q = order_quantities(f, self.net, self.z, self.cover, self.max_scale, self.dispersion, self.constants)
        return self.view.action_for_orders(q[0].numpy())


def save(directory: Path, net: ResidualNet, config: dict) -> None:
    """Write ``DIR/model.pt`` (state_dict) and ``DIR/config.json`` (``config`` plus the architecture)."""
    directory.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    torch.save(net.state_dict(), buf)
    weights = buf.getvalue()
    # the config names its weights' digest and is written last: an interrupted re-save cannot pair new weights
    # with an old config unnoticed (load_policy compares them)
    atomic_write_bytes(directory / WEIGHTS, weights)
    atomic_write_json(directory / CONFIG, {**config, "features": list(FEATURES),
                                           "weights_sha256": hashlib.sha256(weights).hexdigest()})


def load_policy(directory: str | Path, env, name: str | None = None) -> DirectBackpropPolicy:
    """The agent saved in ``directory`` (``save``) as a ``Policy`` for ``env``; checks that the scenario fits."""
    directory = Path(directory)
    cfg_path, weights = directory / CONFIG, directory / WEIGHTS
    if not cfg_path.is_file() or not weights.is_file():
        raise ModelFileError(f"{directory} is not a directbackprop run: it needs {CONFIG} and {WEIGHTS} (train one "
                             "with `python -m agents.directbackprop.train --scenario S --out DIR`).")
    try:
        cfg = json.loads(cfg_path.read_text())
        missing = [k for k in ("n_skus", "scenario", "hidden", "z", "cover", "max_scale") if k not in cfg]
    except (ValueError, TypeError) as err:
        raise ModelFileError(f"{cfg_path}: not a readable directbackprop config ({err}); retrain the run.") from None
    if missing:
        raise ModelFileError(f"{cfg_path}: a directbackprop config without {', '.join(missing)}; retrain the run.")
    digest = cfg.get("weights_sha256")
    if digest is not None and hashlib.sha256(weights.read_bytes()).hexdigest() != digest:
        raise ModelFileError(f"{directory}: {WEIGHTS} is not the file {CONFIG} was saved with (an interrupted save?); "
                             "retrain the run.")
    if cfg.get("features") != list(FEATURES):
        raise ModelFileError(f"{directory}: saved with features {cfg.get('features')}, this code uses "
                             f"{list(FEATURES)}; retrain it.")
    n = env.unwrapped.view.n_skus
    if cfg["n_skus"] != n:
        raise ModelFileError(f"{directory} was trained on {cfg['n_skus']} SKUs (scenario {cfg['scenario']!r}); the env "
                             f"has {n}. Use the scenario it was trained on.")
    net = ResidualNet(tuple(cfg["hidden"]))
    try:
        net.load_state_dict(torch.load(weights, weights_only=True, map_location="cpu"))
    except (RuntimeError, ValueError, OSError, pickle.UnpicklingError) as err:  # wrong shapes, unsafe objects, unreadable
        raise ModelFileError(f"{weights}: not the weights of this architecture ({err}); retrain it.") from err
    net.eval()
    return DirectBackpropPolicy(env, net, cfg["z"], cfg["cover"], cfg["max_scale"],
                                name=name or f"directbackprop:{directory}")
