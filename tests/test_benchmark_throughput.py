"""``benchmarks/throughput.py`` (docs/performance.md): interleaved repeats of (reference, env) passes, the ratio
per repeat, its median and range; timed on a fake machine whose clocks the fake loops drive (no real timing)."""

import argparse

import pytest

from benchmarks import throughput as tp


class FakeMachine:
    """Two clocks driven by fake loops: a step of cost ``c`` takes ``c * slowdown`` wall seconds and ``c`` CPU
    seconds; the pacing loop (the reference) moves the machine to its next slowdown at the start of each timed
    pass, as a machine whose speed drifts between repeats but not within one."""

    def __init__(self, slowdowns):
        self.wall = self.cpu = 0.0
        self.slow = 1.0
        self.slowdowns = list(slowdowns)
        self.calls = []

    @property
    def clocks(self):
        return (lambda: self.wall), (lambda: self.cpu)

    def loop(self, name, cost, steps, per_step=1.0, paces=False):
        def run(n):
            self.calls.append((name, n))
            if paces and n == steps:
                self.slow = self.slowdowns.pop(0)
            self.wall += n * cost * self.slow
            self.cpu += n * cost
        return tp.Loop(run, steps, per_step)


def test_passes_interleave_reference_and_env_after_one_warm_up_each():
    machine = FakeMachine([1.0, 2.0, 3.0])
    loops = {"ref": machine.loop("ref", 1e-5, 500, paces=True), "env": machine.loop("env", 4e-5, 100)}
    rates = tp.interleaved(loops, 3, machine.clocks)
    assert machine.calls == [("ref", 50), ("env", 10)] + [("ref", 500), ("env", 100)] * 3
    assert [len(r) for r in rates.values()] == [3, 3]


def test_the_ratio_per_repeat_cancels_a_drifting_machine_and_the_medians_are_of_the_repeats():
    drift = [1.0, 3.0, 1.5, 2.0, 6.0]  # the machine slows down and speeds up between repeats
    machine = FakeMachine(drift)
    loops = {"ref": machine.loop("ref", 1e-5, 500, paces=True), "env": machine.loop("env", 4e-5, 100, per_step=64)}
    rates = tp.interleaved(loops, len(drift), machine.clocks)
    env_wall = [r[tp.WALL] for r in rates["env"]]
    assert env_wall == pytest.approx([64 / 4e-5 / s for s in drift])  # the rates drift with the machine ...
    assert [r[tp.CPU] for r in rates["env"]] == pytest.approx([64 / 4e-5] * 5)  # ... CPU time does not
    ratios = tp.per_repeat_ratios(rates["env"], rates["ref"])
    assert ratios == pytest.approx([64 * 1e-5 / 4e-5] * 5)  # ... the ratio within each repeat does not either
    spread = tp.Spread.of(env_wall)
    assert spread.median == pytest.approx(64 / 4e-5 / 2.0)
    assert (spread.low, spread.high) == pytest.approx((64 / 4e-5 / 6.0, 64 / 4e-5))


def test_spread_is_the_median_and_the_extremes_and_refuses_no_repeats():
    assert tp.Spread.of([0.5, 0.9, 0.4, 0.7]) == tp.Spread(0.6, 0.4, 0.9)
    assert tp.Spread.of(iter([3.0, 1.0, 2.0])) == tp.Spread(2.0, 1.0, 3.0)
    with pytest.raises(ValueError, match="--repeats"):
        tp.Spread.of([])


def test_ratios_need_passes_of_the_same_repeats():
    with pytest.raises(ValueError, match="same interleaved repeats"):
        tp.per_repeat_ratios([(1.0, 1.0)] * 3, [(1.0, 1.0)] * 2)
    machine = FakeMachine([])
    with pytest.raises(ValueError, match="--repeats 5"):
        tp.interleaved({"env": machine.loop("env", 1e-5, 10)}, 0, machine.clocks)
    assert machine.calls == []  # refused before anything ran


