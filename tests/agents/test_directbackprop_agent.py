"""The ``directbackprop`` agent: untrained = tuned (s, S) exactly, the rollout's profit = the env's, training
improves a tiny problem's training objective, safe save/load, ``directbackprop:DIR`` in ``shopgym benchmark``."""

import json

import gymnasium as gym
import numpy as np
import pytest
import torch

import shopgym  # noqa: F401  (registers the envs)
from agents.directbackprop.agent import (
    WEIGHTS,
    DirectBackpropPolicy,
    ResidualNet,
    load_policy,
    order_quantities,
)
from agents.directbackprop.rollout import draw_paths, rollout
from agents.directbackprop.train import TRAIN_SEED_BASE, VAL_SEED_BASE, es_gradient, set_grad, train
from agents.heuristics import SSPolicy
from agents.registry import make_policy
from scenarios.benchmark import run_benchmark
from shopgym.config import load_scenario
from shopgym.errors import ModelFileError
from shopgym.rollout import rollout as play
from shopgym.seeds import TRAINING_START, VALIDATION

Z, COVER = 1.25, 9.5


@pytest.mark.parametrize("scenario", ["quickstart", "seasonal", "supply-shock"])
def test_untrained_agent_is_the_ss_heuristic_and_the_rollout_profit_is_the_envs(scenario):
    """Zero-initialised network: the same actions as ``SSPolicy`` on every day of an env episode, and the torch
    rollout of the same policy on the same seeds gives the env's episode profit (shared tables, same order of
    events, same demand paths)."""
    horizon = 200 if scenario == "supply-shock" else 60
    env = gym.make("shopgym/Restock-v0", scenario=scenario, horizon=horizon)
    agent = DirectBackpropPolicy(env, ResidualNet((8,)), Z, COVER)
    heuristic = SSPolicy(env.unwrapped.view, z=Z, cover=COVER)
    profits = []
    for seed in (0, 1):
        obs, _ = env.reset(seed=seed)
        for _ in range(horizon):
            a, b = agent.act(obs), heuristic.act(obs)
            np.testing.assert_array_equal(a, b)
            obs, _, terminated, _, info = env.step(a)
        assert terminated
        profits.append(info["episode_kpis"]["profit"])
    sc = load_scenario(scenario, horizon=horizon)
    paths, consts = draw_paths(sc, [0, 1])
    got, _ = rollout(lambda f: order_quantities(f, None, Z, COVER, 2.0, sc.demand.dispersion, consts), paths, consts)
    np.testing.assert_allclose(got.numpy(), profits, rtol=1e-9)


def test_seed_ranges_follow_the_projects_seed_discipline():
    assert TRAIN_SEED_BASE >= TRAINING_START + 1_000_000  # clear of the heuristics' tuning seeds 1_000_000..
    assert VAL_SEED_BASE in VALIDATION and VAL_SEED_BASE + 1000 in VALIDATION


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("dbp")
    sc = load_scenario("seasonal", horizon=40, n_skus=3)
    cfg = train(sc, out, steps=4, batch=4, n_train=4, n_val=2, lr=0.05, hidden=(8,), eval_every=2, z=Z,
                cover=COVER, progress=False, pairs=2)
    return out, sc, cfg


def test_training_writes_a_safe_run_and_selects_on_validation(tiny_run):
    out, _, cfg = tiny_run
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.pt"]
    saved = json.loads((out / "config.json").read_text())
    assert saved["train_seeds"][0] == TRAIN_SEED_BASE and saved["val_seeds"][0] == VAL_SEED_BASE
    vals = [h["val_profit"] for h in saved["history"]]
    assert saved["val_profit_best"] == max(vals) >= saved["val_profit_sS"] == vals[0]
    state = torch.load(out / WEIGHTS, weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())


