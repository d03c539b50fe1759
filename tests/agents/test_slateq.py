"""SlateQ (``agents.slateq``): the slate decomposition against a hand computation, the greedy slate it picks,
a tiny deterministic training run on the exact instance with slates of two, and the run folder as a benchmark
policy (``slateq:DIR``) with its errors."""

import gymnasium as gym
import numpy as np
import pytest
import torch
import yaml

import shopgym  # noqa: F401
from agents.hyperparams import read_run_config
from agents.registry import make_policy
from agents.slateq import (
    ENV_ID,
    SlateQNet,
    SlateQPolicy,
    enumerate_slates,
    load_policy,
    slate_values,
    train,
    train_run,
)
from shopgym.errors import HyperparameterError, ModelFileError, OutputError, ScenarioError
from shopgym.rollout import rollout
from shopgym.seeds import TRAINING_START, SeedError, check_unseen

#: Three items, slates of two: click probability at the top slot, value when clicked, value of no click, and the
#: second slot's examination.
CLICK, Q_ITEM, Q_NULL, EXAMINE = [0.5, 0.8, 0.2], [10.0, 4.0, 20.0], 1.0, [1.0, 0.5]
#: By hand, slot probabilities p = (c[a] x 1, c[b] x 0.5); value = p_a q_a + p_b q_b + (1 - p_a)(1 - p_b) x 1.
HAND = {(0, 1): 5.0 + 1.6 + 0.5 * 0.6, (0, 2): 5.0 + 2.0 + 0.5 * 0.9, (1, 0): 3.2 + 2.5 + 0.2 * 0.75,
        (1, 2): 3.2 + 2.0 + 0.2 * 0.9, (2, 0): 4.0 + 2.5 + 0.8 * 0.75, (2, 1): 4.0 + 1.6 + 0.8 * 0.6}
TINY_HP = {"hidden": 8, "batch_size": 16, "learning_starts": 50, "train_freq": 2, "target_update_interval": 50}


def test_slate_values_equal_the_hand_computation_in_numpy_and_torch():
    slates = enumerate_slates(3, 2)
    assert [tuple(s) for s in slates] == list(HAND)  # every ordered pair of distinct candidates, once
    want = np.array(list(HAND.values()))
    got = slate_values(np.array(CLICK), np.array(Q_ITEM), np.array(Q_NULL), np.array(EXAMINE), slates)
    np.testing.assert_allclose(got, want)
    got_t = slate_values(torch.tensor(CLICK), torch.tensor(Q_ITEM), torch.tensor(Q_NULL), torch.tensor(EXAMINE),
                         torch.as_tensor(slates))
    np.testing.assert_allclose(got_t.numpy(), want, rtol=1e-6)
    # the best slate (0, 2) = 7.45 is neither the two highest values (2 then 0: 7.1) nor the two likeliest clicks
    assert tuple(slates[np.argmax(got)]) == (0, 2) and max(HAND.values()) == pytest.approx(7.45)


def test_slate_of_one_is_the_exact_click_mixture():
    got = slate_values(np.array(CLICK), np.array(Q_ITEM), np.array(Q_NULL), np.array([1.0]), enumerate_slates(3, 1))
    np.testing.assert_allclose(got, [c * q + (1 - c) * Q_NULL for c, q in zip(CLICK, Q_ITEM, strict=True)])


class _Fixed(SlateQNet):
    """A network that returns the hand example whatever the observation (shopper block of 1, item blocks of 1)."""

    def __init__(self):
        super().__init__(shopper_dim=1, item_dim=1, k=3, slate_size=2)
        with torch.no_grad():
            self.examine_logit.fill_(0.0)  # sigmoid(0) = 0.5: the second slot's examination

    def forward(self, obs):
        c = torch.tensor(CLICK)
        return (torch.log(c) - torch.log1p(-c)).expand(len(obs), -1), torch.tensor(Q_ITEM).expand(len(obs), -1), \
            torch.full((len(obs),), Q_NULL)


def test_policy_picks_the_hand_computed_best_slate():
    action = SlateQPolicy(_Fixed()).act(np.zeros(4, np.float32))
    assert action.tolist() == [0, 2]


