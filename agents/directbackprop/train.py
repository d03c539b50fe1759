"""Train the ``directbackprop`` agent: gradient ascent on simulated episode profit through the torch rollout.

    python -m agents.directbackprop.train --scenario seasonal --out runs/directbackprop-seasonal

Seeds (world seeds, in the project's ranges, ``shopgym.seeds``): training ``TRAIN_SEED_BASE + i``
(3_000_000.., in the training range and clear of the heuristics' tuning seeds 1_000_000..), validation
``VAL_SEED_BASE + i`` (950_000.., in the validation range 900_000..999_999, above the blocks that RL runs'
evaluations during training (900_000..) and the quickstart diagnosis (910_000..) use); both disjoint from the
benchmark's evaluation seeds (0..899_999).

Each gradient step plays whole episodes of a minibatch of training seeds (demand paths drawn ahead by the
world's own demand model) and estimates the gradient of their mean profit: by antithetic evolution strategies
on the exact rollout (``--estimator es``, the default: every perturbed network plays the same episodes) or by
backpropagation through the relaxed rollout (``pathwise``). Every ``eval_every`` steps the exact rollout scores
the network on all validation seeds, and the best network (the untrained one, i.e. tuned (s, S), included) is
what is saved. ``--seconds`` bounds the wall time. One torch thread.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import numpy as np
import torch

from agents.directbackprop.agent import ResidualNet, order_quantities, save
from agents.directbackprop.rollout import Paths, draw_paths, rollout
from shopgym.config import Scenario, load_scenario
from shopgym.content import scenario_hash

TRAIN_SEED_BASE = 3_000_000  #: in shopgym.seeds.TRAINING (1_000_000..); tuning uses 1_000_000..
VAL_SEED_BASE = 950_000  #: in shopgym.seeds.VALIDATION (900_000..999_999)


def subset(p: Paths, idx: np.ndarray) -> Paths:
    """The episodes ``idx`` of ``p``."""
    i = torch.as_tensor(idx)
    return Paths(demand=p.demand[:, i], price=p.price[:, i], forecast_today=p.forecast_today[:, i],
                 forecast_lead=p.forecast_lead[:, i], lead=p.lead, calendar=p.calendar,
                 seeds=[p.seeds[j] for j in idx])


class PopulationNet:
    """``P`` copies of ``net`` with the flat parameter vectors ``flat`` (``(P, D)``), applied to a batch whose first
    axis is ``P x B`` episodes, population member major (``torch.func.vmap`` over the members)."""

    def __init__(self, net: ResidualNet, flat: torch.Tensor):
        self.n = flat.shape[0]
        named = list(net.named_parameters())
        chunks = flat.split([v.numel() for _, v in named], dim=1)
        self.params = {k: c.reshape(self.n, *v.shape) for (k, v), c in zip(named, chunks, strict=True)}
        self.batched = torch.func.vmap(lambda p, x: torch.func.functional_call(net, p, (x,)))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        out = self.batched(self.params, x.reshape(self.n, -1, *x.shape[1:]))
        return out.reshape(*x.shape[:-1], out.shape[-1])


def es_gradient(net: ResidualNet, policy, paths: Paths, consts, idx: np.ndarray, pairs: int, sigma: float,
                gen: torch.Generator) -> tuple[torch.Tensor, float]:
    """Antithetic evolution-strategies estimate of d(mean episode profit)/d(parameters) (currency per unit of each
    parameter) from ``pairs`` pairs of perturbations ``+-sigma eps``, every member on the same episodes ``idx``
    (common random numbers); returns it and the members' mean profit."""
    theta = torch.nn.utils.parameters_to_vector(net.parameters()).detach()
    eps = torch.randn(pairs, theta.numel(), generator=gen, dtype=theta.dtype)
    flat = torch.cat([theta + sigma * eps, theta - sigma * eps])
    with torch.no_grad():
        profit, _ = rollout(policy(PopulationNet(net, flat), 0.0), subset(paths, np.tile(idx, 2 * pairs)), consts)
    member = profit.reshape(2 * pairs, len(idx)).mean(1)
    diff = member[:pairs] - member[pairs:]
    return (diff / (2 * sigma)) @ eps / pairs, float(member.mean())


