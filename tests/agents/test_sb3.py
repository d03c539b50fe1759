"""SB3 glue: tiny trainings of every algorithm on every shopgym env it supports, loading, resume, bad files."""

import csv

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common import logger as sb3_logger

from agents import sb3, sb3_logging
from agents.hyperparams import HyperparameterError, load_hyperparams
from agents.trained import load_policy
from shopgym.errors import OutputError
from tests.agents.conftest import RESTOCK, SHORT, TINY_SB3

#: (algo, env id, scenario, continuous): every algorithm on every Restock variant it supports
#: (DQN: Discrete only; SAC: continuous only; PPO and A2C: Discrete, MultiDiscrete and continuous).
CASES = [("dqn", RESTOCK, "quickstart", False), ("ppo", RESTOCK, "quickstart", False), ("ppo", RESTOCK, "seasonal", False),
         ("ppo", RESTOCK, "quickstart", True), ("a2c", RESTOCK, "quickstart", False), ("a2c", RESTOCK, "seasonal", False),
         ("a2c", RESTOCK, "quickstart", True), ("sac", RESTOCK, "quickstart", True)]


def run_kwargs(tmp_path, write_hp, algo, env_id=RESTOCK, **extra):
    section = {**TINY_SB3[algo], "eval_freq": 10_000, "n_eval_episodes": 1, **extra}
    return dict(hyperparams_file=write_hp({env_id: section}, f"{algo}.yml"), progress_bar=False, command=["test"])


@pytest.mark.parametrize("algo, env_id, scenario, continuous", CASES)
def test_tiny_training_and_policy(tmp_path, write_hp, algo, env_id, scenario, continuous):
    out = tmp_path / "run"
    env_kwargs = {**TINY_SB3[algo]["env_kwargs"], "continuous": continuous}
    model = sb3.train(algo, env_id, out, timesteps=256, seed=0, scenario=scenario,
                      **run_kwargs(tmp_path, write_hp, algo, env_kwargs=env_kwargs))
    assert model.num_timesteps >= 256 and (out / "model.zip").exists() and (out / "config.yml").exists()
    assert isinstance(model.action_space, gym.spaces.Box) == continuous
    env = gym.make(env_id, scenario=scenario, **SHORT)  # the discrete variant, even for continuous models
    policy = load_policy(f"sb3:{out}", env)
    obs, _ = env.reset(seed=0)
    for _ in range(3):
        action = policy.act(obs)
        assert env.action_space.contains(action)
        obs, *_ = env.step(action)


def test_save_then_load_gives_identical_actions(tmp_path, write_hp):
    out = tmp_path / "run"
    model = sb3.train("ppo", RESTOCK, out, timesteps=256, seed=0, **run_kwargs(tmp_path, write_hp, "ppo"))
    env = gym.make(RESTOCK, **SHORT)
    policy = load_policy(f"sb3:{out}", env)
    venv = model.get_env()
    obs, _ = env.reset(seed=5)
    for _ in range(20):
        expected = model.predict(venv.normalize_obs(obs[None]), deterministic=True)[0][0]
        action = policy.act(obs)
        assert action == expected
        obs, *_ = env.step(action)


def test_resume_continues_step_counter_and_appends_logs(tmp_path, write_hp):
    out = tmp_path / "run"
    kw = run_kwargs(tmp_path, write_hp, "dqn", checkpoint_freq=100, eval_freq=100)
    first = sb3.train("dqn", RESTOCK, out, timesteps=300, seed=0, **kw)
    assert first.num_timesteps == 300 and (out / "checkpoints" / "latest" / "replay_buffer.pkl").exists()
    rows = (out / "logs" / "progress.csv").read_text().splitlines()
    evals = np.load(out / "eval" / "evaluations.npz")["timesteps"].tolist()
    second = sb3.train("dqn", RESTOCK, out, timesteps=600, seed=0, **kw)
    assert second.num_timesteps == 600
    rows2 = (out / "logs" / "progress.csv").read_text().splitlines()
    assert len(rows2) > len(rows) and rows2[0].split(",")[:1] == rows[0].split(",")[:1]
    evals2 = np.load(out / "eval" / "evaluations.npz")["timesteps"].tolist()
    assert evals2[: len(evals)] == evals and len(evals2) > len(evals)


