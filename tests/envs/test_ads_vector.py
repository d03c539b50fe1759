"""The native vector Ads-v0 (one batched World) equals single envs; next-step autoreset."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import shopgym  # noqa: F401  (registers the envs)
from shopgym.envs.ads_vector import AdsVectorEnv
from shopgym.errors import ActionError

TINY = dict(horizon=2, ticks_per_day=4, opportunities_per_day=400.0)


@pytest.mark.parametrize("continuous", [False, True])
def test_vector_env_gives_the_single_envs_trajectories(continuous):
    n = 3
    vec = gym.make_vec("shopgym/Ads-v0", num_envs=n, vectorization_mode="vector_entry_point", scenario="ads-stockout",
                       continuous=continuous, **TINY)
    singles = [gym.make("shopgym/Ads-v0", scenario="ads-stockout", continuous=continuous, **TINY) for _ in range(n)]
    obs, _ = vec.reset(seed=7)
    np.testing.assert_array_equal(obs, np.stack([e.reset(seed=7 + i)[0] for i, e in enumerate(singles)]))
    vec.action_space.seed(0)
    steps = TINY["horizon"] * TINY["ticks_per_day"]
    total = np.zeros(n)
    for t in range(steps):
        actions = vec.action_space.sample()
        obs, rewards, term, trunc, infos = vec.step(actions)
        total += rewards
        for i, env in enumerate(singles):
            o, r, te, tr, info = env.step(actions[i])
            np.testing.assert_array_equal(o, obs[i])
            assert r == rewards[i] and te == term[i] and not trunc[i]
            assert info["spend"] == infos["spend"][i] and info["budget_left"] == infos["budget_left"][i]
        assert term.all() == (t == steps - 1)
    np.testing.assert_allclose(total, infos["episode_kpis"]["ad_margin"] - infos["episode_kpis"]["ad_spend"])
    # next-step autoreset: the action is ignored, rewards 0, the first observation of a new episode
    obs, rewards, term, trunc, infos = vec.step(vec.action_space.sample())
    assert (rewards == 0).all() and not term.any() and (obs[:, 0] == 1.0).all() and (obs[:, 1] == 1.0).all()


def test_vector_env_refuses_a_batch_of_the_wrong_shape_and_renders_per_sub_env():
    vec = AdsVectorEnv(num_envs=2, scenario="ads-steady", render_mode="ansi", **TINY)
    vec.reset(seed=0)
    with pytest.raises(ActionError, match="shape"):
        vec.step(np.zeros((3, vec.view.n_campaigns), np.int64))
    vec.step(vec.action_space.sample())
    views = vec.render()
    assert len(views) == 2 and all("budget left" in v for v in views)
    with pytest.raises(ValueError, match="num_envs"):
        AdsVectorEnv(num_envs=0)
