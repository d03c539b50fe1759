"""SlateQ on ``shopgym/Recommend-v0``: item-wise long-term values combined into a slate's value (Ie et al. 2019).

SlateQ ("SlateQ: A Tractable Decomposition for Reinforcement Learning with Recommendation Sets", IJCAI 2019)
learns one long-term value per ITEM, ``Q(s, i)``: the expected return when the shopper consumes ``i`` in state
``s``, by SARSA (TD on the items actually consumed, bootstrapped on the next slate actually shown), and values a
slate ``A`` through the user choice model: ``Q(s, A) = sum_i P(i | s, A) Q(s, i)``. The slate shown is the best
by that value over every ordered slate of distinct candidates (exact enumeration: ``K! / (K - m)!`` slates, 12
for ``K = 4`` candidates and slates of ``m = 2``).

How the paper's assumptions map to THIS world (``shopgym.world.response``, ``shopgym.world.sessions``)
--------------------------------------------------------------------------------------------------------
The paper's choice model is a conditional choice: the user consumes ONE item of the slate or none (the null
item), and reward and next state depend only on the consumed item (its SC and RTDS assumptions). Here a slate's
slots are clicked INDEPENDENTLY: slot ``j`` showing item ``i`` is clicked with probability
``p_j(s, i) = e_j c(s, i)``, a position examination ``e_j = (1 + j) ** -position_decay`` times a click
probability that does not depend on the rest of the slate; several items of one slate can be consumed. So:

- "consumed" = clicked. ``Q(s, i)`` is the scaled margin of item ``i``'s purchase (if any) plus the discounted
  value of the next session, given that ``i`` was clicked; ``Q(s, null)`` is the discounted value of the next
  session given that nothing was clicked. The slate's value is::

      Q(s, A) = sum_j p_j(s, A_j) Q(s, A_j)  +  prod_j (1 - p_j(s, A_j)) Q(s, null)        (slate_values)

- Immediate reward: exact. Clicks are independent per slot, so the expected margin of the slate is the sum of
  the slots' ``p_j x E[margin | click]`` by linearity, whatever else is clicked.
- Continuation: exact for slates of one item (``slate_size = 1``, the Recommend default): the next state
  depends on the click and the purchase of that item (satisfaction +gain per purchase, -loss per ignored item,
  interest drift per purchase in its category), and an ignored item costs the same satisfaction whichever it
  was, so ``Q(s, null)`` needs no item. For ``m > 1`` it is the decomposition's approximation: the weights of
  the continuation values (``sum_j p_j + prod_j (1 - p_j)``) sum to more than one when two slots can be
  clicked at once, and the next state after a click also reflects the other slots' ignored items (each costs
  satisfaction), which the clicked item's ``Q`` learns only on average over the slates it was shown in.
- The choice model is not given: ``c(s, i)`` and the examinations ``e_1 .. e_{m-1}`` (``e_0 = 1``) are learned
  from the per-slot clicks (binary cross-entropy on ``e_j c(s, i)``), the same product form as the world's.
  Fatigue (``memory_fatigue``) would scale the examination by an exposure count the observation does not hold.

What it learns from: the observation only (shopper block and the ``K`` item blocks; never the hidden
preferences, satisfaction or interests) and the session's own logs (``RecommendEnv.last_outcome``: which slot
was clicked and what its purchase earned, what a recommender logs). One network, shared by the items:
``(shopper block, item block) -> (click logit, Q)``, and ``shopper block -> Q(s, null)``.

Run folder (``slateq:DIR`` in ``agents.registry``): ``model.pt`` (torch ``state_dict``, loaded with
``weights_only=True``), ``slateq.json`` (network sizes, hyperparameters, command, library versions, wall time)
and ``config.yml`` (``algo: slateq``, ``env_id``, ``env_kwargs``, ``seeds_seen``: the benchmark refuses the
seeds the run trained on, and ``hyperparams``). Train with ``shopgym train --algo slateq --env shopgym/Recommend-v0
--scenario recommend-exact --seed 0 --out DIR`` (``train_run``: sessions and hyperparameters from
``agents/hyperparams/slateq.yml`` over ``DEFAULTS``, the slate size the env's ``slate_size``; no resume, so an
``--out`` holding a run needs ``--overwrite``) or ``python -m agents.slateq --scenario recommend-exact
--slate-size 2 ...`` (``train``; it replaces a run in ``--out``). Both write the same folder for the same settings.
Replacing a run deletes its files (``RUN_FILES``) and its ``evaluation_*.json`` once training ends, and nothing
else in the folder; a folder whose ``config.yml`` is not a SlateQ run's is refused before training (``check_out``).

This module is the algorithm (network, policy, training loop, run folder writer). The hyperparameters, their
defaults and checks live in ``agents.slateq_settings``, the ``shopgym train`` glue and ``--out`` checks in
``agents.slateq_run``; their names are re-exported here.
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import yaml
from torch import nn

import shopgym  # noqa: F401  (registers the shopgym envs)
from agents.run_folder import remove_run
from agents.slateq_run import (  # re-exported: shopgym train --algo slateq and the run folder
    RUN_FILES,
    check_out,
    check_recordable,
    env_refusal,
    resolve,
    train_run,
)
from agents.slateq_settings import (  # re-exported: the hyperparameters and their checks
    CHECKS,
    DEFAULTS,
    ENV_ID,
    RUN_KEYS,
    TIMESTEPS,
    check_hyperparams,
    number,
    sessions,
)
from shopgym.atomic import atomic_write_bytes, atomic_write_json, atomic_write_text
from shopgym.content import scenario_hash
from shopgym.errors import HyperparameterError, ModelFileError, ScenarioError
from shopgym.seeds import seeds_seen, training_env_seed

__all__ = ["CHECKS", "DEFAULTS", "ENV_ID", "RUN_FILES", "RUN_KEYS", "TIMESTEPS", "SlateQNet", "SlateQPolicy",
           "check_hyperparams", "check_out", "enumerate_slates", "env_refusal", "learn", "load_policy", "main",
           "make_env", "number", "resolve", "sessions", "slate_values", "train", "train_run"]


def enumerate_slates(k: int, m: int) -> np.ndarray:
    """Every ordered slate of ``m`` distinct candidate positions out of ``k``: ``(k! / (k - m)!, m)`` int64."""
    if not 1 <= m <= k:
        raise ValueError(f"slate_size {m} must lie in [1, K = {k}] (the env's candidates).")
    return np.array(list(itertools.permutations(range(k), m)), dtype=np.int64).reshape(-1, m)


def slate_values(click, q_item, q_null, examine, slates):
    """SlateQ's value of each slate under independent per-slot clicks (see the module docstring).

    Args (numpy arrays or torch tensors alike):
        click: ``(..., K)`` click probability of each candidate at the top slot, ``c(s, i)``.
        q_item: ``(..., K)`` the candidate's long-term value when clicked, ``Q(s, i)``.
        q_null: ``(...)`` the value when nothing is clicked, ``Q(s, null)``.
        examine: ``(m,)`` examination of each slot, ``e_0 = 1``.
        slates: ``(S, m)`` candidate positions (``enumerate_slates``).

    Returns ``(..., S)``: ``sum_j p_j Q(s, A_j) + prod_j (1 - p_j) Q(s, null)`` with ``p_j = e_j c(s, A_j)``.
    """
    p = click[..., slates] * examine  # (..., S, m)
    return (p * q_item[..., slates]).sum(-1) + (1 - p).prod(-1) * q_null[..., None]


class SlateQNet(nn.Module):
    """Item-wise click model and long-term value, plus the null item's value, from one observation.

    Args:
        shopper_dim: length of the shopper block (``RecommendView.shopper_fields``).
        item_dim: length of one item block (``RecommendView.item_fields``).
        k: candidates per session; slate_size: slots (``m``); hidden: hidden-layer width.
    """

    def __init__(self, shopper_dim: int, item_dim: int, k: int, slate_size: int, hidden: int = 64):
        super().__init__()
        self.shopper_dim, self.item_dim, self.k, self.slate_size = shopper_dim, item_dim, k, slate_size
        self.item_net = nn.Sequential(nn.Linear(shopper_dim + item_dim, hidden), nn.ReLU(),
                                      nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 2))
        self.null_net = nn.Sequential(nn.Linear(shopper_dim, hidden), nn.ReLU(), nn.Linear(hidden, 1))
        #: logits of the examinations of slots 1 .. m-1 (slot 0 is examined with probability 1), from ~0.7
        self.examine_logit = nn.Parameter(torch.full((slate_size - 1,), 0.85))

    def examine(self) -> torch.Tensor:
        """``(m,)`` examination probability of each slot."""
        return torch.cat([torch.ones(1), torch.sigmoid(self.examine_logit)])

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(B, n)`` observations -> click logits ``(B, K)``, ``Q(s, i)`` ``(B, K)``, ``Q(s, null)`` ``(B,)``."""
        shopper = obs[:, : self.shopper_dim]
        items = obs[:, self.shopper_dim :].reshape(len(obs), self.k, self.item_dim)
        x = torch.cat([shopper[:, None, :].expand(-1, self.k, -1), items], dim=-1)
        out = self.item_net(x)
        return out[..., 0], out[..., 1], self.null_net(shopper)[:, 0]

    def values(self, obs: torch.Tensor, slates: torch.Tensor) -> torch.Tensor:
        """``(B, S)``: the value of each slate (``slate_values``) in each observed state."""
        logit, q, q_null = self(obs)
        return slate_values(torch.sigmoid(logit), q, q_null, self.examine(), slates)


