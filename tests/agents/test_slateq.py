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


@pytest.mark.parametrize("key, value, match", [
    ("gamma", "0.9", r"gamma='0\.9' .* is str; write a number without quotes"),
    ("gamma", 0.0, r"gamma=0\.0 .* must be in \(0, 1\]"),
    ("gamma", 1.5, r"gamma=1\.5 .* must be in \(0, 1\]"),
    ("gamma", float("nan"), r"gamma=nan .* is not finite"),
    ("learning_rate", -1.0, r"learning_rate=-1\.0 .* must be > 0"),
    ("batch_size", 0, r"batch_size=0 .* must be >= 1"),
    ("hidden", 0, r"hidden=0 .* must be >= 1"),
    ("hidden", True, r"hidden=True .* is bool; write a whole number"),
    ("buffer_size", 2.5, r"buffer_size=2\.5 .* is not whole"),
    ("train_freq", 0, r"train_freq=0 .* must be >= 1"),
    ("target_update_interval", -3, r"target_update_interval=-3 .* must be >= 1"),
    ("learning_starts", -1, r"learning_starts=-1 .* must be >= 0"),
    ("exploration_final_eps", 1.5, r"exploration_final_eps=1\.5 .* must be in \[0, 1\]"),
    ("exploration_fraction", [0.3], r"exploration_fraction=\[0\.3\] .* is list"),
    ("reward_scale", 0, r"reward_scale=0\.0 .* must be > 0"),
])
def test_hyperparameters_of_the_wrong_type_or_out_of_range_are_refused_before_training(tmp_path, key, value, match):
    from agents.slateq import check_hyperparams

    with pytest.raises(HyperparameterError, match=match):
        check_hyperparams({key: value})
    with pytest.raises(HyperparameterError, match=match):  # python -m agents.slateq: refused before any folder
        train(tmp_path / "x", timesteps=10, hyperparams={key: value})
    assert not (tmp_path / "x").exists()


def test_numbers_pyyaml_reads_as_text_are_read_as_numbers_and_every_numeric_default_is_checked():
    from agents.slateq import CHECKS, DEFAULTS, check_hyperparams

    assert set(CHECKS) == set(DEFAULTS) - {"target"}  # a new hyperparameter needs its type and range
    assert check_hyperparams(DEFAULTS) == DEFAULTS
    text = yaml.safe_load("{learning_rate: 1e-3, buffer_size: 1e4, batch_size: 1.0e+2, gamma: 1}")
    assert text["learning_rate"] == "1e-3" and text["buffer_size"] == "1e4"  # PyYAML: text, not numbers
    hp = check_hyperparams(text)
    assert (hp["learning_rate"], hp["buffer_size"], hp["batch_size"], hp["gamma"]) == (0.001, 10_000, 100, 1.0)
    assert type(hp["buffer_size"]) is int and type(hp["batch_size"]) is int and type(hp["gamma"]) is float


def test_n_timesteps_of_the_file_is_parsed_and_checked(tmp_path):
    from agents.slateq import resolve

    path = tmp_path / "hp.yml"
    path.write_text(f"{ENV_ID}:\n  n_timesteps: 1e4\n")  # PyYAML reads 1e4 as the text '1e4'
    assert resolve(ENV_ID, "recommend-exact", None, path)[2] == 10_000
    for bad, match in (("'many'", "n_timesteps='many' .* is str"), ("0", "n_timesteps 0 .* at least one session"),
                       ("2.5", "n_timesteps=2.5 .* is not whole")):
        path.write_text(f"{ENV_ID}:\n  n_timesteps: {bad}\n")
        with pytest.raises(HyperparameterError, match=match):
            resolve(ENV_ID, "recommend-exact", 7, path)  # a bad file is refused even when --timesteps wins
    path.write_text(f"{ENV_ID}:\n  env_kwargs: [slate_size, 2]\n")
    with pytest.raises(HyperparameterError, match="env_kwargs=.*give a mapping"):
        resolve(ENV_ID, "recommend-exact", 7, path)


def test_env_kwargs_the_env_takes_train_and_record_the_scenario_hash_bad_ones_fail_before_training(tmp_path):
    """``simulate_sessions`` (the env sets it) and ``render_mode`` (not a scenario key) once crashed after training."""
    from shopgym.config import load_scenario
    from shopgym.content import scenario_hash

    path, out = tmp_path / "hp.yml", tmp_path / "run"
    path.write_text(yaml.safe_dump({ENV_ID: {**TINY_HP, "learning_starts": 20,
                                             "env_kwargs": {"simulate_sessions": True, "render_mode": "rgb_array"}}}))
    train_run(ENV_ID, out, 40, scenario="recommend-exact", hyperparams_file=path)
    assert sorted(p.name for p in out.iterdir()) == ["config.yml", "model.pt", "slateq.json"]
    cfg = read_run_config(out)
    assert cfg["scenario_hash"] == scenario_hash(load_scenario("recommend-exact", slate_size=1, simulate_sessions=True))
    assert cfg["env_kwargs"]["render_mode"] == "rgb_array"
    path.write_text(yaml.safe_dump({ENV_ID: {"env_kwargs": {"sesions_per_day": 3}}}))
    with pytest.raises(ScenarioError, match="sesions_per_day"):
        train_run(ENV_ID, tmp_path / "bad", 40, scenario="recommend-exact", hyperparams_file=path)
    assert not (tmp_path / "bad").exists()


def test_a_folder_that_is_not_a_slateq_run_is_never_written_over(tmp_path):
    """``--overwrite`` (and ``python -m agents.slateq``) once deleted any folder holding a ``config.yml``."""
    out = tmp_path / "project"
    out.mkdir()
    (out / "config.yml").write_text("my: settings\n")
    (out / "thesis.tex").write_text("precious")
    with pytest.raises(OutputError, match="config.yml that is not a training run's.*another --out"):
        train_run(ENV_ID, out, 40, scenario="recommend-exact", overwrite=True)
    with pytest.raises(OutputError, match="not a training run's"):
        train(out, timesteps=40)
    (out / "config.yml").write_text("algo: ppo\nenv_id: shopgym/Restock-v0\n")  # another algo's run
    with pytest.raises(OutputError, match="holds a ppo run .*not a SlateQ one"):
        train_run(ENV_ID, out, 40, scenario="recommend-exact", overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["config.yml", "thesis.tex"]
    assert (out / "thesis.tex").read_text() == "precious"


def test_replacing_a_run_deletes_its_files_and_evaluations_and_nothing_else(tmp_path, write_hp):
    out = tmp_path / "run"
    hp = write_hp({ENV_ID: {**TINY_HP, "learning_starts": 20}})
    train_run(ENV_ID, out, 40, seed=1, scenario="recommend-exact", hyperparams_file=hp)
    (out / "evaluation_recommend-exact.json").write_text("{}")  # shopgym evaluate's, about this model
    (out / "notes.txt").write_text("mine")
    (out / "plots").mkdir()
    train_run(ENV_ID, out, 50, seed=2, scenario="recommend-exact", hyperparams_file=hp, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["config.yml", "model.pt", "notes.txt", "plots", "slateq.json"]
    assert read_run_config(out)["timesteps"] == 50
    (out / "evaluation_recommend-exact.json").write_text("{}")
    train(out, "recommend-exact", timesteps=40, hyperparams={**TINY_HP, "learning_starts": 20})  # python -m agents.slateq
    assert not (out / "evaluation_recommend-exact.json").exists() and (out / "notes.txt").read_text() == "mine"
    assert read_run_config(out)["timesteps"] == 40