def set_grad(net: torch.nn.Module, flat: torch.Tensor) -> None:
    """Set every parameter's ``.grad`` from one flat vector (the order of ``net.parameters()``)."""
    for p, g in zip(net.parameters(), flat.split([p.numel() for p in net.parameters()]), strict=True):
        p.grad = g.reshape(p.shape).clone()


def train(scenario: str | Scenario, out: Path, steps: int = 200, batch: int = 16, n_train: int = 64, n_val: int = 32,
          lr: float = 3e-2, tau: float = 1.0, hidden: tuple[int, ...] = (16,), max_scale: float = 2.0,
          eval_every: int = 10, seconds: float = 600.0, seed: int = 0, z: float | None = None,
          cover: float | None = None, progress: bool = True, estimator: str = "es", pairs: int = 8,
          sigma: float = 0.05) -> dict:
    """Train, select on validation seeds, save to ``out``; returns the saved config (with the training log).

    ``estimator``: ``"es"`` (antithetic evolution strategies on the exact rollout, ``pairs`` pairs of
    perturbations of size ``sigma`` per step, each played on the same ``batch`` training episodes) or
    ``"pathwise"`` (backpropagation through the relaxed rollout, ``tau``). The (s, S) trigger makes pathwise
    gradients biased (see docs/agents.md), hence the default.
    """
    if estimator not in ("es", "pathwise"):
        raise ValueError(f"estimator = {estimator!r}: use 'es' or 'pathwise'.")
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    sc = load_scenario(scenario)
    if z is None or cover is None:
        from agents.tuning import tune

        tuned = tune(sc, "sS", progress=progress)
        z, cover = tuned["z"], tuned["cover"]
    t0, c0 = time.perf_counter(), time.process_time()
    train_paths, consts = draw_paths(sc, range(TRAIN_SEED_BASE, TRAIN_SEED_BASE + n_train))
    val_paths, _ = draw_paths(sc, range(VAL_SEED_BASE, VAL_SEED_BASE + n_val))
    dispersion = sc.demand.dispersion
    net = ResidualNet(tuple(hidden))
    opt = torch.optim.Adam(net.parameters(), lr=lr)

    def policy(model, t_):
        return lambda f: order_quantities(f, model, z, cover, max_scale, dispersion, consts, t_, with_trigger=t_ > 0)

    @torch.no_grad()
    def validate() -> float:
        return float(rollout(policy(net, 0.0), val_paths, consts)[0].mean())

    best = validate()
    best_state, best_step = copy.deepcopy(net.state_dict()), 0
    history = [{"step": 0, "val_profit": best, "seconds": time.perf_counter() - t0}]
    scale = max(abs(best), 1.0)  # objective in units of the heuristic's episode profit: gradients of order one
    step = 0
    gen = torch.Generator().manual_seed(seed)
    for step in range(1, steps + 1):
        idx = rng.choice(n_train, size=min(batch, n_train), replace=False)
        opt.zero_grad()
        if estimator == "es":
            grad, train_profit = es_gradient(net, policy, train_paths, consts, idx, pairs, sigma, gen)
            set_grad(net, -grad / scale)
        else:
            profit, _ = rollout(policy(net, tau), subset(train_paths, idx), consts, tau)
            (-profit.mean() / scale).backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            train_profit = float(profit.detach().mean())
        opt.step()
        last = step == steps or time.perf_counter() - t0 > seconds
        if step % eval_every == 0 or last:
            val = validate()
            history.append({"step": step, "train_profit": train_profit, "val_profit": val,
                            "seconds": time.perf_counter() - t0})
            if val > best:
                best, best_state, best_step = val, copy.deepcopy(net.state_dict()), step
            if progress:
                print(f"step {step}: train {train_profit:,.0f} val {val:,.0f} (best {best:,.0f} at "
                      f"{best_step}; (s,S) {history[0]['val_profit']:,.0f}) {time.perf_counter() - t0:.0f} s",
                      file=sys.stderr)
        if last:
            break
    net.load_state_dict(best_state)
    config = {"scenario": sc.name, "scenario_hash": scenario_hash(sc), "n_skus": sc.catalog.n_skus, "z": z,
              "cover": cover, "max_scale": max_scale, "hidden": list(hidden), "steps": step, "batch": batch,
              "lr": lr, "tau": tau, "seed": seed, "estimator": estimator, "pairs": pairs, "sigma": sigma, "train_seeds": [TRAIN_SEED_BASE, TRAIN_SEED_BASE + n_train - 1],
              "val_seeds": [VAL_SEED_BASE, VAL_SEED_BASE + n_val - 1], "best_step": best_step,
              "val_profit_best": best, "val_profit_sS": history[0]["val_profit"],
              "train_wall_s": round(time.perf_counter() - t0, 1), "train_cpu_s": round(time.process_time() - c0, 1),
              "torch_threads": torch.get_num_threads(), "command": " ".join(sys.argv), "history": history}
    save(Path(out), net, config)
    return config


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenario", required=True, help="scenario name or .toml file (non-perishable, ground-truth demand)")
    p.add_argument("--out", required=True, type=Path, help="run directory (model.pt, config.json)")
    p.add_argument("--steps", type=int, default=200, help="gradient steps (each: whole episodes of --batch seeds)")
    p.add_argument("--batch", type=int, default=16, help="training episodes per gradient step")
    p.add_argument("--train-seeds", type=int, default=64, help=f"training seeds {TRAIN_SEED_BASE}..")
    p.add_argument("--val-seeds", type=int, default=32, help=f"validation seeds {VAL_SEED_BASE}..")
    p.add_argument("--lr", type=float, default=3e-2, help="Adam learning rate")
    p.add_argument("--tau", type=float, default=1.0, help="relaxation temperature of min/trigger gradients (units)")
    p.add_argument("--max-scale", type=float, default=2.0, help="s and S scale within [1/x, x]")
    p.add_argument("--eval-every", type=int, default=10, help="gradient steps between validation scores")
    p.add_argument("--seconds", type=float, default=600.0, help="wall-time budget (s)")
    p.add_argument("--seed", type=int, default=0, help="seed of the network's init, minibatches and perturbations")
    p.add_argument("--estimator", choices=("es", "pathwise"), default="es",
                   help="es: antithetic evolution strategies on the exact rollout; pathwise: backprop (relaxed)")
    p.add_argument("--pairs", type=int, default=8, help="es: antithetic perturbation pairs per step")
    p.add_argument("--sigma", type=float, default=0.05, help="es: perturbation size (parameter units)")
    p.add_argument("--hidden", type=int, nargs="*", default=[16], help="hidden layer widths of the per-SKU MLP")
    a = p.parse_args(argv)
    for name in ("steps", "batch", "train_seeds", "val_seeds", "eval_every", "pairs"):
        if getattr(a, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(a, name)}")
    cfg = train(a.scenario, a.out, a.steps, a.batch, a.train_seeds, a.val_seeds, a.lr, a.tau, tuple(a.hidden),
                max_scale=a.max_scale, eval_every=a.eval_every, seconds=a.seconds, seed=a.seed, estimator=a.estimator,
                pairs=a.pairs, sigma=a.sigma)
    print(f"saved {a.out}: validation profit {cfg['val_profit_best']:,.0f} (tuned (s,S) {cfg['val_profit_sS']:,.0f}) "
          f"at step {cfg['best_step']}; {cfg['train_wall_s']} s wall, {cfg['train_cpu_s']} s CPU")


if __name__ == "__main__":
    main()
