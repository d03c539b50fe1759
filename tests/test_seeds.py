"""Seed discipline (shopgym/seeds.py): disjoint training, validation and evaluation ranges, the seeds a trained
agent saw recorded in its config.yml, and the benchmark refusing to evaluate it on any of them."""

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from agents.dqn import run as dqn_run
from agents.tuning import TRAIN_SEED_BASE
from scenarios.benchmark import run_benchmark
from shopgym.cli.main import app
from shopgym.seeds import (
    EVALUATION,
    TRAINING_START,
    VALIDATION,
    SeedError,
    check_evaluation,
    check_unseen,
    recorded_seeds,
    seed_range,
    training_env_seed,
)

TINY = ('description = "tiny"\n[catalog]\nlead_time = 1\norder_cost = 4.0\n'
        "[demand]\nbase_rate = 3.0\n[inventory]\ncapacity = 12\ninitial_stock = 4\n[env]\nhorizon = 20\nmax_order = 8\n")


def test_ranges_are_disjoint_and_the_training_code_uses_them():
    assert EVALUATION.start == 0 and EVALUATION.stop == VALIDATION.start and VALIDATION.stop == TRAINING_START
    assert dqn_run.EVAL_SEED_BASE == VALIDATION.start  # evaluation during training: validation seeds
    assert TRAIN_SEED_BASE == TRAINING_START  # heuristics are tuned on training seeds
    assert [seed_range(s) for s in (0, 899_999, 900_000, 999_999, 1_000_000, 2**40)] == [
        "evaluation", "evaluation", "validation", "validation", "training", "training"]
    with pytest.raises(SeedError, match="negative"):
        seed_range(-1)


def test_training_env_seeds_lie_in_the_training_range_and_keep_the_old_draw_otherwise():
    draws = {s: int(np.random.SeedSequence(s).generate_state(1)[0]) for s in range(30_000)}
    low = [s for s, d in draws.items() if d < TRAINING_START]
    assert low, "some 32-bit draws fall below the training range: the case the shift is for"
    for s, d in draws.items():
        got = training_env_seed(s)
        assert got >= TRAINING_START
        assert got == (d if d >= TRAINING_START else d + TRAINING_START)  # unchanged for every other seed
    assert dqn_run.train_seed(low[0]) == training_env_seed(low[0])


def test_training_configs_record_the_seeds_they_see():
    from agents import sb3

    dqn = dqn_run.resolve("shopgym/Restock-v0", "quickstart", 500, 3)
    first = training_env_seed(3)
    assert dqn["seeds_seen"]["training"] == [first, first + 500 + dqn["hyperparams"]["n_envs"] - 1]
    assert dqn["seeds_seen"]["validation"] == list(range(900_000, 900_000 + dqn["n_eval_episodes"]))
    ppo = sb3.resolve("ppo", "shopgym/Restock-v0", "quickstart", 1000, 3)
    assert ppo["seeds_seen"]["training"] == [first, first + 1000 + ppo["n_envs"] - 1]
    assert all(seed_range(s) == "validation" for s in ppo["seeds_seen"]["validation"])
    # an older config without the record is checked against the same seeds, recomputed
    older = {k: v for k, v in ppo.items() if k != "seeds_seen"}
    assert recorded_seeds(older) == ppo["seeds_seen"]


def _run_dir(tmp_path, seen=None, **extra):
    d = tmp_path / "agent"
    d.mkdir()
    cfg = {"algo": "ppo", "env_id": "shopgym/Restock-v0", "seed": 0, "timesteps": 100, "n_envs": 1,
           "n_eval_episodes": 2, **extra}
    if seen is not None:
        cfg["seeds_seen"] = seen
    (d / "config.yml").write_text(yaml.safe_dump(cfg))
    return d


def test_benchmark_refuses_a_trained_agent_on_seeds_it_saw(tmp_path):
    tiny = tmp_path / "tiny.toml"
    tiny.write_text(TINY)
    agent = _run_dir(tmp_path, seen={"training": [2, 40], "validation": [900_000]})
    out = tmp_path / "bench"
    with pytest.raises(SeedError, match=r"sb3:.*saw seeds 2\.\.4 .*training seeds 2\.\.40.*--seed-base"):
        run_benchmark([str(tiny)], ["random", f"sb3:{agent}"], n_seeds=5, out=out, progress=False)
    assert not out.exists()  # refused before any folder or simulation
    cli = CliRunner().invoke(app, ["benchmark", "--scenarios", str(tiny), "--policies", f"random,sb3:{agent}",
                                   "--seeds", "5", "--out", str(out)])
    assert cli.exit_code == 2 and len(cli.output.strip().splitlines()) == 1 and "saw seeds 2..4" in cli.output
    # seeds it never saw pass the check (the agent itself is checked when it loads)
    check_unseen(f"sb3:{agent}", yaml.safe_load((agent / "config.yml").read_text()), range(41, 60))
    with pytest.raises(SeedError, match="validation"):
        check_unseen("sb3:x", {"seeds_seen": {"training": [10**7, 10**7 + 9], "validation": [3]}}, [3])


def test_evaluation_seeds_outside_the_evaluation_range_are_refused(tmp_path):
    check_evaluation(range(899_990, 900_000))
    with pytest.raises(SeedError, match=r"seeds 900000\.\.900002 lie outside the evaluation range 0\.\.899999"):
        check_evaluation(range(899_998, 900_003))
    with pytest.raises(SeedError, match="--seed-base"):
        run_benchmark(["quickstart"], ["random"], n_seeds=2, seed_base=900_000, out=tmp_path / "b", progress=False)
    assert not (tmp_path / "b").exists()
