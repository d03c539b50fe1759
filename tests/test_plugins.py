"""The one resolver of ``learned:PATH`` plug points (``shopgym.plugins``) and the world core's independence."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from shopgym.config import load_scenario
from shopgym.errors import LearnedModelError, ScenarioError
from shopgym.plugins import PLUG_POINTS, build_world, resolve_models
from shopgym.world.world import World

ROOT = Path(__file__).resolve().parents[1]


def _sc(**keys):
    return load_scenario("steady", n_skus=3, horizon=10, **keys)


@pytest.fixture(scope="module")
def forecaster_file(tmp_path_factory):
    pd = pytest.importorskip("pandas")
    from forecasters.registry import make

    d = pd.date_range("2023-01-02", periods=40)
    df = pd.DataFrame({"unique_id": "a", "ds": d, "y": np.arange(40.0) % 7 + 3})
    return make("seasonal_naive").fit(df).save(tmp_path_factory.mktemp("fc") / "naive.pkl")


def test_every_plug_point_is_a_scenario_key():
    sc = _sc()
    assert {p.key for p in PLUG_POINTS.values()} == {"demand.demand_model", "shoppers.response_model"}
    assert all(p.value(sc) == "ground_truth" for p in PLUG_POINTS.values())
    assert resolve_models(sc) == {}


@pytest.mark.parametrize("key", ["demand_model", "response_model"])
def test_missing_file_names_the_key_and_the_fix(tmp_path, key):
    sc = _sc(**{key: f"learned:{tmp_path / 'nope.bin'}"})
    with pytest.raises(LearnedModelError, match=rf"\.{key} = 'learned:.*nope\.bin': no such file\. Save .*'ground_truth'"):
        build_world(sc)


@pytest.mark.parametrize("key", ["demand_model", "response_model"])
def test_a_file_that_is_no_model_is_refused_before_loading(tmp_path, key):
    junk = tmp_path / "notes.txt"
    junk.write_text("import os; os.system('echo pwned')\n")
    with pytest.raises(LearnedModelError, match=rf"\.{key} = .*not a saved model file.*Give .*{key}"):
        build_world(_sc(**{key: f"learned:{junk}"}))
    with pytest.raises(LearnedModelError, match="not a file"):
        build_world(_sc(**{key: f"learned:{tmp_path}"}))


def test_a_forecaster_given_as_response_model_points_to_the_demand_key(forecaster_file):
    with pytest.raises(LearnedModelError, match=r"shoppers\.response_model = .*forecaster file.*name it in demand\.demand_model"):
        build_world(_sc(response_model=f"learned:{forecaster_file}"))


def test_a_torch_file_given_as_demand_model_points_to_the_response_key(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "model.pt"
    torch.save({"format": 1, "model": "esmm"}, path)
    with pytest.raises(LearnedModelError, match=r"demand\.demand_model = .*conversion model file.*shoppers\.response_model"):
        build_world(_sc(demand_model=f"learned:{path}"))


def test_a_corrupt_forecaster_file_is_a_named_error(tmp_path, forecaster_file):
    bad = tmp_path / "cut.pkl"
    bad.write_bytes(forecaster_file.read_bytes()[:50])
    with pytest.raises(LearnedModelError, match=r"demand\.demand_model = .*could not be loaded"):
        build_world(_sc(demand_model=f"learned:{bad}"))


def test_a_saved_forecaster_drives_a_world_built_by_the_resolver(forecaster_file):
    world = build_world(_sc(demand_model=f"learned:{forecaster_file}"), n_worlds=2)
    assert type(world.demand_model).__name__ == "LearnedDemand" and world.demand_model.name == str(forecaster_file)
    world.reset([0, 1])
    assert (world.step(np.zeros((2, 3), dtype=np.int64)).demand >= 0).all()


def test_the_world_core_loads_no_file_and_says_how(forecaster_file):
    with pytest.raises(ScenarioError, match=r"demand\.demand_model = 'learned:.*shopgym\.plugins\.build_world"):
        World(_sc(demand_model=f"learned:{forecaster_file}"))
    world = World(_sc(response_model=f"learned:{forecaster_file}"))  # responses are built on first use
    with pytest.raises(ScenarioError, match=r"shoppers\.response_model = .*build_world"):
        world.response_model  # noqa: B018


def test_a_model_object_must_match_the_catalog():
    class Tiny:  # any object with n_skus: the World checks the count before anything else
        n_skus = 2

    with pytest.raises(ScenarioError, match=r"2 SKUs, the catalog \(catalog\.n_skus\) 3"):
        build_world(_sc(), demand_model=Tiny())
    with pytest.raises(TypeError, match="demand_modle"):
        build_world(_sc(), demand_modle=Tiny())


def test_world_core_modules_never_import_forecasters():
    """Static check: no import statement, importlib call or __import__ under shopgym/world names forecasters."""
    offenders = []
    for path in sorted((ROOT / "shopgym" / "world").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Call):
                f = node.func
                called = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
                if called in ("import_module", "__import__"):
                    offenders.append(f"{path.name}:{node.lineno} calls {called}")
            offenders += [f"{path.name}:{node.lineno} imports {n}" for n in names if n.split(".")[0] == "forecasters"
                          or n == "importlib"]
    assert offenders == []


def test_building_and_stepping_ground_truth_worlds_imports_no_forecaster():
    """Dynamic check, in a fresh interpreter: World, the resolver and the Restock env pull in no forecasters."""
    code = (
        "import sys, numpy as np\n"
        "import shopgym, gymnasium as gym\n"
        "from shopgym.config import load_scenario\n"
        "from shopgym.plugins import build_world\n"
        "from shopgym.world.world import World\n"
        "sc = load_scenario('quickstart', horizon=5)\n"
        "w = build_world(sc, n_worlds=2); w.reset([0, 1]); w.step(np.zeros((2, w.catalog.n_skus), dtype=np.int64))\n"
        "World(sc).response_model\n"
        "env = gym.make('shopgym/Restock-v0', scenario='quickstart'); env.reset(seed=0); env.step(env.action_space.sample())\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'forecasters'))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "[]"


def test_a_pickle_that_would_run_code_is_refused_unrun(tmp_path):
    import pickle

    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"format": 1, "module": "forecasters.models.naive", "class": "SeasonalNaive",
                                   "params": {}, "state": {"x_": Payload()}}, protocol=4))
    with pytest.raises(LearnedModelError, match=r"demand\.demand_model = .*references pathlib.*Path\.touch.*not loaded"):
        build_world(_sc(demand_model=f"learned:{path}"))
    assert not marker.exists()
    # A clean blob naming a class outside forecasters (and not imported) is refused before import.
    path.write_bytes(pickle.dumps({"format": 1, "module": "antigravity", "class": "X", "params": {}, "state": {}}))
    with pytest.raises(LearnedModelError, match="outside the forecasters package"):
        build_world(_sc(demand_model=f"learned:{path}"))
    assert "antigravity" not in sys.modules
