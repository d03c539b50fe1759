"""Learned responses in the loop: a learned Recommend world against the true one (scenarios/fidelity_recommend.py),
the tabulated learned response model (forecasters/conversion/response_table.py) and the benchmark's small mode."""

from __future__ import annotations

import numpy as np
import pytest

import shopgym.envs.recommend as recommend_module
from agents.registry import make_policy
from forecasters.conversion.learned import LearnedConversion
from forecasters.conversion.logs import generate_logs
from forecasters.conversion.registry import make_model
from forecasters.conversion.response_table import ResponseTable
from scenarios.fidelity_recommend import (
    EXPECTED,
    MARGIN,
    Comparison,
    compare,
    episode_metrics,
    ratio_ci,
    recommend_env,
)
from shopgym.config import load_scenario
from shopgym.plugins import build_world
from shopgym.world.protocols import ImpressionBatch
from shopgym.world.response import nested_sample

#: A small Recommend shop: 200 shoppers, ~40 sessions a day, 3 days (~120 sessions an episode), with the dense
#: funnel of before the Taobao calibration so that an episode holds purchases to compare.
SMALL = {"n_shoppers": 200, "sessions_per_day": 40.0, "horizon": 3, "base_ctr": 0.1, "base_cart_rate": 0.3,
         "base_purchase_rate": 0.5}
POLICIES = ("random", "myopic_oracle", "stock_aware_greedy")


class Standin:
    """A response model that answers the TRUE probabilities with the click probability times ``click_factor``
    (capped at 1): a perfect learned model for factor 1, a biased one otherwise. Not a ``GroundTruthResponse``,
    so the world serves it like a learned model."""

    def __init__(self, truth, click_factor: float = 1.0):
        self.truth, self.click_factor = truth, click_factor

    def probabilities(self, batch):
        p = np.array(self.truth.probabilities(batch), dtype=float)
        p[:, 0] = np.minimum(p[:, 0] * self.click_factor, 1.0)
        return p

    def sample(self, batch, rng):
        return nested_sample(self.probabilities(batch), rng)


def standin_env(monkeypatch, click_factor: float):
    """A Recommend env whose world's response model is a ``Standin`` around its own ground truth."""

    def build(scenario, n_worlds=1, **models):
        truth = build_world(scenario, n_worlds).response_model
        return build_world(scenario, n_worlds, response_model=Standin(truth, click_factor))

    with monkeypatch.context() as m:
        m.setattr(recommend_module, "build_world", build)
        return recommend_env("recommend", None, **SMALL)


def metrics(env, seeds=(0, 1), names=POLICIES):
    return {name: episode_metrics(env, make_policy(name, env), seeds) for name in names}


def test_a_model_with_the_true_probabilities_reproduces_every_policy(monkeypatch):
    true = metrics(recommend_env("recommend", None, **SMALL))
    same = metrics(standin_env(monkeypatch, 1.0))
    assert min(true["myopic_oracle"][:, MARGIN]) > 0  # the shop sells: the comparison is not of zeros
    rows = compare(true, same)
    assert [r.name for r in rows] == list(POLICIES)
    for r in rows:  # same seeds, same shoppers, same uniforms: the same episodes
        np.testing.assert_allclose(r.learned, r.true, rtol=1e-9, err_msg=r.name)
        assert r.ratio == pytest.approx(1.0) and r.within()


def test_a_model_that_overstates_clicks_raises_ctr(monkeypatch):
    """Clicks are drawn as u < p with the same uniforms u in both worlds: a model that says 1.6 p (0.5 p) gives
    about 1.6x (0.5x) the clicks, less where the shown items drift apart (a few hundred impressions here)."""
    names = ("random", "myopic_oracle")
    true = metrics(recommend_env("recommend", None, **SMALL), (0, 1), names)
    biased = metrics(standin_env(monkeypatch, 1.6), (0, 1), names)
    for name in names:
        assert biased[name][:, 0].mean() > 1.25 * true[name][:, 0].mean(), name  # CTR
    low = metrics(standin_env(monkeypatch, 0.5), (0, 1), names[:1])
    assert low["random"][:, 0].mean() < 0.8 * true["random"][:, 0].mean()


