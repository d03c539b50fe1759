"""Stable-Baselines3 glue: DQN, PPO, A2C and SAC with per-env hyperparameter files, checkpoints and resume.

A run lives in a directory ``out``: ``config.yml`` and ``run.json`` (resolved configuration, command
lines, library versions), ``model.zip`` (the final model), ``vecnormalize.pkl`` (observation
statistics, when the section asks for ``normalize``), ``best/`` (``best_model.zip`` and its ``vecnormalize.pkl``: the best evaluation during training, on
seeds 900000.. that benchmarks never use), ``checkpoints/latest/`` (model, replay buffer, normalisation statistics,
random generators and episodes in progress: ``agents.sb3_resume``; the checkpoint before it is kept as
``previous``, and a corrupt ``latest`` falls back to it with a warning), ``logs/progress.csv`` (appended on
resume) and ``eval/evaluations.npz``.

Resuming (re-running the same command) gives the model an uninterrupted run gives, when the env has a
native vector version (``shopgym/Restock-v0``): see ``agents.sb3_resume`` for what is restored and
``tests/agents/test_resume_identical.py``. The run directory is keyed by content (``config.yml`` records
``scenario_hash``): a re-run whose scenario, seed or hyperparameters changed is refused; ``--overwrite``
starts it again.

Hyperparameter sections (``agents/hyperparams/<algo>.yml``, RL Zoo 3's format: see ``agents.hyperparams``)
hold the algorithm's constructor arguments plus what RL Zoo also reads:

- ``n_timesteps``, ``n_envs``, ``env_kwargs``;
- ``policy``: an SB3 alias (``MlpPolicy``), or ``agents.sb3_dueling.DuelingDQNPolicy`` (alias
  ``DuelingMlpPolicy``: DQN with a dueling head), the only dotted names accepted (none is imported by name);
- ``policy_kwargs``: a mapping, or RL Zoo's text ``"dict(net_arch=[64], activation_fn=nn.Tanh)"``
  (parsed, never run); an activation is ``nn.<Class>`` in text, a short name (``relu``, ``tanh``, ...) in a mapping;
- ``normalize``: ``true`` or ``VecNormalize`` arguments;
- ``learning_rate`` and ``clip_range``: a number or ``lin_<number>`` (linear decay to 0).

Options only ``shopgym train`` reads go in the file's ``shopgym`` block (RL Zoo would pass them to the
algorithm and fail):

- ``eval_freq``, ``checkpoint_freq``, ``n_eval_episodes``, ``select`` (``best`` or ``last``);
- ``normalize: {center_reward: true}``: reward centering (``agents.sb3_centering``), merged into the
  section's ``normalize``;
- ``freeze_normalize_after``: env steps after which the observation statistics (and the reward mean)
  stop updating, as our DQN's ``normalize_obs`` does; default never;
- ``double_q: true`` and ``advantage_learning: alpha`` (DQN only): Double-DQN and advantage-learning
  targets (``agents.sb3_targets.TargetDQN``, SB3's DQN with only the TD target changed).
"""

from __future__ import annotations

import inspect
import json
import shutil
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import yaml
from stable_baselines3 import A2C, DQN, PPO, SAC
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecMonitor, VecNormalize
from torch import nn

import shopgym  # noqa: F401  (registers the shopgym envs)
from agents.checkpoint_files import load_newest, swap_in, write_manifest
from agents.dqn.run import EVAL_SEED_BASE, check_select, train_seed
from agents.hyperparams import (
    HyperparameterError,
    check_keys,
    env_kwargs_for,
    load_hyperparams,
    scenario_hash_for,
    start_run,
)
from agents.hyperparams.numbers import exponent_text_as_numbers, positive_count, train_steps
from agents.hyperparams.zoo_text import ACTIVATIONS as ACTIVATION_CLASSES
from agents.sb3_callbacks import (
    FreezeNormalization,
    SaveNormalization,
    SeededEvalCallback,
    resume_eval_history,
)
from agents.sb3_centering import CenteringVecNormalize
from agents.sb3_dueling import POLICIES
from agents.sb3_logging import make_logger
from agents.sb3_resume import restore_state, save_state
from agents.sb3_safe_load import load_model, load_replay_buffer, load_vecnormalize
from agents.sb3_targets import TargetDQN
from shopgym.seeds import seeds_seen