def test_run_directory_of_another_config_is_refused(tmp_path, write_hp):
    out = tmp_path / "run"
    sb3.train("a2c", RESTOCK, out, timesteps=64, seed=0, **run_kwargs(tmp_path, write_hp, "a2c"))
    with pytest.raises(OutputError, match="seed=0, not 1; pass --overwrite"):
        sb3.train("a2c", RESTOCK, out, timesteps=64, seed=1, **run_kwargs(tmp_path, write_hp, "a2c"))


@pytest.mark.parametrize("section, match", [
    ({"learnin_rate": 0.001}, r"unknown hyperparameter 'learnin_rate'.*Did you mean 'learning_rate'"),
    ({"normalize": {"norm_obbs": True}}, "'norm_obbs'"),
    ({"policy_kwargs": {"activation_fn": "nn.ReLU"}}, "activation_fn"),
    ({"policy_kwargs": "[16, 16]"}, "policy_kwargs=.*must be a mapping"),
    ({"policy_kwargs": "dict(net_arch=__import__('os').getcwd())"}, "neither a literal nor an nn.<Activation>"),
    ({"policy_kwargs": "dict(activation_fn=nn.Softmax)"}, "nn.Softmax is not an activation"),
    ({"policy": "os.system"}, "policy='os.system' .* not a policy shopgym knows"),
    ({"learning_rate": "__import__('os').getcwd()"}, "learning_rate=.*'lin_<number>'"),
])
def test_bad_hyperparameter_file_gets_a_clear_error(write_hp, section, match):
    path = write_hp({RESTOCK: section})
    with pytest.raises(HyperparameterError, match=match):
        sb3.resolve("ppo", RESTOCK, None, 100, 0, path)


def test_missing_env_section_and_bad_yaml(write_hp, tmp_path):
    with pytest.raises(HyperparameterError, match="no section for env 'shopgym/Restock-v1'.*Did you mean"):
        load_hyperparams("ppo", "shopgym/Restock-v1", path=write_hp({RESTOCK: {}}))
    bad = tmp_path / "bad.yml"
    bad.write_text("shopgym/Restock-v0: [unclosed")
    with pytest.raises(HyperparameterError, match="not valid YAML"):
        load_hyperparams("ppo", RESTOCK, path=bad)


def test_scenario_section_overrides(write_hp):
    path = write_hp({RESTOCK: {"gamma": 0.9, "env_kwargs": {"reward_scale": 0.1}},
                     f"{RESTOCK}@seasonal": {"gamma": 0.95, "env_kwargs": {"horizon": 30}}})
    assert load_hyperparams("ppo", RESTOCK, "seasonal", path) == {"gamma": 0.95, "env_kwargs": {"reward_scale": 0.1, "horizon": 30}}
    assert load_hyperparams("ppo", RESTOCK, "steady", path)["gamma"] == 0.9


def test_linear_schedule_from_text(write_hp):
    cfg = sb3.resolve("ppo", RESTOCK, None, 100, 0, write_hp({RESTOCK: {"learning_rate": "lin_0.001"}}))
    schedule = sb3.linear_schedule(cfg["hyperparams"]["learning_rate"])
    assert schedule(1.0) == 0.001 and schedule(0.5) == 0.0005


def test_shipped_files_resolve():
    for algo in ("dqn", "ppo", "a2c", "sac"):
        cfg = sb3.resolve(algo, RESTOCK, "quickstart", None, 0)
        assert cfg["timesteps"] > 0
    assert sb3.resolve("ppo", "CartPole-v1", None, None, 0)["n_envs"] == 8


def test_native_vec_env_adapter_returns_reset_obs_and_terminal_obs():
    cfg = sb3.resolve("ppo", RESTOCK, "quickstart", 10, 0)
    cfg["env_kwargs"]["horizon"] = 3
    venv = sb3.make_envs(cfg, 2, seed=7)
    obs = venv.reset()
    for _ in range(3):
        obs, rewards, dones, infos = venv.step(np.array([4, 4]))
    assert dones.all() and "terminal_observation" in infos[0] and infos[0]["episode"]["l"] == 3
    assert obs[0, -1] == 0.0 and infos[0]["terminal_observation"][-1] == 1.0  # 'elapsed' restarts at 0


def test_normalization_statistics_freeze_after_the_given_steps(tmp_path, write_hp):
    out = tmp_path / "run"
    kw = run_kwargs(tmp_path, write_hp, "dqn", normalize={"norm_obs": True, "norm_reward": False},
                    freeze_normalize_after=100)
    model = sb3.train("dqn", RESTOCK, out, timesteps=300, seed=0, **kw)
    venv = model.get_env()
    assert venv.training is False  # frozen at step 100: the statistics saw about 100 observations, not 300
    assert 100 <= venv.obs_rms.count < 300
    counts = venv.obs_rms.count
    sb3.train("dqn", RESTOCK, out, timesteps=400, seed=0, **kw)  # resumed: stays frozen
    assert sb3.VecNormalize.load(str(out / "vecnormalize.pkl"), venv.venv).obs_rms.count == counts


