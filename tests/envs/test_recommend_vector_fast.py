"""The compiled Recommend steps (``shopgym.envs.recommend_fast``) give the reference path's trajectories exactly.

The reference is ``RecommendEnv.step`` with the compiled steps switched off (``env._fast = None``): ``World.serve``,
the numpy-checked slate, ``RecommendView.session``; its own equality with the numpy engine is checked in
``tests/world/test_session_kernel.py`` and ``tests/envs/test_recommend.py``.
"""

import os
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

import shopgym  # noqa: F401
from shopgym.envs import recommend_fast
from shopgym.envs.recommend import RecommendEnv

pytestmark = pytest.mark.skipif(recommend_fast.step_shops is None,
                                reason="numba is not installed (or SHOPGYM_ENGINE=numpy)")

#: Short episodes (3 days of about 12 sessions): a few hundred steps cross many days and episodes. A busy funnel
#: (40 % clicks, half of them carted, half of those bought), so that a misplaced uniform changes what happens.
SMALL = {"scenario": "recommend", "horizon": 3, "sessions_per_day": 12.0, "n_shoppers": 60, "base_ctr": 0.4,
         "base_cart_rate": 0.5, "base_purchase_rate": 0.5}
CASES = [
    {},
    {"slate_size": 2, "memory_satisfaction": True, "memory_drift": True, "memory_fatigue": True,
     "satisfaction_loss": 0.03, "churn_threshold": 0.3},
    {"slate_size": 2, "coupons": True, "coupon_budget": 30.0, "complements": True, "memory_satisfaction": True},
]


def _actions(env: RecommendEnv, rng: np.random.Generator, n: int):
    space = env.action_space
    if isinstance(space, gym.spaces.Discrete):
        return [int(a) for a in rng.integers(0, space.n, n)]
    return [rng.integers(0, space.nvec) for _ in range(n)]


def _info_row(info: dict) -> dict:
    return {k: v for k, v in info.items()}


def _single_run(keys: dict, fast: bool, seed: int, steps: int):
    """Obs, reward, terminated, info and last_outcome of each step of one env, resetting (unseeded) at each end."""
    env = RecommendEnv(**{**SMALL, **keys})
    if not fast:
        env._fast = None
    assert (env._fast is not None) == fast
    obs, _ = env.reset(seed=seed)
    trace, ends = [obs], 0
    for a in _actions(env, np.random.default_rng(seed), steps):
        obs, reward, term, trunc, info = env.step(a)
        out = env.last_outcome
        trace += [obs, reward, term, trunc, _info_row(info), out.item, out.click, out.cart, out.purchase,
                  out.stockout_hit, out.revenue, out.session_margin, out.sessions, out.sold]
        if term:
            ends += 1
            trace.append(env.reset()[0])
    return trace, ends


def _assert_same(a, b) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        if isinstance(x, dict):
            assert x.keys() == y.keys()
            for key in x:
                assert x[key] == y[key] and type(x[key]) is type(y[key]), (key, x[key], y[key])
        else:
            np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("keys", CASES)
def test_compiled_single_env_equals_the_reference_path(keys, monkeypatch):
    monkeypatch.setattr(recommend_fast, "UNIFORM_BLOCK", 8)  # refill the drawn-ahead uniforms every few steps
    fast, ends = _single_run(keys, True, seed=4, steps=200)
    ref, _ = _single_run(keys, False, seed=4, steps=200)
    assert ends >= 4  # several day closes and episodes
    _assert_same(fast, ref)


def _reference_singles(n: int, seed: int, actions, keys: dict):
    """n reference-path envs stepped as a NEXT_STEP-autoreset vector env steps them: vector-shaped trace."""
    envs = [RecommendEnv(**{**SMALL, **keys}) for _ in range(n)]
    for e in envs:
        e._fast = None
    trace = [np.stack([e.reset(seed=seed + i)[0] for i, e in enumerate(envs)])]
    pending = np.zeros(n, dtype=bool)
    keys_seen = None
    for a in actions:
        rows, rewards, terms, infos = [], np.zeros(n), np.zeros(n, dtype=bool), [None] * n
        for i, e in enumerate(envs):
            if pending[i]:
                rows.append(e.reset()[0])
                continue
            o, r, term, _, info = e.step(a[i])
            rows.append(o)
            rewards[i], terms[i], infos[i] = r, term, info
            keys_seen = [k for k in info if k != "episode_kpis"]
        pending = terms
        figures = {} if all(inf is None for inf in infos) else \
            {k: np.array([inf[k] if inf is not None else 0 for inf in infos]) for k in keys_seen}
        kpis = {i: inf["episode_kpis"] for i, inf in enumerate(infos) if inf is not None and "episode_kpis" in inf}
        trace += [np.stack(rows), rewards, terms, figures, kpis]
    return trace


