"""``shopgym calibrate``: fit a scenario to your own sales (and transaction counts, and interaction logs).

Mounted at the top level by ``shopgym/cli/main.py``. Writes the scenario TOML (``--out``) and, unless
``--holdout-weeks 0``, ``fidelity.md`` with its plots next to it.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import typer

from shopgym.errors import ShopgymError

app = typer.Typer(add_completion=False)


def _fail(exc: BaseException) -> None:
    """Print the one-line message for ``exc`` (``shopgym.cli.faults``) and exit with status 2."""
    from shopgym.cli.faults import EXIT_CODE, report

    report(exc)
    raise typer.Exit(EXIT_CODE)


def _need_file(path: Path | None, what: str) -> None:
    from shopgym.errors import DataError

    if path is not None and not path.is_file():
        raise DataError(f"{what} {str(path)!r} " + ("is a folder, not a file" if path.is_dir() else "does not exist")
                        + "; check the path.")


def _stores(text: str) -> list[int] | None:
    from shopgym.errors import DataError

    try:
        return [int(s) for s in text.split(",") if s.strip()] or None
    except ValueError:
        raise DataError(f"--stores must be comma-separated store numbers such as 1,2 (or empty for all), got {text!r}.") from None


@app.command()
def calibrate(
    sales: Path = typer.Option(..., "--sales", help="Sales: a long CSV (unique_id, ds, y; optional price, promo), daily "
                               "or weekly, or the Walmart train.csv(.zip) (detected by its columns)."),
    out: Path = typer.Option(..., "--out", help="The scenario file to write (e.g. my-shop.toml); fidelity.md and its "
                             "plots go next to it."),
    logs: Path = typer.Option(None, "--logs", help="Interaction logs (the conversion log schema, or Taobao "
                              "UserBehavior): fits the [shoppers] funnel."),
    transactions: Path = typer.Option(None, "--transactions", help="Daily transaction counts (Favorita layout: date, "
                                      "store_nbr, transactions): fits the [shoppers] arrivals."),
    holdout_weeks: int = typer.Option(13, "--holdout-weeks", min=0, help="Weeks held out at the end for the fidelity "
                                      "report (0: no report)."),
    seeds: int = typer.Option(200, "--seeds", min=1, max=10_000, help="Simulated worlds of the fidelity report."),
    unit_price: float = typer.Option(10.0, "--unit-price", help="Sales without a price column: the assumed price "
                                     "of one unit (Walmart dollars are turned into units with it)."),
    stores: str = typer.Option("1", "--stores", help="Walmart layout only: comma-separated stores to keep (empty: all)."),
    max_series: int = typer.Option(10, "--max-series", min=0, help="Keep the largest N series by total sales (0: all); "
                                   "10 keeps `shopgym benchmark` on the scenario to minutes."),
    horizon: int = typer.Option(91, "--horizon", min=1, max=100_000, help="Episode length of the scenario (days)."),
    store: str = typer.Option(None, "--store", help="--transactions: keep this store (default: every store; the "
                              "calendar shape is fitted on all, the level is the mean store's)."),
    ctr: float = typer.Option(None, "--ctr", min=0.0001, max=0.9999, help="--logs without impressions (Taobao): the "
                              "click rate per impression to fit base_ctr to (default: shopgym.calibrate.funnel.DEFAULT_CTR, "
                              "0.040, listed as not identified)."),
    holidays: Path = typer.Option(None, "--holidays", help="--transactions: national holidays (Favorita "
                                  "holidays_events.csv) whose effects on arrivals are fitted."),
) -> None:
    """Fit a scenario to your own data and report how well it reproduces held-out weeks.

    Demand per SKU (base rate, weekly and yearly shape, trend, over-dispersion, promotions and price elasticity
    where prices vary) from --sales; arrivals from --transactions; the funnel from --logs. What the data cannot
    identify is left at a stated default and listed in the scenario's header."""
    from shopgym.calibrate.demand import fit_demand
    from shopgym.calibrate.fidelity import Fidelity, sales_fidelity
    from shopgym.calibrate.report import write_report
    from shopgym.calibrate.sales import read_sales
    from shopgym.calibrate.writer import Calibration, write_scenario
    from shopgym.errors import DataError

    command = "shopgym " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    try:
        if out.suffix != ".toml":
            raise DataError(f"--out {str(out)!r} must name a .toml file (e.g. my-shop.toml).")
        if out.is_dir():
            raise DataError(f"--out {str(out)!r} is a folder; name a .toml file.")
        for path, what in ((sales, "--sales file"), (logs, "--logs file"), (transactions, "--transactions file")):
            _need_file(path, what)
        data = read_sales(sales, unit_price=unit_price, stores=_stores(stores), max_series=max_series or None)
        typer.echo(f"{data.frame['unique_id'].nunique()} series of {data.freq} sales, "
                   f"{data.frame['ds'].min().date()} to {data.frame['ds'].max().date()}")
        cal = Calibration(demand=fit_demand(data), data_source=data.source, command=command, unit_price=unit_price)
        arrivals_frame = funnel_logs = None
        funnel_keys: dict = {}
        if transactions is not None:
            from shopgym.calibrate.arrivals import fit_arrivals, read_transactions

            _need_file(holidays, "--holidays file")
            holiday_table = None
            if holidays is not None:
                from shopgym.calibrate.arrivals import read_holidays

                holiday_table = read_holidays(holidays)
            arrivals_frame = read_transactions(transactions, store=store)
            keys = fit_arrivals(arrivals_frame, holidays=holiday_table).to_shoppers_config()
            cal.shoppers.update(keys)
            cal.shopper_sources.update({f"shoppers.{k}": f"fit_arrivals on {transactions.name}" for k in keys})
        if logs is not None:
            from shopgym.calibrate import funnel

            funnel_logs = funnel.funnel_ratios(funnel.read_interaction_logs(logs))
            logged = funnel_logs.overall.get("click_rate")
            if logged is not None:
                click_rate, ctr_source = logged.value, f"the click rate of {logs.name}"
            elif ctr is not None:
                click_rate, ctr_source = ctr, f"--ctr {ctr:g}"
            else:
                click_rate = funnel.DEFAULT_CTR
                ctr_source = f"the literature click rate funnel.DEFAULT_CTR = {click_rate:g} (Ali-CCP, Ma et al. 2018)"
                cal.unidentified.append(("shoppers.base_ctr", f"{logs.name} logs no impressions, so no click rate",
                                         click_rate))
            keys = funnel_keys = funnel.fit_funnel(funnel_logs, click_rate)
            cal.shoppers.update(keys)
            cal.shopper_sources.update({f"shoppers.{k}": f"fit_funnel on {logs.name} (cart/click, purchase/cart; "
                                        f"click rate: {ctr_source})" for k in keys})
        fid = None
        if holdout_weeks:
            fid = Fidelity(holdout_weeks, sales_fidelity(data, holdout_weeks, seeds, unit_price, progress=True))
        scenario = write_scenario(cal, out, horizon)
    except ShopgymError as exc:
        _fail(exc)
    typer.echo(f"wrote {out} ({scenario.catalog.n_skus} SKUs, {len(cal.demand.unidentified)} demand key(s) not "
               "identified: see its header)")
    if fid is None:
        return
    try:
        if arrivals_frame is not None:
            from shopgym.calibrate.fidelity import arrivals_fidelity

            fid.arrivals = arrivals_fidelity(arrivals_frame, holdout_weeks, seeds, holidays=holiday_table)
        if funnel_logs is not None:
            from shopgym.calibrate.fidelity import funnel_fidelity

            fid.funnel = funnel_fidelity(funnel_logs, funnel_keys)  # in the world fit_funnel fitted them in
    except ShopgymError as exc:
        _fail(exc)
    report = write_report(fid, out.parent, command)
    s = fid.sales
    typer.echo(f"held-out {holdout_weeks} weeks: total weekly MASE {s.mase_total:.3f} (seasonal naive "
               f"{s.naive_mase_total:.3f}), coverage of the 80% band {s.coverage:.2f} (SKU-weeks), "
               f"{s.coverage_total:.2f} (total)")
    typer.echo(f"wrote {report}")