def test_freeze_normalize_after_must_be_a_step_count(write_hp):
    with pytest.raises(HyperparameterError, match="freeze_normalize_after"):
        sb3.resolve("dqn", RESTOCK, None, 100, 0, write_hp({RESTOCK: {"freeze_normalize_after": "soon"}}))


def test_dueling_policy_trains_saves_and_loads(tmp_path, write_hp):
    import torch

    from agents.sb3_dueling import DuelingHead

    out = tmp_path / "run"
    model = sb3.train("dqn", RESTOCK, out, timesteps=300, seed=0, scenario="quickstart",
                      **run_kwargs(tmp_path, write_hp, "dqn", policy="DuelingMlpPolicy"))
    head = model.policy.q_net.q_net
    assert isinstance(head, DuelingHead) and isinstance(model.policy.q_net_target.q_net, DuelingHead)
    x = torch.randn(5, head.trunk[0].in_features)
    with torch.no_grad():  # the advantages are centred: the mean Q over actions is the state value
        torch.testing.assert_close(head(x).mean(1, keepdim=True), head.value(head.trunk(x)))
    env = gym.make(RESTOCK, scenario="quickstart", **SHORT)
    policy = load_policy(f"sb3:{out}", env)
    loaded = sb3.DQN.load(out / "model.zip", device="cpu")
    obs, _ = env.reset(seed=3)
    for _ in range(10):
        action = policy.act(obs)
        assert action == int(loaded.predict(obs[None], deterministic=True)[0][0])
        obs, *_ = env.step(action)


def test_dueling_policy_is_for_dqn_only(tmp_path, write_hp):
    with pytest.raises(HyperparameterError, match="DuelingMlpPolicy"):
        sb3.train("ppo", RESTOCK, tmp_path / "run", timesteps=64, seed=0,
                  **run_kwargs(tmp_path, write_hp, "ppo", policy="DuelingMlpPolicy"))


def test_double_q_targets_use_the_online_argmax_and_the_target_value(tmp_path, write_hp):
    import torch

    from agents.sb3_targets import TargetDQN

    out = tmp_path / "run"
    model = sb3.train("dqn", RESTOCK, out, timesteps=300, seed=0, scenario="quickstart",
                      **run_kwargs(tmp_path, write_hp, "dqn", double_q=True))
    assert isinstance(model, TargetDQN) and model.double_q and model.advantage_learning == 0.0
    with torch.no_grad():  # make the target net differ from the online net, so the two argmaxes disagree
        for p in model.q_net_target.parameters():
            p.add_(torch.randn_like(p))
    next_obs = torch.randn(64, model.observation_space.shape[0])
    rewards, dones = torch.randn(64, 1), (torch.rand(64, 1) < 0.2).float()
    with torch.no_grad():
        online, target = model.q_net(next_obs), model.q_net_target(next_obs)
    expected = rewards + (1 - dones) * 0.9 * target.gather(1, online.argmax(1, keepdim=True))
    got = model.td_targets(rewards, dones, 0.9, next_obs)
    torch.testing.assert_close(got, expected)
    stock = rewards + (1 - dones) * 0.9 * target.max(1, keepdim=True).values  # SB3's DQN target
    assert (online.argmax(1) != target.argmax(1)).any() and not torch.allclose(got, stock)
    assert (got <= stock + 1e-6).all()  # never above the max over the target net's values
    env = gym.make(RESTOCK, scenario="quickstart", **SHORT)
    policy = load_policy(f"sb3:{out}", env)  # a double_q run loads (as TargetDQN) and acts like the saved model
    loaded = TargetDQN.load(out / "model.zip", device="cpu")
    obs, _ = env.reset(seed=3)
    for _ in range(10):
        action = policy.act(obs)
        assert action == int(loaded.predict(obs[None], deterministic=True)[0][0])
        obs, *_ = env.step(action)