def test_comparison_ratio_and_tolerance():
    """The ratio is of mean EXPECTED margins; its paired CI shrinks with the spread of learned - ratio x true."""
    true = np.array([[0.1, 0.01, 90.0, 100.0, 0.1], [0.1, 0.01, 130.0, 120.0, 0.1]])
    learned = true * [1, 1, 2, 1.15, 1]
    row = Comparison("p", true, learned)
    assert row.ratio == pytest.approx(1.15) and row.error == pytest.approx(0.15)
    assert row.ratio_half == pytest.approx(0.0, abs=1e-12)  # exactly proportional pairs: no doubt
    assert not row.within(0.10) and row.within(0.2)
    assert row.verdict(0.10) == "refuted" and row.verdict(0.2) == "shown"
    spread = true.copy()
    spread[:, EXPECTED] += [-20.0, 25.0]  # learned 80 and 145 against true 100 and 120
    noisy = Comparison("q", true, spread)
    ratio, half = ratio_ci(noisy.learned[:, EXPECTED], noisy.true[:, EXPECTED])
    assert ratio == pytest.approx(225 / 220) and half > 0.5 and noisy.verdict() == "open"


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    """A shared-bottom model fitted for one epoch on 1,500 log impressions of the small shop."""
    logs = generate_logs(load_scenario("recommend", slate_size=1, **SMALL), n_impressions=1500, seed=3, epsilon=1.0)
    path = tmp_path_factory.mktemp("fidelity") / "sb.pt"
    make_model("shared_bottom", epochs=1, seed=0).fit(logs).save(path)
    return path


def test_a_saved_model_drives_the_env_and_tables_change_nothing(saved_model):
    tabulated = recommend_env("recommend", saved_model, **SMALL)
    model = tabulated.unwrapped.world.response_model
    assert isinstance(model, LearnedConversion) and model.table is not None
    plain = recommend_env("recommend", None, response_model=f"learned:{saved_model}", **SMALL)
    assert plain.unwrapped.world.response_model.table is None
    for name in ("myopic_oracle",):  # it asks the model twice a session: the ranking and the response
        a = episode_metrics(tabulated, make_policy(name, tabulated), [0])
        b = episode_metrics(plain, make_policy(name, plain), [0])
        np.testing.assert_allclose(a, b, rtol=1e-9, err_msg=name)
    assert model.table.built >= 1


def test_response_table_answers_as_the_model(saved_model):
    world = build_world(load_scenario("recommend", response_model=f"learned:{saved_model}", **SMALL))
    direct = world.response_model
    n_items = world.catalog.n_skus
    rng = np.random.default_rng(0)
    m = 64
    batch = ImpressionBatch(shopper=rng.integers(0, 200, m), item=rng.integers(0, n_items, m),
                            position=rng.integers(0, 2, m), seen=np.where(rng.random(m) < 0.2, 2, 0),
                            discount=np.where(rng.random(m) < 0.2, 0.1, 0.0), in_stock=rng.random(m) < 0.8,
                            day=rng.integers(0, 9, m))
    want = direct.probabilities(batch)
    table = ResponseTable(direct.probabilities, 200, n_items, direct.start_weekday, max_rows=2 * 200 * n_items)
    np.testing.assert_allclose(table.probabilities(batch), want, rtol=1e-5, atol=1e-7)
    assert len(table._tables) <= 2 and table.built > 2  # contexts beyond two were rebuilt: the same answers
    np.testing.assert_allclose(table.probabilities(batch), want, rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="max_rows"):
        ResponseTable(direct.probabilities, 200, n_items, max_rows=100)


@pytest.mark.slow
def test_the_benchmark_small_mode_runs_end_to_end(tmp_path):
    from benchmarks.recommend_fidelity import main

    doc = tmp_path / "recommend.md"
    doc.write_text("# Recommendation\n\nkept text\n")
    out = main(["--quick", "--out", str(doc), "--workdir", str(tmp_path / "work")])
    text = doc.read_text()
    assert "kept text" in text
    for name in ("fidelity", "sim-to-real"):
        assert text.count(f"<!-- {name}:start -->") == 1
    assert "python benchmarks/recommend_fidelity.py --quick" in text and "myopic_oracle" in text
    best, losses = out["selection"]  # the lowest held-out log loss after recalibration drives the learned world
    assert set(losses) == {f"{m}/{f}" for m in ("shared_bottom", "esmm") for f in ("1x512", "2x1024")}
    assert best == min(losses, key=lambda m: losses[m]["cal_sum"])
    assert all(v["sum"] > v["oracle"] > 0 and v["cal_sum"] > v["oracle"] for v in losses.values())
    assert "Selection rule (declared before this run; `--calibrate platt`)" in text and "calibrated: log loss" in text
    assert set(out["tables"]) == {best} and "ppo" in out["sim"]
    assert "expected margin" in text
    assert (tmp_path / "work" / "results.json").exists()
    before = doc.read_text()
    main(["--from-results", str(tmp_path / "work" / "results.json"), "--out", str(doc)])  # no run: same figures
    strip = [ln for ln in before.splitlines() if not ln.startswith("Produced by")]
    assert [ln for ln in doc.read_text().splitlines() if not ln.startswith("Produced by")] == strip
    import json  # the run saved its finishing time, which the rewrite's stamp names before its own

    ran_at = json.loads((tmp_path / "work" / "results.json").read_text())["ran_at"]
    assert f"{ran_at}; text rewritten from its saved results " in doc.read_text()
    main(["--quick", "--out", str(doc), "--workdir", str(tmp_path / "work")])  # re-run: replaced, not appended
    assert doc.read_text().count("<!-- fidelity:start -->") == 1