def _vector_run(n: int, seed: int, actions, keys: dict):
    venv = gym.make_vec("shopgym/Recommend-v0", num_envs=n, vectorization_mode="vector_entry_point", **{**SMALL, **keys})
    assert venv._fast is not None
    trace = [venv.reset(seed=seed)[0]]
    for a in actions:
        obs, rew, term, trunc, info = venv.step(a)
        assert not trunc.any()
        figures = {k: v for k, v in info.items() if not k.startswith("_") and k != "episode_kpis"}
        kpis = {}
        if "episode_kpis" in info:
            np.testing.assert_array_equal(info["_episode_kpis"], term)
            kpis = {int(i): {k: float(v[i]) for k, v in info["episode_kpis"].items() if not k.startswith("_")}
                    for i in np.flatnonzero(term)}
        trace += [obs, rew, term, figures, kpis]
    return trace


def _assert_vector_equal(vec, ref) -> None:
    assert len(vec) == len(ref)
    for v, r in zip(vec, ref, strict=True):
        if isinstance(v, dict) and v and isinstance(next(iter(v.values())), dict):  # episode KPIs by sub-env
            assert v == r
        elif isinstance(v, dict):
            assert v.keys() == r.keys()  # no figures at all on a step where every sub-env resets
            for key in r:
                np.testing.assert_array_equal(v[key], r[key], err_msg=key)
                assert v[key].dtype.kind == r[key].dtype.kind, key
        else:
            np.testing.assert_array_equal(v, r)


@pytest.mark.parametrize("keys", CASES)
def test_native_vector_env_equals_reference_single_envs(keys, monkeypatch):
    monkeypatch.setattr(recommend_fast, "UNIFORM_BLOCK", 8)
    n, seed = 3, 21
    venv = gym.make_vec("shopgym/Recommend-v0", num_envs=n, vectorization_mode="vector_entry_point", **{**SMALL, **keys})
    venv.action_space.seed(7)
    actions = [venv.action_space.sample() for _ in range(150)]
    vec = _vector_run(n, seed, actions, keys)
    ref = _reference_singles(n, seed, actions, keys)
    assert sum(int(t.sum()) for t in ref[3::5]) >= 2 * n  # several episodes ended and autoreset
    _assert_vector_equal(vec, ref)


def test_sub_envs_on_both_sides_of_a_weekend_equal_reference_single_envs(monkeypatch):
    """The compiled step serves the sub-envs' sessions in one call per run of sub-envs with the same weekend flag
    (the serve takes one); sub-envs whose days drift apart straddle Friday/Saturday and Sunday/Monday."""
    monkeypatch.setattr(recommend_fast, "UNIFORM_BLOCK", 8)
    keys = {"horizon": 8, "sessions_per_day": 4.0}  # days 5 and 6 are the weekend (the scenario starts on a Monday)
    n, seed = 5, 3
    venv = gym.make_vec("shopgym/Recommend-v0", num_envs=n, vectorization_mode="vector_entry_point", **{**SMALL, **keys})
    venv.action_space.seed(1)
    actions = [venv.action_space.sample() for _ in range(200)]
    venv.reset(seed=seed)
    mixed = 0
    for a in actions:  # the case under test happens: a step whose next sessions fall on both kinds of day
        venv.step(a)
        weekend = venv._fast.ctl[:, recommend_fast._WEEKEND]
        mixed += 0 < weekend.sum() < n
    assert mixed >= 5
    vec = _vector_run(n, seed, actions, keys)
    ref = _reference_singles(n, seed, actions, keys)
    assert sum(int(t.sum()) for t in ref[3::5]) >= 2 * n
    _assert_vector_equal(vec, ref)


