"""Every restocking baseline on every shipped scenario, written to docs/restock.md.

    python benchmarks/restock_baselines.py [--seeds 10]

A thin wrapper over ``scenarios.benchmark.run_benchmark`` (the runner behind ``shopgym benchmark``)
that keeps its results under ``runs/restock-baselines`` (resumable) and copies the summary table
and plot into ``docs/``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scenarios.benchmark import run_benchmark  # noqa: E402
from shopgym.config import load_scenario, scenario_names  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--out", default=str(ROOT / "runs" / "restock-baselines"))
    args = parser.parse_args()
    command = f"python benchmarks/restock_baselines.py --seeds {args.seeds}"
    # Restocking scenarios only: those with shopper sessions are Recommend scenarios (their own benchmark).
    names = [n for n in scenario_names() if not load_scenario(n).shoppers.simulate_sessions]
    res = run_benchmark(names, None, n_seeds=args.seeds, out=args.out, command=command)
    docs = ROOT / "docs"
    docs.mkdir(exist_ok=True)
    shutil.copy(res.out / "benchmark.png", docs / "restock_benchmark.png")
    text = (res.out / "summary.md").read_text().replace("# shopgym benchmark", "# Restocking baselines on every scenario")
    text = text.replace("![benchmark](benchmark.png)", "![benchmark](restock_benchmark.png)")
    (docs / "restock.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
