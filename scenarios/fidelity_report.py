"""The text of the learned-world fidelity benchmark's two sections of docs/recommend.md ("fidelity" and
"sim-to-real"), made from a run's figures (``benchmarks/recommend_fidelity.py``, or its saved ``results.json``
with ``--from-results``): the candidates' table, the fidelity tables and targets, the sensitivity table, the
sim-to-real table and targets, and the command line the stamp names."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scenarios.doc_sections import write_section
from scenarios.fidelity_recommend import (
    EXPECTED,
    MARGIN,
    ci,
    compare,
    fidelity_table,
    mean_abs_error,
    ratio_ci,
)
from scenarios.fidelity_results import CALIBRATION_SEED, HOLDOUT_SEED, LOG_SEED, calibrated, recipe


def command_line(args) -> str:
    """The command that runs the benchmark with ``args`` (the stamp's)."""
    if args.quick:
        return "python benchmarks/recommend_fidelity.py --quick" + (" --calibrate none" if not calibrated(args) else "")
    return (f"python benchmarks/recommend_fidelity.py --scenario {args.scenario} --horizon {args.horizon} "
            f"--seeds {args.seeds} --policies {args.policies} --impressions {args.impressions} --epsilon {args.epsilon} "
            f"--models {args.models} --holdout {args.holdout} --sizes {args.sizes} --epsilons {args.epsilons} "
            f"--sensitivity-impressions {args.sensitivity_impressions} --sensitivity-policies "
            f"{args.sensitivity_policies} --sensitivity-seeds {args.sensitivity_seeds} --fits {args.fits} "
            f"--ppo-steps {args.ppo_steps}" + (f" --calibrate {args.calibrate}" if hasattr(args, "calibrate") else ""))


def pct(x: float) -> str:
    """A signed error as a percentage, e.g. ``+4.5%``."""
    return f"{100 * x:+.1f}%"


def tables(args, figures) -> dict:
    """The fidelity table's ``Comparison`` rows per model (the policies of ``--policies``)."""
    names = args.policies.split(",")
    return {m: compare({k: figures["true"][k] for k in names}, rows) for m, rows in figures["learned"].items()}


def sens_rows(args, figures) -> list:
    """``(n, epsilon, rows)`` of the sensitivity: ``Comparison`` rows on the sensitivity seeds."""
    names, k = args.sensitivity_policies.split(","), args.sensitivity_seeds
    true = {name: figures["true"][name][:k] for name in names}
    return [(n, eps, chosen, compare(true, learned)) for n, eps, chosen, learned in figures["sens"]]


def verdicts(rows) -> str:
    """The doc's 'how sure' clause: how many ``Comparison`` rows' paired CIs lie within, outside or across 1 ± 10%."""
    counts = {v: sum(r.verdict() == v for r in rows) for v in ("shown", "refuted", "open")}
    return (f"the paired 95% CI of learned / true lies within 1 ± 10% for {counts['shown']} of {len(rows)} policies, "
            f"wholly outside for {counts['refuted']}, across a bound for {counts['open']}")


def selection_rule(args) -> str:
    """The doc's sentence of the selection rule the run used (``--calibrate``)."""
    held = (f"on {args.holdout:,} held-out impressions (seed {HOLDOUT_SEED}, same logging policy; summed over click, "
            "cart and purchase, nats per impression)")
    tail = ("drives the learned world as `response_model = \"learned:PATH\"`, chosen before any fidelity figure was "
            "computed.")
    if not calibrated(args):
        return f"The one with the lowest log loss {held} {tail}"
    return ("**Selection rule (declared before this run; `--calibrate platt`):** every candidate is recalibrated per "
            "funnel stage (`forecasters.conversion.calibration`: a 2-parameter Platt map of the model's logit of "
            "p(click) on every impression, p(cart | click) on clicked ones, p(purchase | cart) on carted ones, fitted "
            f"by maximum likelihood) on {args.holdout:,} separate calibration impressions (seed {CALIBRATION_SEED}, "
            f"same logging policy); the calibrated candidate with the lowest log loss {held} {tail} The columns "
            "after calibration are those the rule reads; the uncalibrated ones are the candidates as fitted (the "
            "rule of before, `--calibrate none`, chose by their sum), scored on the network's raw joint outputs "
            "p(click), p(cart), p(purchase), which a world would first nest (`joint_to_funnel` cuts p(cart) > "
            "p(click) to p(click)).")


def purchase_level(figures: dict) -> str:
    """The doc's sentence on how sharply the calibration logs pin the purchase | cart level (carts and purchases
    the purchase stage was fitted on, the binomial standard error of their ratio, the purchases the logs' true
    probabilities expect); empty for results saved before these counts (``--backfill-counts`` adds them)."""
    if "cal_n_purchase" not in figures:
        return ""
    carts, buys = figures["cal_n_purchase"], figures["cal_positives_purchase"]
    rate = buys / carts
    se = float(np.sqrt(rate * (1 - rate) / carts))
    text = (f" The calibration logs pin the purchase | cart level with {buys:,} purchases among {carts:,} carts: "
            f"{rate:.3f} ± {se:.3f} (binomial standard error, {100 * se / rate:.1f}% of the level)")
    if "cal_logs_expected_purchase" in figures:
        expected = figures["cal_logs_expected_purchase"]
        text += (f"; their true probabilities expect {expected:.1f} purchases, so the logs drew "
                 f"{100 * (buys / expected - 1):+.1f}% of the expectation, which a calibration fitted to them carries "
                 "(Platt's fit matches the rate of the rows it is fitted on)")
    return text + "."


def candidates_table(losses: dict, best: str, after: bool) -> list[str]:
    """The candidates' held-out log loss and bias per task as fitted, and after calibration when ``after``."""
    tasks = ("click", "cart", "purchase")
    head = ["log loss click", "cart", "purchase", "sum", "bias click", "cart", "purchase"]
    prefixes = ["", "cal_"] if after else [""]
    if after:
        head += ["calibrated: log loss click", "cart", "purchase", "sum", "bias click", "cart", "purchase"]
    lines = ["| candidate | " + " | ".join(head) + " | chosen |", "|---" * (len(head) + 2) + "|"]
    for m, v in losses.items():
        cells = [c for p in prefixes for c in ([f"{v[p + t]:.5f}" for t in (*tasks, "sum")]
                                               + [f"{v[p + 'bias_' + t]:.3f}" for t in tasks])]
        lines.append(f"| {m} | " + " | ".join(cells) + f" | {'yes' if m == best else ''} |")
    oracle = next(iter(losses.values()))["oracle"]
    truth = ["", "", "", f"{oracle:.5f}", "1", "1", "1"] * len(prefixes)
    lines.append("| (true probabilities) |" + "".join(f" {c} |" if c else " |" for c in truth) + " |")
    return lines


def sens_labelled_data(args, sens) -> str:
    """The doc's sentence on the labelled data behind each sensitivity row: under ``--calibrate platt`` every
    setting is also calibrated on ``--holdout`` impressions of its own logging policy, separate from its training
    logs (and, for a setting with fewer log impressions than that, larger than them)."""
    if not calibrated(args):
        return ""
    small = sorted({n for n, *_ in sens if n < args.holdout})
    text = (f" Calibration logs are separate from the training logs and of {args.holdout:,} impressions for every "
            "setting (column 'calibration impressions'): each row's model learned from log plus calibration "
            "impressions, more labelled data than its 'log impressions' alone say")

    def both(items: list[str]) -> str:
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]

    if small:
        text += ("; in the " + both([f"{n:,}" for n in small]) + " rows the calibration logs are the larger ("
                 + both([f"{args.holdout / n:.1f}x" for n in small]) + " the training logs)")
    return text + "."


