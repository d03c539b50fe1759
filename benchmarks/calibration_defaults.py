"""The "Calibrated defaults" section of docs/calibration.md: every fitted [shoppers] default next to its source.

    python benchmarks/calibration_defaults.py [--data DIR] [--seeds 5] [--oracle-seeds 1] [--no-doc]

1. Taobao UserBehavior sample: cart/page view, buy/page view, buy/cart with Wilson 95% CIs, overall and per category
   (``shopgym.calibrate.funnel``).
2. ``fit_funnel``: ``base_ctr``, ``base_cart_rate``, ``base_purchase_rate`` that reproduce those ratios and the cited
   click rate under ``shopgym conversion generate``'s logging policy; compared with the defaults in ShoppersConfig.
3. The reproduction: ``shopgym conversion generate`` at its defaults (100,000 impressions) for seeds 0 .. n-1, its
   ratios and Wilson CIs against the Taobao CIs.
4. Favorita daily transactions (+ holidays_events.csv): the arrival fit (``shopgym.calibrate.arrivals``) and the
   keys the recommend scenarios carry.
5. The myopic oracle's purchases per episode on scenarios/recommend.toml and recommend-memory.toml.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scenarios import doc_sections  # noqa: E402
from shopgym.calibrate.arrivals import WEEKDAYS, fit_arrivals, read_holidays, read_transactions  # noqa: E402
from shopgym.calibrate.funnel import DEFAULT_CTR, funnel_ratios, read_interaction_logs, wilson  # noqa: E402
from shopgym.config import ShoppersConfig, load_scenario  # noqa: E402

DOC = ROOT / "docs" / "calibration.md"
#: The click-through rate target and its source (see the section text).
CTR = DEFAULT_CTR
CTR_SOURCE = ("Ali-CCP, the public Taobao recommender log of the ESMM paper (Ma et al., \"Entire Space Multi-Task "
              "Model\", SIGIR 2018, Table 1): 84M impressions, 3.4M clicks, a click rate of 3.4 / 84 = 4.0%")
FUNNEL_KEYS = ("base_ctr", "base_cart_rate", "base_purchase_rate")
RATIO_NAMES = {"cart_per_click": "cart / click (page view)", "purchase_per_click": "purchase / click (page view)",
               "purchase_per_cart": "purchase / cart"}


def _ci(r) -> str:
    return f"{r.value:.4f} [{r.lo:.4f}, {r.hi:.4f}]"


def taobao_part(data: Path):
    ratios = funnel_ratios(read_interaction_logs(data / "taobao_userbehavior" / "UserBehavior.csv"))
    c = ratios.counts
    lines = [f"**Taobao UserBehavior sample** (`taobao_userbehavior/UserBehavior.csv`, 4,321 events of 43 users: "
             f"{c['click']} page views, {c['cart']} carts, {c['fav']} favourites, {c['purchase']} buys; "
             f"{ratios.interval}):", "",
             "| ratio | count / count | value [95% CI] |", "|---|---|---|"]
    for name, label in RATIO_NAMES.items():
        r = ratios.overall[name]
        lines.append(f"| {label} | {r.numerator} / {r.denominator} | {_ci(r)} |")
    pc = ratios.per_category
    fitted = pc[pc["status"] == "fitted"]
    lines += ["", f"Per category (the {len(fitted)} of {len(pc)} categories with at least {ratios.min_clicks} page "
              f"views; the other {len(pc) - len(fitted)} are too small to report):", "",
              "| category | page views | carts | buys | cart / click [95% CI] |", "|---|---|---|---|---|"]
    for r in fitted.itertuples():
        lines.append(f"| {r.category} | {r.clicks} | {r.carts} | {r.purchases} | {r.cart_per_click:.3f} "
                     f"[{r.cart_per_click_lo:.3f}, {r.cart_per_click_hi:.3f}] |")
    lo, hi = fitted["cart_per_click"].min(), fitted["cart_per_click"].max()
    lines += ["", f"The categories' cart rates differ (from {lo:.3f} to {hi:.3f}), but the world has one funnel for "
              "every category (its categories are synthetic), so the defaults are fitted to the overall ratios."]
    return ratios, "\n".join(lines)


def funnel_part(ratios, n_impressions: int, seeds: int):
    from forecasters.conversion.logs import generate_logs, log_scenario
    from shopgym.calibrate.funnel import fit_funnel

    t0 = time.time()
    fitted = fit_funnel(ratios, CTR)
    fit_s = time.time() - t0
    default = ShoppersConfig()
    lines = ["", f"**Click rate.** The target is {CTR:.3f} clicks per impression, from {CTR_SOURCE}. Ali-CCP is a "
             "recommender feed of the same shop as the UserBehavior sample; the Criteo and Avazu click logs are not "
             "used: their positive rates (about 26% and 17%) are those of data sub-sampled by their publishers, not "
             "click rates. The world's click rate is that of all impressions of `shopgym conversion generate`'s "
             "logging policy (slates of 10, half of the sessions the myopic oracle's slate, half random), so "
             "`base_ctr`, the rate at position 0 for zero affinity and the median price, is not the target itself.",
             "", f"**Fitted `[shoppers]` defaults** (`shopgym.calibrate.funnel.fit_funnel`: bisection on the response "
             "model's exact funnel averaged over the reference logging policy's impressions, refitted 3 times on "
             f"fresh logs; {fit_s:.0f} s):", "",
             "| key | fitted | default in ShoppersConfig | before | source (target) |", "|---|---|---|---|---|"]
    source = {"base_ctr": f"click rate {CTR:.3f} (Ali-CCP)",
              "base_cart_rate": f"Taobao cart / page view {_ci(ratios.overall['cart_per_click'])}",
              "base_purchase_rate": f"Taobao buy / cart {_ci(ratios.overall['purchase_per_cart'])}"}
    before = {"base_ctr": 0.1, "base_cart_rate": 0.3, "base_purchase_rate": 0.5}
    for key in FUNNEL_KEYS:
        lines.append(f"| `{key}` | {fitted[key]:.4g} | {getattr(default, key):.4g} | {before[key]} | {source[key]} |")
    same = all(abs(fitted[k] - getattr(default, k)) <= 1e-3 * fitted[k] for k in FUNNEL_KEYS)
    lines += ["", "The defaults are the fitted values." if same else
              "**The defaults differ from the fitted values: update ShoppersConfig.**"]
    # the reproduction: shopgym conversion generate at its defaults
    rows, pooled = [], np.zeros(3, dtype=np.int64)
    n_total = 0
    for seed in range(seeds):
        df = generate_logs(log_scenario(), n_impressions, seed=seed)
        c, k, p = int(df["click"].sum()), int(df["cart"].sum()), int(df["purchase"].sum())
        pooled += (c, k, p)
        n_total += len(df)
        rows.append((seed, len(df), c, k, p))
    lines += ["", f"**Reproduced by the simulator**: `shopgym conversion generate OUT.csv --seed S` at its defaults "
              f"({n_impressions:,} impressions, `log_scenario()`, the calibrated defaults), seeds 0 .. {seeds - 1}. "
              "A ratio is met when the simulated value lies inside the Taobao 95% CI.", "",
              "| seed | impressions | clicks | click rate | cart / click | purchase / click | purchase / cart |",
              "|---|---|---|---|---|---|---|"]
    met = {name: 0 for name in RATIO_NAMES}
    for seed, n, c, k, p in rows:
        sim = {"cart_per_click": wilson(k, c), "purchase_per_click": wilson(p, c), "purchase_per_cart": wilson(p, k)}
        for name in RATIO_NAMES:
            met[name] += ratios.overall[name].contains(sim[name].value)
        lines.append(f"| {seed} | {n:,} | {c:,} | {c / n:.4f} | " + " | ".join(
            f"{sim[name].value:.4f}" for name in RATIO_NAMES) + " |")
    c, k, p = (int(v) for v in pooled)
    sim = {"cart_per_click": wilson(k, c), "purchase_per_click": wilson(p, c), "purchase_per_cart": wilson(p, k)}
    lines += [f"| pooled | {n_total:,} | {c:,} | {c / n_total:.4f} | " + " | ".join(_ci(sim[n]) for n in RATIO_NAMES)
              + " |", "", "| ratio | Taobao [95% CI] | simulated, pooled [95% CI] | seeds inside the Taobao CI | target |",
              "|---|---|---|---|---|"]
    for name, label in RATIO_NAMES.items():
        ok = ratios.overall[name].contains(sim[name].value)
        lines.append(f"| {label} | {_ci(ratios.overall[name])} | {_ci(sim[name])} | {met[name]} of {seeds} | "
                     f"{'**met**' if ok else '**not met**'} |")
    return fitted, "\n".join(lines)


def arrivals_part(data: Path):
    fav = data / "favorita"
    fit = fit_arrivals(read_transactions(fav / "transactions.csv"), read_holidays(fav / "holidays_events.csv"))
    lines = ["", f"**Daily arrivals** (`shopgym.calibrate.arrivals.fit_arrivals` on Favorita `transactions.csv`, "
             f"{fit.n_stores} stores, {fit.n_days} days, with the national holidays and events of "
             "`holidays_events.csv`): log daily transactions regressed on store levels, a piecewise-linear trend "
             "(a knot every 91 days), weekday dummies, a payday dummy (the 15th, 16th, last and 1st of each month: "
             "Ecuador's public-sector wages are paid on the 15th and the last day) and one dummy per holiday name; "
             "standard errors clustered by date.", "",
             "| value | fitted ± SE | `[shoppers]` key |", "|---|---|---|",
             f"| daily transactions ({fit.level}) | {fit.sessions_per_day:.0f} ± {fit.sessions_per_day_se:.0f} | "
             "`sessions_per_day` (scaled to each scenario's volume) |"]
    for d, w, se in zip(WEEKDAYS, fit.weekly, fit.weekly_se, strict=True):
        lines.append(f"| weekly multiplier {d} | {w:.3f} ± {se:.3f} | `arrival_weekly` |")
    lines += [f"| payday uplift | {fit.payday_uplift:.3f} ± {fit.payday_uplift_se:.3f} | `arrival_payday_uplift` |",
              f"| negative-binomial k of the daily count | {fit.dispersion:.1f} ± {fit.dispersion_se:.1f} | "
              "`arrival_dispersion` |"]
    t = fit.holiday_table
    kept = t[t["exported"]]
    lines += ["", f"Holidays: {len(t)} names fitted; {len(kept)} recur in at least two years and have a measurable "
              "effect (|log effect| > 1.96 SE and |uplift| >= 5%): `arrival_holidays` `[day_of_year, 1, uplift]`. "
              "One-off events (the 2016 earthquake, the 2014 World Cup) are fitted, so they do not bias the rest, "
              "but not exported.", "", "| holiday | day of year | years | uplift ± SE |", "|---|---|---|---|"]
    for r in kept.itertuples():
        lines.append(f"| {r.name} | {r.day_of_year} | {r.years} | {r.uplift:+.3f} ± {np.exp(np.log1p(r.uplift)) * r.se:.3f} |")
    return fit, "\n".join(lines)


def oracle_part(seeds: int):
    import gymnasium as gym

    import shopgym.envs  # noqa: F401
    from agents.recommend_heuristics import MyopicOracle
    from shopgym.rollout import rollout

    lines = ["", "**The recommend scenarios** carry the calibrated funnel (no funnel override) and the Favorita "
             "arrival shape at their own volume. Myopic oracle (`agents/recommend_heuristics.py`), one item per "
             "session, per episode:", "",
             "| scenario | sessions/day | shoppers | episodes | sessions | clicks | purchases |", "|---|---|---|---|---|---|---|"]
    for name in ("recommend", "recommend-memory"):
        env = gym.make("shopgym/Recommend-v0", scenario=name)
        s = load_scenario(name).shoppers
        k = [rollout(env, MyopicOracle(env), seed).kpis for seed in range(seeds)]
        mean = {f: float(np.mean([x[f] for x in k])) for f in ("sessions", "clicks", "purchases")}
        lines.append(f"| {name} | {s.sessions_per_day:g} | {s.n_shoppers} | {seeds} | {mean['sessions']:.0f} | "
                     f"{mean['clicks']:.0f} | {mean['purchases']:.0f} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=None, help="folder holding taobao_userbehavior/ and favorita/ "
                   "(default $SHOPGYM_DATA or ../shared/data)")
    p.add_argument("--seeds", type=int, default=5, help="seeds of `shopgym conversion generate` to reproduce")
    p.add_argument("--impressions", type=int, default=100_000, help="impressions per seed (the CLI default)")
    p.add_argument("--oracle-seeds", type=int, default=1, help="myopic-oracle episodes per recommend scenario (0: skip)")
    p.add_argument("--no-doc", action="store_true", help="print only")
    args = p.parse_args(argv)
    data = Path(args.data or os.environ.get("SHOPGYM_DATA", ROOT.parent / "shared" / "data"))
    command = "python benchmarks/calibration_defaults.py" + "".join(f" {a}" for a in (argv or sys.argv[1:]))
    t0 = time.time()
    ratios, taobao = taobao_part(data)
    _, funnel = funnel_part(ratios, args.impressions, args.seeds)
    fit, arrivals = arrivals_part(data)
    parts = [taobao, funnel, arrivals]
    if args.oracle_seeds > 0:
        parts.append(oracle_part(args.oracle_seeds))
    body = "\n".join(parts) + "\n"
    print(body, flush=True)
    print("arrival keys:", fit.to_shoppers_config(), flush=True)
    if not args.no_doc:
        import torch

        doc_sections.write_section(DOC, "defaults", "Calibrated defaults", body, command, time.time() - t0,
                                   f"{torch.get_num_threads()} thread(s)")
        print(f"wrote {DOC} (section 'defaults')")


if __name__ == "__main__":
    main()