def test_selection_recalibrates_every_candidate_into_a_new_file(tmp_path):
    """``--calibrate platt``: each candidate is recalibrated on calibration logs (seed 12347) into a new file, the
    fitted one left as it was, and the lowest held-out loss AFTER calibration is chosen; ``none`` is the old rule."""
    import json

    import pandas as pd

    from benchmarks.recommend_fidelity import (
        CALIBRATION_SEED,
        HOLDOUT_SEED,
        _decode,
        _encode,
        backfill_counts,
        parse,
        select_model,
    )
    from forecasters.conversion.base import ConversionModel

    args = parse(["--quick"])
    assert args.calibrate == "platt"
    args.holdout = 800  # held-out and calibration logs of 800 impressions (the quick shop's dense funnel)
    names = ["shared_bottom/1x512", "esmm/1x512"]
    best, paths, losses = select_model(args, tmp_path, 800, 1.0, names)
    fitted = {m: tmp_path / f"{m.replace('/', '-')}-800-1.0.pt" for m in names}
    assert (tmp_path / f"logs-800-1.0-{CALIBRATION_SEED}.csv").exists()
    assert (tmp_path / f"logs-800-1.0-{HOLDOUT_SEED}.csv").exists()
    raw_bytes = {m: p.read_bytes() for m, p in fitted.items()}
    for m in names:
        assert paths[m] != fitted[m] and paths[m].name.endswith(f"-platt-800-1.0-{CALIBRATION_SEED}.pt")
        assert ConversionModel.load(paths[m]).calibration_ is not None
        assert ConversionModel.load(fitted[m]).calibration_ is None
        assert losses[m]["cal_sum"] != losses[m]["sum"]
    assert best == min(names, key=lambda m: losses[m]["cal_sum"])
    cal_logs = pd.read_csv(tmp_path / f"logs-800-1.0-{CALIBRATION_SEED}.csv")
    for m in names:  # the calibration's counts: the purchase stage was fitted on the carts of the calibration logs
        v = losses[m]
        assert (v["cal_n_click"], v["cal_positives_click"]) == (800, cal_logs["click"].sum())
        assert (v["cal_n_purchase"], v["cal_positives_purchase"]) == (cal_logs["cart"].sum(), cal_logs["purchase"].sum())
        assert v["cal_logs_expected_purchase"] == pytest.approx(cal_logs["true_purchase"].sum())
    again = select_model(args, tmp_path, 800, 1.0, names)  # cached: same files, same figures
    assert again[1] == paths and again[2] == losses
    # a results.json of before the counts were saved gets them back from the run's folder, every other figure kept
    args.workdir, args.impressions, args.epsilon = str(tmp_path), 800, 1.0
    stripped = {m: {k: x for k, x in v.items() if not k.startswith(("cal_n_", "cal_positives_", "cal_logs_"))}
                for m, v in losses.items()}
    results = tmp_path / "results.json"
    results.write_text(json.dumps(_encode({"args": vars(args), "selection": (best, stripped), "seconds": 1.0})))
    backfill_counts(results)
    back = _decode(json.loads(results.read_text()))
    assert back["selection"] == (best, losses) and back["seconds"] == 1.0
    next(iter(paths.values())).unlink()
    with pytest.raises(SystemExit, match="workdir lacks"):
        backfill_counts(results)
    args.calibrate = "none"
    best, paths, losses = select_model(args, tmp_path, 800, 1.0, names)
    assert paths == fitted and best == min(names, key=lambda m: losses[m]["sum"])
    assert not any(k.startswith("cal_") for v in losses.values() for k in v)
    assert {m: p.read_bytes() for m, p in fitted.items()} == raw_bytes  # never written over