@pytest.mark.parametrize("estimator", ["es", "pathwise"])
def test_gradient_estimates_are_finite_and_es_steps_raise_the_training_objective(estimator):
    """On a tiny seasonal shop: both estimators give finite, non-zero gradients from (s, S); a few ES steps (the
    default estimator) raise the training profit on the same episodes (common random numbers)."""
    sc = load_scenario("seasonal", horizon=60, n_skus=3)
    paths, consts = draw_paths(sc, range(TRAIN_SEED_BASE, TRAIN_SEED_BASE + 8))
    torch.manual_seed(0)
    net = ResidualNet((8,))
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    gen = torch.Generator().manual_seed(0)
    idx = np.arange(8)

    def policy(model, tau):
        return lambda f: order_quantities(f, model, Z, COVER, 2.0, sc.demand.dispersion, consts, tau, tau > 0)

    def objective():
        with torch.no_grad():
            return float(rollout(policy(net, 0.0), paths, consts)[0].mean())

    start = objective()
    if estimator == "pathwise":
        profit, _ = rollout(policy(net, 1.0), paths, consts, 1.0)
        profit.mean().backward()
        grads = torch.cat([p.grad.reshape(-1) for p in net.parameters()])
        assert torch.isfinite(grads).all() and grads.abs().sum() > 0
        return
    for _ in range(6):
        grad, _ = es_gradient(net, policy, paths, consts, idx, pairs=4, sigma=0.1, gen=gen)
        assert torch.isfinite(grad).all() and grad.abs().sum() > 0
        opt.zero_grad()
        set_grad(net, -grad / abs(start))
        opt.step()
    assert objective() > start


def test_load_checks_the_files_and_the_scenario(tiny_run, tmp_path):
    out, sc, _ = tiny_run
    with pytest.raises(ModelFileError, match="config.json"):
        load_policy(tmp_path, gym.make("shopgym/Restock-v0", scenario=sc))
    with pytest.raises(ModelFileError, match="3 SKUs"):
        load_policy(out, gym.make("shopgym/Restock-v0", scenario="seasonal"))
    bad = tmp_path / "bad"
    bad.mkdir()
    cfg = json.loads((out / "config.json").read_text())
    env = gym.make("shopgym/Restock-v0", scenario=sc)
    (bad / "config.json").write_text(json.dumps({k: v for k, v in cfg.items() if k != "weights_sha256"}))
    torch.save({"x": np.arange(3)}, bad / WEIGHTS)  # a numpy object: refused by weights_only loading
    with pytest.raises(ModelFileError, match="not the weights of this architecture"):
        load_policy(bad, env)
    (bad / "config.json").write_text(json.dumps(cfg))  # the digest of other weights: an interrupted save
    with pytest.raises(ModelFileError, match="is not the file config.json was saved with"):
        load_policy(bad, env)
    (bad / "config.json").write_text('{"n_skus": 3,')
    with pytest.raises(ModelFileError, match="not a readable directbackprop config"):
        load_policy(bad, env)
    (bad / "config.json").write_text(json.dumps({k: v for k, v in cfg.items() if k != "hidden"}))
    with pytest.raises(ModelFileError, match="without hidden"):
        load_policy(bad, env)


def test_directbackprop_spec_runs_as_a_policy_and_in_the_benchmark(tiny_run, tmp_path):
    out, sc, _ = tiny_run
    env = gym.make("shopgym/Restock-v0", scenario=sc)
    policy = make_policy(f"directbackprop:{out}", env)
    ep = play(env, policy, seed=3)
    assert ep.length == 40 and np.isfinite(ep.profit)
    path = tmp_path / "tiny.toml"
    path.write_text('[catalog]\nn_skus = 3\nn_categories = 3\n[env]\nhorizon = 40\n')
    # a 3-SKU scenario file with other parameters: the loader accepts it (same SKU count), the benchmark runs it
    res = run_benchmark([str(path)], [f"directbackprop:{out}", "random"], n_seeds=2, out=tmp_path / "bench",
                        progress=False)
    assert set(res.results["policy"]) == {f"directbackprop:{out}", "random"}
    assert np.isfinite(res.results["profit"]).all()
