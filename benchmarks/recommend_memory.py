"""How much a policy could gain on ``recommend-memory`` by not being myopic: the "memory" section of docs/recommend.md.

    python benchmarks/recommend_memory.py [--seeds 5] [--scenario recommend-memory]

The PRIVILEGED myopic oracle (greedy by the true expected margin now, given the shopper's hidden memory) plays the
evaluation seeds 0 .. n-1 of the scenario with every memory switch as shipped, then with each of
``memory_fatigue``, ``memory_satisfaction`` and ``memory_drift`` turned off alone, on the same seeds. Per episode it
records the margin (currency, the env's reward at ``reward_scale = 1``), the expected margin (``OracleTally``:
each served session's purchase probability x unit margin under the true model, the noise-free counterpart of the
margin that ``scenarios.expected_margin`` sums, read off the oracle's own scores), the sessions and the factor by
which satisfaction scaled each day's session count, and at the episode's end the memory levers (``lever_counts``):
churned shoppers, satisfaction, sessions per shopper, impressions met by fatigue and the examination it cost,
drifted shoppers. A switch's value is the paired difference (as shipped minus off) over the seeds, mean ± 95% CI
(``shopgym.stats.mean_ci95``). Apart from stock, what a non-myopic policy can gain over the myopic oracle goes
through these effects (without them a session's choice changes nothing later), so the section reads from them how
much there is to win.
Episodes are kept in ``--cache`` (default ``runs/recommend-memory/episodes.json``) and reused by a re-run of
the same scenario content; ``--fresh`` replays them all.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import shopgym  # noqa: E402,F401
from agents.registry import RECOMMEND_ALL  # noqa: E402
from scenarios.doc_sections import write_section  # noqa: E402
from scenarios.memory_levers import (  # noqa: E402,F401  (re-exported: the tests read them here)
    LEVERS,
    POLICY,
    RECORD_VERSION,
    OracleTally,
    ci,
    column,
    episode,
    lever_counts,
    lever_values,
    run,
    settings,
)
from shopgym.config import load_scenario  # noqa: E402
from shopgym.world.memory import DRIFT_CAP, SATISFACTION_START  # noqa: E402


def body(res: dict[str, list[dict[str, float]]], scenario: str, seeds: int, horizon: int, shoppers,
         main_rows: dict[str, tuple[float, str]] | None = None) -> str:
    """The section's Markdown from ``run``'s records; ``horizon``: days an episode; ``shoppers``: the scenario's
    ``[shoppers]`` section; ``main_rows``: the main table's rows of the scenario (``main_table``), cited in the
    verdict line."""
    names = list(res)
    ref = res["as shipped"]
    n_shop = int(ref[0]["shoppers"])

    def mean(name: str, key: str) -> float:
        return float(column(res[name], key).mean())

    def row(label: str, key: str, digits: int = 1, fn=None) -> str:
        cells = []
        for name in names:
            v = column(res[name], key) if fn is None else np.array([fn(r) for r in res[name]])
            cells.append(ci(v, digits))
        return f"| {label} | " + " | ".join(cells) + " |"

    lines = [
        f"Scenario `{scenario}` ({n_shop:,} shoppers, {shoppers.sessions_per_day:,.0f} sessions a day on average, "
        f"{horizon} days, slates of one item), the PRIVILEGED myopic oracle on evaluation seeds 0 .. "
        f"{seeds - 1} (those of the main table above): as shipped (memory_fatigue, memory_satisfaction, memory_drift "
        "on), and with each switch turned off alone, on the same seeds (same shoppers and pre-episode records; the "
        "arrival and response streams are the same until the settings part). Margin: the episode's recommendation "
        "margin (currency, the env's reward); expected margin: the sum over served sessions of the shown item's "
        "purchase probability x unit margin under the true model at the shopper's memory then (the noise-free "
        "counterpart of the margin, `scenarios.expected_margin`). Memory figures at the episode's end "
        "(`benchmarks/recommend_memory.py` `lever_counts`). Each cell: mean ± 95% CI over the seeds "
        "(`shopgym.stats.mean_ci95`).", "",
        "| at the episode's end | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
        row("margin", "margin"),
        row("expected margin", "expected_margin"),
        row("sessions", "sessions", 0),
        row("sessions per shopper", "sessions_per_shopper", 2),
        row("shoppers with no session", "no_session", 0),
        row("shoppers with one session", "one_session", 0),
        row("shoppers with 2 or more sessions", "several_sessions", 0),
        row("most sessions of a shopper", "most_sessions", 1),
        row("click rate (%)", "clicks", 2, lambda r: 100 * r["clicks"] / max(r["sessions"], 1)),
        row("purchases", "purchases", 1),
        row("churned shoppers", "churned", 1),
        row("satisfaction: mean", "satisfaction_mean", 3),
        "| satisfaction: 5th / 50th / 95th percentile (means) | " + " | ".join(
            " / ".join(f"{mean(n, k):.2f}" for k in ("satisfaction_p05", "satisfaction_p50", "satisfaction_p95"))
            for n in names) + " |",
        row("mean distance of satisfaction from 0.5", "satisfaction_moved", 3),
        "| shoppers below 0.5 / above 0.5 (% of shoppers, means) | " + " | ".join(
            f"{100 * mean(n, 'below_start') / n_shop:.1f} / {100 * mean(n, 'above_start') / n_shop:.1f}"
            for n in names) + " |",
        row("impressions of an item seen before (% of impressions)", "fatigued", 1,
            lambda r: 100 * r["fatigued"] / r["impressions"] if r["impressions"] else 0.0),
        row("mean examination factor exp(-fatigue_rate x seen)", "examination", 4),
        row("shoppers with a drifted interest", "drifted", 1),
        row("largest drifted interest (click log-odds)", "interest_max", 2),
    ]
    values = lever_values(res)
    expected = lever_values(res, "expected_margin")
    sessions = lever_values(res, "sessions")
    m0, e0 = mean("as shipped", "margin"), mean("as shipped", "expected_margin")
    lines += ["", "What each effect is worth to the myopic oracle: as shipped minus the switch off, paired over the "
              "seeds (currency; sessions: count), and as a % of the as-shipped mean.", "",
              "| effect | margin | % | expected margin | % | sessions |", "|---|---:|---:|---:|---:|---:|"]
    for lever in values:
        (dm, dh), (em, eh), (sm, sh) = values[lever], expected[lever], sessions[lever]
        lines.append(f"| {lever} | {dm:+,.1f} ± {dh:,.1f} | {100 * dm / m0:+.1f} | {em:+,.1f} ± {eh:,.1f} | "
                     f"{100 * em / e0:+.1f} | {sm:+,.0f} ± {sh:,.0f} |")
    lines += ["", *reading(res, scenario, shoppers, values, expected, main_rows)]
    return "\n".join(lines)


def main_table(doc: str, scenario: str) -> dict[str, tuple[float, str]]:
    """The rows of the main table of ``scenario`` in docs/recommend.md's text ``doc`` (the ``## SCENARIO`` table
    that ``benchmarks/recommend.py`` writes): policy -> (mean margin, the ``mean ± half-width`` cell as the table
    states it). Empty when the doc has no such table."""
    rows: dict[str, tuple[float, str]] = {}
    lines = doc.splitlines()
    if f"## {scenario}" not in lines:
        return rows
    for line in lines[lines.index(f"## {scenario}") + 1:]:
        if line.startswith("#"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if len(cells) >= 2 and re.fullmatch(r"-?[\d,]+(\.\d+)? ± [\d,]+(\.\d+)?", cells[1]):
            rows[cells[0]] = (float(cells[1].split(" ± ")[0].replace(",", "")), cells[1])
    return rows


def satisfaction_lines(mean, shoppers, e0: float) -> tuple[list[str], float, float, float]:
    """The satisfaction paragraphs of the reading, with the satisfaction lever's whole cost to the oracle and what
    doubling the click rate would win back of it (both expected margin, currency, estimates), and the oracle's
    ``gain / loss x purchases + clicks`` over its impressions (from 1 up the mean satisfaction does not fall).
    ``mean(key)``: the as-shipped mean of a record key over the seeds."""
    n_shop, imps, clicks, purchases = mean("shoppers"), mean("sessions"), mean("clicks"), mean("purchases")
    ignored = imps - clicks  # slates of one: an impression a session
    gain, loss = shoppers.satisfaction_gain, shoppers.satisfaction_loss
    scale, last = mean("session_scale"), mean("session_scale_last")
    # As shipped the oracle had sessions = S x scale, S those with satisfaction held at its start: S - S x scale
    # sessions lost, (1 - scale) / scale of the as-shipped ones, at about the same expected margin a session.
    cost = (1 - scale) / scale * e0
    doubled = cost * clicks / ignored  # doubling the clicks cuts the ignored impressions' loss by clicks / ignored
    held = gain / loss * purchases + clicks  # >= impressions: the mean satisfaction does not fall
    day_sd = 100 / np.sqrt(shoppers.arrival_dispersion) if shoppers.arrival_dispersion > 0 else 0.0
    lines = [
        "How sessions are allotted (`shopgym/world/sessions.py` `SessionPhase._arrivals`): with memory_satisfaction "
        "the day's session count is drawn with mean `sessions_per_day` x the calendar multiplier x (the shoppers' "
        f"mean satisfaction, a churned shopper counting 0) / {SATISFACTION_START}, and each session's shopper in "
        "proportion to satisfaction. So satisfaction sets how many sessions a day has, not only who gets them. As "
        f"shipped that factor averaged {scale:.4f} over the days (the last day {last:.3f}; "
        f"`OracleTally.session_scale`): in expectation the oracle had {100 * (1 - scale):.1f}% fewer sessions than "
        f"with satisfaction held at its start (the lost sessions come to {100 * (1 - scale) / scale:.1f}% of its "
        f"as-shipped ones), about "
        f"{cost:,.1f} of expected margin ({100 * cost / e0:.1f}% of its {e0:,.1f}) at the same expected margin a "
        "session: the whole cost of satisfaction to the oracle by this accounting ((1 - factor) / factor x the "
        "expected margin, with the factor's mean over the days: an estimate). The session counts in the table "
        "differ by less and with wide CIs: the day's count is negative binomial "
        f"(k = {shoppers.arrival_dispersion:g}, about ±{day_sd:.0f}% a day), and with the switch off the shoppers "
        "are drawn by another routine, so that pair shares no arrival draws.",
        "",
        f"What moves satisfaction, as shipped: {ignored:,.0f} ignored impressions an episode x {loss} = "
        f"{loss * ignored:,.0f} lost, against {purchases:,.1f} purchases x {gain} = {gain * purchases:,.1f} gained, "
        f"over {n_shop:,.0f} shoppers (clipping and stock-outs aside); nobody falls below the churn threshold "
        f"{shoppers.churn_threshold} ({mean('churned'):,.1f} churned). The oracle's click rate is "
        f"{100 * clicks / imps:.2f}%, so {100 * ignored / imps:.0f}% of its impressions are ignored; a policy cuts "
        "the loss by the clicks it adds (and gains by the purchases it adds). Doubling the click rate (at the cost of "
        f"margin now) would cut the loss by {100 * clicks / ignored:.0f}%, worth about {doubled:,.1f} of expected "
        "margin: an example, not a ceiling (a policy could raise the click rate further). Winning back the whole "
        f"{cost:,.1f} needs the mean satisfaction held at its start: by the same accounting {gain / loss:g} x "
        f"purchases + clicks >= impressions, where the oracle's {gain / loss:g} x {purchases:,.1f} + {clicks:,.0f} = "
        f"{held:,.0f} is {100 * held / imps:.0f}% of its {imps:,.0f} impressions. Satisfaction above its start could "
        "add more sessions still, within a cap the code sets: satisfaction is clipped to [0, 1] "
        "(`shopgym/world/memory.py`), so the factor above cannot exceed "
        f"1 / {SATISFACTION_START:g} = {1 / SATISFACTION_START:g}, twice the expected sessions (a cap on sessions, not on "
        f"margin); reaching it takes every shopper to 1, a net gain of {(1 - SATISFACTION_START) * n_shop:,.0f} "
        f"satisfaction, {(1 - SATISFACTION_START) * n_shop / gain:,.0f} purchases' worth at {gain} each, against the "
        f"oracle's {purchases:,.0f} purchases an episode.",
    ]
    return lines, cost, doubled, held / imps


def reading(res: dict[str, list[dict[str, float]]], scenario: str, shoppers, values: dict,
            expected: dict, main_rows: dict[str, tuple[float, str]] | None = None) -> list[str]:
    """The section's reading of the figures: how sessions are allotted, what each effect could leave a non-myopic
    policy to win over the myopic oracle (currency; estimates and arguments, not bounds), and an assessment (not a
    measurement: no agent is played here) of the memory target of issue 15. ``main_rows``: ``main_table``'s rows of
    ``scenario`` (cited as the main table states them; ``None`` or empty: not cited)."""

    def mean(key: str, name: str = "as shipped") -> float:
        return float(column(res[name], key).mean())

    n_shop, imps = mean("shoppers"), mean("sessions")
    e0 = mean("expected_margin")
    out = []
    sat_cost = sat_doubled = held_share = 0.0
    if "memory_satisfaction" in expected:
        lines, sat_cost, sat_doubled, held_share = satisfaction_lines(mean, shoppers, e0)
        out += lines
    if "memory_fatigue" in expected:
        fm, fh = expected["memory_fatigue"]
        fatigued = 100 * mean("fatigued") / mean("impressions")
        out += ["", f"Fatigue is the large effect: {fatigued:.1f}% of impressions show an item the shopper has seen "
                f"this episode, the mean examination factor is {mean('examination'):.3f}, and it costs the oracle "
                f"{-fm:,.1f} ± {fh:,.1f} of expected margin ({-100 * fm / e0:.0f}%). But a planner can hardly avoid it: "
                "the myopic oracle's scores already include the shopper's `seen` counts, and greedy is (near) optimal "
                "against this fatigue. Examination multiplies the whole funnel, so showing an item to a shopper for the "
                f"n-th time is worth v exp(-{shoppers.fatigue_rate:g} (n - 1)): a shopper's total depends only on how "
                "often each item is shown, each showing worth less than the one before, and taking the largest next "
                "term in every session maximises such a sum for any number of sessions to come. Greedy misses only "
                "what comes from v changing over time (the weekend lift, prices, drifted interests), from the "
                "candidate set changing (the candidates depend on stock, popularity and the last clicked category) "
                "and from stock: second order here (an argument, not a measurement)."]
    drift_high = 0.0
    drift_text = ""
    if "memory_drift" in expected:
        dm, dh = expected["memory_drift"]
        drift_high = dm + dh
        drift_text = f"{dm:+,.1f} ± {dh:,.1f}"
        out += ["", f"Drift: {mean('drifted'):,.1f} shoppers of {n_shop:,.0f} drifted (about one purchase each; the "
                f"largest drifted interest of an episode {mean('interest_max'):.2f} log-odds on average), worth "
                f"{drift_text} of expected margin to the myopic oracle. That is drift's value to a policy that does "
                "not steer purchases, not a ceiling for one that does: a planner could sell into a category to raise "
                f"a shopper's later clicks there (+{shoppers.drift_rate:g} log-odds a purchase, up to {DRIFT_CAP:g}), "
                f"but {mean('purchases'):,.0f} purchases in {imps:,.0f} sessions, at "
                f"{mean('sessions_per_shopper'):.2f} sessions a shopper, leave few purchases to steer and few later "
                "sessions to use them (an argument, not a measurement)."]
    total = sat_cost + max(drift_high, 0.0)
    noise = [values[k][1] for k in ("memory_fatigue", "memory_satisfaction") if k in values]
    parts = []
    if "memory_satisfaction" in expected:
        parts.append(f"through satisfaction its whole cost to the oracle, about {sat_cost:,.1f} "
                     f"({100 * sat_cost / e0:.1f}% of the oracle's {e0:,.1f}), of which doubling the click rate would "
                     f"win back about {sat_doubled:,.1f}; more only with satisfaction above its start, which needs "
                     f"{shoppers.satisfaction_gain / shoppers.satisfaction_loss:g} x purchases + clicks above the "
                     f"impressions (the oracle's: {100 * held_share:.0f}% of them; above)")
    if "memory_fatigue" in expected:
        parts.append("through fatigue little (the argument above)")
    if "memory_drift" in expected:
        parts.append(f"through drift its value to the oracle, {drift_text}, which a planner that steers purchases "
                     "might exceed")
    out += ["", "What there is to win, estimated (these are estimates and arguments, not bounds): with memory off, a "
            "session's choice changes later sessions only through stock (a purchase takes a unit a later session "
            "could have sold, restocked by order-up-to), so what a policy can gain over the myopic oracle here goes "
            f"through these effects: {'; '.join(parts)}. Together, the whole satisfaction cost and drift's upper CI "
            f"end come to about {total:,.1f} of expected margin ({100 * total / e0:.1f}%)."
            + (f" Realised margins of two settings that part early differ by a paired 95% CI half-width of "
               f"{min(noise):,.0f} .. {max(noise):,.0f} over these seeds (the fatigue and satisfaction rows)." if noise
               else ""), ""]
    out.append(verdict_line(scenario, total, noise, main_rows or {}))
    return out


def verdict_line(scenario: str, total: float, noise: list[float], main_rows: dict[str, tuple[float, str]]) -> str:
    """The memory target of issue 15 on ``scenario``, as an assessment: this script plays no agent, only the
    myopic oracle. ``total``: the estimate of what the memory levers hold (currency); ``noise``: paired half-widths
    of realised margins; ``main_rows``: ``main_table``'s rows, for the best non-privileged policy's margin."""
    line = (f"- Memory target of issue 15 on `{scenario}` (the best agent beats the myopic oracle, the 95% CI of the "
            "paired difference excluding zero): **Not met** (an assessment from the figures above, not a measured "
            f"verdict: no agent was trained on `{scenario}`, and this script plays only the myopic oracle, as shipped "
            "and with each switch off; no agent-vs-oracle paired episodes were run).")
    learners = {name: row for name, row in main_rows.items()
                if name in RECOMMEND_ALL and "privileged" not in RECOMMEND_ALL[name][1].lower()}
    if "myopic_oracle" in main_rows and learners:
        best = max(learners, key=lambda name: learners[name][0])
        line += (f" The best non-privileged policy of the main table above on `{scenario}`, {best}, makes "
                 f"{learners[best][1]} against the myopic oracle's {main_rows['myopic_oracle'][1]} (margins as that "
                 "table states them, `benchmarks/recommend.py`), and the oracle reads each shopper's hidden "
                 "preferences.")
    line += (f" The memory levers' worth estimated above (the whole satisfaction cost and drift's upper CI end) "
             f"is about {total:,.0f} of expected margin an episode"
             + (f", below the {min(noise):,.0f} .. {max(noise):,.0f} half-widths of these paired episodes."
                if noise and total < min(noise) else ".")
             + " The exact instance (the agents section) is where the memory target is met: there one shopper's "
             "satisfaction sets their return visits and churn, and the optimum is far above the myopic oracle.")
    return line


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5, help="evaluation seeds 0 .. N-1 per setting")
    p.add_argument("--scenario", default="recommend-memory")
    p.add_argument("--doc", default=str(ROOT / "docs" / "recommend.md"))
    p.add_argument("--cache", type=Path, default=ROOT / "runs" / "recommend-memory" / "episodes.json",
                   help="JSON file of the episodes played so far (reused; new ones added as they finish)")
    p.add_argument("--fresh", action="store_true", help="replay every episode, ignoring and overwriting --cache")
    a = p.parse_args()
    if a.seeds < 2:
        p.error(f"--seeds must be >= 2 (a CI needs two episodes), got {a.seeds}")
    sc = load_scenario(a.scenario)
    shoppers = sc.shoppers
    if not any(getattr(shoppers, lever) for lever in LEVERS):
        p.error(f"scenario {a.scenario!r} turns no memory switch on ({', '.join(LEVERS)}): nothing to measure; "
                "pick a memory scenario such as recommend-memory.")
    if a.fresh and a.cache.exists():
        a.cache.unlink()
    res = run(a.scenario, a.seeds, a.cache)
    played_s = sum(r["wall_s"] for recs in res.values() for r in recs)
    doc = Path(a.doc)
    main_rows = main_table(doc.read_text(), a.scenario) if doc.exists() else {}
    text = body(res, a.scenario, a.seeds, sc.env.horizon, shoppers, main_rows)
    command = ("python benchmarks/recommend_memory.py " + " ".join(sys.argv[1:])).strip()
    write_section(doc, "memory", "What the memory levers are worth on the memory scenario", text, command,
                  played_s, "torch unused; the time is the sum of the episodes' play times, one process")
    print(text)


if __name__ == "__main__":
    main()