def test_saved_figures_are_plain_json_and_round_trip(tmp_path):
    import json

    import pandas as pd

    from benchmarks.recommend_fidelity import _decode, _encode

    figures = {"true": {"random": np.array([[1.5, 2.0], [3.0, 4.0]])}, "sens": [(20000, 0.3, pd.DataFrame({"a": [1.0]}))],
               "sim": {"plan": (np.array([1.0]), np.array([2.0]), 3.5)}, "seconds": np.float64(7.0)}
    back = _decode(json.loads(json.dumps(_encode(figures))))  # json.dumps refuses anything but plain data
    np.testing.assert_array_equal(back["true"]["random"], figures["true"]["random"])
    n, eps, frame = back["sens"][0]
    assert (n, eps) == (20000, 0.3)
    pd.testing.assert_frame_equal(frame, figures["sens"][0][2], check_index_type=False)
    assert isinstance(back["sim"]["plan"], tuple) and back["sim"]["plan"][2] == 3.5 and back["seconds"] == 7.0


def test_the_doc_names_the_calibration_data_of_every_row():
    """Under ``--calibrate platt`` the sensitivity table has a 'calibration impressions' column (``--holdout`` for
    every setting) and says where the calibration logs outnumber the training logs; the calibration line gives the
    carts and purchases the purchase level was fitted on with its binomial standard error. ``none`` has neither;
    saved figures without the counts (runs of before) print no count sentence."""
    from benchmarks.recommend_fidelity import fidelity_body, parse

    rng = np.random.default_rng(0)
    true = {"random": rng.uniform(1, 2, (3, 5))}
    learned = {"random": true["random"] * 1.05}
    best = "shared_bottom/1x512"
    fig = {"click": 0.2, "cart": 0.01, "purchase": 0.004, "sum": 0.214, "oracle": 0.21, "bias_click": 1.0,
           "bias_cart": 1.0, "bias_purchase": 0.9}
    fig |= {f"cal_{k}": v for k, v in fig.items()}
    counts = {"cal_n_purchase": 970, "cal_positives_purchase": 313, "cal_logs_expected_purchase": 299.455}
    args = parse(["--quick"])
    args.holdout, args.impressions, args.seeds, args.sensitivity_seeds = 500, 1000, 3, 3
    args.policies = args.sensitivity_policies = "random"
    figures = {"keys": {}, "true": true, "learned": {best: learned}, "selection": (best, {best: {**fig, **counts}}),
               "sens": [(100, 1.0, best, learned), (1000, 1.0, best, learned), (300, 0.3, best, learned)]}
    text = fidelity_body(args, figures)
    head = next(ln for ln in text.splitlines() if ln.startswith("| log impressions"))
    assert head.startswith("| log impressions | calibration impressions | logging epsilon")
    rows = [ln for ln in text.splitlines() if ln.startswith(("| 100 |", "| 1,000 |", "| 300 |"))]
    assert len(rows) == 3 and all(ln.split("|")[2].strip() == "500" and ln.count("|") == head.count("|") for ln in rows)
    assert "in the 100 and 300 rows the calibration logs are the larger (5.0x and 1.7x the training logs)" in text
    rate = 313 / 970
    se = np.sqrt(rate * (1 - rate) / 970)
    assert f"313 purchases among 970 carts: {rate:.3f} ± {se:.3f} (binomial standard error" in text
    assert "0.323 ± 0.015" in text and "expect 299.5 purchases, so the logs drew +4.5%" in text
    old = fidelity_body(args, {**figures, "selection": (best, {best: fig})})
    assert "purchases among" not in old and "calibration impressions" in old
    args.calibrate = "none"
    plain = fidelity_body(args, {**figures, "selection": (best, {best: {k: v for k, v in fig.items()
                                                                        if not k.startswith("cal_")}})})
    assert "calibration impressions" not in plain and "Calibration logs are separate" not in plain
    assert next(ln for ln in plain.splitlines() if ln.startswith("| 100 |")).count("|") == 8


