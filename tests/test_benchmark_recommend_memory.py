"""``benchmarks/recommend_memory.py`` (the "memory" section of docs/recommend.md): its end-of-episode lever counts
on a hand-checked shopper memory, a switched-off lever counting zero, and the oracle's expected-margin tally
against ``scenarios.expected_margin`` on a tiny episode."""

import gymnasium as gym
import numpy as np
import pytest

from agents.registry import make_policy
from benchmarks import recommend_memory as rm
from scenarios.expected_margin import Measured
from shopgym.config import ShoppersConfig, load_scenario
from shopgym.errors import ScenarioError
from shopgym.rollout import rollout
from shopgym.world.memory import ShopperState

ON = {"memory_fatigue": True, "memory_satisfaction": True, "memory_drift": True}


def played(**switches) -> ShopperState:
    """Three shoppers, two items in categories 0 and 1, one world. Day 0: shopper 0 sees item 0 (ignored) and
    item 0 again (clicked, bought); shopper 1 sees item 1 (ignored). Day 1: shopper 0 sees item 0 (ignored).
    Shopper 2 never comes."""
    cfg = ShoppersConfig(n_shoppers=3, fatigue_rate=0.5, satisfaction_gain=0.1, satisfaction_loss=0.25,
                         stockout_loss=0.0, churn_threshold=0.3, drift_rate=0.4, **switches)
    state = ShopperState(cfg, n_worlds=1, n_items=2, n_categories=2)
    w = np.zeros(3, dtype=np.int64)
    state.record_visits(w[:2], np.array([0, 1]), day=0)
    state.record_impressions(w, np.array([0, 0, 1]), np.array([0, 0, 1]), np.array([0, 0, 1]),
                             click=np.array([False, True, False]), purchase=np.array([False, True, False]),
                             out_of_stock=np.zeros(3, dtype=bool))
    state.record_visits(w[:1], np.array([0]), day=1)
    state.record_impressions(w[:1], np.array([0]), np.array([0]), np.array([0]), click=np.array([False]),
                             purchase=np.array([False]), out_of_stock=np.zeros(1, dtype=bool))
    return state


def test_lever_counts_match_the_hand_count():
    c = rm.lever_counts(played(**ON), fatigue_rate=0.5)
    # satisfaction: shopper 0: 0.5 - 0.25 + 0.1 - 0.25 = 0.1 (< 0.3: churned); shopper 1: 0.25; shopper 2: 0.5
    assert c["churned"] == 2 and c["below_start"] == 2 and c["above_start"] == 0
    assert c["satisfaction_mean"] == pytest.approx((0.1 + 0.25 + 0.5) / 3)
    assert c["satisfaction_moved"] == pytest.approx((0.4 + 0.25 + 0.0) / 3)
    assert (c["sessions"], c["no_session"], c["one_session"], c["several_sessions"], c["most_sessions"]) == (3, 1, 1, 1, 2)
    assert (c["clicks"], c["purchases"]) == (1, 1)
    # fatigue: shopper 0 saw item 0 three times (seen 0, 1, 2), shopper 1 item 1 once (seen 0)
    assert (c["impressions"], c["fatigued"]) == (4, 2)
    assert c["examination"] == pytest.approx((1 + np.exp(-0.5) + np.exp(-1.0) + 1) / 4)
    assert c["drifted"] == 1 and c["interest_max"] == pytest.approx(0.4)


@pytest.mark.parametrize("lever, keys", [
    ("memory_fatigue", ("impressions", "fatigued")),
    ("memory_satisfaction", ("churned", "satisfaction_moved", "below_start")),
    ("memory_drift", ("drifted", "interest_max")),
])
def test_a_lever_switched_off_counts_zero_and_leaves_the_others(lever, keys):
    on = rm.lever_counts(played(**ON), fatigue_rate=0.5)
    off = rm.lever_counts(played(**{**ON, lever: False}), fatigue_rate=0.5)
    assert all(on[k] > 0 for k in keys)
    assert all(off[k] == 0 for k in keys)
    if lever == "memory_fatigue":
        assert off["examination"] == 1.0
    # the sessions and the other levers do not depend on the switch in this hand-played record
    others = [k for k in on if k not in keys and k != "examination" and not k.startswith("satisfaction")]
    assert {k: off[k] for k in others} == {k: on[k] for k in others}


def test_lever_values_are_paired_differences_as_shipped_minus_off():
    res = {"as shipped": [{"margin": 10.0}, {"margin": 20.0}, {"margin": 30.0}],
           "memory_drift off": [{"margin": 9.0}, {"margin": 18.0}, {"margin": 27.0}]}
    mean, half = rm.lever_values(res)["memory_drift"]
    assert mean == pytest.approx(2.0) and half > 0  # differences 1, 2, 3


def test_settings_turn_off_only_the_switches_the_scenario_has_on():
    assert rm.settings("recommend-memory") == {"as shipped": {}, "memory_fatigue off": {"memory_fatigue": False},
                                               "memory_satisfaction off": {"memory_satisfaction": False},
                                               "memory_drift off": {"memory_drift": False}}
    assert list(rm.settings("recommend-exact")) == ["as shipped", "memory_satisfaction off", "memory_drift off"]


def tiny_env(**overrides):
    sc = load_scenario("recommend-memory", n_shoppers=30, sessions_per_day=40.0, horizon=3, **overrides)
    return gym.make("shopgym/Recommend-v0", scenario=sc)


