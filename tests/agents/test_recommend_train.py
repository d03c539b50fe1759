"""``shopgym train`` / ``evaluate`` and trained policies on ``shopgym/Recommend-v0``: SB3 PPO and DQN and our DQN
train a few hundred steps on a tiny shop, evaluate, and act as benchmark policies (``sb3:DIR`` / ``dqn:DIR``)."""

import json

import gymnasium as gym
import pytest
from typer.testing import CliRunner

import shopgym  # noqa: F401
from agents.hyperparams import load_hyperparams
from agents.registry import make_policy
from shopgym.cli.train import app
from shopgym.rollout import rollout

runner = CliRunner()
RECOMMEND = "shopgym/Recommend-v0"
#: A tiny recommend shop: 2 days of ~30 sessions (the env varies the episode length: Poisson sessions).
TINY_SHOP = {"horizon": 2, "n_shoppers": 50, "sessions_per_day": 30.0}
TINY = {
    "ppo": {"n_envs": 2, "n_steps": 64, "batch_size": 32, "n_epochs": 1, "gamma": 0.0,
            "policy_kwargs": {"net_arch": [16]}, "normalize": {"norm_obs": True, "norm_reward": False}},
    "dqn": {"policy_kwargs": {"net_arch": [16]}, "learning_starts": 50, "buffer_size": 1000, "batch_size": 16,
            "target_update_interval": 50, "gamma": 0.0},
    "shopgym-dqn": {"net_arch": [16], "learning_starts": 50, "buffer_size": 1000, "batch_size": 16, "n_envs": 2,
                    "target_update_interval": 50, "train_freq": 4, "gamma": 0.0},
}


@pytest.mark.parametrize("algo", list(TINY))
def test_train_evaluate_and_benchmark_policy_on_recommend(tmp_path, write_hp, algo):
    hp = write_hp({RECOMMEND: {**TINY[algo], "env_kwargs": {**TINY_SHOP, "reward_scale": 0.1}, "eval_freq": 150,
                               "n_eval_episodes": 1}})
    out = tmp_path / "run"
    res = runner.invoke(app, ["train", "--algo", algo, "--env", RECOMMEND, "--scenario", "recommend", "--seed", "5",
                              "--timesteps", "200", "--out", str(out), "--hyperparams", str(hp), "--no-progress"])
    assert res.exit_code == 0, res.output
    ev = runner.invoke(app, ["evaluate", "--model", str(out), "--episodes", "2", "--seed-base", "7"])
    assert ev.exit_code == 0, ev.output
    result = json.loads((out / "evaluation_recommend.json").read_text())
    assert result["env_id"] == RECOMMEND and result["seeds"] == [7, 8] and len(result["return"]["values"]) == 2
    # evaluation drops the training reward scale: the return is the recommendation margin (currency)
    env = gym.make(RECOMMEND, scenario="recommend", **TINY_SHOP)
    spec = f"{'sb3' if algo != 'shopgym-dqn' else 'dqn'}:{out}"
    policy = make_policy(spec, env)  # what `shopgym benchmark --policies sb3:DIR` / `dqn:DIR` builds
    ep = rollout(env, policy, seed=7)
    assert ep.episode_return == pytest.approx(result["return"]["values"][0])
    assert ep.episode_return == pytest.approx(ep.kpis["recommendation_margin"])
    assert ep.length == ep.kpis["sessions"] > 0


@pytest.mark.parametrize("algo", list(TINY))
def test_shipped_recommend_sections_load(algo):
    hp = load_hyperparams(algo, RECOMMEND, "recommend")
    assert hp["gamma"] == 0.0 and hp["n_eval_episodes"] == 1 and hp["select"] == "last"
    exact = load_hyperparams(algo, RECOMMEND, "recommend-exact")
    assert exact["gamma"] == (0.99 if algo == "ppo" else 0.97) and exact["n_timesteps"] < hp["n_timesteps"]
    if algo == "ppo":  # the exact instance's returns (~110) normalised, its model chosen on validation episodes
        assert exact["normalize"]["norm_reward"] and exact["select"] == "best" and exact["n_eval_episodes"] == 100