def _check_env(env: gym.Env) -> None:
    base = env.unwrapped
    if getattr(base, "kind", None) != "recommend":
        raise ScenarioError(f"SlateQ acts on {ENV_ID}; got {env.spec.id if env.spec else type(base).__name__}.")
    if base.view.coupons or base.view.bundles:
        raise ScenarioError("SlateQ chooses slates only: turn shoppers.coupons and shoppers.bundles off.")


class SlateQPolicy:
    """The greedy SlateQ policy (the ``Policy`` protocol): the slate of the largest ``Q(s, A)``.

    Args:
        net: a trained ``SlateQNet``; name: the spec it was loaded from (``slateq:DIR``).
    """

    def __init__(self, net: SlateQNet, name: str = "slateq"):
        self.name, self.net = name, net.eval()
        self.slates = enumerate_slates(net.k, net.slate_size)
        self._slates_t = torch.as_tensor(self.slates)

    def reset(self, seed: int | None = None) -> None:
        """The greedy policy is deterministic and keeps no state between episodes."""

    def slate_index(self, obs: np.ndarray) -> int:
        """Row of ``self.slates`` with the largest value in state ``obs``."""
        with torch.no_grad():
            v = self.net.values(torch.as_tensor(np.asarray(obs, dtype=np.float32))[None], self._slates_t)[0]
        return int(torch.argmax(v))

    def act(self, obs: np.ndarray) -> int | np.ndarray:
        """A candidate position (``slate_size = 1``) or the ``(m,)`` candidate positions of the slate."""
        slate = self.slates[self.slate_index(obs)]
        return int(slate[0]) if self.net.slate_size == 1 else slate.copy()


