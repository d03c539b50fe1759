"""The scenario library's documentation: ``scenarios/README.md`` and ``shopgym scenarios --details NAME``.

Run ``python -m scenarios.readme`` after adding a scenario or a key; a test checks it is in sync.

A scenario documents itself in its ``description``: a first line saying what it is, then (one line each)
``Tests:`` what it tests, ``Hard:`` why it is hard, ``Reference:`` which reference its results are judged
against (an exact optimum, a hindsight bound, or the best heuristic), and, for a scenario whose model file is not
in the repository, ``Build:`` the command that builds it (``missing_model``). ``describe_scenario`` prints those, the
reference the benchmark actually computes, the env it runs in, its default policies and every key it sets to a
value other than the default.
"""

from __future__ import annotations

from pathlib import Path

from shopgym.config import Scenario, describe_keys, load_scenario, scenario_names

#: The labelled lines of a description, in the order ``describe_scenario`` prints them.
PARTS = {"Tests": "What it tests", "Hard": "Why it is hard", "Reference": "Reference",
         "Build": "Build its model first"}


def description_parts(description: str) -> dict[str, str]:
    """A description split into its first line (``"summary"``) and its labelled lines (``PARTS``: ``Tests``,
    ``Hard``, ``Reference``); an unlabelled later line continues the line before it."""
    lines = [ln.strip() for ln in description.strip().splitlines() if ln.strip()]
    parts: dict[str, str] = {"summary": lines[0] if lines else ""}
    last = "summary"
    for line in lines[1:]:
        label, sep, text = line.partition(":")
        if sep and label in PARTS:
            last = label
            parts[label] = text.strip()
        else:
            parts[last] = f"{parts[last]} {line}"
    return parts


def summary_line(name: str) -> str:
    """The first line of shipped scenario ``name``'s description (``shopgym scenarios``)."""
    return description_parts(load_scenario(name).description)["summary"]


def non_default_keys(scenario: Scenario) -> list[str]:
    """``section.key = value (default: d)`` for every key of ``scenario`` that differs from the default."""
    now, default = scenario.to_dict(), Scenario().to_dict()
    out = []
    for section, values in now.items():
        if not isinstance(values, dict):
            continue
        out += [f"{section}.{k} = {v!r} (default {default[section][k]!r})" for k, v in values.items()
                if v != default[section][k]]
    return out


def computed_reference(scenario: Scenario) -> str:
    """The reference the benchmark computes for ``scenario`` (``scenarios.benchmark.reference_profit`` without
    solving it), or why none applies."""
    from agents.exact import exact_reason, is_newsvendor
    from scenarios.benchmark import scenario_kind

    if scenario_kind(scenario) == "ads":
        return ("the hindsight bound of each episode (agents/ads_hindsight.py, LP relaxation over the episode's own "
                "opportunities; % of bound in the Ads table of summary.md)")
    if scenario_kind(scenario) == "recommend":
        from agents.recommend_exact import exact_reason as recommend_reason

        why = recommend_reason(scenario)
        return ("exact optimum of the recommendation MDP by backward induction (agents/recommend_exact.py)"
                if why is None else f"none exact ({why}): policies are compared with the best heuristic")
    if is_newsvendor(scenario):
        return "closed-form newsvendor optimum (agents/exact.py)"
    why = exact_reason(scenario)
    return ("exact optimum by backward induction (agents/exact.py)" if why is None
            else f"none exact ({why}): policies are compared with the best heuristic")


def missing_model(scenario: Scenario) -> str | None:
    """For a scenario whose ``learned:PATH`` demand model is not there, one line naming the file and the command
    that builds it (its description's ``Build:`` line); ``None`` when the file exists or none is named."""
    value = scenario.demand.demand_model
    if not value.startswith("learned:") or Path(value[len("learned:"):]).exists():
        return None
    build = description_parts(scenario.description).get("Build")
    how = f"build it first: {build}" if build else "save a fitted forecaster there first"
    return (f"scenario {scenario.name!r} needs its demand model {value[len('learned:'):]!r} (demand.demand_model), "
            f"which does not exist here ({Path.cwd()}); {how}")