def test_advantage_learning_targets_subtract_alpha_times_the_target_nets_gap(tmp_path, write_hp):
    import torch

    from agents.sb3_targets import TargetDQN

    out = tmp_path / "run"
    model = sb3.train("dqn", RESTOCK, out, timesteps=300, seed=0, scenario="quickstart",
                      **run_kwargs(tmp_path, write_hp, "dqn", advantage_learning=0.8))
    assert isinstance(model, TargetDQN) and model.advantage_learning == 0.8 and not model.double_q
    with torch.no_grad():
        for p in model.q_net_target.parameters():
            p.add_(torch.randn_like(p))
    dim = model.observation_space.shape[0]
    obs, next_obs = torch.randn(64, dim), torch.randn(64, dim)
    rewards, dones = torch.randn(64, 1), (torch.rand(64, 1) < 0.2).float()
    with torch.no_grad():
        q_now, q_next = model.q_net_target(obs), model.q_net_target(next_obs)
    actions = torch.randint(0, model.action_space.n, (64, 1))
    actions[:8, 0] = q_now[:8].argmax(1)  # the target net's own best actions: no gap, no change
    stock = rewards + (1 - dones) * 0.9 * q_next.max(1, keepdim=True).values  # SB3's DQN target
    gap = q_now.max(1, keepdim=True).values - q_now.gather(1, actions)
    got = model.td_targets(rewards, dones, 0.9, next_obs, obs, actions)
    torch.testing.assert_close(got, stock - 0.8 * gap)
    torch.testing.assert_close(got[:8], stock[:8])
    assert (gap[8:] > 0).any()
    with pytest.raises(ValueError, match="observations and actions"):
        model.td_targets(rewards, dones, 0.9, next_obs)
    loaded = TargetDQN.load(out / "model.zip", device="cpu")  # the setting is saved with the model (for resume)
    assert loaded.advantage_learning == 0.8


@pytest.mark.parametrize("algo, alpha, match", [("dqn", 1.0, "in \\[0, 1\\)"), ("dqn", "big", "advantage_learning='big'"),
                                                ("ppo", 0.5, "DQN option")])
def test_advantage_learning_must_be_a_weight_below_one_and_dqn_only(write_hp, algo, alpha, match):
    with pytest.raises(HyperparameterError, match=match):
        sb3.resolve(algo, RESTOCK, None, 100, 0, write_hp({RESTOCK: {"advantage_learning": alpha}}, f"{algo}.yml"))


@pytest.mark.parametrize("section, match", [({"double_q": "yes"}, "double_q='yes'"), ({"double_q": True}, "DQN option")])
def test_double_q_must_be_a_bool_and_dqn_only(write_hp, section, match):
    algo = "ppo" if section["double_q"] is True else "dqn"
    with pytest.raises(HyperparameterError, match=match):
        sb3.resolve(algo, RESTOCK, None, 100, 0, write_hp({RESTOCK: section}, f"{algo}.yml"))


class FakeSummaryWriter:
    """Stands in for ``torch.utils.tensorboard.SummaryWriter``: records what SB3's TensorBoard format writes."""

    def __init__(self, log_dir):
        self.log_dir, self.scalars, self.closed = log_dir, [], False

    def add_scalar(self, key, value, step):
        self.scalars.append((key, value, step))

    def add_text(self, key, value, step):
        pass

    def flush(self):
        pass

    def close(self):
        self.closed = True


def test_training_without_tensorboard_writes_the_csv_log(tmp_path, write_hp, monkeypatch):
    """SB3's TensorBoard format asserts (not ImportError) without tensorboard: training must not try it."""
    monkeypatch.setattr(sb3_logger, "SummaryWriter", None)  # as when the tensorboard extra is not installed
    assert not sb3_logging.tensorboard_available()
    out = tmp_path / "run"
    model = sb3.train("ppo", RESTOCK, out, timesteps=256, seed=0, **run_kwargs(tmp_path, write_hp, "ppo"))
    assert [type(f) for f in model.logger.output_formats] == [sb3_logging.AppendingCSV]
    with open(out / "logs" / "progress.csv") as f:
        rows = list(csv.DictReader(f))
    # 2 envs x 64 steps per rollout: one row per rollout, at 128 and 256 steps
    assert [int(float(r["time/total_timesteps"])) for r in rows] == [128, 256]
    assert not (out / "logs" / "tb").exists()


