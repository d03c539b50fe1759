"""The residual action mode of Ads-v0 (``shopgym.envs.ads_actions``, ``shopgym/AdsResidual-v0``): env checkers, the
zero action equal to ``dual_pacing_stock`` on every ads scenario, vector = single, the stated direction of actions,
clear errors."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import shopgym  # noqa: F401  (registers the envs)
from agents.ads_heuristics import dual_pacing_stock
from shopgym.envs.ads_actions import RESIDUAL_ENV_ID, ResidualPacing, ResidualPolicy
from shopgym.errors import ActionError, ScenarioError

TINY = dict(horizon=2, ticks_per_day=6, opportunities_per_day=1200.0)
SCENARIOS = ("ads-steady", "ads-competitive", "ads-budget-cut", "ads-stockout")


@pytest.mark.parametrize("kwargs", [{}, {"levels": 5, "max_scale": 1.5}, {"extra_obs": False}],
                         ids=["box", "discrete", "no-extra-obs"])
def test_env_checkers_pass(kwargs):
    check_env(_raw(gym.make(RESIDUAL_ENV_ID, scenario="ads-stockout", **TINY, **kwargs)), skip_render_check=True)
    sb3_check_env(gym.make(RESIDUAL_ENV_ID, scenario="ads-stockout", **TINY, **kwargs), warn=False)


def _trace(env, act, seed):
    obs, _ = env.reset(seed=seed)
    rows, done = [], False
    while not done:
        obs, reward, done, _, info = env.step(act(obs))
        rows.append([*obs[:env.unwrapped.observation_space.shape[0]], reward, info["spend"], info["wins"]])
    return np.array(rows)


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("levels", [None, 5])
def test_zero_action_is_exactly_dual_pacing_stock(scenario, levels):
    """The full shipped scenario (3-4 days of 24 ticks): zero action (or the middle level) = the baseline, tick for
    tick: same observations, rewards, spend and wins."""
    wrapped = gym.make(RESIDUAL_ENV_ID, scenario=scenario, levels=levels)
    act0 = (lambda obs: np.zeros(wrapped.action_space.shape, np.float32)) if levels is None else (lambda obs: levels // 2)
    got = _trace(wrapped, act0, 11)
    plain = gym.make("shopgym/Ads-v0", scenario=scenario, continuous=True)
    policy = dual_pacing_stock(plain)
    policy.reset(11)
    want = _trace(plain, policy.act, 11)
    assert len(got) == plain.unwrapped.world.horizon * 24
    assert want[:, -2].sum() > 0  # it spends: the comparison means something
    np.testing.assert_array_equal(got, want)


def test_actions_scale_the_base_multipliers_in_the_stated_direction():
    env = gym.make(RESIDUAL_ENV_ID, scenario="ads-steady", max_scale=1.5, **TINY)
    obs, _ = env.reset(seed=0)
    wrapper = _raw(env)
    base = wrapper.core.base[0].copy()
    assert (base > 0).all()
    a = np.array([-1.0, -0.5, 0.5, 1.0], np.float32)
    lam = wrapper.core.multipliers(a[None])[0]
    np.testing.assert_allclose(lam, np.clip(base * 1.5 ** a.astype(np.float64), 0, 2.0), rtol=1e-6)
    # over an episode, higher exponents spend more (same seed, same opportunities)
    spend = {}
    for x in (-1.0, 0.0, 1.0):
        spend[x] = _trace(env, lambda obs, x=x: np.full(4, x, np.float32), 3)[:, -2].sum()
    assert spend[-1.0] < spend[0.0] < spend[1.0]
    # the extra observation entries: base multiplier / 2, the dual multiplier, the pacing error
    obs, _ = env.reset(seed=0)
    n = env.unwrapped.observation_space.shape[0]
    extra = obs[n:].reshape(4, 3)
    np.testing.assert_allclose(extra[:, 0], wrapper.core.base[0] / 2.0, rtol=1e-6)
    assert (extra[:, 1] == 1.0).all() and np.all(extra[:, 2] == 0.0)  # mu = 0, nothing spent, no traffic elapsed


@pytest.mark.parametrize("levels", [None, 3])
def test_vector_env_gives_the_single_envs_trajectories_and_resets_the_pacing(levels):
    n = 3
    vec = gym.make_vec(RESIDUAL_ENV_ID, num_envs=n, vectorization_mode="vector_entry_point", scenario="ads-stockout",
                       levels=levels, **TINY)
    singles = [gym.make(RESIDUAL_ENV_ID, scenario="ads-stockout", levels=levels, **TINY) for _ in range(n)]
    obs, _ = vec.reset(seed=5)
    np.testing.assert_array_equal(obs, np.stack([e.reset(seed=5 + i)[0] for i, e in enumerate(singles)]))
    vec.action_space.seed(1)
    steps = TINY["horizon"] * TINY["ticks_per_day"]
    for _ in range(steps):
        actions = vec.action_space.sample()
        obs, rewards, term, _, _ = vec.step(actions)
        for i, env in enumerate(singles):
            o, r, te, _, _ = env.step(actions[i])
            np.testing.assert_array_equal(o, obs[i])
            assert r == rewards[i] and te == term[i]
    assert term.all()
    first = obs
    obs, rewards, term, _, _ = vec.step(vec.action_space.sample())  # next-step autoreset: a new episode, fresh pacing
    base_n = singles[0].unwrapped.observation_space.shape[0]
    extra = obs[:, base_n:].reshape(n, -1, 3)
    assert (rewards == 0).all() and not term.any() and (obs[:, 0] == 1.0).all()
    assert (extra[..., 1] == 1.0).all() and (extra[..., 2] == 0.0).all()
    assert not np.array_equal(first, obs)


def test_same_seed_same_actions_same_trajectory():
    runs = []
    for _ in range(2):
        env = gym.make(RESIDUAL_ENV_ID, scenario="ads-budget-cut", **TINY)
        rng = np.random.default_rng(0)
        runs.append(_trace(env, lambda obs, rng=rng: rng.uniform(-1, 1, 4).astype(np.float32), 2))
    np.testing.assert_array_equal(*runs)


def test_bad_actions_and_settings_get_clear_errors():
    env = gym.make(RESIDUAL_ENV_ID, scenario="ads-steady", **TINY)
    env.reset(seed=0)
    for bad, match in ((np.full(4, np.nan, np.float32), "finite"), (np.full(4, 1.5, np.float32), r"\[-1, 1\]"),
                       (np.zeros(3, np.float32), "shape"), (np.array(["a"] * 4), "numbers")):
        with pytest.raises(ActionError, match=match):
            _raw(env).step(bad)
    disc = gym.make(RESIDUAL_ENV_ID, scenario="ads-steady", levels=5, **TINY)
    disc.reset(seed=0)
    with pytest.raises(ActionError, match="levels must be integers"):
        _raw(disc).step(7)
    with pytest.raises(ScenarioError, match="odd integer"):
        gym.make(RESIDUAL_ENV_ID, scenario="ads-steady", levels=4)
    with pytest.raises(ScenarioError, match="max_scale"):
        gym.make(RESIDUAL_ENV_ID, scenario="ads-steady", max_scale=1.0)
    with pytest.raises(ScenarioError, match="continuous=True"):
        ResidualPacing(gym.make("shopgym/Ads-v0", scenario="ads-steady"))
    with pytest.raises(ScenarioError, match="levels=L"):
        gym.make(RESIDUAL_ENV_ID, scenario="ads-steady", continuous=False)
    with pytest.raises(RuntimeError, match="reset"):
        _raw(gym.make(RESIDUAL_ENV_ID, scenario="ads-steady", **TINY)).step(np.zeros(4, np.float32))


def _raw(env):
    """The ``ResidualPacing`` under gymnasium's checker wrappers (which refuse some bad actions first)."""
    while not isinstance(env, ResidualPacing):
        env = env.env
    return env


