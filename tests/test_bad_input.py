"""Bad input gets one clear error naming the problem and the fix (issue 20, validation): scenario values,
sampler bounds, world size, CLI numbers, data frames. Each case here was accepted silently (or hung, or
crashed with a traceback) before."""

from __future__ import annotations

import dataclasses
import hashlib
import signal
from contextlib import contextmanager

import numpy as np
import pytest
from scipy import special
from typer.testing import CliRunner

from shopgym.config import SECTIONS, load_scenario
from shopgym.errors import ActionError, ScenarioError

# ---------------------------------------------------------------- helpers


@contextmanager
def deadline(seconds: float):
    """Fail (instead of hanging the suite) when the block runs longer than ``seconds``."""
    def _raise(*_):
        raise TimeoutError(f"did not finish within {seconds} s")

    old = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _scenario_file(tmp_path, body: str, name: str = "bad.toml"):
    path = tmp_path / name
    path.write_text(body)
    return path


FLOAT_KEYS = [(s, f.name) for s, cls in SECTIONS.items() for f in dataclasses.fields(cls)
              if f.type in (float, "float")]

# ---------------------------------------------------------------- scenario values


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
@pytest.mark.parametrize("section,key", FLOAT_KEYS)
def test_every_float_key_rejects_nan_and_inf(tmp_path, section, key, value):
    path = _scenario_file(tmp_path, f"[{section}]\n{key} = {value}\n")
    with pytest.raises(ScenarioError, match=rf"{section}\.{key} = .*(not a finite number|out of range)"):
        load_scenario(path)


@pytest.mark.parametrize("body,match", [
    ("[demand]\nbase_rate = nan\n", r"demand\.base_rate = nan is not a finite number"),
    ("[catalog]\nholding_cost = inf\n", r"catalog\.holding_cost = inf is not a finite number"),
    ("[catalog]\nprice = 1e308\n", r"catalog\.price = 1e\+308 is out of range; allowed: \[0\.01, 1000000000\.0\]"),
    ("[catalog]\nprice = 0.0\n", r"catalog\.price = 0\.0 is out of range"),
    ("[demand]\nbase_rate = 1e7\n", r"demand\.base_rate = .* is out of range"),
    ("[demand]\ndispersion = 1e9\n", r"demand\.dispersion = .* is out of range"),
    ("[env]\nreward_scale = 1e300\n", r"env\.reward_scale = .* is out of range"),
    ("[inventory]\ninitial_stock = 10000000000\n", r"inventory\.initial_stock = .* is out of range"),
    ("[demand]\nweekly = [1, 1, 1, 1, 1, 1, inf]\n", r"weekly must be 7 finite non-negative numbers"),
    ("[demand]\nweekly = [1, 1, 1, 1, 1, 1, true]\n", r"weekly must be 7 finite non-negative numbers"),
])
def test_non_finite_and_absurd_values_are_refused(tmp_path, body, match):
    with pytest.raises(ScenarioError, match=match):
        load_scenario(_scenario_file(tmp_path, body))


@pytest.mark.parametrize("body,match", [
    ("[shoppers]\nresponse_model = 'garbage'\n", r"shoppers\.response_model = 'garbage' is neither 'ground_truth' nor"),
    ("[shoppers]\nresponse_model = 'groundtruth'\n", r"Did you mean 'ground_truth'"),
    ("[demand]\ndemand_model = 'learned:'\n", r"demand\.demand_model = 'learned:' is neither"),
    ("[shoppers]\nresponse_model = 'learned:  '\n", r"shoppers\.response_model"),
])
def test_plug_point_values_are_checked_when_the_scenario_loads(tmp_path, body, match):
    with pytest.raises(ScenarioError, match=match):
        load_scenario(_scenario_file(tmp_path, body))


def test_learned_path_form_is_accepted_at_load_the_file_is_checked_later(tmp_path):
    sc = load_scenario(_scenario_file(tmp_path, "[shoppers]\nresponse_model = 'learned:models/conv.pt'\n"))
    assert sc.shoppers.response_model == "learned:models/conv.pt"