@pytest.mark.parametrize("writer", ["fake", "real"])
def test_tensorboard_log_is_added_when_summary_writer_imports(tmp_path, monkeypatch, writer):
    if writer == "fake":
        monkeypatch.setattr(sb3_logger, "SummaryWriter", FakeSummaryWriter)
    elif not sb3_logging.tensorboard_available():
        pytest.skip("tensorboard is not installed (pip install -e '.[tensorboard]' to run this case)")
    assert sb3_logging.tensorboard_available()
    logger = sb3_logging.make_logger(tmp_path / "logs")
    tb = [f for f in logger.output_formats if isinstance(f, sb3_logger.TensorBoardOutputFormat)]
    assert len(tb) == 1 and any(isinstance(f, sb3_logging.AppendingCSV) for f in logger.output_formats)
    logger.record("train/loss", 0.5)
    logger.dump(step=10)
    logger.close()
    if writer == "fake":
        assert tb[0].writer.log_dir == str(tmp_path / "logs" / "tb")
        assert tb[0].writer.scalars == [("train/loss", 0.5, 10)] and tb[0].writer.closed
    else:
        assert any((tmp_path / "logs" / "tb").glob("events.out.tfevents.*"))
    assert (tmp_path / "logs" / "progress.csv").read_text().splitlines() == ["train/loss", "0.5"]


def test_evaluations_replay_the_same_episodes_and_resume_keeps_history_up_to_the_checkpoint(tmp_path):
    """SeededEvalCallback re-seeds the eval env before every evaluation; the resumed history is cut at the
    checkpoint's step, and a truncated evaluations.npz is set aside with a warning."""
    from agents.sb3_callbacks import SeededEvalCallback
    from agents.sb3_callbacks import resume_eval_history as _resume_eval_history

    env = gym.make("shopgym/Restock-v0", scenario="quickstart", horizon=5)
    from stable_baselines3.common.vec_env import DummyVecEnv

    venv = DummyVecEnv([lambda: env])
    cb = SeededEvalCallback(venv, eval_freq=1, seed=123)
    firsts = []
    for _ in range(2):
        cb.eval_env.seed(cb.eval_seed)
        firsts.append(cb.eval_env.reset().copy())
    np.testing.assert_array_equal(firsts[0], firsts[1])

    log = tmp_path / "eval"
    log.mkdir()
    np.savez(log / "evaluations.npz", timesteps=np.array([100, 200, 300]), results=np.array([[1.0], [5.0], [9.0]]),
             ep_lengths=np.array([[5], [5], [5]]))
    _resume_eval_history(cb, log, num_timesteps=200)
    assert cb.evaluations_timesteps == [100, 200] and cb.best_mean_reward == 5.0
    (log / "evaluations.npz").write_bytes(b"PK\x03\x04 cut short")
    fresh = SeededEvalCallback(venv, eval_freq=1, seed=123)
    with pytest.warns(UserWarning, match="unreadable"):
        _resume_eval_history(fresh, log, num_timesteps=200)
    assert fresh.evaluations_timesteps == []


def test_text_n_timesteps_is_one_line_from_shopgym_train_and_writes_nothing(tmp_path, monkeypatch, capsys):
    """``n_timesteps: ten`` in an SB3 file: the ``shopgym`` console script prints one line, exits 2, no traceback."""
    import sys

    from shopgym.cli.main import main

    hp, out = tmp_path / "ppo.yml", tmp_path / "run"
    hp.write_text(f"{RESTOCK}:\n  n_timesteps: ten\n")
    monkeypatch.setattr(sys, "argv", ["shopgym", "train", "--algo", "ppo", "--env", RESTOCK, "--hyperparams", str(hp),
                                      "--out", str(out), "--no-progress"])
    with pytest.raises(SystemExit) as stop:
        main()
    raw = capsys.readouterr().err
    err = " ".join(raw.split())
    assert stop.value.code == 2 and len(raw.strip().splitlines()) == 1, raw
    assert err.startswith("error: n_timesteps='ten' in the 'shopgym/Restock-v0' section of ")
    assert "is str; write a whole number without quotes" in err and "Traceback" not in err and not out.exists()


def test_n_timesteps_in_exponent_text_trains(tmp_path):
    """``n_timesteps: 1e4``-style text (here ``2e2``) is read as the number: a tiny DQN trains exactly that long."""
    import yaml

    path = tmp_path / "dqn.yml"
    section = yaml.safe_dump({RESTOCK: {**TINY_SB3["dqn"], "eval_freq": 10_000, "n_eval_episodes": 1}})
    path.write_text(section + "  n_timesteps: 2e2\n")
    model = sb3.train("dqn", RESTOCK, tmp_path / "run", hyperparams_file=path, progress_bar=False, command=["test"])
    assert model.num_timesteps == 200