def test_tiny_training_is_deterministic_and_plays_in_the_benchmark(tmp_path):
    """Two trainings with one seed and one with another (200 sessions of the exact instance, slates of 2)."""
    torch.set_num_threads(1)
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        train(tmp_path / name, "recommend-exact", slate_size=2, timesteps=200, seed=seed, hyperparams=TINY_HP)
    a, b, c = (torch.load(tmp_path / n / "model.pt", weights_only=True) for n in "abc")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)  # the seed matters
    env = gym.make("shopgym/Recommend-v0", scenario="recommend-exact", slate_size=2)
    policy = make_policy(f"slateq:{tmp_path / 'a'}", env)  # what `shopgym benchmark --policies slateq:DIR` builds
    first, again = rollout(env, policy, seed=5), rollout(env, policy, seed=5)
    assert first.episode_return == again.episode_return and first.length == again.length > 0
    assert first.episode_return == pytest.approx(first.kpis["recommendation_margin"])
    assert env.action_space.contains(np.asarray(policy.act(env.reset(seed=5)[0])))
    # the run records its training seeds: the benchmark evaluates on 0.., and refuses a seed it trained on
    cfg = read_run_config(tmp_path / "a")
    assert cfg["algo"] == "slateq" and cfg["env_kwargs"] == {"scenario": "recommend-exact", "slate_size": 2}
    lo, hi = cfg["seeds_seen"]["training"]
    assert lo >= TRAINING_START and hi == lo + 200
    check_unseen("slateq:a", cfg, range(200))
    with pytest.raises(SeedError, match="saw seeds"):
        check_unseen("slateq:a", cfg, [lo + 1])
    single = gym.make("shopgym/Recommend-v0", scenario="recommend-exact")  # slate_size 1
    with pytest.raises(ModelFileError, match="slate_size"):
        load_policy(tmp_path / "a", single)


def test_bad_runs_and_settings_give_clear_errors(tmp_path):
    with pytest.raises(ModelFileError, match="holds no SlateQ run"):
        load_policy(tmp_path)
    with pytest.raises(HyperparameterError, match="unknown SlateQ hyperparameters"):
        train(tmp_path / "x", timesteps=10, hyperparams={"gama": 0.9})
    with pytest.raises(HyperparameterError, match="target"):
        train(tmp_path / "x", timesteps=10, hyperparams={"target": "dqn"})


def test_shopgym_train_settings_come_from_the_hyperparameter_file(tmp_path):
    """``resolve`` (``shopgym train --algo slateq``): the shipped file, a user file, and its errors."""
    from agents.slateq import DEFAULTS, TIMESTEPS, resolve

    hp, env_kwargs, n = resolve(ENV_ID, "recommend-exact", None)  # the shipped agents/hyperparams/slateq.yml
    assert (hp, env_kwargs, n) == (DEFAULTS, {"scenario": "recommend-exact", "slate_size": 1}, 40_000)
    hp, env_kwargs, n = resolve(ENV_ID, None, 7)  # the env's default scenario; --timesteps wins over the file
    assert env_kwargs == {"scenario": "recommend", "slate_size": 1} and n == 7
    assert resolve(ENV_ID, "recommend", None)[2] == TIMESTEPS
    path = tmp_path / "hp.yml"
    path.write_text(yaml.safe_dump({ENV_ID: {"gamma": 0.9, "env_kwargs": {"slate_size": 2}},
                                    f"{ENV_ID}@recommend-exact": {"n_timesteps": 300, "hidden": 8}}))
    hp, env_kwargs, n = resolve(ENV_ID, "recommend-exact", None, path)
    assert (hp["gamma"], hp["hidden"], n) == (0.9, 8, 300)
    assert env_kwargs == {"scenario": "recommend-exact", "slate_size": 2}  # the env's slate_size, set by the file
    path.write_text(yaml.safe_dump({ENV_ID: {"gama": 0.9}}))
    with pytest.raises(HyperparameterError, match="unknown hyperparameter 'gama'.*gamma"):
        resolve(ENV_ID, "recommend-exact", None, path)
    with pytest.raises(HyperparameterError, match="--algo slateq trains on shopgym/Recommend-v0 only.*--env"):
        train_run("shopgym/Restock-v0", tmp_path / "x")


def test_shopgym_train_checks_the_env_before_it_replaces_a_run(tmp_path):
    """``--overwrite`` deletes an earlier run only once the new one's scenario is known to fit SlateQ."""
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.yml").write_text("algo: slateq\nenv_id: shopgym/Recommend-v0\n")
    path = tmp_path / "hp.yml"
    path.write_text(yaml.safe_dump({ENV_ID: {"env_kwargs": {"coupons": True}}}))
    with pytest.raises(ScenarioError, match="coupons"):
        train_run(ENV_ID, out, 10, scenario="recommend-exact", hyperparams_file=path, overwrite=True)
    assert (out / "config.yml").is_file()
    with pytest.raises(OutputError, match="cannot resume.*--overwrite"):
        train_run(ENV_ID, out, 10, scenario="recommend-exact")