def fidelity_body(args, figures) -> str:
    """The fidelity section: setup, the model selection, the table of the selected model, the target, the
    sensitivity table."""
    keys, (best, losses) = figures["keys"], figures["selection"]
    scen = f"`{args.scenario}`" + (f" with {', '.join(f'{k} = {v}' for k, v in keys.items())}" if keys else "")
    lines = [
        f"Scenario {scen}; seeds 0 .. {args.seeds - 1}, the same in both worlds (same shoppers, same uniforms for the "
        "response draws). **Measure: the expected margin** (`scenarios.expected_margin`): per session, the margin of "
        "the impressions served weighted by their purchase probability (p(click) p(cart | click) p(purchase | cart) x "
        "in stock x (price - unit cost)) under the world's OWN response model, at the shopper's memory when served: in "
        "the learned world what the learned model believes the policy earns, in the true world what it truly earns "
        "in expectation. It is the noise-free counterpart of the realised margin (a few sampled purchases an "
        "episode; kept in the last two columns), its conditional mean (`tests/agents/test_expected_margin.py`). "
        "E[CTR]: expected clicks per impression. Mean ± 95% CI over episodes (currency); learned / true: the ratio of "
        "mean expected margins ± its paired 95% CI (delta method over the per-seed pairs).",
        "",
        f"Logs: {args.impressions:,} impressions of the logging policy (epsilon-greedy over the myopic oracle, epsilon "
        f"{args.epsilon}, slates of one item as the env shows them, a discount on 20% of impressions, propensities "
        f"recorded; `forecasters.conversion.logs.generate_logs`, seed {LOG_SEED}) in the scenario's own shop (the "
        "previous run's sensitivity found exploration worth most; the one below tells again). Candidates: each model "
        f"of {args.models.replace(',', ', ')} fitted by `shopgym conversion fit` with each recipe of {args.fits} "
        "(epochs x batch size; seed 0, Adam at the model's default learning rate). " + selection_rule(args)
        + " Bias: the mean predicted probability over the mean true one on the held-out logs (1: calibrated on "
        "average).",
        "", *candidates_table(losses, best, calibrated(args)), "",
              "In a learned world the myopic oracle ranks by the LEARNED model's probabilities "
              "(`RecommendEnv.privileged_expected_margin` reads `world.response_model`): its row is the learned "
              "world's own myopic optimum, played in the learned world.", ""]
    for model, rows in tables(args, figures).items():
        lines += [f"**{model}**" + (" (recalibrated)" if calibrated(args) else ""), "", fidelity_table(rows), ""]
        out = [f"{r.name} {pct(r.error)}" for r in rows if not r.within()]
        verdict = "**Met**" if not out else "**Not met**"
        lines.append(f"Target (each baseline's margin within 10% of its ground-truth value, on expected margin), "
                     f"{model}: {verdict}: {len(rows) - len(out)} of {len(rows)} within, mean |error| "
                     f"{100 * mean_abs_error(rows):.1f}%" + (f"; outside: {', '.join(out)}." if out else "."))
        lines.append(f"How sure: {verdicts(rows)}; median half-width "
                     f"{100 * np.nanmedian([r.ratio_half for r in rows]):.1f}%.")
        bias = losses[model]
        median = np.nanmedian([r.ratio for r in rows])
        if calibrated(args):
            lines.append(f"Calibration of the chosen model on the held-out logs: mean purchase probability "
                         f"{bias['cal_bias_purchase']:.3f} of the true one after recalibration, "
                         f"{bias['bias_purchase']:.3f} as fitted (click {bias['cal_bias_click']:.3f} / "
                         f"{bias['bias_click']:.3f}, cart {bias['cal_bias_cart']:.3f} / {bias['bias_cart']:.3f}); "
                         f"median margin ratio learned / true {median:.3f}." + purchase_level(bias))
        else:
            lines.append(f"Where the error comes from: the chosen model's mean purchase probability on the held-out "
                         f"logs is {bias['bias_purchase']:.3f} of the true one (click {bias['bias_click']:.3f}, cart "
                         f"{bias['bias_cart']:.3f}), and the margin ratios (median {median:.3f}) follow it: the "
                         "purchase head's calibration, which the held-out log loss barely weighs (purchases are rare "
                         "in the logs, so the summed loss is mostly the click task's), as the bias column of the "
                         "candidates shows.")
        lines.append("")
    sens = sens_rows(args, figures)
    lines += [f"**Sensitivity** (the selected model, {recipe(best)[0]}; policies: "
              + ", ".join(r.name for r in sens[0][3]) + f"; seeds 0 .. {args.sensitivity_seeds - 1}): the mean and "
              "largest |learned / true - 1| of the expected margin over the policies, by log size and logging "
              "epsilon. Each setting's recipe (of " + args.fits + ") chosen as above, by log loss on held-out logs of "
              "its own logging policy" + (" after recalibration on calibration logs of that policy" if calibrated(args)
                                          else "") + "; the row of the main setting reuses the main table's model and episodes."
              + sens_labelled_data(args, sens), "",
              "| log impressions | " + ("calibration impressions | " if calibrated(args) else "") + "logging epsilon "
              "| recipe | mean abs margin error | largest (policy) | within 10% | CI within / outside 1 ± 10% |",
              "|---" * (8 if calibrated(args) else 7) + "|"]
    for n, eps, chosen, rows in sens:
        worst = max(rows, key=lambda r: abs(r.error))
        cal = f" {args.holdout:,} |" if calibrated(args) else ""
        lines.append(f"| {n:,} |{cal} {eps} | {chosen.split('/')[1]} | {100 * mean_abs_error(rows):.1f}% | "
                     f"{pct(worst.error)} ({worst.name}) | {sum(r.within() for r in rows)} / {len(rows)} | "
                     f"{sum(r.verdict() == 'shown' for r in rows)} / {sum(r.verdict() == 'refuted' for r in rows)} |")
    return "\n".join(lines) + "\n"