@pytest.mark.parametrize("continuous", [True, False])
def test_residual_policy_on_plain_ads_v0_replays_the_wrapped_trajectory(continuous):
    """A model of the residual env acting on plain Ads-v0 (``agents.trained`` loads runs this way): the same
    trajectory as the wrapper on the continuous env; on the discrete env the nearest levels, as the heuristics."""
    rng = np.random.default_rng(4)
    actions = rng.uniform(-1, 1, (TINY["horizon"] * TINY["ticks_per_day"], 4)).astype(np.float32)

    class Scripted:
        name = "scripted"

        def reset(self, seed=None):
            self.i = 0

        def act(self, obs):
            self.i += 1
            return actions[self.i - 1]

    wrapped = gym.make(RESIDUAL_ENV_ID, scenario="ads-stockout", max_scale=1.5, **TINY)
    it = iter(actions)
    want = _trace(wrapped, lambda obs: next(it), 9)
    plain = gym.make("shopgym/Ads-v0", scenario="ads-stockout", continuous=continuous, **TINY)
    policy = ResidualPolicy(Scripted(), plain, {"max_scale": 1.5}, wrapped.observation_space)
    policy.reset(9)
    got = _trace(plain, policy.act, 9)
    if continuous:
        np.testing.assert_array_equal(got, want)
    else:
        assert len(got) == len(want) and got[:, -2].sum() > 0
    with pytest.raises(ValueError, match="trained on observations"):
        ResidualPolicy(Scripted(), plain, {"extra_obs": False}, wrapped.observation_space)


def test_expected_reward_is_the_expected_ad_profit_of_the_impressions_won():
    """``expected_reward=True``: the episode's rewards sum to ``expected_ad_profit`` of its opportunity log (single
    and vector env), the observations and spend are those of the realised-reward env, and the realised and expected
    episode profits differ only by the shoppers' draws."""
    from agents.ads_heuristics import expected_ad_profit

    kw = dict(scenario="ads-stockout", reward_scale=0.5, **TINY)
    env = gym.make(RESIDUAL_ENV_ID, expected_reward=True, **kw)
    plain = gym.make(RESIDUAL_ENV_ID, **kw)
    act = lambda obs: np.full(4, 0.3, np.float32)  # noqa: E731
    got, want = _trace(env, act, 6), _trace(plain, act, 6)
    np.testing.assert_array_equal(np.delete(got, -3, axis=1), np.delete(want, -3, axis=1))  # all but the reward
    log = env.unwrapped.world.opportunity_log()
    assert got[:, -3].sum() == pytest.approx(0.5 * expected_ad_profit(log, 1)[0], rel=1e-9)
    assert got[:, -3].sum() != want[:, -3].sum()
    vec = gym.make_vec(RESIDUAL_ENV_ID, num_envs=2, vectorization_mode="vector_entry_point", expected_reward=True, **kw)
    vec.reset(seed=6)
    total, done = np.zeros(2), False
    while not done:
        _, rewards, term, _, _ = vec.step(np.full((2, 4), 0.3, np.float32))
        total += rewards
        done = term[0]
    np.testing.assert_allclose(total, 0.5 * expected_ad_profit(vec.unwrapped.world.opportunity_log(), 2), rtol=1e-9)
    assert total[0] == pytest.approx(got[:, -3].sum(), rel=1e-12)
    _, rewards, *_ = vec.step(np.zeros((2, 4), np.float32))  # the autoreset step
    assert (rewards == 0).all()
