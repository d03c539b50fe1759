"""The native vector Recommend env reproduces single envs exactly, with per-sub-env next-step autoresets."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import shopgym  # noqa: F401
from shopgym.errors import ActionError

#: Tiny episodes (2 days of about 5 sessions): 45 steps cross several autoresets at different steps per sub-env.
SMALL = {"scenario": "recommend", "horizon": 2, "sessions_per_day": 5.0}
INFO_KEYS = ("day", "session_margin", "clicks", "purchases", "stockouts_hit", "ctr", "revenue", "coverage")


def _single_trajectories(n, seed, actions, **kwargs):
    """Step n single envs like a NEXT_STEP-autoreset vector env would (each sub-env resets on its own)."""
    envs = [gym.make("shopgym/Recommend-v0", **kwargs) for _ in range(n)]
    obs = np.stack([e.reset(seed=seed + i)[0] for i, e in enumerate(envs)])
    trace, needs_reset, ends = [obs], np.zeros(n, dtype=bool), 0
    for a in actions:
        rows, rewards, terms, info = [], np.zeros(n), np.zeros(n, dtype=bool), np.zeros((n, len(INFO_KEYS)))
        for i, e in enumerate(envs):
            if needs_reset[i]:
                rows.append(e.reset()[0])
                continue
            o, r, term, trunc, inf = e.step(a[i])
            assert not trunc
            rows.append(o)
            rewards[i], terms[i] = r, term
            info[i] = [inf[k] for k in INFO_KEYS]
            ends += term
        needs_reset = terms
        trace += [np.stack(rows), rewards, terms, info]
    return trace, ends


def _vector_trajectories(n, seed, actions, **kwargs):
    venv = gym.make_vec("shopgym/Recommend-v0", num_envs=n, vectorization_mode="vector_entry_point", **kwargs)
    trace = [venv.reset(seed=seed)[0]]
    for a in actions:
        obs, rew, term, trunc, info = venv.step(a)
        assert not trunc.any()
        stepped = info.get("_clicks", np.zeros(n, dtype=bool))
        rows = np.stack([np.where(stepped, np.asarray(info[k], dtype=float), 0.0) if k in info else np.zeros(n)
                         for k in INFO_KEYS], axis=1)
        trace += [obs, rew, term, rows]
    return trace


@pytest.mark.parametrize("kwargs", [{}, {"slate_size": 2, "memory_satisfaction": True, "memory_drift": True}])
def test_native_vector_env_equals_single_envs(kwargs):
    n, seed = 3, 11
    kwargs = {**SMALL, **kwargs}
    venv = gym.make_vec("shopgym/Recommend-v0", num_envs=n, vectorization_mode="vector_entry_point", **kwargs)
    venv.action_space.seed(5)
    actions = [venv.action_space.sample() for _ in range(45)]
    vec = _vector_trajectories(n, seed, actions, **kwargs)
    single, ends = _single_trajectories(n, seed, actions, **kwargs)
    assert ends >= 2 * n  # several episodes ended (and autoreset) within the 45 steps
    assert len(vec) == len(single)
    for v, s in zip(vec, single, strict=True):
        np.testing.assert_array_equal(v, s)


def test_autoreset_is_per_sub_env_on_the_next_step():
    n = 4
    venv = gym.make_vec("shopgym/Recommend-v0", num_envs=n, vectorization_mode="vector_entry_point", **SMALL)
    venv.reset(seed=0)
    pending = np.zeros(n, dtype=bool)
    staggered = False
    for _ in range(80):
        obs, rew, term, _, info = venv.step(np.zeros(n, dtype=np.int64))
        assert (rew[pending] == 0).all() and not term[pending].any()  # the autoreset step of those sub-envs
        if "_episode_kpis" in info:
            np.testing.assert_array_equal(info["_episode_kpis"], term)
        staggered |= bool(term.any() and not term.all())
        pending = term
    assert staggered  # episodes of different lengths end at different steps


@pytest.mark.filterwarnings("ignore:.*not having a spec")
def test_spaces_checker_and_bad_actions():
    venv = gym.make_vec("shopgym/Recommend-v0", num_envs=2, vectorization_mode="vector_entry_point", **SMALL)
    assert venv.observation_space.shape == (2, *venv.single_observation_space.shape)
    obs, _ = venv.reset(seed=1)
    assert venv.observation_space.contains(obs)
    obs, *_ = venv.step(venv.action_space.sample())
    assert venv.observation_space.contains(obs)
    with pytest.raises(ActionError, match="shape"):
        venv.step(np.zeros(3, dtype=np.int64))
    with pytest.raises(ActionError, match="action space"):
        venv.step(np.array([0, 99]))
    check_env(venv.envs[0])  # every sub-env is a plain RecommendEnv