def test_candidates_outside_the_per_category_cache_are_computed_in_place():
    """The compiled step keeps each shop's candidates and item block per last clicked category; a category without a
    cache row (here: every one, the cache cut to the no-click row) is computed in place, with the same trajectory."""
    n = 2
    full = gym.make_vec("shopgym/Recommend-v0", num_envs=n, vectorization_mode="vector_entry_point", **SMALL)
    cut = gym.make_vec("shopgym/Recommend-v0", num_envs=n, vectorization_mode="vector_entry_point", **SMALL)
    fast = cut._fast
    fast._cache_items = fast._cache_items[:, :1].copy()
    fast._cache_block = fast._cache_block[:, :1].copy()
    fast._args = None
    np.testing.assert_array_equal(full.reset(seed=2)[0], cut.reset(seed=2)[0])
    clicked = 0
    for t in range(80):
        a = np.array([t % 10, (3 * t) % 10])
        got, want = cut.step(a), full.step(a)
        for x, y in zip(got[:3], want[:3], strict=True):
            np.testing.assert_array_equal(x, y)
        clicked += int((fast.state.last_category[np.arange(n), fast.ctl[:, recommend_fast._SHOPPER]] >= 0).sum())
    assert clicked > 20  # most observed shoppers had a last category: the in-place path ran


def test_a_sub_env_stepped_alone_is_reattached_by_the_next_reset():
    n = 2
    fresh = gym.make_vec("shopgym/Recommend-v0", num_envs=n, vectorization_mode="vector_entry_point", **SMALL)
    venv = gym.make_vec("shopgym/Recommend-v0", num_envs=n, vectorization_mode="vector_entry_point", **SMALL)
    venv.reset(seed=0)
    sub = venv.envs[0]
    sub.reset(seed=5)  # the reference path of that sub-env: its world gets fresh arrays
    for _ in range(5):
        sub.step(0)
    a = np.zeros(n, dtype=np.int64)
    np.testing.assert_array_equal(venv.reset(seed=3)[0], fresh.reset(seed=3)[0])
    for _ in range(40):
        got, want = venv.step(a), fresh.step(a)
        for x, y in zip(got[:3], want[:3], strict=True):
            np.testing.assert_array_equal(x, y)


def test_numpy_engine_vector_env_equals_single_envs():
    """With ``SHOPGYM_ENGINE=numpy`` nothing is compiled: the vector env steps each sub-env's reference path."""
    code = """
import gymnasium as gym, numpy as np, shopgym
from shopgym.envs.recommend import RecommendEnv
keys = dict(scenario="recommend", horizon=2, sessions_per_day=6.0, n_shoppers=40, slate_size=2, coupons=True,
            memory_satisfaction=True)
venv = gym.make_vec("shopgym/Recommend-v0", num_envs=2, vectorization_mode="vector_entry_point", **keys)
assert venv._fast is None and venv.envs[0]._fast is None
singles = [RecommendEnv(**keys) for _ in range(2)]
obs = venv.reset(seed=1)[0]
np.testing.assert_array_equal(obs, np.stack([e.reset(seed=1 + i)[0] for i, e in enumerate(singles)]))
venv.action_space.seed(0)
pending, ends = np.zeros(2, dtype=bool), 0
for _ in range(60):
    a = venv.action_space.sample()
    obs, rew, term, _, _ = venv.step(a)
    for i, e in enumerate(singles):
        if pending[i]:
            np.testing.assert_array_equal(obs[i], e.reset()[0])
            continue
        o, r, t, _, _ = e.step(a[i])
        np.testing.assert_array_equal(obs[i], o)
        assert rew[i] == r and term[i] == t
    pending, ends = term, ends + term.sum()
assert ends >= 2
print("ok")
"""
    env = {**os.environ, "SHOPGYM_ENGINE": "numpy"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "ok"


def test_bad_actions_are_refused_before_anything_changes():
    from shopgym.errors import ActionError

    n = 3
    venv = gym.make_vec("shopgym/Recommend-v0", num_envs=n, vectorization_mode="vector_entry_point", **SMALL)
    twin = gym.make_vec("shopgym/Recommend-v0", num_envs=n, vectorization_mode="vector_entry_point", **SMALL)
    np.testing.assert_array_equal(venv.reset(seed=8)[0], twin.reset(seed=8)[0])
    k = venv.single_action_space.n
    with pytest.raises(ActionError, match="sub-env 2 is not in the action space"):
        venv.step(np.array([0, 1, k]))  # sub-envs 0 and 1 are valid: they must not be served either
    with pytest.raises(ActionError, match="integers"):
        venv.step(np.full(n, 0.5))
    for t in range(30):
        a = np.array([t % k, (t + 1) % k, (2 * t) % k])
        got, want = venv.step(a), twin.step(a)
        for x, y in zip(got[:3], want[:3], strict=True):
            np.testing.assert_array_equal(x, y)