def sim_body(args, figures) -> str:
    """The sim-to-real section: expected margin in the true world of each world's policy, and the target."""
    sim, true, best = figures["sim"], figures["true"], figures["selection"][0]
    lines = [
        f"Expected margin in the TRUE world (under the true response model; currency, mean ± 95% CI over seeds 0 .. "
        f"{args.seeds - 1}, the fidelity section's episodes) of a policy made in the true world and of the same "
        f"policy made in the learned world (the {best} model of the fidelity table"
        f"{', recalibrated' if calibrated(args) else ''}). Best policy of each world: the "
        "myopic oracle is optimal per session without memory; in the learned world it is greedy by the learned "
        "model's expected margin, which is `learned_greedy:PATH` when played in the true world. Ratio: of the mean "
        "expected margins, ± its paired 95% CI (same seeds, same shoppers); realised margins for reference.", "",
        "| policy | made in the true world | made in the learned world | learned-made / true-made (paired 95% CI) "
        "| >= 90% (CI) | realised, true-made | realised, learned-made |",
        "|---|---|---|---|---|---|---|"]
    rows = [("each world's myopic optimum (myopic_oracle / learned_greedy)", *sim["plan"])]
    if "ppo" in sim:
        t_true, t_learned, s_true, s_learned = sim["ppo"]
        rows.append((f"SB3 PPO, {args.ppo_steps:,} steps (train {s_true / 60:.1f} / {s_learned / 60:.1f} min)",
                     t_true, t_learned))
    verdicts_ = []
    for name, a, b in rows:
        r, half = ratio_ci(b[:, EXPECTED], a[:, EXPECTED])
        sure = "shown" if r - half >= 0.9 else "refuted" if r + half < 0.9 else "open"
        verdicts_.append((name, r, half, sure))
        lines.append(f"| {name} | {ci(a[:, EXPECTED])} | {ci(b[:, EXPECTED])} | {100 * r:.1f}% ± {100 * half:.1f}% "
                     f"| {'yes' if r >= 0.9 else 'no'} ({sure}) | {ci(a[:, MARGIN])} | {ci(b[:, MARGIN])} |")
    if "random" in true:
        lines += ["", f"For scale: the random policy's expected margin in the true world on these seeds is "
                  f"{ci(true['random'][:, EXPECTED])} (realised {ci(true['random'][:, MARGIN])})."]
    lines.append("")
    for name, r, half, sure in verdicts_:
        lines.append(f"- Target (the policy trained in the learned world keeps >= 90% of the truly trained policy's "
                     f"margin in the true world), {name}: **{SIM_VERDICT[sure]}** ({100 * r:.1f}% ± "
                     f"{100 * half:.1f}%; the CI {'lies above 90%' if sure == 'shown' else 'lies below 90%' if sure == 'refuted' else 'straddles 90%'}).")
    if "ppo" in sim:
        lines.append(f"- PPO budget: {args.ppo_steps:,} steps on 2 envs with ppo.yml's Recommend-v0 hyperparameters "
                     "(the file's full budget is 1,000,000 steps on 8 envs); training env seeds from 1,700,000, "
                     "evaluation seeds 0 .. n-1. Compare both to the random line.")
    else:
        lines.append("- SB3 PPO: no row (`--ppo-steps 0`). An earlier run of this section with `--ppo-steps 20000` "
                     "left PPO at or below random in both worlds, so its ratio said nothing about the learned model: "
                     "a learned world steps slower than the compiled true one (the learned model runs through the "
                     "numpy session path), which leaves PPO a few tens of thousands of steps in ~10 minutes, far "
                     "below the n_timesteps of ppo.yml's Recommend-v0 section, for a reward of a few purchases per "
                     "1,000 sessions. `--ppo-steps N` adds the row.")
    return "\n".join(lines) + "\n"


#: The sim-to-real verdict by where the paired 95% CI of the ratio lies against 90%.
SIM_VERDICT = {"shown": "Met", "refuted": "Not met", "open": "Open (the CI straddles 90%)"}


def write_docs(args, figures, ran_at: str | None = None) -> None:
    """Write both sections into ``args.out``, stamped with the run's command line and run time; ``ran_at`` (the
    run's finishing time, ``YYYY-MM-DD HH:MM UTC``) when the text is rewritten from saved results later."""
    doc, command, seconds = Path(args.out), command_line(args), figures["seconds"]
    write_section(doc, "fidelity", "Learned responses in the loop: fidelity of learned worlds", fidelity_body(
        args, figures), command, seconds, "torch threads 1", ran_at=ran_at)
    write_section(doc, "sim-to-real", "Sim-to-real: trained in the learned world, played in the true one",
                  sim_body(args, figures), command, seconds, "torch threads 1", ran_at=ran_at)

