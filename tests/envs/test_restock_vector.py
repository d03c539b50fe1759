"""The native vector Restock env reproduces single envs exactly, across autoresets."""

import gymnasium as gym
import numpy as np
import pytest

import shopgym  # noqa: F401

#: Every per-step info entry (KPIs and per-SKU flows): the single env's must equal the vector env's row.
INFO_KEYS = ("profit", "revenue", "costs", "demand", "sold", "lost", "expired", "stockout_skus", "inventory",
             "unit_fill_rate", "ordered", "received", "on_hand", "demand_clipped")


def _single_trajectories(n, seed, actions, **kwargs):
    """Step n single envs like a NEXT_STEP-autoreset vector env would."""
    envs = [gym.make("shopgym/Restock-v0", **kwargs) for _ in range(n)]
    obs = [e.reset(seed=seed + i)[0] for i, e in enumerate(envs)]
    trace = [np.stack(obs)]
    needs_reset = False
    for a in actions:
        if needs_reset:
            trace.append(np.stack([e.reset()[0] for e in envs]))
            needs_reset = False
            continue
        steps = [e.step(a[i]) for i, e in enumerate(envs)]
        assert set(steps[0][4]) - {"episode_kpis"} == set(INFO_KEYS)
        trace.append(np.stack([s[0] for s in steps]))
        trace.append(np.array([s[1] for s in steps]))
        trace += [np.stack([np.asarray(s[4][k], dtype=float) for s in steps]) for k in INFO_KEYS]
        needs_reset = steps[0][2] or steps[0][3]
    return trace


def _vector_trajectories(n, seed, actions, **kwargs):
    venv = gym.make_vec("shopgym/Restock-v0", num_envs=n, vectorization_mode="vector_entry_point", **kwargs)
    trace = [venv.reset(seed=seed)[0]]
    needs_reset = False
    for a in actions:
        obs, rew, term, trunc, info = venv.step(a)
        trace.append(obs)
        if needs_reset:
            assert (rew == 0).all() and not term.any() and not trunc.any()
            needs_reset = False
            continue
        trace += [rew] + [np.asarray(info[k], dtype=float) for k in INFO_KEYS]
        needs_reset = term.all()
        assert term.all() == term.any() and not trunc.any()
    return trace


@pytest.mark.parametrize("kwargs", [{"horizon": 30}, {"scenario": "seasonal", "horizon": 25},
                                    {"scenario": "perishable", "horizon": 20}, {"horizon": 30, "continuous": True}])
def test_native_vector_env_equals_single_envs(kwargs):
    n, seed = 4, 17
    venv = gym.make_vec("shopgym/Restock-v0", num_envs=n, vectorization_mode="vector_entry_point", **kwargs)
    venv.action_space.seed(5)
    actions = [venv.action_space.sample() for _ in range(70)]  # crosses two autoresets
    vec = _vector_trajectories(n, seed, actions, **kwargs)
    single = _single_trajectories(n, seed, actions, **kwargs)
    assert len(vec) == len(single)
    for v, s in zip(vec, single, strict=True):
        np.testing.assert_array_equal(v, s)


def test_vector_env_same_seed_same_and_spaces_batched():
    make = lambda: gym.make_vec("shopgym/Restock-v0", num_envs=3, vectorization_mode="vector_entry_point",  # noqa: E731
                                scenario="steady")
    a, b = make(), make()
    assert a.observation_space.shape == (3, *a.single_observation_space.shape)
    oa, ob = a.reset(seed=1)[0], b.reset(seed=1)[0]
    np.testing.assert_array_equal(oa, ob)
    act = np.full((3, 10), 5)
    for _ in range(10):
        ra, rb = a.step(act), b.step(act)
        np.testing.assert_array_equal(ra[0], rb[0])
        np.testing.assert_array_equal(ra[1], rb[1])
    assert not np.array_equal(ra[0][0], ra[0][1])  # different sub-envs see different demand