ALGOS: dict[str, type[BaseAlgorithm]] = {"dqn": DQN, "ppo": PPO, "a2c": A2C, "sac": SAC}
RUN_KEYS = ("n_timesteps", "policy", "n_envs", "normalize", "freeze_normalize_after", "env_kwargs", "eval_freq",
            "checkpoint_freq", "n_eval_episodes", "select", "double_q", "advantage_learning")
TIMESTEPS = 100_000  #: env steps to train for when neither ``--timesteps`` nor the section's ``n_timesteps`` says
NOT_SETTABLE = ("self", "policy", "env", "seed", "device", "tensorboard_log", "verbose", "_init_setup_model")
ACTIVATIONS = {short: getattr(nn, name) for short, name in ACTIVATION_CLASSES.items()}
#: The dotted names (as RL Zoo imports them) of our policies -> their aliases in ``POLICIES``.
DOTTED_POLICIES = {f"{cls.__module__}.{cls.__qualname__}": alias for alias, cls in POLICIES.items()}


def algo_class(algo: str) -> type[BaseAlgorithm]:
    """The SB3 class of ``algo`` (``dqn``, ``ppo``, ``a2c``, ``sac``)."""
    if algo not in ALGOS:
        raise HyperparameterError(f"unknown SB3 algo {algo!r}; choose one of {', '.join(ALGOS)}.")
    return ALGOS[algo]


def model_class(cfg: dict[str, Any]) -> type[BaseAlgorithm]:
    """The class a resolved run trains and loads: ``TargetDQN`` for ``double_q`` or ``advantage_learning``,
    else the algo's SB3 class."""
    return TargetDQN if cfg.get("double_q") or cfg.get("advantage_learning") else algo_class(cfg["algo"])