def load_policy(directory: str | Path, env: gym.Env | None = None, name: str | None = None) -> SlateQPolicy:
    """The greedy policy of a run folder written by ``train``; with ``env``, checks that it fits the env."""
    directory = Path(directory)
    meta_path, weights = directory / "slateq.json", directory / "model.pt"
    if not meta_path.is_file() or not weights.is_file():
        raise ModelFileError(f"{str(directory)!r} holds no SlateQ run (slateq.json and model.pt); train one with "
                             f"`shopgym train --algo slateq --env {ENV_ID} --out DIR`.")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    net = SlateQNet(**meta["net"])
    try:
        net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    except (RuntimeError, ValueError, OSError) as exc:
        raise ModelFileError(f"{str(weights)!r} does not match its slateq.json ({' '.join(str(exc).split())[:160]});"
                             " retrain the run.") from exc
    if env is not None:
        _check_env(env)
        view = env.unwrapped.view
        want = (len(view.shopper_fields), len(view.item_fields), view.k, view.slate_size)
        have = tuple(meta["net"][f] for f in ("shopper_dim", "item_dim", "k", "slate_size"))
        if want != have:
            raise ModelFileError(f"SlateQ run {str(directory)!r} was trained for (shopper dims, item dims, K, "
                                 f"slate_size) = {have}; the env has {want}. Evaluate it on the scenario and slate "
                                 f"size it was trained on ({meta['env_kwargs']}).")
    return SlateQPolicy(net, name or f"slateq:{directory}")