def test_figures_judge_targets_on_the_median_ratio_and_pool_a_row_timed_in_two_groups(capsys):
    machine = FakeMachine([1.0, 1.0, 1.0, 2.0, 2.0, 2.0])
    figs = tp.Figures(3, machine.clocks)
    # the env is 0.4x the reference in the first repeat, then 0.5x (its cost drops), at two machine speeds
    costs = iter([2.5e-5, 2e-5, 2e-5, 2e-5, 2e-5, 2e-5])

    def env_run(n):
        machine.calls.append(("env", n))
        cost = next(costs) if n == 100 else 1e-5
        machine.wall += n * cost * machine.slow
        machine.cpu += n * cost

    for group in ("a", "b"):
        figs.time(group, {"ref": (machine.loop("ref", 1e-5, 100, paces=True), "steps/s"),
                          "env": (tp.Loop(env_run, 100), "steps/s")})
    target = tp.Target("env / ref", ">= 0.45", "a", "env", "ref")
    ratio = figs.value(target)
    assert (ratio.median, ratio.low, ratio.high) == pytest.approx((0.5, 0.4, 0.5))
    assert tp._met(ratio.median, target.wanted) and not tp._met(ratio.low, target.wanted)
    assert figs.value(tp.Target("ref, steps/s", ">= 1", "b", "ref")).median == pytest.approx(1e5 / 2)
    pooled = figs.row("ref")  # three passes at 1e5 steps/s (group a), three at 5e4 (group b)
    assert (pooled.median, pooled.low, pooled.high) == pytest.approx((7.5e4, 5e4, 1e5))
    assert figs.units == {"ref": "steps/s", "env": "steps/s"}
    assert "ref" in capsys.readouterr().out


@pytest.mark.parametrize("text", ["0", "-3", "five", "2.5"])
def test_a_repeat_count_below_one_or_not_an_integer_is_refused(text):
    with pytest.raises(argparse.ArgumentTypeError, match="integer >= 1"):
        tp._positive_int(text)
    assert tp._positive_int("7") == 7


def test_the_report_judges_targets_on_the_median_and_lists_references_first(capsys):
    machine = FakeMachine([1.0, 3.0, 2.0, 1.0, 1.0, 1.0])
    figs = tp.Figures(3, machine.clocks)
    costs = iter([2.5e-5, 4e-5, 4e-5])  # Restock at 0.4x, then 0.25x CartPole: the median repeat misses 0.3x

    def restock(n):
        cost = next(costs) if n == 100 else 1e-5
        machine.wall += n * cost * machine.slow
        machine.cpu += n * cost

    figs.time("restock", {tp.CARTPOLE: (machine.loop("cp", 1e-5, 100, paces=True), "steps/s"),
                          tp.RESTOCK: (tp.Loop(restock, 100), "steps/s")})
    figs.time("sb3", {tp.SB3_RESTOCK: (machine.loop("sb3", 1e-3, 10, paces=True), "FPS")}, cpu_time=False)
    target = tp.Target("Restock 1 SKU / CartPole", ">= 0.2", "restock", tp.RESTOCK, tp.CARTPOLE)
    lines = tp.report(figs, [target], "header")
    rows = [line for line in lines if line.endswith((" steps/s |", " FPS |"))]  # the rows table
    assert [r.split(" | ")[0] for r in rows] == [f"| {tp.CARTPOLE}", f"| {tp.RESTOCK}", f"| {tp.SB3_RESTOCK}"]
    assert rows[2].endswith("| - | FPS |")  # no CPU time for SB3
    assert "| Restock 1 SKU / CartPole | 0.25 | 0.25 to 0.40 | 0.25 (0.25 to 0.40) | >= 0.2 | yes |" in lines
    strict = tp.Target("Restock 1 SKU / CartPole", ">= 0.3", "restock", tp.RESTOCK, tp.CARTPOLE)
    assert "| >= 0.3 | no |" in "\n".join(tp.report(figs, [strict], "header"))  # the best repeat would have met it
    capsys.readouterr()