def resolve(algo: str, env_id: str, scenario: str | None, timesteps: int | None, seed: int,
            hyperparams_file: str | Path | None = None) -> dict[str, Any]:
    """The resolved run configuration; unknown keys raise ``HyperparameterError`` naming the key."""
    cls = algo_class(algo)
    hp = exponent_text_as_numbers(load_hyperparams(algo, env_id, scenario, hyperparams_file))
    ctor = [p for p in inspect.signature(cls.__init__).parameters if p not in NOT_SETTABLE]
    where = f"the {env_id!r} section of {hyperparams_file or f'{algo}.yml'}"
    check_keys(hp, [*RUN_KEYS, *ctor], where)
    if isinstance(hp.get("normalize"), dict):
        norm_args = [p for p in inspect.signature(VecNormalize.__init__).parameters if p not in ("self", "venv")]
        norm_args.append("center_reward")
        check_keys(hp["normalize"], norm_args, f"'normalize' of {where}")
        if hp["normalize"].get("center_reward") and not issubclass(cls, OffPolicyAlgorithm):
            raise HyperparameterError(f"normalize.center_reward in {where} centres the rewards an off-policy replay "
                                      f"buffer samples (dqn, sac); {algo!r} learns from the rollout's rewards: remove it.")
    for key in ("policy_kwargs", "env_kwargs", "replay_buffer_kwargs"):
        if key in hp and not isinstance(hp[key], dict):
            raise HyperparameterError(f"{key} in {where} must be a mapping, got {hp[key]!r}.")
    for key in ("learning_rate", "clip_range"):
        value = hp.get(key)
        if isinstance(value, str) and not _is_linear(value):
            raise HyperparameterError(f"{key}={value!r} in {where}: give a number or 'lin_<number>' (linear decay to 0).")
    act = hp.get("policy_kwargs", {}).get("activation_fn")
    if act is not None and act not in ACTIVATIONS:
        raise HyperparameterError(f"policy_kwargs.activation_fn={act!r} in {where}; choose one of {', '.join(ACTIVATIONS)}.")
    double_q = hp.get("double_q", False)
    if not isinstance(double_q, bool):
        raise HyperparameterError(f"double_q={double_q!r} in {where} must be true or false.")
    if double_q and algo != "dqn":
        raise HyperparameterError(f"double_q in {where} is a DQN option (Double-DQN targets); remove it for {algo!r}.")
    alpha = hp.get("advantage_learning", 0.0)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 <= alpha < 1.0:
        raise HyperparameterError(f"advantage_learning={alpha!r} in {where} must be a number in [0, 1) (0 is off).")
    if alpha and algo != "dqn":
        raise HyperparameterError(f"advantage_learning in {where} is a DQN option (advantage-learning targets); "
                                  f"remove it for {algo!r}.")
    n = train_steps(hp.pop("n_timesteps", TIMESTEPS), timesteps, where, TIMESTEPS)
    run = {k: hp.pop(k) for k in RUN_KEYS if k in hp}
    n_envs = positive_count("n_envs", run.get("n_envs", 1), where)
    n_eval = positive_count("n_eval_episodes", run.get("n_eval_episodes", 5), where)
    run["policy"] = _policy_alias(run.get("policy", "MlpPolicy"), where)
    env_kwargs = env_kwargs_for(env_id, scenario, run.get("env_kwargs"))
    return {"algo": algo, "env_id": env_id, "scenario": scenario, "scenario_hash": scenario_hash_for(env_id, env_kwargs),
            "seed": int(seed), "timesteps": n, "env_kwargs": env_kwargs,
            "policy": run["policy"], "n_envs": n_envs,
            "normalize": run.get("normalize", False),
            "freeze_normalize_after": _optional_int(run.get("freeze_normalize_after"), "freeze_normalize_after", where),
            "eval_freq": positive_count("eval_freq", run.get("eval_freq", max(1, n // 10)), where),
            "checkpoint_freq": positive_count("checkpoint_freq", run.get("checkpoint_freq", max(1, n // 10)), where),
            "n_eval_episodes": n_eval, "select": check_select(run.get("select", "last")),
            "double_q": double_q, "advantage_learning": float(alpha), "hyperparams": hp,
            "seeds_seen": seeds_seen(seed, n, n_envs, n_eval)}


class NativeVecEnv(VecEnv):
    """An SB3 ``VecEnv`` over a Gymnasium 1.x vector env whose sub-envs end together (``RestockVectorEnv``).

    Gymnasium resets on the *next* step; SB3 expects the reset observation at once and the final one
    in ``infos[i]["terminal_observation"]``. So when the episodes end, this adapter takes the
    autoreset step itself (its action is ignored by the env) and returns the new episodes' first
    observations. Sub-envs that end at different steps raise ``RuntimeError``: use ``DummyVecEnv``.
    """

    def __init__(self, venv):
        self.venv = venv
        self.render_mode = None
        super().__init__(venv.num_envs, venv.single_observation_space, venv.single_action_space)
        self._actions = None

    def reset(self):
        seeds = None if self._seeds[0] is None else [int(s) for s in self._seeds]
        obs, _ = self.venv.reset(seed=seeds)
        self._reset_seeds()
        return obs

    def step_async(self, actions) -> None:
        self._actions = actions

    def step_wait(self):
        obs, rewards, terms, truncs, _ = self.venv.step(self._actions)
        dones = np.logical_or(terms, truncs)
        infos: list[dict] = [{} for _ in range(self.num_envs)]
        if dones.any():
            if not dones.all():
                raise RuntimeError("NativeVecEnv needs sub-envs that end together; use DummyVecEnv for this env.")
            for i in range(self.num_envs):
                infos[i]["terminal_observation"] = obs[i]
                infos[i]["TimeLimit.truncated"] = bool(truncs[i] and not terms[i])
            obs, *_ = self.venv.step(self._actions)  # the autoreset step
        return obs, rewards.astype(np.float32), dones, infos

    def close(self) -> None:
        self.venv.close()

    def get_attr(self, attr_name, indices=None):
        if attr_name == "render_mode":
            return [None] * self.num_envs
        return [getattr(self.venv, attr_name)] * len(self._get_indices(indices))

    def set_attr(self, attr_name, value, indices=None) -> None:
        setattr(self.venv, attr_name, value)

    def env_method(self, method_name, *args, indices=None, **kwargs):
        raise NotImplementedError("NativeVecEnv does not forward methods to sub-envs.")

    def env_is_wrapped(self, wrapper_class, indices=None):
        return [False] * len(self._get_indices(indices))


def _policy_alias(policy: Any, where: str) -> str:
    """``policy`` as the resolved config stores it: SB3 aliases as they are, our dotted class names as
    their ``POLICIES`` alias. Other dotted names are refused: a file never makes us import code."""
    if not isinstance(policy, str):
        raise HyperparameterError(f"policy={policy!r} in {where}: give a policy name such as 'MlpPolicy'.")
    if "." not in policy:
        return policy
    if policy not in DOTTED_POLICIES:
        raise HyperparameterError(f"policy={policy!r} in {where} is not a policy shopgym knows; give an SB3 alias "
                                  f"('MlpPolicy') or one of {', '.join(DOTTED_POLICIES)}.")
    return DOTTED_POLICIES[policy]


#: Shopgym envs whose native vector sub-envs end at different steps (Recommend: Poisson sessions a day), which
#: ``NativeVecEnv`` cannot adapt: SB3 runs copies of them in a ``DummyVecEnv``.
ENDS_APART = ("shopgym/Recommend-v0",)


def _has_native_vector(env_id: str) -> bool:
    """Shopgym envs with a native vector version whose sub-envs end together, as ``NativeVecEnv`` needs."""
    return (env_id.startswith("shopgym/") and env_id not in ENDS_APART
            and gym.spec(env_id).vector_entry_point is not None)


def _is_linear(text: str) -> bool:
    try:
        float(text[4:])
    except ValueError:
        return False
    return text.startswith("lin_")


def _norm_kwargs(normalize: bool | dict) -> dict | None:
    if normalize is True:
        return {}
    return dict(normalize) if isinstance(normalize, dict) else None


def linear_schedule(text: str):
    """``"lin_<start>"`` (RL Zoo notation): a schedule falling linearly from start to 0 over training."""
    start = float(text[4:])
    return lambda progress_remaining: progress_remaining * start


def make_envs(cfg: dict[str, Any], n_envs: int, seed: int) -> VecEnv:
    """The raw (unnormalised) vector env of a run, seeded ``seed, seed + 1, ...``, with episode statistics.

    Envs with a native vector version (one batched world for all copies) use it through
    ``NativeVecEnv``; others run copies in a ``DummyVecEnv``. (SB3's ``make_vec_env`` passes
    ``render_mode``, which ``RestockEnv`` does not take.)
    """
    env_id, kwargs = cfg["env_id"], dict(cfg["env_kwargs"])
    if _has_native_vector(env_id):
        native = gym.make_vec(env_id, num_envs=n_envs, vectorization_mode="vector_entry_point", **kwargs)
        venv = VecMonitor(NativeVecEnv(native))
        venv.seed(seed)
        return venv
    venv = DummyVecEnv([lambda: Monitor(gym.make(env_id, **kwargs)) for _ in range(n_envs)])
    venv.seed(seed)
    return venv


def build_model(cfg: dict[str, Any], venv: VecEnv, seed: int) -> BaseAlgorithm:
    """A fresh SB3 model of the run's algo and hyperparameters on ``venv`` (CPU)."""
    hp = dict(cfg["hyperparams"])
    if "policy_kwargs" in hp:
        pk = dict(hp["policy_kwargs"])
        if "activation_fn" in pk:
            pk["activation_fn"] = ACTIVATIONS[pk["activation_fn"]]
        hp["policy_kwargs"] = pk
    for key in ("learning_rate", "clip_range"):
        if isinstance(hp.get(key), str):
            hp[key] = linear_schedule(hp[key])
    for key in ("train_freq",):
        if isinstance(hp.get(key), list):
            hp[key] = tuple(hp[key])
    policy = cfg["policy"]
    if policy in POLICIES:
        if cfg["algo"] != "dqn":
            raise HyperparameterError(f"policy {policy!r} is for algo 'dqn', not {cfg['algo']!r}.")
        policy = POLICIES[policy]
    cls = model_class(cfg)
    if cls is TargetDQN:
        hp = {**hp, "double_q": cfg["double_q"], "advantage_learning": cfg.get("advantage_learning", 0.0)}
    return cls(policy, venv, seed=seed, device="cpu", verbose=0, **hp)


class LatestCheckpoint(BaseCallback):
    """Once ``every`` env steps have passed since the last one, save a checkpoint to ``directory/latest``
    where the next rollout starts (a clean boundary: see ``agents.sb3_resume``).

    Written to ``latest.tmp`` and renamed, so a kill mid-write leaves the previous checkpoint whole.
    """

    def __init__(self, directory: Path, every: int, last: int = 0):
        super().__init__()
        self.directory, self.every, self.last = Path(directory), max(1, int(every)), int(last)

    def _on_step(self) -> bool:
        return True

    def _on_rollout_start(self) -> None:
        steps = self.model.num_timesteps
        if steps // self.every > self.last // self.every:
            save_checkpoint(self.model, self.directory)
            self.last = steps


def save_checkpoint(model: BaseAlgorithm, directory: Path) -> Path:
    """Save ``model`` (its replay buffer, VecNormalize and ``agents.sb3_resume`` state) to ``directory/latest``,
    with a manifest of checksums; the checkpoint before it becomes ``previous``."""
    tmp, latest = directory / "latest.tmp", directory / "latest"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.save(tmp / "model.zip")
    (tmp / "steps.json").write_text(json.dumps({"num_timesteps": int(model.num_timesteps)}))
    if isinstance(model, OffPolicyAlgorithm) and model.replay_buffer is not None:
        model.save_replay_buffer(tmp / "replay_buffer.pkl")
    if isinstance(model.get_env(), VecNormalize):
        model.get_env().save(str(tmp / "vecnormalize.pkl"))
    save_state(model, tmp)
    write_manifest(tmp)
    return swap_in(tmp, latest)


def load_checkpoint(cfg: dict[str, Any], directory: Path, env_seed: int) -> tuple[BaseAlgorithm, Path] | None:
    """The model of the newest good checkpoint under ``directory`` on fresh envs, and that checkpoint's folder
    (``None`` when there is none); a corrupt ``latest`` falls back to ``previous`` with a warning. Call
    ``restore_state(model, folder)`` just before learning.

    Every pickle of the checkpoint is decoded through ``agents.sb3_safe_load``'s allowlist, so a checkpoint
    file runs no code. The training schedules, which SB3 pickles by value (a ``lin_`` schedule is a lambda
    the safe decoder refuses), are rebuilt from the run's configuration instead (``_schedules``).
    """
    norm = _norm_kwargs(cfg["normalize"])
    cls = model_class(cfg)

    def load(ckpt: Path) -> tuple[BaseAlgorithm, Path]:
        steps_done = json.loads((ckpt / "steps.json").read_text())["num_timesteps"]
        venv = make_envs(cfg, cfg["n_envs"], env_seed + steps_done)
        if norm is not None:
            venv = load_vecnormalize(ckpt / "vecnormalize.pkl", venv)
        # force_reset=False keeps the saved _last_obs: the envs continue their episodes (agents.sb3_resume);
        # for_acting puts placeholders for the schedules, which _schedules' values and _setup_model replace
        model = load_model(cls, ckpt / "model.zip", env=venv, device="cpu", for_acting=True, force_reset=False,
                           custom_objects=_schedules(cfg))
        if (ckpt / "replay_buffer.pkl").exists():
            load_replay_buffer(model, ckpt / "replay_buffer.pkl")
        return model, ckpt

    return load_newest(directory, load)


def _schedules(cfg: dict[str, Any]) -> dict[str, Any]:
    """The schedule arguments of the run's algorithm as ``build_model`` passes them (the file's value, else
    the class default; ``lin_<x>`` as a schedule); SB3's ``_setup_model`` derives ``lr_schedule``, the
    clip-range schedules and DQN's exploration schedule from them."""
    hp = cfg["hyperparams"]
    params = inspect.signature(algo_class(cfg["algo"]).__init__).parameters  # SB3's own class (TargetDQN takes **kwargs)
    out = {}
    for key in ("learning_rate", "clip_range", "clip_range_vf"):
        if key in params:
            value = hp.get(key, params[key].default)
            out[key] = linear_schedule(value) if isinstance(value, str) else value
    return out


def _optional_int(value, key: str, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise HyperparameterError(f"{key}={value!r} in {where}: give a number of env steps (>= 0).")
    return value


def train(algo: str, env_id: str, out: str | Path, timesteps: int | None = None, seed: int = 0,
          scenario: str | None = None, hyperparams_file: str | Path | None = None, progress_bar: bool = True,
          command: list[str] | None = None, overwrite: bool = False) -> BaseAlgorithm:
    """Train (or resume) an SB3 model into ``out``; the final model is ``out/model.zip``. ``overwrite``
    deletes an earlier run in ``out`` first."""
    out = Path(out)
    cfg = resolve(algo, env_id, scenario, timesteps, seed, hyperparams_file)
    start_run(out, cfg, command, overwrite)
    env_seed = train_seed(seed)
    norm = _norm_kwargs(cfg["normalize"])
    loaded = load_checkpoint(cfg, out / "checkpoints", env_seed)
    model, ckpt = loaded if loaded is not None else (None, None)
    if model is None:
        venv = make_envs(cfg, cfg["n_envs"], env_seed)
        if norm is not None:
            venv = CenteringVecNormalize(venv, **norm)
        model = build_model(cfg, venv, env_seed)
    model.set_logger(make_logger(out / "logs"))
    eval_env = make_envs(cfg, 1, EVAL_SEED_BASE)
    if norm is not None:
        eval_env = VecNormalize(eval_env, training=False, norm_reward=False,
                                **{k: v for k, v in norm.items() if k not in ("training", "norm_reward", "center_reward")})
    per_call = cfg["n_envs"]
    eval_cb = SeededEvalCallback(eval_env, n_eval_episodes=cfg["n_eval_episodes"],
                                 eval_freq=max(1, cfg["eval_freq"] // per_call), log_path=str(out / "eval"),
                                 best_model_save_path=str(out / "best"), deterministic=True, verbose=0,
                                 callback_on_new_best=SaveNormalization(out / "best"), seed=EVAL_SEED_BASE)
    resume_eval_history(eval_cb, out / "eval", model.num_timesteps)
    ckpt_cb = LatestCheckpoint(out / "checkpoints", cfg["checkpoint_freq"], last=model.num_timesteps)
    callbacks = [eval_cb, ckpt_cb]
    if cfg.get("freeze_normalize_after") is not None:
        callbacks.insert(0, FreezeNormalization(cfg["freeze_normalize_after"]))
    remaining = cfg["timesteps"] - model.num_timesteps
    if ckpt is not None:
        restore_state(model, ckpt)  # last: nothing may draw random numbers between this and learn()
    if remaining > 0:
        model.learn(remaining, callback=callbacks, reset_num_timesteps=ckpt is None, progress_bar=progress_bar)
    model.save(out / "model.zip")
    if isinstance(model.get_env(), VecNormalize):
        model.get_env().save(str(out / "vecnormalize.pkl"))
    model.logger.close()
    return model


def dump_config(cfg: dict[str, Any]) -> str:
    """The resolved configuration as YAML text (for printing)."""
    return yaml.safe_dump(cfg, sort_keys=False)