def describe_scenario(name: str) -> str:
    """Scenario ``name`` (shipped name or path) in full, for ``shopgym scenarios --details NAME``."""
    from agents.registry import default_policies
    from scenarios.benchmark import BENCHMARKED, ENV_IDS, resolve, scenario_kind

    raw = load_scenario(name)
    parts = description_parts(raw.description)
    lines = [f"{raw.name}: {parts['summary']}", ""]
    for label, title in PARTS.items():
        if label != "Build" or label in parts:
            lines.append(f"{title}: {parts.get(label, '(not documented in the scenario file)')}")
    kind = scenario_kind(raw)
    if kind not in BENCHMARKED:
        return "\n".join([*lines, f"Env: {ENV_IDS[kind]} (not run by shopgym benchmark yet)", "",
                          "Keys set to other than the default:", *[f"  {k}" for k in non_default_keys(raw)]])
    if raw.demand.demand_model.startswith("learned:"):
        lines.append(f"Demand model: {raw.demand.demand_model} (the file must exist before the scenario runs)")
        sc = raw
    else:
        sc = resolve(raw)
    lines += [f"Reference computed by the benchmark: {computed_reference(sc)}",
              f"Env: {ENV_IDS[kind]}; default policies: {', '.join(default_policies(sc, kind=kind))}", "",
              "Keys set to other than the default:"]
    lines += [f"  {k}" for k in non_default_keys(raw)] or ["  (none)"]
    return "\n".join(lines)

HEADER = '# Scenarios\n\nA scenario is one TOML file that fully describes a world and its envs: the catalog, the\ndemand, the inventory rules, supply disruptions and the episode. Pass a shipped name or a path:\n\n```bash\nshopgym scenarios                                  # list shipped scenarios\nshopgym run --scenario seasonal --policy sS        # run one\nshopgym run --scenario ./my-shop.toml --policy sS  # or your own file\n```\n\n```python\nenv = gymnasium.make("shopgym/Restock-v0", scenario="seasonal", n_skus=20)  # keys override by name\n```\n\nEvery key below is optional (the default applies). Unknown keys, wrong types and out-of-range\nvalues are errors that name the key and the allowed values. Every key name is unique across\nsections, so any key can be overridden by name as an env keyword argument. Every number must be finite; the allowed\nrange of each key is in the table below (money keys are capped at 1e9 and rates at 1e6 units or\nsessions per day, to catch typos such as `1e308`). Holidays are `[day_of_year, duration_days,\nuplift]`: two integers from 1 to 366 and a number in [-1, 100]. `demand_model` and\n`response_model` are `"ground_truth"` or `"learned:PATH"`; PATH is checked when a world is built.\nFiles must be UTF-8. A world estimated above 8 GiB is refused before anything is allocated; set\n`SHOPGYM_MAX_WORLD_GIB` to raise the limit.\n\n## Shipped scenarios\n\n| name | what it is |\n|---|---|\n'


LOADING = """
## Loading files

Loading a file from someone else must not run their code. What each file kind can do when loaded:

* **Scenario files** are TOML data, parsed with `tomllib` and validated key by key; nothing in them runs.
* **`learned:PATH` model files** (`demand_model`, `response_model`) are loaded safely when the world is
  built: a forecaster pickle goes through `forecasters.safe_load` (only numpy, pandas, torch-tensor and
  forecaster-class globals resolve; anything else is refused unrun), a conversion model through
  `torch.load(weights_only=True)`. `forecasters.load(path)` and `ConversionModel.load(path)` are as safe.
* **Trained runs** (`sb3:DIR`, `dqn:DIR`, `shopgym evaluate --model DIR`): our DQN's `model.pt` loads
  weights-only and its other files are JSON or `.npz`; SB3's `model.zip`, `vecnormalize.pkl` and
  `replay_buffer.pkl` hold pickles, which `agents.sb3_safe_load` decodes through an allowlist of SB3,
  gymnasium-space, numpy and torch classes.
* **Needs `trust=True`**: `forecasters.load(path, trust=True)` is a plain pickle load that runs any code
  the file holds. Use it only for a file you wrote yourself, when the safe load refuses a custom model
  class. Resuming an SB3 run (`shopgym train` on an existing `--out`) decodes its checkpoint through the
  same allowlist.

A missing, empty or corrupt file is an error of one line naming the file, what is wrong and the fix.
"""


def render() -> str:
    rows = "".join(f"| `{n}` | {summary_line(n)} |\n" for n in scenario_names())
    return HEADER + rows + LOADING + "\n## Keys\n\nGenerated by `shopgym scenarios --keys`.\n\n" + describe_keys()


if __name__ == "__main__":
    path = Path(__file__).with_name("README.md")
    path.write_text(render())
    print(f"wrote {path}")
