"""Our DQN: tiny trainings, determinism, next-step autoreset, save/load, resume, config errors, reward centering."""

import gymnasium as gym
import numpy as np
import pytest
import torch

import shopgym  # noqa: F401
from agents.dqn import DQN, DQNConfig, HyperparameterError, latest_checkpoint
from agents.dqn.buffer import Batch, NStepAccumulator
from tests.agents.conftest import RESTOCK, SHORT, TINY_DQN


def weights(model):
    return torch.cat([p.detach().flatten() for p in model.policy.q_net.parameters()])


@pytest.mark.parametrize("env_id, kwargs, extra", [
    ("CartPole-v1", {}, {}),
    (RESTOCK, {**SHORT, "reward_scale": 0.1}, {"n_step": 3, "prioritized": True, "n_envs": 2}),
])
def test_tiny_training_runs(env_id, kwargs, extra):
    model = DQN(env_id, {**TINY_DQN, **extra}, seed=0, env_kwargs=kwargs)
    model.learn(300)
    assert model.num_timesteps == 300 and model.n_updates > 0
    if env_id == RESTOCK:
        # 150 vector steps per copy; an episode is 30 steps plus the autoreset step, so each copy finishes
        # its episodes at steps 30, 61, 92 and 123 (the fifth would end at 154): 4 per copy, 2 copies
        assert model.n_episodes == 8
    else:
        # one step per env step (n_step 1), every CartPole episode under 500 steps ends by termination,
        # which stores exactly one terminal transition; a failing pole ends several episodes in 300 steps
        stored = model.buffer.done[: len(model.buffer)]
        assert model.n_episodes == int(stored.sum()) and model.n_episodes >= 3
    env = gym.make(env_id, **kwargs)
    obs, _ = env.reset(seed=0)
    assert env.action_space.contains(model.predict(obs))


def test_same_seed_same_result_different_seed_differs():
    a, b, c = (DQN("CartPole-v1", TINY_DQN, seed=s).learn(250) for s in (3, 3, 4))
    assert torch.equal(weights(a), weights(b))
    assert not torch.equal(weights(a), weights(c))


def test_autoreset_step_is_not_stored():
    """Episodes of 5 steps: every 6th vector step is the autoreset step, which is no transition."""
    env = gym.make("CartPole-v1", max_episode_steps=5)
    model = DQN(env, {**TINY_DQN, "learning_starts": 1000}, seed=0)
    model.learn(60)
    assert len(model.buffer) == 50 and model.n_episodes == 10
    # within an episode next_obs of one transition is obs of the next; never across a reset
    obs, nxt = model.buffer.obs[:50], model.buffer.next_obs[:50]
    for i in range(49):
        if (i + 1) % 5:
            np.testing.assert_array_equal(nxt[i], obs[i + 1])
        else:
            assert not np.array_equal(nxt[i], obs[i + 1])


def test_save_then_load_gives_identical_actions(tmp_path):
    model = DQN("CartPole-v1", TINY_DQN, seed=1).learn(200)
    model.save(tmp_path / "m")
    loaded = DQN.load(tmp_path / "m")
    obs = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    np.testing.assert_array_equal(model.predict(obs), loaded.predict(obs))
    assert loaded.num_timesteps == 200 and loaded.config == model.config


def test_load_checks_spaces(tmp_path):
    DQN("CartPole-v1", TINY_DQN, seed=1).save(tmp_path / "m")
    with pytest.raises(ValueError, match="observation space mismatch"):
        DQN.load(tmp_path / "m", env=gym.make("Acrobot-v1"))


def test_resume_continues_step_counter_and_buffer(tmp_path):
    model = DQN("CartPole-v1", TINY_DQN, seed=2)
    model.learn(300, checkpoint_dir=tmp_path / "ckpt", checkpoint_freq=100, log_dir=tmp_path / "logs")
    ckpt = latest_checkpoint(tmp_path / "ckpt")
    with pytest.warns(UserWarning, match="episodes restart on resume"):  # CartPole cannot save its episodes
        resumed = DQN.load(ckpt)
    assert resumed.num_timesteps == 300 and len(resumed.buffer) == len(model.buffer)
    rows_before = len((tmp_path / "logs" / "episodes.csv").read_text().splitlines())
    resumed.learn(500, log_dir=tmp_path / "logs")
    assert resumed.num_timesteps == 500 and resumed.n_updates > model.n_updates
    lines = (tmp_path / "logs" / "episodes.csv").read_text().splitlines()
    assert len(lines) > rows_before and lines[0].startswith("step,") and sum(ln.startswith("step,") for ln in lines) == 1


