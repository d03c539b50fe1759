"""`shopgym conversion generate | fit | evaluate` on tiny logs."""

from __future__ import annotations

from typer.testing import CliRunner

from shopgym.cli.conversion import app

runner = CliRunner()


def test_generate_fit_evaluate(tmp_path):
    logs, model = tmp_path / "logs.csv", tmp_path / "m.pt"
    r = runner.invoke(app, ["generate", str(logs), "--n-impressions", "2000", "--seed", "3"])
    assert r.exit_code == 0, r.output
    assert "wrote 2000 impressions" in r.output
    r = runner.invoke(app, ["fit", str(logs), str(model), "--model", "esmm", "--epochs", "1"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["evaluate", str(model), str(logs)])
    assert r.exit_code == 0, r.output
    assert "oracle_auc" in r.output and "purchase" in r.output


def test_errors_are_reported(tmp_path):
    r = runner.invoke(app, ["fit", str(tmp_path / "none.csv"), str(tmp_path / "m.pt")])
    assert r.exit_code == 2 and "does not exist" in r.output
    (tmp_path / "l.csv").write_text("a,click\n1,0\n2,1\n")
    r = runner.invoke(app, ["fit", str(tmp_path / "l.csv"), str(tmp_path / "m.pt"), "--model", "mmo"])
    assert r.exit_code == 2
    r = runner.invoke(app, ["fit", str(tmp_path / "l.csv"), str(tmp_path / "m.pt"), "--tasks", "click,buy"])
    assert r.exit_code == 2 and "buy" in r.output