@pytest.mark.parametrize("holiday,match", [
    ("[329, 1.5, 1.0]", r"holidays\[0\] = \[329, 1\.5, 1\.0\]: duration_days = 1\.5 must be an integer"),
    ("[329.0, 2, 1.0]", r"day_of_year = 329\.0 must be an integer"),
    ("[true, 2, 1.0]", r"day_of_year = True must be an integer"),
    ("[329, 2, nan]", r"uplift = nan must be a number in \[-1, 100\]"),
    ("[329, 2, 1e6]", r"uplift = 1000000\.0 must be a number"),
    ("[329, 2]", r"holidays\[0\] = \[329, 2\]: each entry is \[day_of_year, duration_days, uplift\]"),
])
def test_holidays_are_typed_strictly(tmp_path, holiday, match):
    with pytest.raises(ScenarioError, match=match):
        load_scenario(_scenario_file(tmp_path, f"[demand]\nholidays = [{holiday}]\n"))


def test_name_must_be_a_string(tmp_path):
    with pytest.raises(ScenarioError, match=r"name = 5 must be a string"):
        load_scenario(_scenario_file(tmp_path, "name = 5\n"))


@pytest.mark.parametrize("value", ["yes", "false", 1])
def test_continuous_must_be_a_bool(value):
    import gymnasium as gym

    import shopgym  # noqa: F401

    with pytest.raises(ScenarioError, match=rf"continuous = {value!r} must be True or False"):
        gym.make("shopgym/Restock-v0", continuous=value)


