"""Render modes of every registered shopgym env: types, shapes, frames that follow the episode, the env checker."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import shopgym
from shopgym.config import load_scenario
from shopgym.envs.render import RENDER_MODES, Chart, Column, DayHistory, Line, Panel, render_text
from shopgym.errors import RenderModeError

ALL_IDS = sorted(i for i in gym.registry if i.startswith("shopgym/"))
VECTOR_ONLY = {s["id"] for s in shopgym.VECTOR_ENVS}  # vector-only ids: gymnasium.make refuses them
SINGLE_IDS = [i for i in ALL_IDS if i not in VECTOR_ONLY]
VECTOR_IDS = [i for i in ALL_IDS if gym.spec(i).vector_entry_point is not None]
SCENARIO = "steady"  # 10 SKUs: the text view is shortened
SMALL = {"scenario": SCENARIO, "horizon": 12}
FRAME_SHAPE = (320, 480, 3)


def _check_view(view, mode):
    if mode == "ansi":
        assert isinstance(view, str) and view.count("\n") >= 2
    else:
        assert isinstance(view, np.ndarray) and view.dtype == np.uint8 and view.shape == FRAME_SHAPE


def _differs(a, b) -> bool:
    return a != b if isinstance(a, str) else not np.array_equal(a, b)


def test_every_registered_id_is_covered():
    assert "shopgym/Restock-v0" in SINGLE_IDS and "shopgym/Restock-v0" in VECTOR_IDS
    assert set(SINGLE_IDS) | set(VECTOR_IDS) == set(ALL_IDS)


@pytest.mark.parametrize("env_id", SINGLE_IDS)
@pytest.mark.parametrize("mode", RENDER_MODES)
def test_single_env_renders_each_day(env_id, mode):
    env = gym.make(env_id, render_mode=mode, **SMALL)
    assert env.metadata["render_modes"] == list(RENDER_MODES) and env.metadata["render_fps"] > 0
    env.reset(seed=0)
    views = [env.render()]
    env.action_space.seed(0)
    for _ in range(5):
        env.step(env.action_space.sample())
        views.append(env.render())
    for view in views:
        _check_view(view, mode)
    assert all(_differs(a, b) for a, b in zip(views, views[1:], strict=False))
    if mode == "ansi":
        assert views[-1].splitlines()[-1].lstrip().startswith("5 |")  # the latest day's line
        assert "+5 more" in views[-1]  # 10 SKUs: the first 5 shown


@pytest.mark.parametrize("env_id", SINGLE_IDS)
@pytest.mark.parametrize("mode", [None, *RENDER_MODES])
def test_env_checker_passes_with_render_mode(env_id, mode):
    env = gym.make(env_id, render_mode=mode, scenario="quickstart", horizon=30)
    check_env(env.unwrapped)  # with mode None it also makes and renders each declared mode


@pytest.mark.parametrize("env_id", VECTOR_IDS)
@pytest.mark.parametrize("mode", RENDER_MODES)
def test_vector_env_renders_one_view_per_sub_env(env_id, mode):
    n_envs = 2 * 2  # 2 worlds of 2 SKUs (per-SKU envs count (world, SKU) pairs)
    envs = gym.make_vec(env_id, num_envs=n_envs, vectorization_mode="vector_entry_point", render_mode=mode,
                        **SMALL, n_skus=2)
    assert envs.metadata["render_modes"] == list(RENDER_MODES)
    envs.reset(seed=0)
    first = envs.render()
    envs.action_space.seed(0)
    for _ in range(3):
        envs.step(envs.action_space.sample())
    views = envs.render()
    assert isinstance(views, list) and len(views) == n_envs
    for view in views:
        _check_view(view, mode)
    assert all(_differs(a, b) for a, b in zip(first, views, strict=True))  # each sub-env's view moved on
    assert _differs(views[0], views[-1])  # sub-envs differ: other worlds (and other SKUs, per SKU)
    envs.close()


@pytest.mark.parametrize("env_id", [i for i in VECTOR_IDS if i.startswith("shopgym/Restock")])  # one step = one day
def test_vector_history_restarts_after_autoreset(env_id):
    n_envs = load_scenario("quickstart").catalog.n_skus
    envs = gym.make_vec(env_id, num_envs=n_envs, vectorization_mode="vector_entry_point", render_mode="ansi",
                        scenario="quickstart", horizon=3)
    envs.reset(seed=0)
    for _ in range(3):
        _, _, terminated, _, _ = envs.step(np.zeros(n_envs, dtype=np.int64))
    assert terminated.all() and "day 3/3" in envs.render()[0]
    envs.step(np.zeros(n_envs, dtype=np.int64))  # the autoreset step
    assert "day 0/3" in envs.render()[0]


@pytest.mark.parametrize("env_id", [i for i in SINGLE_IDS if i.startswith("shopgym/Restock")])  # Restock's info flows
def test_history_holds_the_infos_flows(env_id):
    env = gym.make(env_id, render_mode="ansi", **SMALL)
    env.reset(seed=3)
    env.action_space.seed(3)
    for _ in range(4):
        _, _, _, _, info = env.step(env.action_space.sample())
    history = env.unwrapped.renderer.history
    assert list(history.days) == [0, 1, 2, 3, 4]
    for field in ("on_hand", "ordered", "demand", "sold", "lost"):
        np.testing.assert_array_equal(history.series(field)[-1, 0], info[field])
    assert history.series("profit")[-1, 0].sum() == pytest.approx(info["profit"])
    assert np.isnan(history.series("demand")[0]).all()  # the starting state has no flows


@pytest.mark.parametrize("env_id", SINGLE_IDS)
def test_rendering_leaves_the_trajectory_unchanged(env_id):
    def rollout(mode):
        env = gym.make(env_id, render_mode=mode, **SMALL)
        obs, _ = env.reset(seed=5)
        env.action_space.seed(5)
        trace = [obs]
        for _ in range(6):
            obs, reward, *_ = env.step(env.action_space.sample())
            trace += [obs, [reward]]
            if mode is not None:
                env.render()
        return np.concatenate(trace)

    plain = rollout(None)
    assert gym.make(env_id, **SMALL).unwrapped.renderer is None  # nothing recorded without a render mode
    np.testing.assert_array_equal(plain, rollout("ansi"))
    np.testing.assert_array_equal(plain, rollout("rgb_array"))


@pytest.mark.parametrize("env_id", SINGLE_IDS)
@pytest.mark.filterwarnings("ignore:.*not in the possible render_modes")  # gymnasium.make's own warning first
def test_unknown_render_mode_names_the_valid_ones(env_id):
    with pytest.raises(RenderModeError, match=r"'rgb'.*'ansi', 'rgb_array'.*Did you mean 'rgb_array'"):
        gym.make(env_id, render_mode="rgb", **SMALL)


@pytest.mark.parametrize("env_id", VECTOR_IDS)
def test_unknown_render_mode_names_the_valid_ones_vector(env_id):
    with pytest.raises(RenderModeError, match=r"'text'.*'ansi', 'rgb_array'"):
        gym.make_vec(env_id, num_envs=10, vectorization_mode="vector_entry_point", render_mode="text", **SMALL)


def test_render_without_a_mode_warns_and_returns_none():
    env = gym.make("shopgym/Restock-v0", **SMALL)
    env.reset(seed=0)
    with pytest.warns(UserWarning, match="without specifying any render mode"):
        assert env.render() is None


# ---------------------------------------------------------------------------- the generic renderer


def test_day_history_keeps_the_last_days_oldest_first():
    history = DayHistory(("x", "y"), (1, 2), capacity=3)
    for day in range(5):
        history.append(day, x=np.array([[day, 10 * day]]))
    assert len(history) == 3 and list(history.days) == [2, 3, 4]
    np.testing.assert_array_equal(history.series("x")[:, 0, 1], [20, 30, 40])
    assert np.isnan(history.series("y")).all()  # never given
    with pytest.raises(KeyError, match="unknown fields"):
        history.append(5, z=1)
    history.clear()
    assert len(history) == 0 and history.series("x").shape == (0, 1, 2)


def test_text_view_shortens_many_items_and_totals_them():
    history = DayHistory(("q",), (1, 12))
    history.append(1, q=np.arange(12)[None])
    text = render_text(history, [Column("q", "q")], "title")
    assert text.splitlines()[-1] == "  1 | 0 1 2 3 4 +7 Σ66"
    assert "+7 more" in text.splitlines()[1]
    one = render_text(history, [Column("q", "q")], "title", items=slice(3, 4))
    assert one.splitlines()[-1] == "  1 | 3" and "SKU 3" in one


def test_chart_frames_keep_their_size_as_data_grows():
    history = DayHistory(("a",), (1, 2), capacity=10)
    chart = Chart([Panel("units", (Line("a", "a"),))], width=200, height=120, days=10)
    frames = []
    for day in range(15):  # past the capacity: the x range scrolls
        history.append(day, a=np.full((1, 2), day**2))
        frames.append(chart.frame(history, f"day {day}"))
    assert {f.shape for f in frames} == {(120, 200, 3)} and frames[0].dtype == np.uint8
    assert _differs(frames[-2], frames[-1])


def test_record_video_writes_a_restock_episode(tmp_path):
    pytest.importorskip("moviepy", reason="RecordVideo needs moviepy: pip install -e '.[video]'")
    from gymnasium.wrappers import RecordVideo

    env = RecordVideo(gym.make("shopgym/Restock-v0", render_mode="rgb_array", scenario="quickstart", horizon=10),
                      str(tmp_path / "videos"), episode_trigger=lambda episode: episode == 0, disable_logger=True)
    env.reset(seed=0)
    terminated = False
    while not terminated:
        _, _, terminated, _, _ = env.step(2)
    env.close()
    videos = list((tmp_path / "videos").glob("*.mp4"))
    assert len(videos) == 1 and videos[0].stat().st_size > 1000
    from moviepy.video.io.VideoFileClip import VideoFileClip  # moviepy 1.x and 2.x

    clip = VideoFileClip(str(videos[0]))
    assert clip.size == [480, 320]
    assert clip.duration == pytest.approx(11 / env.metadata["render_fps"], abs=0.2)  # reset + 10 days
    clip.close()