def test_oracle_tally_is_the_expected_margin_and_episode_counts_agree():
    env = tiny_env()
    oracle = make_policy("myopic_oracle", env)
    tally = rm.OracleTally(oracle, env)
    measured = Measured(tally, env)
    rollout(env, measured, seed=3)
    assert tally.expected_margin > 0
    assert tally.expected_margin == pytest.approx(measured.expected_margin, rel=1e-12)
    rec = rm.episode(env, oracle, 3)  # the same episode again, through the script's function
    assert rec["expected_margin"] == pytest.approx(tally.expected_margin, rel=1e-12)
    assert rec["sessions"] == rec["steps"] == rec["impressions"]  # slates of one: a session is an impression
    seen = env.unwrapped.world.shopper_state.seen[0]
    assert rec["fatigued"] == rec["impressions"] - np.count_nonzero(seen) > 0


def test_oracle_tally_refuses_slates_of_two():
    env = gym.make("shopgym/Recommend-v0", scenario=load_scenario("recommend-memory", n_shoppers=30, horizon=2),
                   slate_size=2)
    with pytest.raises(ScenarioError, match="slate_size = 1"):
        rm.OracleTally(make_policy("myopic_oracle", env), env)


def test_session_scale_starts_at_one_and_falls_only_with_satisfaction_on():
    for satisfaction in (True, False):
        env = tiny_env(memory_satisfaction=satisfaction)
        tally = rm.OracleTally(make_policy("myopic_oracle", env), env)
        rollout(env, tally, seed=1)
        assert len(tally.session_scale) == 3  # one a day served
        assert tally.session_scale[0] == 1.0  # nothing shown yet: every shopper at the start
        if satisfaction:  # most impressions are ignored: mean satisfaction, and so the day's mean count, falls
            assert tally.session_scale[-1] < 1.0
        else:
            assert tally.session_scale == [1.0, 1.0, 1.0]


def record(scale: float = 0.95, **over) -> dict[str, float]:
    """A made-up episode record with the keys the section's reading uses."""
    rec = {"margin": 600.0, "expected_margin": 600.0, "steps": 1000.0, "session_scale": scale,
           "session_scale_last": scale - 0.02, "shoppers": 100.0, "churned": 0.0, "clicks": 100.0, "purchases": 10.0,
           "sessions": 1000.0, "sessions_per_shopper": 10.0, "impressions": 1000.0, "fatigued": 300.0,
           "examination": 0.9, "drifted": 10.0, "interest_max": 0.3, "satisfaction_mean": 0.45}
    return {**rec, **over}


def made_up_results() -> dict[str, list[dict[str, float]]]:
    """Three seeds of every setting of recommend-memory, as shipped with session factor 0.95."""
    shipped = [record(expected_margin=e) for e in (590.0, 600.0, 610.0)]
    off = {f"{lever} off": [record(1.0, expected_margin=e) for e in (591.0, 602.0, 613.0)] for lever in rm.LEVERS}
    return {"as shipped": shipped, **off}


def test_satisfaction_cost_is_the_lost_sessions_over_the_shipped_ones():
    shoppers = load_scenario("recommend-memory").shoppers
    res = made_up_results()

    def mean(key):
        return float(rm.column(res["as shipped"], key).mean())

    lines, cost, doubled, held = rm.satisfaction_lines(mean, shoppers, 600.0)
    # sessions as shipped = S x 0.95 (S: satisfaction held at its start): the lost 0.05 S are 0.05 / 0.95 of them
    assert cost == pytest.approx(0.05 / 0.95 * 600.0)
    assert doubled == pytest.approx(cost * 100 / 900)  # doubling 100 clicks in 1,000 impressions: 1/9 less loss
    gain_over_loss = shoppers.satisfaction_gain / shoppers.satisfaction_loss
    assert held == pytest.approx((gain_over_loss * 10 + 100) / 1000)
    text = " ".join(lines)
    assert "5.0% fewer sessions" in text and "5.3% of its as-shipped ones" in text and f"{cost:,.1f}" in text
    assert "cannot exceed 1 / 0.5 = 2" in text  # satisfaction <= 1: the session factor's cap in the code


def test_reading_calls_its_estimates_estimates_and_the_verdict_an_assessment():
    shoppers = load_scenario("recommend-memory").shoppers
    res = made_up_results()
    main_rows = rm.main_table("## recommend-memory\n\n| policy | margin |\n|---|---|\n| myopic_oracle | 656.1 ± 117.8 |\n"
                              "| taste_oracle | 700.0 ± 10.0 |\n| funnel_ucb | 528.8 ± 42.4 |\n| funnel_ts | 521.4 ± 63.1 |\n"
                              "\n## recommend-exact\n\n| policy | margin |\n|---|---|\n| funnel_ucb | 1.0 ± 0.1 |\n",
                              "recommend-memory")
    assert main_rows["funnel_ucb"] == (528.8, "528.8 ± 42.4") and len(main_rows) == 4  # the next table not read
    text = "\n".join(rm.reading(res, "recommend-memory", shoppers, rm.lever_values(res),
                                rm.lever_values(res, "expected_margin"), main_rows))
    assert "at most" not in text and "bound" not in text.replace("not bounds", "")
    verdict = text.splitlines()[-1]
    assert "**Not met** (an assessment" in verdict and "not a measured verdict" in verdict
    # the best policy that is not privileged (taste_oracle is), as the main table states it
    assert "funnel_ucb, makes 528.8 ± 42.4 against the myopic oracle's 656.1 ± 117.8" in verdict
    assert rm.main_table("# no tables here", "recommend-memory") == {}
    no_rows = rm.reading(res, "recommend-memory", shoppers, rm.lever_values(res),
                         rm.lever_values(res, "expected_margin"), {})
    assert "main table" not in no_rows[-1]  # nothing cited without the main table