def test_a_rewrite_from_saved_results_names_when_the_run_finished(tmp_path):
    """``--from-results`` rewrites the sections as the run wrote them, stamped with the run's finishing time (saved
    in results.json) and the rewrite's; a file of before that time was saved is refused until ``--ran-at`` records
    it once, and a different time is never written over."""
    import json

    from benchmarks.recommend_fidelity import main, parse, rewrite, write_docs
    from scenarios.fidelity_results import load_results, record_ran_at, save_results

    rng = np.random.default_rng(1)
    true = {"random": rng.uniform(1, 2, (3, 5)), "myopic_oracle": rng.uniform(2, 3, (3, 5))}
    learned = {k: v * 1.05 for k, v in true.items()}
    best = "shared_bottom/1x512"
    fig = {"click": 0.2, "cart": 0.01, "purchase": 0.004, "sum": 0.214, "oracle": 0.21, "bias_click": 1.0,
           "bias_cart": 1.0, "bias_purchase": 0.9}
    fig |= {f"cal_{k}": v for k, v in fig.items()}
    args = parse(["--quick", "--out", str(tmp_path / "direct.md")])
    args.seeds = args.sensitivity_seeds = 3
    figures = {"keys": {"horizon": 2}, "true": true, "learned": {best: learned}, "selection": (best, {best: fig}),
               "sens": [(1500, 1.0, best, learned)], "sim": {"plan": (true["myopic_oracle"], learned["myopic_oracle"])},
               "seconds": 125.0}
    results = tmp_path / "results.json"
    save_results(results, args, figures, "2026-12-02 05:52 UTC")
    saved_args, back = load_results(results)
    assert back["ran_at"] == "2026-12-02 05:52 UTC" and back["selection"] == figures["selection"]
    np.testing.assert_array_equal(back["true"]["random"], true["random"])
    write_docs(args, figures)  # as the run writes them
    rewrite(results, str(tmp_path / "rewritten.md"))

    def stamps(path):
        return [ln for ln in path.read_text().splitlines() if ln.startswith("Produced by")]

    def text(path):
        return [ln for ln in path.read_text().splitlines() if not ln.startswith("Produced by")]

    assert text(tmp_path / "rewritten.md") == text(tmp_path / "direct.md")  # same figures, same text
    again = stamps(tmp_path / "rewritten.md")
    assert len(again) == 2 and all(" in 2.1 min " in s and "2026-12-02 05:52 UTC; text rewritten from its saved "
                                   "results 20" in s for s in again)
    assert all("rewritten" not in s for s in stamps(tmp_path / "direct.md"))
    # a results.json of before the time was saved: refused, then recorded once
    raw = json.loads(results.read_text())
    del raw["ran_at"]
    results.write_text(json.dumps(raw))
    old = results.read_text()
    with pytest.raises(SystemExit, match="records no finishing time.*--ran-at"):
        main(["--from-results", str(results), "--out", str(tmp_path / "old.md")])
    assert not (tmp_path / "old.md").exists()
    main(["--from-results", str(results), "--out", str(tmp_path / "old.md"), "--ran-at", "2026-12-02 05:52 UTC"])
    assert results.read_text() == old[:-1] + ', "ran_at": "2026-12-02 05:52 UTC"}'  # every other byte kept
    assert text(tmp_path / "old.md") == text(tmp_path / "direct.md") and "05:52 UTC; text" in stamps(
        tmp_path / "old.md")[0]
    assert record_ran_at(results, "2026-12-02 05:52 UTC") is False  # the same time again: nothing to do
    recorded = results.read_bytes()
    with pytest.raises(SystemExit, match="already records .*'2026-12-02 05:52 UTC'"):
        record_ran_at(results, "2026-12-02 06:00 UTC")
    assert results.read_bytes() == recorded
    for bad in (["--ran-at", "2026-12-02 5:52"], ["--from-results", str(results), "--ran-at", "05:52"],
                ["--from-results", str(results), "--ran-at", "2026-12-02 05:52"]):
        with pytest.raises(SystemExit) as e:
            parse(bad)
        assert e.value.code == 2  # argparse's usage error, naming the format or the missing --from-results
    assert saved_args.quick and saved_args.seeds == 3


def test_a_broken_results_json_is_one_clear_exit(tmp_path):
    """A truncated results.json, one holding a list, or one recording a malformed time: a clear exit naming the
    file, never a traceback; a malformed recorded time may be replaced through --ran-at."""
    from scenarios.fidelity_results import load_results, read_raw, record_ran_at

    bad = tmp_path / "results.json"
    bad.write_text('{"args": {"quick": tr')
    for call in (lambda: read_raw(bad), lambda: load_results(bad), lambda: record_ran_at(bad, "2026-12-02 05:52 UTC")):
        with pytest.raises(SystemExit, match="not readable JSON"):
            call()
    bad.write_text("[1, 2]")
    with pytest.raises(SystemExit, match="holds a JSON list, not a run's results"):
        read_raw(bad)
    bad.write_text('{"args": {}, "keys": {}, "true": {}, "learned": {}, "selection": [], "sens": [], "sim": {}, '
                   '"seconds": 1.0, "ran_at": "2026-12-02 5:52"}')
    with pytest.raises(SystemExit, match="the recorded ran_at '2026-12-02 5:52'"):
        load_results(bad)
    assert record_ran_at(bad, "2026-12-02 05:52 UTC") is True  # the malformed time is replaced
    assert '"ran_at": "2026-12-02 05:52 UTC"' in bad.read_text()
