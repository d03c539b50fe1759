"""The shoppers' pre-episode record (``shoppers.history_*``, ``shopgym.world.history``) calibrated on the Taobao sample.

    python -m shopgym.calibrate.history [PATH]   (default: $SHOPGYM_DATA or ../shared/data, taobao_userbehavior/)

From a Taobao UserBehavior file (``user,item,category,behavior,ts``, no header; ``shopgym.calibrate.funnel``
reads it) over its window, 2017-11-25 .. 2017-12-03 in China time (UTC+8; 9 days): a page view (``pv``) is an
item page opened, a click in our model. Per user: the page views (users with none count as 0), their mean and the
moment-fitted negative-binomial shape ``k = mean^2 / (variance - mean)`` (``history_clicks`` and
``history_dispersion``), and the page views per visit, visits being runs of events with gaps under 30 minutes
(``history_clicks_per_visit``). The scenarios carry the numbers (``scenarios/recommend.toml``), so a run never
needs the data.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: The data set's window in seconds since the epoch: 2017-11-25 00:00 .. 2017-12-04 00:00, China time (UTC+8).
WINDOW = (1511539200, 1512316800)
#: A gap between two events of a user longer than this starts a new visit (seconds): the usual web-analytics rule.
VISIT_GAP = 1800


@dataclass(frozen=True)
class HistoryCalibration:
    """What the Taobao sample says of a shopper's record over its window (see the module docstring).

    Attributes:
        users: users in the file; days: length of the window (days).
        clicks_mean, clicks_median: page views per user over the window.
        dispersion: negative-binomial shape k of the page views per user (moment fit; inf if not overdispersed).
        clicks_per_visit: page views per visit (visits split at ``VISIT_GAP``).
    """

    users: int
    days: float
    clicks_mean: float
    clicks_median: float
    dispersion: float
    clicks_per_visit: float


def calibrate_history(path: str | Path) -> HistoryCalibration:
    """The record's calibration from a Taobao UserBehavior file (``DataError`` for a bad file, as the funnel's)."""
    from shopgym.calibrate.funnel import read_interaction_logs

    events = read_interaction_logs(path)
    users = np.unique(events["user"].to_numpy())
    ts = events["ts"].to_numpy()
    inside = events[(ts >= WINDOW[0]) & (ts < WINDOW[1])].sort_values(["user", "ts"], kind="stable")
    clicks = inside[inside["behavior"] == "click"].groupby("user").size().reindex(users, fill_value=0).to_numpy()
    gap = inside.groupby("user")["ts"].diff().to_numpy()
    visits = int(np.count_nonzero(np.isnan(gap) | (gap > VISIT_GAP)))
    mean, var = float(clicks.mean()), float(clicks.var(ddof=1)) if len(clicks) > 1 else 0.0
    return HistoryCalibration(
        users=len(users), days=(WINDOW[1] - WINDOW[0]) / 86400, clicks_mean=mean, clicks_median=float(np.median(clicks)),
        dispersion=mean * mean / (var - mean) if var > mean else float("inf"),
        clicks_per_visit=float(clicks.sum()) / max(visits, 1))


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    root = Path(os.environ.get("SHOPGYM_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"))
    path = Path(argv[0]) if argv else root / "taobao_userbehavior" / "UserBehavior.csv"
    c = calibrate_history(path)
    print(f"{path}: {c.users} users over {c.days:g} days: page views per user mean {c.clicks_mean:.2f}, median "
          f"{c.clicks_median:g}, negative-binomial k {c.dispersion:.3f}; {c.clicks_per_visit:.3f} page views per visit")
    print(f"history_clicks = {c.clicks_mean:.2f}\nhistory_dispersion = {c.dispersion:.3f}\n"
          f"history_clicks_per_visit = {c.clicks_per_visit:.3f}")


if __name__ == "__main__":
    main()
