"""``shopgym forecast backtest`` prints one row per model."""

from __future__ import annotations

from fc_helpers import make_daily
from typer.testing import CliRunner

from shopgym.cli.forecast import app


def test_backtest_command(tmp_path):
    data = tmp_path / "sales.csv"
    make_daily(n_series=3, n_days=70).to_csv(data, index=False)
    result = CliRunner().invoke(app, ["backtest", "--data", str(data), "--models", "seasonal_naive,ets,ensemble",
                                      "--h", "7", "--n-windows", "2"])
    assert result.exit_code == 0, result.output
    rows = {line.split()[0] for line in result.output.splitlines() if line.strip()}
    assert {"seasonal_naive", "ets", "ensemble"} <= rows


def test_unknown_model_is_rejected(tmp_path):
    data = tmp_path / "sales.csv"
    make_daily(n_series=1, n_days=40).to_csv(data, index=False)
    result = CliRunner().invoke(app, ["backtest", "--data", str(data), "--models", "lstmm", "--h", "7"])
    assert result.exit_code != 0
    assert "unknown model" in result.output
