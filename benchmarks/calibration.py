"""Fidelity of `shopgym calibrate` on public data; writes its sections of docs/calibration.md.

  python benchmarks/calibration.py --part walmart     # demand: Walmart store 1, its 10 largest departments
  python benchmarks/calibration.py --part stores      # the same on stores 1-20 (is store 1 typical?)
  python benchmarks/calibration.py --part favorita    # arrivals: Favorita daily transactions, 54 stores
  python benchmarks/calibration.py --part taobao      # funnel: Taobao UserBehavior sample
  python benchmarks/calibration.py --part targets     # the issue's targets, met or not (runs walmart)

Each part prints its figures and (unless --no-doc) replaces its section of docs/calibration.md through
scenarios/doc_sections.py, stamped with the command. Data: $SHOPGYM_DATA or ../shared/data.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scenarios import doc_sections  # noqa: E402
from shopgym.calibrate.fidelity import arrivals_fidelity, funnel_fidelity, sales_fidelity  # noqa: E402
from shopgym.calibrate.report import count_table, funnel_table, sales_table  # noqa: E402
from shopgym.calibrate.sales import read_sales  # noqa: E402

DOC = ROOT / "docs" / "calibration.md"
DATA = Path(os.environ.get("SHOPGYM_DATA", ROOT.parent / "shared" / "data"))
HOLDOUT_WEEKS, SEEDS, UNIT_PRICE, MAX_SERIES = 13, 200, 10.0, 10
#: The targets of issue 22 for the Walmart-calibrated scenario on held-out weeks.
COVERAGE_TARGET, MASE_RATIO_TARGET = (0.7, 0.9), 1.10


def _walmart(store: int):
    data = read_sales(DATA / "walmart" / "train.csv.zip", unit_price=UNIT_PRICE, stores=[store], max_series=MAX_SERIES)
    return sales_fidelity(data, HOLDOUT_WEEKS, SEEDS)


def _settings() -> str:
    return (f"Held out: the last {HOLDOUT_WEEKS} weeks (2012-08-03 to 2012-10-26); calibrated on the 130 weeks before; "
            f"{SEEDS} simulated worlds; units = dollars / {UNIT_PRICE:g} (the stated price assumption); the "
            f"{MAX_SERIES} departments with the largest total sales.")


def part_walmart(args) -> str:
    s = _walmart(1)
    f = s.fit
    missing = ", ".join(f"`{k}`" for k, _, _ in f.unidentified)
    return "\n".join([
        f"Walmart store 1. {_settings()} Same as `shopgym calibrate --sales ../shared/data/walmart/train.csv.zip "
        f"--out my-shop.toml --holdout-weeks {HOLDOUT_WEEKS} --seeds {SEEDS}` (its defaults: `--stores 1 --max-series "
        f"{MAX_SERIES} --unit-price {UNIT_PRICE:g}`), which writes the same table to `fidelity.md`.", "",
        sales_table(s), "",
        f"Fitted on the calibration weeks: daily dispersion k = {f.dispersion:.2f}, trend {f.trend:+.3f}/year, a "
        f"52-block week-of-year profile (uplifts {min(h[2] for h in f.holidays):+.2f} to "
        f"{max(h[2] for h in f.holidays):+.2f}); not identified (left at defaults): {missing}.",
    ])


def part_stores(args) -> str:
    import numpy as np

    rows = ["| store | MASE total, simulated | MASE total, seasonal naive | ratio | coverage SKU-weeks | coverage total | "
            "both targets |", "|---|---|---|---|---|---|---|"]
    met = {"1-10": [], "11-20": []}
    for store in range(1, 21):
        s = _walmart(store)
        ratio = s.mase_total / s.naive_mase_total
        ok = ratio <= MASE_RATIO_TARGET and COVERAGE_TARGET[0] <= s.coverage <= COVERAGE_TARGET[1]
        met["1-10" if store <= 10 else "11-20"].append((ratio, s.coverage, ok))
        rows.append(f"| {store} | {s.mase_total:.3f} | {s.naive_mase_total:.3f} | {ratio:.2f} | {s.coverage:.2f} | "
                    f"{s.coverage_total:.2f} | {'yes' if ok else 'no'} |")
        print(rows[-1], flush=True)
    summary = []
    for group, res in met.items():
        r, c, ok = (np.array(x) for x in zip(*res, strict=True))
        summary.append(f"stores {group}: both targets met on {int(ok.sum())} of {len(ok)}; median ratio {np.median(r):.2f}, "
                       f"median SKU-week coverage {np.median(c):.2f}")
    return "\n".join([
        f"Walmart stores 1 to 20, each calibrated and scored alone. {_settings()} Stores 1 to 10 were looked at while "
        "choosing how the SKUs' dispersions become the scenario's one `dispersion` (`DISPERSION_POOLING`: one "
        "pooled ML k gave SKU-week coverage 0.92 on store 1 and 0.88-0.96 on 9 of stores 1-10, bands too wide; the "
        "median of each SKU's k was adopted; `--dispersion-pooling pooled --no-doc` reproduces the former); stores 11 to 20 were run only after that choice, so they are the "
        "unbiased check.", "", *rows, "", *(f"- {line}." for line in summary)])


def part_favorita(args) -> str:
    from shopgym.calibrate.arrivals import read_holidays, read_transactions

    frame = read_transactions(DATA / "favorita" / "transactions.csv")
    c = arrivals_fidelity(frame, HOLDOUT_WEEKS, SEEDS, holidays=read_holidays(DATA / "favorita" / "holidays_events.csv"))
    return "\n".join([
        f"Favorita `transactions.csv` (daily transactions of {c.n_stores} stores) with national holidays from "
        f"`holidays_events.csv`. The last {HOLDOUT_WEEKS} weeks held out; weekly cycle, paydays, holidays and "
        "dispersion fitted on the days before by `shopgym.calibrate.arrivals.fit_arrivals` (all stores together); "
        "each store's level is its mean daily count over its last 364 calibration days; session counts drawn as "
        f"the world draws them in {SEEDS} worlds. MASE per store-day, scaled by the store's in-sample 7-day "
        "seasonal-naive MAE; the seasonal-naive forecast (the count 7 days before the held-out day, from the last "
        "calibration week) is the reference.", "", count_table(c)])


def part_taobao(args) -> str:
    from shopgym.calibrate.funnel import DEFAULT_CTR, fit_funnel, funnel_ratios, read_interaction_logs

    real = funnel_ratios(read_interaction_logs(DATA / "taobao_userbehavior" / "UserBehavior.csv"))
    ctr = DEFAULT_CTR
    keys = fit_funnel(real, ctr)
    table = funnel_fidelity(real, keys)
    fitted = ", ".join(f"`{k} = {v:g}`" for k, v in keys.items())
    return "\n".join([
        "Taobao UserBehavior sample: page views count as clicks, `buy` as purchases; it logs no impressions, so "
        f"the click rate is not identified and the target click rate is the literature one `funnel.DEFAULT_CTR = {ctr:g}` "
        f"(listed as unidentified by `shopgym calibrate --logs`). Fitted by `fit_funnel`: {fitted}. Simulated: "
        "100,000 impressions of the conversion-log generator (`forecasters.conversion.logs`) in `log_scenario()` "
        "with those keys, read back through the same reader. Wilson 95% intervals.", "", funnel_table(table)])


def part_targets(args) -> str:
    s = _walmart(1)
    ratio = s.mase_total / s.naive_mase_total
    lo, hi = COVERAGE_TARGET
    cov_ok, mase_ok = lo <= s.coverage <= hi, ratio <= MASE_RATIO_TARGET
    return "\n".join([
        "| target (issue 22) | figure | met |", "|---|---|---|",
        f"| Walmart-calibrated, held-out weeks: coverage of the 80% band in [{lo}, {hi}] | {s.coverage:.3f} (all "
        f"SKU-weeks; total: {s.coverage_total:.3f}) | {'yes' if cov_ok else 'no'} |",
        f"| Walmart-calibrated, held-out weeks: total weekly MASE within 10% of seasonal naive's | {s.mase_total:.3f} vs "
        f"{s.naive_mase_total:.3f} (ratio {ratio:.3f}) | {'yes' if mase_ok else 'no'} |",
        "| Calibrated defaults reproduce the Taobao funnel ratios within their 95% CIs | see the section on the "
        "calibrated defaults | (there) |", "",
        f"Setting: {_settings()} Store 1 is the documented subset. Coverage is judged over all SKU-weeks (each real "
        "series inside its band); the total's band is too narrow (see the known limits). Store 1's coverage was "
        "0.915 (not met) with one pooled dispersion (`--part targets --dispersion-pooling pooled --no-doc`); it meets the target since the scenario takes the median of the "
        "SKUs' dispersions, a choice made after looking at stores 1 to 10. The section on stores 1 to 20 shows the "
        "unbiased check on stores 11 to 20 (count in its last line)."])


PARTS = {"walmart": ("Demand: Walmart weekly sales", part_walmart),
         "stores": ("Demand: Walmart stores 1 to 20", part_stores),
         "favorita": ("Arrivals: Favorita daily transactions", part_favorita),
         "taobao": ("Funnel: Taobao UserBehavior", part_taobao),
         "targets": ("Targets", part_targets)}

NEW_DOC = "# Calibrating shopgym on real data\n"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--part", choices=list(PARTS), required=True)
    p.add_argument("--no-doc", action="store_true", help="print the section only")
    p.add_argument("--dispersion-pooling", choices=("median", "pooled"), default="median",
                   help="how the SKUs' dispersions become the scenario's (shopgym.calibrate.demand.DISPERSION_POOLING)")
    args = p.parse_args(argv)
    from shopgym.calibrate import demand

    demand.DISPERSION_POOLING = args.dispersion_pooling
    t0 = time.time()
    title, run = PARTS[args.part]
    body = run(args)
    print(body)
    if not args.no_doc:
        command = "python benchmarks/calibration.py " + " ".join(sys.argv[1:] if argv is None else argv)
        doc_sections.write_section(DOC, args.part, title, body, command, time.time() - t0, "1 thread",
                                   new_doc=NEW_DOC)
        print(f"wrote {DOC} (section {args.part})")


if __name__ == "__main__":
    main()
