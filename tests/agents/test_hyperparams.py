"""Hyperparameter files: RL Zoo 3's format in the env sections, our options in the ``shopgym`` block, safe text."""

import pytest
import yaml

from agents import sb3
from agents.dqn import run as dqn_run
from agents.hyperparams import OPTIONS, OWN_KEYS, HyperparameterError, hyperparams_path, load_hyperparams
from agents.hyperparams.zoo_text import parse_kwargs_text
from tests.agents.conftest import RESTOCK

SB3_ALGOS = ("dqn", "ppo", "a2c", "sac")


def test_options_merge_after_their_section_and_before_the_scenario(write_hp):
    path = write_hp({
        RESTOCK: {"gamma": 0.9, "normalize": {"norm_obs": True, "norm_reward": False}, "env_kwargs": {"horizon": 30}},
        f"{RESTOCK}@seasonal": {"gamma": 0.95, "env_kwargs": {"continuous": True}},
        OPTIONS: {RESTOCK: {"n_eval_episodes": 7, "select": "best", "normalize": {"center_reward": True}},
                  f"{RESTOCK}@seasonal": {"n_eval_episodes": 3}},
    })
    base = load_hyperparams("dqn", RESTOCK, None, path)
    assert base == {"gamma": 0.9, "normalize": {"norm_obs": True, "norm_reward": False, "center_reward": True},
                    "env_kwargs": {"horizon": 30}, "n_eval_episodes": 7, "select": "best"}
    seasonal = load_hyperparams("dqn", RESTOCK, "seasonal", path)
    assert seasonal == {**base, "gamma": 0.95, "n_eval_episodes": 3, "env_kwargs": {"horizon": 30, "continuous": True}}
    assert load_hyperparams("dqn", RESTOCK, "steady", path) == base  # no section for that scenario
    cfg = sb3.resolve("dqn", RESTOCK, None, 100, 0, path)  # what `shopgym train` runs with
    assert cfg["normalize"]["center_reward"] and cfg["n_eval_episodes"] == 7 and cfg["select"] == "best"


def test_options_in_the_env_section_still_load(write_hp):
    """Files written before the ``shopgym`` block (our options inside the section) train as before."""
    old = {RESTOCK: {"gamma": 0.9, "n_eval_episodes": 7, "normalize": {"norm_obs": True, "center_reward": True}}}
    new = {RESTOCK: {"gamma": 0.9, "normalize": {"norm_obs": True}},
           OPTIONS: {RESTOCK: {"n_eval_episodes": 7, "normalize": {"center_reward": True}}}}
    assert sb3.resolve("dqn", RESTOCK, None, 100, 0, write_hp(old, "old.yml")) == \
        sb3.resolve("dqn", RESTOCK, None, 100, 0, write_hp(new, "new.yml"))


@pytest.mark.parametrize("options, match", [
    ({RESTOCK: {"learning_rate": 0.1}}, r"'learning_rate' under 'shopgym/Restock-v0'.*RL Zoo reads that key"),
    ({RESTOCK: {"normalize": {"norm_obs": False}}}, r"normalize=.*only center_reward goes here"),
    ({"shopgym/Restok-v0": {"select": "best"}}, r"no section for env 'shopgym/Restok-v0'.*Did you mean 'shopgym/Restock-v0'"),
    ([1, 2], r"'shopgym' block .* must map env ids to options"),
])
def test_bad_options_block_gets_a_clear_error(write_hp, options, match):
    path = write_hp({RESTOCK: {"gamma": 0.9}, OPTIONS: options})
    with pytest.raises(HyperparameterError, match=match):
        load_hyperparams("ppo", RESTOCK, None, path)


def test_options_block_is_not_a_section(write_hp):
    path = write_hp({RESTOCK: {"gamma": 0.9}, OPTIONS: {RESTOCK: {"select": "best"}}})
    with pytest.raises(HyperparameterError, match=r"no section for env 'shopgym'\..* Sections: shopgym/Restock-v0\. Add"):
        load_hyperparams("ppo", OPTIONS, None, path)


def test_policy_kwargs_text_is_parsed_as_rl_zoo_reads_it_never_run(write_hp):
    text = "dict(net_arch=dict(pi=[64, 64], vf=[32]), activation_fn=nn.Tanh, log_std_init=-0.5, ortho_init=False)"
    assert parse_kwargs_text(text, "policy_kwargs", "here") == {
        "net_arch": {"pi": [64, 64], "vf": [32]}, "activation_fn": "tanh", "log_std_init": -0.5, "ortho_init": False}
    assert parse_kwargs_text("{'net_arch': (8,)}", "policy_kwargs", "here") == {"net_arch": (8,)}
    path = write_hp({RESTOCK: {"policy_kwargs": "dict(net_arch=[16], activation_fn=nn.ReLU)"}})
    model = sb3.build_model(sb3.resolve("ppo", RESTOCK, None, 100, 0, path), _venv(), 0)
    assert model.policy_kwargs["activation_fn"] is sb3.nn.ReLU and model.policy_kwargs["net_arch"] == [16]