def test_non_utf8_scenario_is_one_line_naming_the_file(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes("description = 'Caf\xe9 au lait'\n".encode("latin-1"))
    with pytest.raises(ScenarioError, match=r"latin1\.toml: not UTF-8 text .*re-save the file as UTF-8") as info:
        load_scenario(path)
    assert "\n" not in str(info.value)
    from shopgym.cli.main import app

    result = CliRunner().invoke(app, ["run", "--scenario", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "latin1.toml: not UTF-8" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)  # no traceback
    assert not (tmp_path / "out").exists()


def test_utf8_with_byte_order_mark_loads(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes("\ufeffdescription = 'Café'\n[catalog]\nn_skus = 2\n".encode())
    sc = load_scenario(path)
    assert sc.description == "Café" and sc.catalog.n_skus == 2

# ---------------------------------------------------------------- samplers


def _check_inverse_cdf(k, cdf, u):
    """``k`` is the smallest count with ``cdf(k) >= u``."""
    assert (cdf(k.astype(float)) >= u).all()
    assert ((k == 0) | (cdf(np.maximum(k - 1, 0).astype(float)) < u)).all()


@pytest.mark.parametrize("shape", [1e-12, 1e-6, 0.01])
def test_tiny_dispersion_is_sampled_exactly_in_bounded_time(shape):
    from shopgym.world.sampling import nbinom_ppf

    rng = np.random.default_rng(0)
    u = np.concatenate([rng.random(2000), 1 - rng.random(50) * 1e-9, [0.0, 0.999999999999]])
    mean = rng.uniform(0.1, 500, u.shape)
    with deadline(20):
        k = nbinom_ppf(u, mean, shape)
    p = shape / (shape + mean)
    _check_inverse_cdf(k, lambda x: special.betainc(shape, x + 1, p), u)


def test_sampler_work_is_bounded(monkeypatch):
    """A heavy tail costs O(log count) vectorised CDF calls, not one call per count walked."""
    from shopgym.world import sampling

    calls = []
    real = special.betainc

    class Counting:
        def __getattr__(self, name):
            return getattr(special, name)

        @staticmethod
        def betainc(*args):
            calls.append(1)
            return real(*args)

    monkeypatch.setattr(sampling, "special", Counting())
    u = 1 - np.random.default_rng(1).random(200) * 1e-9  # far tail of a dispersion-0.01 negative binomial
    with deadline(20):
        sampling.nbinom_ppf(u, np.full_like(u, 6.0), 0.01)
    assert len(calls) <= 200  # the unbounded walk took thousands


def test_env_step_with_tiny_dispersion_finishes():
    import gymnasium as gym

    import shopgym  # noqa: F401

    env = gym.make("shopgym/Restock-v0", scenario="steady", dispersion=1e-12, horizon=64)
    env.reset(seed=0)
    with deadline(30):
        for _ in range(64):
            *_, info = env.step(env.action_space.sample())
    assert (info["demand"] >= 0).all()


#: Demand of every shipped scenario (3 worlds, seeds 0, 1, 2, whole horizon, no orders) and of a few
#: variants, as computed on main before the bounded sampler: sha256 prefix of the int64 array and its sum.
#: A normal dispersion must give the very same draws, so docs figures do not change.
MAIN_DEMAND = [
    ("newsvendor", {}, "320040adaa15dc35", 21766),
    ("perishable", {}, "f4e4156c54f22bc2", 63145),
    ("quickstart", {}, "50dd5ebe0140c8fa", 4326),
    ("seasonal", {}, "5862038297e398d9", 75022),
    ("steady", {}, "b8eba8c5357041cd", 71133),
    ("supply-shock", {}, "b8eba8c5357041cd", 71133),
    ("steady", {"dispersion": 0.5, "horizon": 64}, "4ef02eb20780c25f", 11941),
    ("steady", {"dispersion": 2.0, "base_rate": 200.0, "horizon": 64}, "5703c97f2f4c0770", 406973),
    ("steady", {"n_skus": 80, "horizon": 40}, "26867b728f4b0f5d", 61527),
    ("steady", {"n_skus": 80, "horizon": 40, "dispersion": 0.0}, "311596ff7c48fe38", 61039),
    ("quickstart", {"base_rate": 300.0, "horizon": 64}, "15d4f59867faacba", 57777),
]


@pytest.mark.parametrize("name,keys,digest,total", MAIN_DEMAND)
def test_shipped_scenarios_draw_the_same_demand_as_before(name, keys, digest, total):
    from shopgym.world.world import World

    sc = load_scenario(name, **keys)
    world = World(sc, n_worlds=3)
    world.reset([0, 1, 2])
    zero = np.zeros((3, sc.catalog.n_skus), np.int64)
    demand = np.stack([world.step(zero).demand.copy() for _ in range(sc.env.horizon)]).astype(np.int64)
    assert int(demand.sum()) == total
    assert hashlib.sha256(np.ascontiguousarray(demand).tobytes()).hexdigest()[:16] == digest


def test_episode_profits_match_main():
    """Profits of the (s, S) heuristic (z = 1, cover = 5) as computed on main before the change."""
    import gymnasium as gym

    import shopgym  # noqa: F401
    from agents.heuristics import SSPolicy
    from shopgym.rollout import rollout

    want = {"quickstart": [4657.9, 4451.6], "steady": [92226.42, 90691.09], "perishable": [14768.91, 13936.01]}
    for name, profits in want.items():
        env = gym.make("shopgym/Restock-v0", scenario=name)
        got = [rollout(env, SSPolicy(env.unwrapped.view), s).profit for s in (0, 1)]
        np.testing.assert_allclose(got, profits, rtol=0, atol=5e-3)

# ---------------------------------------------------------------- world size


def test_absurd_world_is_refused_before_allocating():
    from shopgym.world.footprint import check_world_memory, world_bytes

    sc = load_scenario("steady", n_skus=100_000, horizon=100_000)
    assert world_bytes(sc, 1) > 74.5 * 2**30  # at least the one table that failed to allocate before
    with pytest.raises(ScenarioError, match=r"would need about [\d,.]+ GiB .*over the limit of 8 GiB.*SHOPGYM_MAX_WORLD_GIB="):
        check_world_memory(sc, 1)


def test_world_checks_its_size_first_and_the_limit_is_overridable(monkeypatch):
    import gymnasium as gym

    import shopgym  # noqa: F401
    from shopgym.world.world import World

    sc = load_scenario("steady", n_skus=200, horizon=1000)
    monkeypatch.setenv("SHOPGYM_MAX_WORLD_GIB", "0.001")
    with pytest.raises(ScenarioError, match=r"over the limit of 0\.001 GiB"):
        World(sc, n_worlds=2)
    with pytest.raises(ScenarioError, match=r"GiB"):
        gym.make_vec("shopgym/Restock-v0", num_envs=2, vectorization_mode="vector_entry_point", scenario="steady",
                     n_skus=200, horizon=1000)
    monkeypatch.setenv("SHOPGYM_MAX_WORLD_GIB", "lots")
    with pytest.raises(ScenarioError, match=r"SHOPGYM_MAX_WORLD_GIB='lots' is not a positive number"):
        World(sc)
    monkeypatch.setenv("SHOPGYM_MAX_WORLD_GIB", "1")
    assert World(sc, n_worlds=2).n_worlds == 2


def test_memory_estimate_is_within_a_factor_of_two_of_the_real_peak():
    import tracemalloc

    from shopgym.world.footprint import world_bytes
    from shopgym.world.world import World

    sc = load_scenario("seasonal", n_skus=300, horizon=600)
    tracemalloc.start()
    try:
        world = World(sc, n_worlds=2, engine="numpy")
        world.step(np.zeros((2, 300), np.int64))
        world.forecast_rows(world.max_lead_time + 1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert 0.5 * peak <= world_bytes(sc, 2) <= 2.5 * peak

# ---------------------------------------------------------------- CLI numbers


def test_train_refuses_bad_numbers_and_scenarios_before_writing_anything(tmp_path):
    from shopgym.cli.main import app

    runner = CliRunner()
    out = tmp_path / "run"
    for args, match in ((["--timesteps", "-5"], "--timesteps -5: must be > 0"),
                        (["--timesteps", "0"], "--timesteps 0: must be > 0"),
                        (["--scenario", "quickstrt"], "Did you mean 'quickstart'"),
                        (["--seed", "-1"], "--seed -1"),
                        (["--env", "shopgym/Restok-v0"], "Did you mean 'shopgym/Restock-v0'")):
        result = runner.invoke(app, ["train", "--algo", "dqn", "--out", str(out), *args])
        assert result.exit_code == 2, result.output
        assert "".join(match.split()) in "".join(result.output.replace("│", "").split()), result.output
        assert not out.exists(), f"{args} wrote {list(out.iterdir())}"


def test_conversion_fit_refuses_zero_epochs_before_writing(tmp_path):
    from forecasters.conversion.logs import generate_logs, log_scenario
    from shopgym.cli.conversion import app

    logs = tmp_path / "logs.csv"
    generate_logs(log_scenario(n_skus=20, n_categories=2, n_shoppers=50, sessions_per_day=20, slate_size=4),
                  n_impressions=300, seed=0).to_csv(logs, index=False)
    model = tmp_path / "m.pt"
    for flag in ("--epochs", "--batch-size"):
        result = CliRunner().invoke(app, ["fit", str(logs), str(model), flag, "0"])
        assert result.exit_code == 2 and flag in result.output
        assert not model.exists()

# ---------------------------------------------------------------- vector env


@pytest.mark.parametrize("keys,bad", [
    ({"n_skus": 2}, (5,)), ({"n_skus": 2}, (2, 3)), ({"n_skus": 1}, (6,)), ({"n_skus": 2, "continuous": True}, (6,)),
])
def test_vector_env_wrong_batch_names_the_batched_shape(keys, bad):
    import gymnasium as gym

    import shopgym  # noqa: F401

    env = gym.make_vec("shopgym/Restock-v0", num_envs=3, vectorization_mode="vector_entry_point", horizon=10, **keys)
    env.reset(seed=0)
    expected = env.action_space.shape
    assert expected[0] == 3
    with pytest.raises(ActionError, match=rf"actions must have shape {expected!r}.*got shape {bad!r}".replace("(", r"\(")
                       .replace(")", r"\)")):
        env.step(np.zeros(bad, dtype=np.float32 if keys.get("continuous") else np.int64))
    env.step(env.action_space.sample())  # the right batch still works