def test_config_errors_name_the_key():
    with pytest.raises(HyperparameterError, match="'lerning_rate'.*Did you mean 'learning_rate'"):
        DQNConfig.from_dict({"lerning_rate": 1e-3})
    with pytest.raises(HyperparameterError, match="batch_size"):
        DQNConfig.from_dict({"batch_size": "64"})
    with pytest.raises(HyperparameterError, match="gamma"):
        DQNConfig(gamma=1.5)


def test_learning_rate_decays_linearly():
    model = DQN("CartPole-v1", {**TINY_DQN, "learning_rate": 1e-3, "lr_final_fraction": 0.0}, seed=0)
    model.total_timesteps, model.num_timesteps = 100, 50
    assert model.learning_rate() == pytest.approx(5e-4)


def test_rejects_non_discrete_actions():
    with pytest.raises(ValueError, match="Discrete action"):
        DQN(RESTOCK, TINY_DQN, env_kwargs={**SHORT, "continuous": True})


def test_native_vector_env_autoreset_step_is_not_stored():
    """Restock's native vector env: 2 worlds, 5-day episodes, so every 6th vector step is an autoreset step."""
    model = DQN(RESTOCK, {**TINY_DQN, "learning_starts": 1000, "n_envs": 2}, seed=0, env_kwargs={"horizon": 5})
    assert type(model.envs.unwrapped).__name__ == "RestockVectorEnv"
    model.learn(60)
    assert len(model.buffer) == 50 and model.n_episodes == 10


def test_best_model_is_kept(tmp_path):
    model = DQN("CartPole-v1", TINY_DQN, seed=0)
    model.learn(300, eval_env=gym.make("CartPole-v1"), eval_freq=100, eval_seeds=[1], best_dir=tmp_path / "best",
                log_dir=tmp_path / "logs")
    best = DQN.load(tmp_path / "best")
    evals = np.loadtxt(tmp_path / "logs" / "eval.csv", delimiter=",", skiprows=1, ndmin=2)
    assert best.best_eval == model.best_eval == evals[:, 1].max() and best.num_timesteps <= 300


# ---------------------------------------------------------------- reward centering
def hand_batch(returns, discount, done):
    n = len(returns)
    obs = np.random.default_rng(0).normal(size=(n, 4)).astype(np.float32)
    return Batch(obs, np.zeros(n, dtype=np.int64), np.asarray(returns, np.float32), obs[::-1].copy(),
                 np.asarray(done, np.float32), np.asarray(discount, np.float32), np.ones(n, np.float32), np.arange(n))


def test_centering_off_is_the_old_algorithm():
    """Off (the default), the centering window is ignored and nothing is tracked: same weights, mean 0."""
    plain = DQN("CartPole-v1", TINY_DQN, seed=3).learn(250)
    off = DQN("CartPole-v1", {**TINY_DQN, "reward_centering": False, "reward_centering_window": 7}, seed=3).learn(250)
    assert torch.equal(weights(plain), weights(off)) and off.reward_mean == 0.0 and off.reward_count == 0
    b = hand_batch([1.0, 2.0], [0.9, 0.5], [0.0, 1.0])
    np.testing.assert_array_equal(off.centered_returns(b.returns, b.discount), b.returns)