class _Replay:
    """Sessions for replay: observation, slate (row of the slate table), per-slot shown / clicked / scaled margin,
    next observation, episode end, and the next slate shown (SARSA's next action; ``ready`` once it is known)."""

    def __init__(self, size: int, obs_dim: int, m: int):
        self.size, self.n, self.i = size, 0, 0
        self.obs = np.zeros((size, obs_dim), np.float32)
        self.next_obs = np.zeros((size, obs_dim), np.float32)
        self.slate = np.zeros(size, np.int64)
        self.next_slate = np.zeros(size, np.int64)
        self.shown = np.zeros((size, m), bool)
        self.click = np.zeros((size, m), bool)
        self.margin = np.zeros((size, m), np.float32)
        self.done = np.zeros(size, bool)
        self.ready = np.zeros(size, bool)

    def add(self, obs, slate, shown, click, margin, next_obs, done) -> int:
        i = self.i
        self.obs[i], self.slate[i], self.shown[i], self.click[i] = obs, slate, shown, click
        self.margin[i], self.next_obs[i], self.done[i], self.ready[i] = margin, next_obs, done, done
        self.i, self.n = (i + 1) % self.size, min(self.n + 1, self.size)
        return i


def _slot_outcome(outcome, m: int, scale: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per slot of the served session: shown, clicked, scaled margin of its purchase (0 if none)."""
    shown, click, margin = np.zeros(m, bool), np.zeros(m, bool), np.zeros(m, np.float32)
    pos = outcome.position
    shown[pos] = True
    click[pos] = outcome.click
    margin[pos] = outcome.margin * scale
    return shown, click, margin


def _update(net, target, opt, buf: _Replay, slates_t, hp, rng: np.random.Generator) -> float:
    """One gradient step on a replayed batch: the click model (BCE), ``Q(s, i)`` on the clicked slots and
    ``Q(s, null)`` on the sessions without a click, both towards ``margin + gamma x Q(s', A')``."""
    idx = np.flatnonzero(buf.ready[: buf.n])
    b = idx[rng.integers(len(idx), size=min(hp["batch_size"], len(idx)))]
    obs, nxt = torch.as_tensor(buf.obs[b]), torch.as_tensor(buf.next_obs[b])
    pos = slates_t[torch.as_tensor(buf.slate[b])]  # (B, m) candidate positions
    shown, click = torch.as_tensor(buf.shown[b]), torch.as_tensor(buf.click[b])
    with torch.no_grad():
        v_next = target.values(nxt, slates_t)  # (B, S)
        if hp["target"] == "sarsa":
            v_next = v_next.gather(1, torch.as_tensor(buf.next_slate[b])[:, None])[:, 0]
        else:
            v_next = v_next.max(1).values
        cont = hp["gamma"] * v_next * torch.as_tensor(~buf.done[b], dtype=torch.float32)
    logit, q, q_null = net(obs)
    p = (torch.sigmoid(logit.gather(1, pos)) * net.examine()).clamp(1e-6, 1 - 1e-6)
    bce = -(click * torch.log(p) + (~click) * torch.log1p(-p))[shown].mean()
    y = torch.as_tensor(buf.margin[b]) + cont[:, None]
    clicked = click.float()
    loss_q = ((q.gather(1, pos) - y) ** 2 * clicked).sum() / clicked.sum().clamp(min=1)
    none = (~click.any(1)).float()
    loss_null = ((q_null - cont) ** 2 * none).sum() / none.sum().clamp(min=1)
    loss = bce + loss_q + loss_null
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(net.parameters(), 10.0)
    opt.step()
    return float(loss.detach())


def make_env(env_kwargs: dict[str, Any]) -> gym.Env:
    """``shopgym/Recommend-v0`` made with ``env_kwargs``, checked to be one SlateQ can act on (``_check_env``)."""
    env = gym.make(ENV_ID, **env_kwargs)
    _check_env(env)
    return env


def train(out: str | Path, scenario: str = "recommend-exact", slate_size: int = 1, timesteps: int = TIMESTEPS,
          seed: int = 0, hyperparams: dict[str, Any] | None = None, env_kwargs: dict[str, Any] | None = None,
          command: list[str] | None = None, progress: bool = False) -> SlateQPolicy:
    """Train SlateQ for ``timesteps`` sessions (epsilon-greedy over slates, replay, a target network) and save the
    run folder ``out`` (replacing the files of an earlier run there). Episodes reset with seeds
    ``training_env_seed(seed) + 0, 1, ..`` (the training range). ``progress``: a progress bar over the sessions.
    Settings, env and ``out`` (``check_out``: never a folder whose ``config.yml`` is not a SlateQ run's) are checked
    before training; an earlier run's files are replaced once training ends."""
    from shopgym.outdir import prepare_out

    hp = check_hyperparams(hyperparams, "the hyperparameters of train (--set)")
    n = sessions(timesteps, "timesteps", "train (--timesteps)")
    env_kwargs = {"scenario": scenario, "slate_size": int(slate_size), **(env_kwargs or {})}
    env = make_env(env_kwargs)
    out = Path(out)
    check_out(out, overwrite=True)
    prepare_out(out)
    return learn(env, env_kwargs, out, hp, n, seed, command, progress)


def learn(env: gym.Env, env_kwargs: dict[str, Any], out: Path, hp: dict[str, Any], timesteps: int, seed: int,
          command: list[str] | None, progress: bool) -> SlateQPolicy:
    """The training loop of ``train`` on a checked ``env`` (made with ``env_kwargs``), then the run folder. What
    the run records is computed first (the scenario hash of the env's resolved scenario), so a bad setting fails
    before training, not after it."""
    from tqdm.auto import tqdm

    check_recordable(env_kwargs, hp)
    digest = scenario_hash(env.unwrapped.scenario)
    base, view = env.unwrapped, env.unwrapped.view
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = SlateQNet(len(view.shopper_fields), len(view.item_fields), view.k, view.slate_size, hp["hidden"])
    target = SlateQNet(len(view.shopper_fields), len(view.item_fields), view.k, view.slate_size, hp["hidden"])
    target.load_state_dict(net.state_dict())
    opt = torch.optim.Adam(net.parameters(), lr=hp["learning_rate"])
    policy = SlateQPolicy(net)
    slates, slates_t = policy.slates, policy._slates_t
    buf = _Replay(min(hp["buffer_size"], timesteps), env.observation_space.shape[0], view.slate_size)
    first, episode, prev, started = training_env_seed(seed), 0, None, time.perf_counter()
    obs, _ = env.reset(seed=first)
    decay = max(1, int(hp["exploration_fraction"] * timesteps))
    for t in tqdm(range(timesteps), desc="SlateQ", unit="session", disable=not progress, mininterval=1.0):
        eps = hp["exploration_initial_eps"] + min(1.0, t / decay) * (hp["exploration_final_eps"]
                                                                     - hp["exploration_initial_eps"])
        s = int(rng.integers(len(slates))) if rng.random() < eps else policy.slate_index(obs)
        if prev is not None:
            buf.next_slate[prev], buf.ready[prev] = s, True
        action = int(slates[s, 0]) if view.slate_size == 1 else slates[s]
        next_obs, _, terminated, truncated, _ = env.step(action)
        shown, click, margin = _slot_outcome(base.last_outcome, view.slate_size, hp["reward_scale"])
        i = buf.add(obs, s, shown, click, margin, next_obs, terminated)
        prev, obs = (None if terminated or truncated else i), next_obs
        if truncated and not terminated:  # cut by a time limit: bootstrap on the greedy next slate
            buf.next_slate[i], buf.ready[i] = policy.slate_index(next_obs), True
        if terminated or truncated:
            episode += 1
            obs, _ = env.reset(seed=first + episode)
        if t >= hp["learning_starts"] and t % hp["train_freq"] == 0:
            _update(net, target, opt, buf, slates_t, hp, rng)
        if t % hp["target_update_interval"] == 0:
            target.load_state_dict(net.state_dict())
    wall = time.perf_counter() - started
    _save(out, net, hp, env_kwargs, digest, seed, timesteps, episode + 1, wall, command)
    net.eval()
    return SlateQPolicy(net, f"slateq:{out}")


def _save(out: Path, net: SlateQNet, hp, env_kwargs, digest: str, seed: int, timesteps: int, episodes: int,
          wall: float, command: list[str] | None) -> None:
    """Write the run folder: an earlier run's files go first (its evaluations describe another model), then
    ``model.pt``, ``config.yml`` and ``slateq.json`` (last: ``load_policy`` needs it)."""
    import io

    if any((out / name).exists() for name in RUN_FILES):
        remove_run(out, RUN_FILES, ())
    out.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save(net.state_dict(), buffer)
    atomic_write_bytes(out / "model.pt", buffer.getvalue())
    meta = {"net": {"shopper_dim": net.shopper_dim, "item_dim": net.item_dim, "k": net.k,
                    "slate_size": net.slate_size, "hidden": net.item_net[0].out_features},
            "hyperparams": hp, "env_id": ENV_ID, "env_kwargs": env_kwargs, "seed": seed, "timesteps": timesteps,
            "episodes": episodes, "train_wall_s": round(wall, 1), "command": command or sys.argv,
            "versions": {"python": platform.python_version(), "numpy": np.__version__, "torch": torch.__version__}}
    cfg = {"algo": "slateq", "env_id": ENV_ID, "env_kwargs": env_kwargs, "seed": seed, "timesteps": timesteps,
           "n_envs": 1, "n_eval_episodes": 0, "scenario_hash": digest, "hyperparams": hp,
           "seeds_seen": seeds_seen(seed, timesteps, 1, 0)}
    atomic_write_text(out / "config.yml", yaml.safe_dump(cfg, sort_keys=False))
    atomic_write_json(out / "slateq.json", meta)


def main(argv: list[str] | None = None) -> None:
    """``python -m agents.slateq --out DIR [--scenario S] [--slate-size M] [--timesteps N] [--seed S] [--set K=V]``."""
    ap = argparse.ArgumentParser(prog="python -m agents.slateq", description="Train SlateQ on shopgym/Recommend-v0.")
    ap.add_argument("--out", required=True)
    ap.add_argument("--scenario", default="recommend-exact")
    ap.add_argument("--slate-size", type=int, default=1)
    ap.add_argument("--timesteps", type=int, default=TIMESTEPS)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a hyperparameter (DEFAULTS), value parsed as YAML")
    args = ap.parse_args(argv)
    hp = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise HyperparameterError(f"--set {item!r}: write KEY=VALUE, e.g. --set gamma=0.99.")
        hp[key] = yaml.safe_load(value)
    torch.set_num_threads(1)
    command = ["python", "-m", "agents.slateq", *(argv if argv is not None else sys.argv[1:])]
    train(args.out, args.scenario, args.slate_size, args.timesteps, args.seed, hp, command=command)
    print(f"trained SlateQ -> {args.out} (policy spec: slateq:{args.out})")


if __name__ == "__main__":
    from shopgym.cli.faults import EXIT_CODE, report
    from shopgym.errors import ShopgymError

    try:
        main()
    except ShopgymError as exc:  # bad settings or --out: one line naming the fix, as shopgym train prints it
        report(exc)
        raise SystemExit(EXIT_CODE) from None
