"""RL Zoo 3 reads our hyperparameter files unchanged and builds what ``shopgym train`` builds from them.

Needs ``rl_zoo3`` (in the ``test`` extra); skipped with the reason when it is not installed. RL Zoo
runs in child processes: importing it patches Gymnasium for the whole process (see ``rl_zoo_describe``).
"""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from agents import sb3
from agents.hyperparams import OPTIONS, hyperparams_path
from tests.agents.conftest import RESTOCK
from tests.agents.rl_zoo_describe import SCHEDULES, describe

pytestmark = pytest.mark.skipif(importlib.util.find_spec("rl_zoo3") is None,
                                reason="rl_zoo3 is not installed: pip install -e '.[test]'")

ROOT = Path(__file__).resolve().parents[2]
#: (algo, env id) for every env-id section of the shipped SB3 files; "@scenario" sections are ours alone.
SECTIONS = [(algo, env) for algo in ("dqn", "ppo", "a2c", "sac")
            for env in yaml.safe_load(hyperparams_path(algo).read_text()) if env != OPTIONS and "@" not in env]


def resolved(algo: str, env_id: str) -> dict:
    return sb3.resolve(algo, env_id, None, None, 0)


@pytest.fixture(scope="module")
def zoo_models(tmp_path_factory):
    """RL Zoo's models of every section, described (one child process for all)."""
    request = {"log_folder": str(tmp_path_factory.mktemp("zoo")),
               "sections": [[algo, env, list(resolved(algo, env)["hyperparams"])] for algo, env in SECTIONS]}
    done = subprocess.run([sys.executable, str(Path(__file__).with_name("rl_zoo_describe.py")), json.dumps(request)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("algo, env_id", SECTIONS)
def test_rl_zoo_builds_the_model_shopgym_train_builds(zoo_models, algo, env_id):
    zoo = zoo_models[f"{algo}|{env_id}"]
    cfg = resolved(algo, env_id)
    venv = sb3.make_envs(cfg, cfg["n_envs"], 0)
    norm = sb3._norm_kwargs(cfg["normalize"])
    if norm is not None:
        venv = sb3.CenteringVecNormalize(venv, **norm)
    ours = describe(sb3.build_model(cfg, venv, 0), list(cfg["hyperparams"]))
    assert zoo["n_timesteps"] == cfg["timesteps"] and zoo["env_kwargs"] == cfg["env_kwargs"]
    for key, value in ours.items():  # class, policy (the dueling one by its dotted name), spaces, kwargs, ...
        if key in SCHEDULES:
            assert zoo[key] == pytest.approx(value), key
        else:
            assert zoo[key] == value, key


@pytest.mark.slow
def test_rl_zoo_trains_on_restock_with_our_ppo_file(tmp_path):
    """The issue's command, shortened: one PPO rollout (8 envs x 512 steps) on quickstart, then the model loads."""
    cmd = [sys.executable, "-m", "rl_zoo3.train", "--algo", "ppo", "--env", RESTOCK, "--gym-packages", "shopgym",
           "--conf-file", str(ROOT / "agents" / "hyperparams" / "ppo.yml"), "-n", "2048", "--seed", "0",
           "--num-threads", "1", "--eval-freq", "-1", "-f", str(tmp_path), "--env-kwargs", "scenario:'quickstart'"]
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (run,) = (tmp_path / "ppo").iterdir()
    model = sb3.PPO.load(run / "shopgym-Restock-v0.zip", device="cpu")
    assert model.num_timesteps == 4096 and model.n_steps == 512 and model.gamma == 0.99
    assert model.policy_kwargs["activation_fn"] is sb3.nn.Tanh and model.policy_kwargs["net_arch"] == [128, 128]
    assert (run / "shopgym-Restock-v0" / "vecnormalize.pkl").exists()
    assert "activation_fn=nn.Tanh" in (run / "shopgym-Restock-v0" / "config.yml").read_text()  # RL Zoo's record
