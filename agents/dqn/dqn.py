"""Our DQN: Double DQN with a dueling head, n-step returns and optional prioritized replay.

The algorithm owns the loop, the exploration schedule and target updates; ``DQNPolicy`` owns the
networks and the optimizer (the split of Stable-Baselines3's ``dqn.py``/``policies.py``). The
body of ``learn`` follows CleanRL's single readable loop.

Vector envs: Gymnasium 1.x auto-resets on the *next* step. When an episode ends at step t, the
observation returned is its final one; at step t+1 the env ignores the action, resets, and returns
the first observation of the next episode with reward 0. That step is not a transition, so it is
skipped (``prev_done``), and truncated episodes bootstrap from the final observation.

Reward centering (``reward_centering``, off by default; Naik et al. 2024, "Reward Centering"):
the TD targets use rewards minus ``reward_mean``, a running mean of the rewards collected so far
(env reward units per transition). A k-step return ``sum_j gamma^j r_j`` becomes
``sum_j gamma^j (r_j - reward_mean)``, i.e. ``returns - reward_mean * (1 - gamma^k) / (1 - gamma)``.
Subtracting a constant from every reward lowers every discounted value by ``constant / (1 - gamma)``
(by ``constant x (1 - gamma^m) / (1 - gamma)`` with m steps left before a termination), so it leaves
the greedy, and the optimal, policy of the discounted problem unchanged when episodes end by
truncation (bootstrapped) or at a time no action can change (a fixed horizon); only where actions
can bring a termination earlier or later does it change what ending is worth.
What it removes is the large common offset of the Q-values (about ``mean reward / (1 - gamma)``),
so the network fits the small differences between actions instead.

Advantage learning (``advantage_learning`` alpha, off by default; Baird 1999, Bellemare et al. 2016,
"Increasing the action gap"): the target of ``(s, a)`` loses ``alpha * (max_b Q_target(s, b) -
Q_target(s, a))``. The best action keeps its value; the others fall further below it, their gap
tending to ``gap / (1 - alpha)``, and the greedy policy of the fixed point stays optimal. Use it where
the right action wins by little against the noise of the returns (Restock: ordering 16 units rather
than 13 saves part of a future order's fixed cost, a small margin in episode values of thousands).
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, SyncVectorEnv, VectorEnv

from agents.checkpoint_files import load_newest, newest_good, swap_in, write_manifest
from agents.dqn.buffer import Batch, NStepAccumulator, ReplayBuffer
from agents.dqn.config import DQNConfig, HyperparameterError
from agents.dqn.evaluation import evaluate
from agents.dqn.logger import RunLogger
from agents.dqn.policy import DQNPolicy
from agents.dqn.prioritized import PrioritizedReplayBuffer
from agents.dqn.spaces import describe, short
from agents.dqn.training_state import load_episode, save_episode
from shopgym.atomic import atomic_write_bytes, atomic_write_text
from shopgym.errors import ModelFileError

FORMAT_VERSION = 1


def make_vec_env(env: str | gym.Env | VectorEnv, n_envs: int, env_kwargs: dict | None) -> VectorEnv:
    """A next-step-autoreset vector env from an env id (its native vector env when registered, else a
    ``SyncVectorEnv``), a single env (``n_envs`` must be 1) or a vector env.

    A native vector env (``RestockVectorEnv``) gives the trajectories of ``SyncVectorEnv`` copies exactly,
    and saves its episodes in progress (``get_state``), so runs on it resume exactly."""
    if isinstance(env, VectorEnv):
        mode = env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
        if mode != AutoresetMode.NEXT_STEP:
            raise ValueError(f"vector env has autoreset_mode={mode}; our DQN needs AutoresetMode.NEXT_STEP.")
        return env
    if isinstance(env, gym.Env):
        if n_envs != 1:
            raise ValueError(f"pass an env id (not an env instance) to run n_envs={n_envs} copies.")
        return SyncVectorEnv([lambda: env], autoreset_mode=AutoresetMode.NEXT_STEP)
    kwargs = dict(env_kwargs or {})
    if gym.spec(env).vector_entry_point is not None:  # a native vector env: one batched simulation
        return make_vec_env(gym.make_vec(env, num_envs=n_envs, vectorization_mode="vector_entry_point", **kwargs),
                            n_envs, None)
    return SyncVectorEnv([lambda: gym.make(env, **kwargs) for _ in range(n_envs)],
                         autoreset_mode=AutoresetMode.NEXT_STEP)


class DQN:
    """Deep Q-learning on any env with a ``Box`` observation and a ``Discrete`` action.

    Args:
        env: an env id (made with ``env_kwargs``), an env, or a next-step-autoreset vector env.
        config: hyperparameters (``DQNConfig``, or a mapping validated by ``DQNConfig.from_dict``).
        seed: seeds the network initialisation (a ``torch.Generator``), exploration and replay
            sampling (a numpy ``Generator``) and the envs' first reset. Same seed, same result.
        env_kwargs: keyword arguments for ``gym.make`` when ``env`` is an id (saved with the model).
    """

    def __init__(self, env: str | gym.Env | VectorEnv, config: DQNConfig | dict | None = None, seed: int = 0,
                 env_kwargs: dict | None = None):
        self.config = config if isinstance(config, DQNConfig) else DQNConfig.from_dict(dict(config or {}))
        self.seed = int(seed)
        self.env_id = env if isinstance(env, str) else getattr(getattr(env, "spec", None), "id", None)
        self.env_kwargs = dict(env_kwargs or {})
        self.envs = make_vec_env(env, self.config.n_envs, env_kwargs)
        self.observation_space = self.envs.single_observation_space
        self.action_space = self.envs.single_action_space
        if not isinstance(self.action_space, spaces.Discrete):
            raise ValueError(f"our DQN needs a Discrete action space, got {self.action_space}.")
        if not isinstance(self.observation_space, spaces.Box):
            raise ValueError(f"our DQN needs a Box observation space, got {self.observation_space}.")
        self.obs_dim = int(np.prod(self.observation_space.shape))
        gen = torch.Generator().manual_seed(self.seed)
        c = self.config
        self.policy = DQNPolicy(self.obs_dim, int(self.action_space.n), c.net_arch, c.dueling, c.learning_rate, gen)
        self.rng = np.random.default_rng(np.random.SeedSequence(self.seed).spawn(1)[0])
        if c.prioritized:
            self.buffer: ReplayBuffer = PrioritizedReplayBuffer(c.buffer_size, (self.obs_dim,), c.per_alpha, c.per_eps)
        else:
            self.buffer = ReplayBuffer(c.buffer_size, (self.obs_dim,))
        self.num_timesteps = 0  # env steps taken, summed over copies
        self.n_updates = 0
        self.n_episodes = 0
        self.best_eval = -float("inf")  # best mean evaluation return so far (see ``learn``'s best_dir)
        self.total_timesteps = 0  # the target of the current ``learn`` (sets the epsilon schedule)
        self._steps_since_train = 0  # env steps since the last update round
        self._last_target_update = 0
        self._obs: np.ndarray | None = None  # current observations, None until the envs are reset
        self.reward_mean = 0.0  # running mean reward (env reward units), subtracted with reward_centering
        self.reward_count = 0  # rewards seen by reward_mean (transitions)

    # ------------------------------------------------------------------ acting
    def epsilon(self) -> float:
        """Linear epsilon: from initial to final over ``exploration_fraction`` of the run, then flat."""
        c = self.config
        span = max(1.0, c.exploration_fraction * self.total_timesteps)
        frac = min(1.0, self.num_timesteps / span)
        return c.exploration_initial_eps + frac * (c.exploration_final_eps - c.exploration_initial_eps)

    def learning_rate(self) -> float:
        """Linear decay from ``learning_rate`` to ``learning_rate x lr_final_fraction`` over the run."""
        c = self.config
        frac = min(1.0, self.num_timesteps / max(1, self.total_timesteps))
        return c.learning_rate * (1.0 + frac * (c.lr_final_fraction - 1.0))

    def predict(self, obs: np.ndarray, deterministic: bool = True):
        """Greedy action for one observation (an int) or a batch (an int64 array).

        ``deterministic=False`` takes a uniformly random action with the current epsilon.
        """
        obs = np.asarray(obs, dtype=np.float32)
        single = obs.shape == self.observation_space.shape
        batch = obs.reshape(1 if single else -1, self.obs_dim)
        actions = self.policy.greedy(batch)
        if not deterministic:
            explore = self.rng.random(len(actions)) < self.epsilon()
            actions = np.where(explore, self.rng.integers(0, self.action_space.n, len(actions)), actions)
        actions = actions + int(self.action_space.start)
        return int(actions[0]) if single else actions

    # ------------------------------------------------------------------ learning
    def learn(self, total_timesteps: int, eval_env: gym.Env | None = None, eval_freq: int = 0,
              eval_seeds: list[int] | None = None, log_dir: str | Path | None = None,
              checkpoint_dir: str | Path | None = None, checkpoint_freq: int = 0, save_buffer: bool = True,
              progress_bar: bool = False, tensorboard: bool = False, best_dir: str | Path | None = None) -> DQN:
        """Train until ``num_timesteps`` reaches ``total_timesteps`` (a resumed model continues its count).

        Every ``eval_freq`` steps: greedy episodes on ``eval_env`` (one per seed in ``eval_seeds``),
        logged to ``eval.csv``. Every ``checkpoint_freq`` steps: ``save`` to ``checkpoint_dir`` (with
        the replay buffer when ``save_buffer``). Logs go to ``log_dir`` (CSV files, appended). With
        ``best_dir``, the model with the best evaluation so far is saved there (``best_eval`` keeps its score).
        """
        c = self.config
        self.total_timesteps = int(total_timesteps)
        logger = RunLogger(log_dir, tensorboard=tensorboard) if log_dir else None
        eval_seeds = list(eval_seeds or range(5))
        n_envs = self.envs.num_envs
        if self._obs is None:  # a fresh model seeds with its seed; a resumed one with seed + steps taken
            self._obs, _ = self.envs.reset(seed=self.seed + self.num_timesteps)
            self._prev_done = np.zeros(n_envs, dtype=bool)
            self._ep_return = np.zeros(n_envs)
            self._ep_len = np.zeros(n_envs, dtype=np.int64)
            self._nstep = [NStepAccumulator(c.n_step, c.gamma) for _ in range(n_envs)]
            self._warmup_obs: list[np.ndarray] = []
        bar = _progress(progress_bar, self.total_timesteps, self.num_timesteps)
        next_eval = _next_multiple(self.num_timesteps, eval_freq)
        next_ckpt = _next_multiple(self.num_timesteps, checkpoint_freq)
        losses: list[float] = []
        while self.num_timesteps < self.total_timesteps:
            obs = self._obs.reshape(n_envs, self.obs_dim)
            actions = self._explore(obs)
            next_obs, rewards, terms, truncs, _ = self.envs.step(actions + int(self.action_space.start))
            self._track_reward_mean(np.asarray(rewards)[~self._prev_done])
            flat_next = next_obs.reshape(n_envs, self.obs_dim)
            for i in range(n_envs):
                if self._prev_done[i]:  # the autoreset step: not a transition
                    self._nstep[i].clear()
                    continue
                for tr in self._nstep[i].push(obs[i], actions[i], rewards[i], flat_next[i], terms[i], truncs[i]):
                    self.buffer.add(*tr)
                self._ep_return[i] += rewards[i]
                self._ep_len[i] += 1
                if terms[i] or truncs[i]:
                    self.n_episodes += 1
                    if logger:
                        logger.log("episodes", self.num_timesteps + n_envs,
                                   {"return": self._ep_return[i], "length": self._ep_len[i], "epsilon": self.epsilon()})
                    self._ep_return[i], self._ep_len[i] = 0.0, 0
            self._prev_done = np.logical_or(terms, truncs)
            self._obs = next_obs
            self.num_timesteps += n_envs
            if bar:
                bar.update(n_envs)
            if self.num_timesteps <= c.learning_starts:
                self._warm_up(flat_next)
            else:
                losses += self._update()
            if logger and len(losses) >= 100:
                logger.log("train", self.num_timesteps, {"loss": np.mean(losses), "epsilon": self.epsilon(),
                                                         "n_updates": self.n_updates})
                if c.reward_centering:
                    logger.log("centering", self.num_timesteps, {"reward_mean": self.reward_mean})
                losses = []
            if eval_env is not None and eval_freq and self.num_timesteps >= next_eval:
                res = evaluate(self.predict, eval_env, eval_seeds)
                if logger:
                    logger.log("eval", self.num_timesteps, {"mean_return": res.mean, "std_return": res.std,
                                                            "mean_length": float(res.lengths.mean())})
                if best_dir and res.mean > self.best_eval:
                    self.best_eval = res.mean
                    self.save(best_dir)
                if bar:
                    bar.set_postfix(eval_return=f"{res.mean:.4g}")
                next_eval = _next_multiple(self.num_timesteps, eval_freq)
            if checkpoint_dir and checkpoint_freq and self.num_timesteps >= next_ckpt:
                self.save_checkpoint(checkpoint_dir, save_buffer)
                next_ckpt = _next_multiple(self.num_timesteps, checkpoint_freq)
        if bar:
            bar.close()
        if logger:
            logger.close()
        return self

    def _warm_up(self, obs: np.ndarray) -> None:
        """Collect observations before learning starts; freeze the observation scaling from them."""
        c = self.config
        if not c.normalize_obs:
            return
        self._warmup_obs.append(obs.copy())
        if self.num_timesteps + self.envs.num_envs > c.learning_starts:
            self.policy.set_obs_scaling(np.concatenate(self._warmup_obs))
            self._warmup_obs = []

    def _track_reward_mean(self, rewards: np.ndarray) -> None:
        """Fold the rewards of one vector step into ``reward_mean``: the plain mean of every reward so far
        until ``reward_centering_window`` rewards are seen, then an exponential moving average with
        weight ``1 / reward_centering_window`` per reward (so about the last window's rewards count)."""
        if not self.config.reward_centering or len(rewards) == 0:
            return
        self.reward_count += len(rewards)
        weight = len(rewards) / min(self.reward_count, max(self.config.reward_centering_window, len(rewards)))
        self.reward_mean += weight * (float(np.mean(rewards)) - self.reward_mean)

    def centered_returns(self, returns: np.ndarray, discount: np.ndarray) -> np.ndarray:
        """k-step returns with ``reward_mean`` taken off each of their k rewards (``discount`` = gamma^k);
        the returns unchanged without ``reward_centering``."""
        if not self.config.reward_centering:
            return returns
        gamma = self.config.gamma
        return (returns - self.reward_mean * (1.0 - discount) / (1.0 - gamma)).astype(np.float32)

    def _update(self) -> list[float]:
        """Target update (checked every env step, as in SB3) and, every ``train_freq`` steps, a round of
        ``gradient_steps`` gradient steps; returns their losses."""
        c = self.config
        if self.num_timesteps - self._last_target_update >= c.target_update_interval:
            self.policy.update_target(c.tau)
            self._last_target_update = self.num_timesteps
        self._steps_since_train += self.envs.num_envs
        if self._steps_since_train < c.train_freq or len(self.buffer) == 0:
            return []
        self._steps_since_train = 0
        return [self._train_step() for _ in range(c.gradient_steps)]

    def _explore(self, obs: np.ndarray) -> np.ndarray:
        """Epsilon-greedy actions (0-based) for the current observations of every copy."""
        n = len(obs)
        random_actions = self.rng.integers(0, self.action_space.n, n)
        if self.num_timesteps < self.config.learning_starts:
            return random_actions
        greedy = self.policy.greedy(obs)
        return np.where(self.rng.random(n) < self.epsilon(), random_actions, greedy)

    @torch.no_grad()
    def td_targets(self, b: Batch) -> torch.Tensor:
        """TD targets of a minibatch: (centered) k-step return + gamma^k x the target net's value of the
        next observation (picked by the online net with ``double_q``), no bootstrap where ``done``; with
        ``advantage_learning`` alpha, minus alpha x (max_b Q_target(s, b) - Q_target(s, a)) for the batch's
        first states and actions (Bellemare et al., 2016: widens the action gap, keeps the greedy policy)."""
        next_obs = torch.from_numpy(b.next_obs)
        next_q_target = self.policy.q_target(next_obs)
        if self.config.double_q:
            next_a = self.policy.q_net(next_obs).argmax(dim=1, keepdim=True)
            next_q = next_q_target.gather(1, next_a).squeeze(1)
        else:
            next_q = next_q_target.max(dim=1).values
        returns = torch.from_numpy(self.centered_returns(b.returns, b.discount))
        target = returns + torch.from_numpy(b.discount * (1.0 - b.done)) * next_q
        alpha = self.config.advantage_learning
        if alpha > 0.0:
            q_now = self.policy.q_target(torch.from_numpy(b.obs))
            taken = q_now.gather(1, torch.from_numpy(b.actions)[:, None]).squeeze(1)
            target = target - alpha * (q_now.max(dim=1).values - taken)
        return target

    def _train_step(self) -> float:
        """One gradient step on a replay minibatch; returns the loss."""
        c = self.config
        beta = c.per_beta0 + (1.0 - c.per_beta0) * min(1.0, self.num_timesteps / max(1, self.total_timesteps))
        b = self.buffer.sample(c.batch_size, self.rng, beta)
        target = self.td_targets(b)
        q = self.policy.q_net(torch.from_numpy(b.obs)).gather(1, torch.from_numpy(b.actions)[:, None]).squeeze(1)
        td = q - target
        loss = (torch.from_numpy(b.weights) * F.huber_loss(q, target, reduction="none", delta=c.huber_delta)).mean()
        for group in self.policy.optimizer.param_groups:
            group["lr"] = self.learning_rate()
        self.policy.optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.policy.q_net.parameters(), c.max_grad_norm)
        self.policy.optimizer.step()
        self.buffer.update_priorities(b.indices, td.detach().numpy())
        self.n_updates += 1
        return float(loss.detach())

    # ------------------------------------------------------------------ saving
    def save(self, path: str | Path, include_buffer: bool = False) -> Path:
        """Write the model to directory ``path``: ``hyperparameters.json`` (config, seed, env, spaces),
        ``model.pt`` (networks and optimizer state), ``state.json`` (counters, RNG state) and, with
        ``include_buffer``, ``replay_buffer.npz``."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        meta = {"format": FORMAT_VERSION, "algo": "shopgym-dqn", "config": self.config.to_dict(), "seed": self.seed,
                "env_id": self.env_id, "env_kwargs": self.env_kwargs,
                "observation_space": describe(self.observation_space), "action_space": describe(self.action_space)}
        atomic_write_text(path / "hyperparameters.json", json.dumps(meta, indent=2, default=str))
        weights = io.BytesIO()
        torch.save({"q_net": self.policy.q_net.state_dict(), "q_target": self.policy.q_target.state_dict(),
                    "optimizer": self.policy.optimizer.state_dict()}, weights)
        atomic_write_bytes(path / "model.pt", weights.getvalue())
        state = {"num_timesteps": self.num_timesteps, "n_updates": self.n_updates, "n_episodes": self.n_episodes,
                 "total_timesteps": self.total_timesteps, "steps_since_train": self._steps_since_train,
                 "last_target_update": self._last_target_update, "best_eval": self.best_eval,
                 "reward_mean": self.reward_mean, "reward_count": self.reward_count, "rng": self.rng.bit_generator.state}
        atomic_write_text(path / "state.json", json.dumps(state, indent=2))
        if include_buffer:
            self.buffer.save(path / "replay_buffer.npz")
        return path

    def save_checkpoint(self, directory: str | Path, include_buffer: bool = True) -> Path:
        """Save to ``directory/latest`` what an exact resume needs: the model, the replay buffer (unless
        ``include_buffer`` is false), the episodes in progress (``agents.dqn.training_state``) and a
        manifest of checksums; the checkpoint before it is kept as ``previous`` (``agents.checkpoint_files``)."""
        directory = Path(directory)
        tmp = directory / "latest.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        self.save(tmp, include_buffer=include_buffer)
        save_episode(self, tmp)
        write_manifest(tmp)
        return swap_in(tmp, directory / "latest")

    @classmethod
    def load_checkpoint(cls, directory: str | Path, env: str | gym.Env | VectorEnv | None = None) -> DQN | None:
        """The model of the newest good checkpoint under ``directory``, ready to continue ``learn`` exactly
        (``None`` when there is none). A corrupt ``latest`` falls back to ``previous`` with a warning."""
        return load_newest(Path(directory), lambda folder: cls.load(folder, env=env))

    @classmethod
    def load(cls, path: str | Path, env: str | gym.Env | VectorEnv | None = None, load_buffer: bool = True) -> DQN:
        """Rebuild a saved model. ``env`` (default: the saved env id and kwargs) must have the saved
        observation and action spaces, else ``ValueError`` names both. A checkpoint (``save_checkpoint``) also
        puts back the training in progress (``agents.dqn.training_state``), so ``learn`` continues exactly."""
        path = Path(path)
        if not (path / "hyperparameters.json").exists():
            raise FileNotFoundError(f"{path} holds no saved DQN (hyperparameters.json is missing).")
        meta = json.loads((path / "hyperparameters.json").read_text())
        if meta.get("format") != FORMAT_VERSION or meta.get("algo") != "shopgym-dqn":
            raise HyperparameterError(f"{path} is not a shopgym-dqn model of format {FORMAT_VERSION}.")
        if env is None:
            if not meta["env_id"]:
                raise ValueError(f"{path} was saved without an env id; pass env= to load it.")
            env = meta["env_id"]
        config = DQNConfig.from_dict(meta["config"])
        if not isinstance(env, str):
            config.n_envs = env.num_envs if isinstance(env, VectorEnv) else 1
        model = cls(env, config, seed=meta["seed"], env_kwargs=meta["env_kwargs"])
        for name, space in (("observation", model.observation_space), ("action", model.action_space)):
            if describe(space) != meta[f"{name}_space"]:
                raise ValueError(f"{name} space mismatch: the model at {path} was trained on "
                                 f"{short(meta[f'{name}_space'])}, the env has {short(describe(space))}.")
        try:
            weights = torch.load(path / "model.pt", weights_only=True)
        except FileNotFoundError as e:
            raise ModelFileError(f"{path / 'model.pt'} is missing; save the model again or pick another folder.") from e
        except Exception as e:  # noqa: BLE001  (torch raises several types for a truncated or foreign file)
            raise ModelFileError(f"{path / 'model.pt'} is empty, truncated or not a shopgym-dqn model "
                                 f"({e.__class__.__name__}); save the model again or pick another folder.") from e
        model.policy.q_net.load_state_dict(weights["q_net"])
        model.policy.q_target.load_state_dict(weights["q_target"])
        model.policy.optimizer.load_state_dict(weights["optimizer"])
        state = json.loads((path / "state.json").read_text())
        model.num_timesteps, model.n_updates = state["num_timesteps"], state["n_updates"]
        model.n_episodes, model.total_timesteps = state["n_episodes"], state["total_timesteps"]
        model._steps_since_train, model._last_target_update = state["steps_since_train"], state["last_target_update"]
        model.best_eval = state.get("best_eval", -float("inf"))
        model.reward_mean, model.reward_count = state.get("reward_mean", 0.0), state.get("reward_count", 0)
        model.rng.bit_generator.state = state["rng"]
        if load_buffer and (path / "replay_buffer.npz").exists():
            model.buffer.load(path / "replay_buffer.npz")
        load_episode(model, path)
        return model


def latest_checkpoint(directory: str | Path) -> Path | None:
    """The newest checkpoint under ``directory`` whose files match their checksums (``latest``, else
    ``previous`` with a warning), or ``None``."""
    return newest_good(Path(directory))


def _next_multiple(step: int, every: int) -> int:
    return (step // every + 1) * every if every else 1 << 62


def _progress(enabled: bool, total: int, initial: int) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="step", dynamic_ncols=True)