@pytest.mark.parametrize("text, match", [
    ("dict(net_arch=list(range(3)))", r"'list\(range\(3\)\)' is neither a literal"),
    ("dict(**{'a': 1})", r"'\*\*' is not supported"),
    ("dict(activation_fn=nn.Module)", r"nn.Module is not an activation shopgym knows; choose one of nn.ReLU, nn.Tanh"),
    ("dict(net_arch=[64]", r"not a Python expression"),
    ("[64, 64]", r"must be a mapping"),
    ("{[1]: 2}", r"unhashable"),
])
def test_unsafe_or_unreadable_text_is_refused_with_the_reason(text, match):
    with pytest.raises(HyperparameterError, match=match):
        parse_kwargs_text(text, "policy_kwargs", "section 'x' of f.yml")


def test_dotted_policy_names_only_for_our_policies(write_hp):
    dotted = write_hp({RESTOCK: {"policy": "agents.sb3_dueling.DuelingDQNPolicy"}})
    assert sb3.resolve("dqn", RESTOCK, None, 100, 0, dotted)["policy"] == "DuelingMlpPolicy"
    with pytest.raises(HyperparameterError, match=r"policy='agents.sb3_dueling.DuelingHead' .* not a policy shopgym knows"):
        sb3.resolve("dqn", RESTOCK, None, 100, 0, write_hp({RESTOCK: {"policy": "agents.sb3_dueling.DuelingHead"}}))


@pytest.mark.parametrize("algo, options", [*((a, set(OWN_KEYS) - {"normalize"}) for a in SB3_ALGOS),
                                           ("shopgym-dqn", {"eval_freq", "checkpoint_freq", "n_eval_episodes", "select"})])
def test_shipped_env_sections_hold_no_option_rl_zoo_would_pass_to_the_algorithm(algo, options):
    """RL Zoo passes every key it does not know to the algorithm: our options must sit in the ``shopgym`` block
    (``shopgym-dqn.yml``, which RL Zoo cannot train, keeps the same layout for its run options)."""
    data = yaml.safe_load(hyperparams_path(algo).read_text())
    sections = {k: v for k, v in data.items() if k != OPTIONS}
    assert sections and set(data.get(OPTIONS, {})) <= {*sections, *(k.split("@")[0] for k in sections)}
    for key, section in sections.items():
        assert not set(section) & options, (algo, key)
        assert "center_reward" not in (section.get("normalize") or {}), (algo, key)
        kwargs = section.get("policy_kwargs")
        assert kwargs is None or "activation_fn" not in kwargs or isinstance(kwargs, str), (algo, key)


def test_shipped_files_resolve_to_the_settings_they_had_before_the_split():
    """The values that moved (options) or changed notation (activations, the dueling policy) resolve as before."""
    ppo = sb3.resolve("ppo", RESTOCK, "seasonal", None, 0)
    assert (ppo["n_eval_episodes"], ppo["select"], ppo["timesteps"]) == (10, "best", 4_000_000)
    assert ppo["hyperparams"]["policy_kwargs"] == {"net_arch": [128, 128], "activation_fn": "tanh", "log_std_init": 2.5}
    assert sb3.resolve("a2c", RESTOCK, None, None, 0)["hyperparams"]["policy_kwargs"]["activation_fn"] == "tanh"
    dqn = sb3.resolve("dqn", RESTOCK, "quickstart", None, 0)
    assert dqn["policy"] == "DuelingMlpPolicy" and (dqn["n_eval_episodes"], dqn["eval_freq"], dqn["select"]) == (30, 10_000, "best")
    assert dqn["normalize"] == {"norm_obs": True, "norm_reward": False, "center_reward": True}
    ours = dqn_run.resolve("shopgym/RestockPerSKU-v0", "supply-shock", None, 0)
    assert (ours["n_eval_episodes"], ours["eval_freq"], ours["checkpoint_freq"], ours["select"]) == (5, 200_000, 2_000_000, "best")
    assert ours["hyperparams"]["gamma"] == 0.99 and ours["env_kwargs"]["stock_shaping"] is True
    assert dqn_run.resolve(RESTOCK, None, None, 0)["select"] == "best"


def _venv():
    return sb3.make_envs({"env_id": RESTOCK, "env_kwargs": {"scenario": "quickstart", "horizon": 30}}, 1, seed=0)