def test_centering_shifts_targets_by_the_discounted_mean():
    """On a hand-built batch, k-step targets drop by reward_mean x (1 + gamma + ... + gamma^(k-1)),
    with or without bootstrap, and that equals accumulating rewards minus the mean step by step."""
    gamma, mean = 0.9, 2.0
    model = DQN("CartPole-v1", {**TINY_DQN, "gamma": gamma, "reward_centering": True}, seed=0)
    model.reward_mean = mean
    b = hand_batch([1.0, 3.0, -0.5], [gamma**3, gamma, gamma**2], [0.0, 0.0, 1.0])
    centered = model.td_targets(b).numpy()
    model.config.reward_centering = False
    plain = model.td_targets(b).numpy()
    np.testing.assert_allclose(plain - centered, [mean * (1 + gamma + gamma**2), mean, mean * (1 + gamma)], rtol=1e-6)
    # the same 3-step return from raw rewards, centered per reward before accumulating
    rewards = [1.0, 4.0, -2.0]
    raw, shifted = NStepAccumulator(3, gamma), NStepAccumulator(3, gamma)
    for r in rewards:
        out_raw = raw.push(0, 0, r, 0, False, False)
        out_shifted = shifted.push(0, 0, r - mean, 0, False, False)
    model.config.reward_centering = True
    got = model.centered_returns(np.float32([out_raw[0][2]]), np.float32([out_raw[0][5]]))
    np.testing.assert_allclose(got, [out_shifted[0][2]], rtol=1e-6)


def test_advantage_learning_lowers_targets_by_alpha_times_the_action_gap():
    """On a hand-built batch: the target of (s, a) drops by alpha x (max_b Q_target(s, b) - Q_target(s, a)),
    computed by hand from the target net; the target's own best action keeps its plain target."""
    alpha = 0.75
    model = DQN("CartPole-v1", {**TINY_DQN, "advantage_learning": alpha}, seed=0)
    with torch.no_grad():  # a target net unlike the online net, so that the gaps are not all zero
        for p in model.policy.q_target.parameters():
            p.add_(torch.randn_like(p))
    b = hand_batch([1.0, 3.0, -0.5, 0.2], [0.9, 0.9, 0.81, 0.9], [0.0, 1.0, 0.0, 0.0])
    with torch.no_grad():
        q = model.policy.q_target(torch.from_numpy(b.obs)).numpy()
    best = q.argmax(1)
    b.actions[:] = [best[0], 1 - best[1], 1 - best[2], best[3]]  # CartPole: actions 0 and 1
    gap = q.max(1) - q[np.arange(4), b.actions]
    assert gap[1] > 0 and gap[2] > 0 and gap[0] == gap[3] == 0
    got = model.td_targets(b).numpy()
    model.config.advantage_learning = 0.0
    plain = model.td_targets(b).numpy()
    np.testing.assert_allclose(plain - got, alpha * gap, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("alpha", [-0.1, 1.0, 1.5])
def test_advantage_learning_must_be_in_zero_one(alpha):
    with pytest.raises(HyperparameterError, match="advantage_learning"):
        DQNConfig(advantage_learning=alpha)


def test_reward_mean_is_the_plain_mean_then_a_moving_average():
    model = DQN("CartPole-v1", {**TINY_DQN, "reward_centering": True, "reward_centering_window": 4}, seed=0)
    model._track_reward_mean(np.array([1.0, 3.0]))
    model._track_reward_mean(np.array([8.0]))
    assert model.reward_mean == pytest.approx(4.0) and model.reward_count == 3
    model._track_reward_mean(np.array([0.0, 0.0]))  # past the window of 4: weight 2/4
    assert model.reward_mean == pytest.approx(2.0) and model.reward_count == 5


def test_reward_mean_counts_only_transitions():
    """CartPole pays 1 per step; the autoreset steps (reward 0) must not pull the mean below 1."""
    env = gym.make("CartPole-v1", max_episode_steps=5)
    model = DQN(env, {**TINY_DQN, "reward_centering": True}, seed=0).learn(60)
    assert model.reward_mean == 1.0 and model.reward_count == 50


def test_reward_mean_survives_save_load_and_resume(tmp_path):
    env_kwargs = {**SHORT, "reward_scale": 0.1}
    model = DQN(RESTOCK, {**TINY_DQN, "reward_centering": True}, seed=2, env_kwargs=env_kwargs)
    model.learn(200, checkpoint_dir=tmp_path / "ckpt", checkpoint_freq=200)
    assert model.reward_count > 0 and model.reward_mean != 0.0
    loaded = DQN.load(latest_checkpoint(tmp_path / "ckpt"))
    assert (loaded.reward_mean, loaded.reward_count) == (model.reward_mean, model.reward_count)
    loaded.learn(300)
    assert loaded.reward_count > model.reward_count and loaded.num_timesteps == 300


def test_centering_needs_gamma_below_one():
    with pytest.raises(HyperparameterError, match="gamma < 1"):
        DQNConfig(gamma=1.0, reward_centering=True)