@pytest.mark.parametrize("key, value", [("double_q", True), ("policy", "DuelingMlpPolicy"), ("n_envs", 4),
                                        ("normalize", {"norm_obs": True}), ("n_eval_episodes", 3)])
def test_resuming_with_other_run_settings_is_refused(tmp_path, key, value):
    """Settings that SB3's resolve lifts out of the hyperparameters are part of a run's identity too."""
    from agents.hyperparams import start_run
    from shopgym.errors import OutputError

    base = {"algo": "dqn", "env_id": "shopgym/Restock-v0", "scenario": "quickstart", "scenario_hash": "h",
            "env_kwargs": {}, "seed": 0, "hyperparams": {}, "policy": "MlpPolicy", "n_envs": 1,
            "normalize": None, "double_q": False, "n_eval_episodes": 5}
    start_run(tmp_path / "run", base, ["shopgym", "train"])
    start_run(tmp_path / "run", dict(base), ["shopgym", "train"])  # the same run resumes
    with pytest.raises(OutputError, match=key):
        start_run(tmp_path / "run", {**base, key: value}, ["shopgym", "train"])


def test_overwrite_replaces_only_the_runs_own_files(tmp_path):
    """``--overwrite`` (sb3, our DQN) once deleted the whole folder of any ``config.yml``, a user's included."""
    from agents.hyperparams import read_run_config, start_run
    from shopgym.errors import OutputError

    cfg = {"algo": "ppo", "env_id": "shopgym/Restock-v0", "seed": 1}
    out = tmp_path / "project"
    out.mkdir()
    (out / "config.yml").write_text("my: settings\n")  # not a run's configuration
    (out / "thesis.tex").write_text("precious")
    with pytest.raises(OutputError, match="config.yml that is not a training run's.*another --out"):
        start_run(out, cfg, ["shopgym", "train"], overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["config.yml", "thesis.tex"]
    # an earlier run (any algo) with everything a run writes, beside files that are not the run's
    (out / "config.yml").write_text("algo: slateq\nenv_id: shopgym/Recommend-v0\nseed: 0\n")
    for name in ("run.json", "model.zip", "vecnormalize.pkl", "model.pt", "slateq.json", "evaluation_quickstart.json",
                 ".config.yml.x1y2.tmp", "checkpoints/latest/model.zip", "best/best_model.zip", "eval/evaluations.npz",
                 "logs/progress.csv", "model/model.pt", "notes/plan.md"):
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text("x")
    assert start_run(out, cfg, ["shopgym", "train"], overwrite=True) is False  # a fresh run, not resumed
    assert sorted(p.name for p in out.iterdir()) == ["config.yml", "notes", "run.json", "thesis.tex"]
    assert read_run_config(out)["algo"] == "ppo" and (out / "notes" / "plan.md").read_text() == "x"


@pytest.mark.parametrize("value, kind, expected", [
    ("1e4", int, 10_000), (" 1E+4 ", int, 10_000), ("1.5e2", int, 150), ("1e-3", float, 0.001), (1.0e4, int, 10_000),
    (7, int, 7), (7, float, 7.0), ("-2e0", int, -2),
])
def test_numbers_in_exponent_text_are_read_as_the_number_they_mean(value, kind, expected):
    from agents.hyperparams import number

    got = number("k", value, kind, "here")
    assert got == expected and type(got) is kind


@pytest.mark.parametrize("value, kind, match", [
    ("ten", int, r"^k='ten' in the 'X' section of hp\.yml is str; write a whole number without quotes \(the default is k: 5\)\.$"),
    ("10000", int, r"k='10000' .* is str; write a whole number without quotes"),  # quoted: text, as in RL Zoo
    ("1e", int, r"k='1e' .* is str"),
    (True, int, r"k=True .* is bool; write a whole number"),
    (None, float, r"k=None .* is NoneType; write a number without quotes"),
    ([3], int, r"k=\[3\] .* is list"),
    (2.5, int, r"k=2\.5 .* is not whole; write a whole number \(the default is k: 5\)\.$"),
    ("1e400", float, r"k=inf .* is not finite"),
    (float("nan"), float, r"k=nan .* is not finite"),
])
def test_anything_else_is_one_line_naming_key_value_where_and_the_fix(value, kind, match):
    from agents.hyperparams import number

    with pytest.raises(HyperparameterError, match=match) as err:
        number("k", value, kind, "the 'X' section of hp.yml", default=5)
    assert "\n" not in str(err.value)


def test_train_steps_prefers_the_command_line_but_checks_the_file_either_way():
    from agents.hyperparams.numbers import train_steps

    assert train_steps("1e4", None, "f", 100) == 10_000
    assert train_steps("1e4", 300, "f", 100) == 300
    with pytest.raises(HyperparameterError, match=r"n_timesteps='ten' in f is str"):
        train_steps("ten", 300, "f", 100)  # a bad file is refused even when --timesteps wins
    with pytest.raises(HyperparameterError, match=r"n_timesteps 0 in f: train for at least one env step"):
        train_steps(0, None, "f", 100)
    with pytest.raises(HyperparameterError, match=r"--timesteps -5 in the command line: train for at least one"):
        train_steps(10, -5, "f", 100)


@pytest.mark.parametrize("algo", ["ppo", "shopgym-dqn"])
def test_n_timesteps_in_exponent_text_trains_that_long_and_text_is_refused(tmp_path, algo):
    """``n_timesteps: 1e4`` (text to PyYAML) once crashed sb3 and our DQN with ``int('1e4')``'s ValueError."""
    path = tmp_path / "hp.yml"

    def resolve(timesteps=None):
        if algo == "shopgym-dqn":
            return dqn_run.resolve(RESTOCK, None, timesteps, 0, path)
        return sb3.resolve(algo, RESTOCK, None, timesteps, 0, path)

    path.write_text(f"{RESTOCK}:\n  n_timesteps: 1e4\n")
    assert yaml.safe_load(path.read_text())[RESTOCK]["n_timesteps"] == "1e4"  # PyYAML: text, not a number
    cfg = resolve()
    assert cfg["timesteps"] == 10_000 and type(cfg["timesteps"]) is int and cfg["eval_freq"] == 1_000
    assert resolve(500)["timesteps"] == 500  # --timesteps wins
    for bad, match in (("ten", r"n_timesteps='ten' in the 'shopgym/Restock-v0' section of .*hp\.yml is str; "
                               r"write a whole number without quotes \(the default is n_timesteps: 100000\)"),
                       ("2.5", r"n_timesteps=2\.5 .* is not whole"), ("0", r"n_timesteps 0 .* at least one env step")):
        path.write_text(f"{RESTOCK}:\n  n_timesteps: {bad}\n")
        with pytest.raises(HyperparameterError, match=match):
            resolve(500)


@pytest.mark.parametrize("algo", ["ppo", "shopgym-dqn"])
def test_run_counts_in_exponent_text_are_read_and_zero_or_text_is_refused(tmp_path, algo):
    """``eval_freq: 1e3`` once crashed with ``int('1e3')``'s ValueError; ``n_eval_episodes: 0`` was accepted."""
    path = tmp_path / "hp.yml"

    def resolve():
        if algo == "shopgym-dqn":
            return dqn_run.resolve(RESTOCK, None, 500, 0, path)
        return sb3.resolve(algo, RESTOCK, None, 500, 0, path)

    path.write_text(f"{RESTOCK}:\n  eval_freq: 1e3\n  checkpoint_freq: 2e2\n")
    cfg = resolve()
    assert (cfg["eval_freq"], cfg["checkpoint_freq"]) == (1000, 200)
    for key, bad, match in (("n_eval_episodes", "0", r"n_eval_episodes=0 in .* must be at least 1"),
                            ("eval_freq", "often", r"eval_freq='often' in .* is str"),
                            ("checkpoint_freq", "1.5", r"checkpoint_freq=1\.5 in .* is not whole")):
        path.write_text(f"{RESTOCK}:\n  {key}: {bad}\n")
        with pytest.raises(HyperparameterError, match=match):
            resolve()


@pytest.mark.parametrize("algo", ["ppo", "shopgym-dqn"])
def test_algorithm_settings_in_exponent_text_reach_the_algorithm_as_numbers(tmp_path, algo):
    """``learning_rate: 1e-3`` is text to PyYAML; it once reached SB3 as a string (a TypeError at the first
    update, after the run folder was written). A schedule like ``lin_0.0003`` stays text."""
    path = tmp_path / "hp.yml"
    path.write_text(f"{RESTOCK}:\n  learning_rate: 1e-3\n  gamma: 9.9e-1\n")
    cfg = (dqn_run.resolve(RESTOCK, None, 500, 0, path) if algo == "shopgym-dqn"
           else sb3.resolve(algo, RESTOCK, None, 500, 0, path))
    assert cfg["hyperparams"]["learning_rate"] == 1e-3 and cfg["hyperparams"]["gamma"] == 0.99
    if algo == "ppo":
        path.write_text(f"{RESTOCK}:\n  learning_rate: lin_0.0003\n")
        assert sb3.resolve(algo, RESTOCK, None, 500, 0, path)["hyperparams"]["learning_rate"] == "lin_0.0003"
