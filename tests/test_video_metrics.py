"""The video metrics on constructed clips whose answers are known, and end to end with a trained judge."""

import math

import pytest
import torch
from conftest import TINY, train
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from gan_lab.cli.evaluate import evaluate
from gan_lab.metrics.video import (
    VIDEO_OUTPUTS,
    ClipSummary,
    average_content_distance,
    centroids,
    identity_consistency,
    loops,
    pair_entropy,
    shuffled_clips,
    static_clips,
    video_scores,
    wasserstein_1,
)
from gan_lab.paths import config_dir


def moving_square(n: int = 4, frames: int = 8, size: int = 32, speed: int = 2) -> torch.Tensor:
    """Clips (N, 1, T, size, size) in [-1, 1] of an 8 px square moving right `speed` px a frame."""
    clips = -torch.ones(n, 1, frames, size, size)
    for i in range(n):
        for t in range(frames):
            x = 2 + i + speed * t
            clips[i, 0, t, 10:18, x : x + 8] = 1
    return clips


def summary_of(clips: torch.Tensor, features=None, readings=None) -> ClipSummary:
    """A ClipSummary with pixel facts from `clips` and the judge's facts given (or neutral)."""
    n, _, t = clips.shape[:3]
    ink = (clips + 1) / 2
    return ClipSummary(
        features=torch.zeros(n, t, 4) if features is None else features,
        readings=torch.zeros(n, t, 10, dtype=torch.bool) if readings is None else readings,
        centroids=centroids(ink[:, 0]) * (64 / clips.shape[-1]),
        change=(ink[:, 0, 1:] - ink[:, 0, :-1]).abs().mean(dim=(1, 2, 3)),
        loops=loops(ink[:, 0]),
    )


def test_centroids_follow_the_square_at_its_speed():
    clips = moving_square(speed=2)
    c = centroids(((clips + 1) / 2)[:, 0])
    torch.testing.assert_close(c[0, :, 0], 2 + 3.5 + 2 * torch.arange(8.0))  # x: left edge + 3.5, 2 px/frame
    torch.testing.assert_close(c[0, :, 1], torch.full((8,), 13.5))


def test_a_frozen_clip_is_frozen_and_a_moving_one_is_not():
    moving = summary_of(moving_square())
    frozen = summary_of(static_clips(moving_square()))
    real = moving
    assert video_scores_pixels(frozen, real)["frozen_share"] == 1
    assert video_scores_pixels(moving, real)["frozen_share"] == 0


def video_scores_pixels(fake: ClipSummary, real: ClipSummary) -> dict[str, float]:
    """video_scores with features that fit: random ones, the same for both (the frame metrics are not the
    subject here)."""
    torch.manual_seed(0)
    n, t = fake.features.shape[:2]
    fake.features = real.features = torch.randn(n, t, 4)
    return video_scores(fake, real)


def test_shuffled_frames_keep_the_frames_and_break_the_motion():
    real = moving_square(n=6, frames=10, speed=1)
    shuffled = shuffled_clips(real, seed=0)
    assert sorted(shuffled[0, 0].flatten(1).sum(1).tolist()) == sorted(real[0, 0].flatten(1).sum(1).tolist())
    scores = video_scores_pixels(summary_of(shuffled), summary_of(real))
    same = video_scores_pixels(summary_of(real), summary_of(real))
    assert same["speed_w1"] < 1e-6 and scores["speed_w1"] > 2  # 1 px/frame at 32 px = 2 at 64 px
    assert same["acceleration"] < 1e-6 < 2 < scores["acceleration"]


def test_a_clip_whose_digit_changes_midway_is_not_consistent():
    readings = torch.zeros(2, 8, 10, dtype=torch.bool)
    readings[:, :, 3] = True  # both clips read as 3 ...
    readings[1, 4:, 3], readings[1, 4:, 8] = False, True  # ... the second turns into an 8 at frame 4
    summary = summary_of(moving_square(n=2), readings=readings)
    assert identity_consistency(summary) == 0.5


def test_content_distance_is_zero_for_constant_features_and_grows_with_change():
    features = torch.zeros(3, 5, 4)
    assert average_content_distance(summary_of(moving_square(n=3, frames=5), features=features)) == 0
    features[:, :, 0] = torch.arange(5.0)  # one unit a frame
    assert average_content_distance(summary_of(moving_square(n=3, frames=5), features=features)) == 1


def test_pair_entropy_counts_distinct_clip_readings_in_bits():
    readings = torch.zeros(4, 6, 10, dtype=torch.bool)
    for i, pair in enumerate([(1, 2), (3, 4), (5, 6), (7, 8)]):
        readings[i, :, list(pair)] = True
    assert pair_entropy(summary_of(moving_square(n=4, frames=6), readings=readings)) == pytest.approx(2.0)
    readings[:] = readings[:1]
    assert pair_entropy(summary_of(moving_square(n=4, frames=6), readings=readings)) == 0


def test_a_clip_that_comes_back_loops_and_one_that_goes_on_does_not():
    out_and_back = moving_square(n=1, frames=9)
    out_and_back[:, :, 5:] = out_and_back[:, :, [3, 2, 1, 0]]  # goes right for 4 frames, then back
    assert loops(((out_and_back + 1) / 2)[:, 0]).tolist() == [True]
    assert loops(((moving_square(n=1, frames=9) + 1) / 2)[:, 0]).tolist() == [False]
    assert loops(((static_clips(moving_square(n=1)) + 1) / 2)[:, 0]).tolist() == [False]  # frozen: no loop


def test_wasserstein_1_is_the_shift_between_two_samples():
    a = torch.randn(5000, generator=torch.Generator().manual_seed(0))
    assert wasserstein_1(a, a + 3) == pytest.approx(3, abs=1e-6)
    assert wasserstein_1(a, a) == 0


@pytest.fixture(scope="module")
def judge(tmp_path_factory, mnist_idx):
    """A tiny judge run's checkpoint."""
    out = tmp_path_factory.mktemp("judge") / "run"
    train([f"dataset.root={mnist_idx}", "dataset.download=false", "experiment=judge_moving_mnist", *TINY,
           "dataset.num_samples=64", "dataset.val_size=16", "logger=none"], out)  # fmt: skip
    return out / "checkpoints/last.ckpt"


def video_run(judge, mnist_idx, *extra) -> list[str]:
    return [f"dataset.root={mnist_idx}", "dataset.download=false", "experiment=mocogan_moving_mnist", *TINY,
            "dataset.frames=4", "system.nets.ngf=8", "system.nets.ndf=8", "samples.num=2",
            f"metrics.classifier={judge}", "eval.num_samples=12", "logger=none", *extra]  # fmt: skip


def test_a_video_run_is_scored_in_a_trained_judges_space(tmp_path, mnist_idx, judge):
    metrics = train(video_run(judge, mnist_idx, "eval.every=3"), tmp_path / "video")
    last = metrics["eval"][-1]
    expected = set(VIDEO_OUTPUTS) - {
        "kid_frames_std"
    }  # a std over 12 clips' frames measures nothing: left out
    assert expected <= last.keys() and all(math.isfinite(last[k]) for k in expected)
    assert 0 <= last["identity_consistency"] <= 1 and 0 <= last["frozen_share"] <= 1
    assert metrics["best"]["metric"] == "fid_frames"


def test_evaluate_scores_the_video_baselines_beside_the_generator(tmp_path, mnist_idx, judge):
    train(video_run(judge, mnist_idx, "dataset.num_samples=40"), tmp_path / "video")
    ckpt = tmp_path / "video/checkpoints/last.ckpt"
    scores = {}
    for source in ("generator", "test_split", "static", "shuffled"):
        data = [f"dataset.root={mnist_idx}", "dataset.download=false"]
        scores[source] = evaluate(evaluate_cfg([f"ckpt={ckpt}", f"source={source}", *data]))["metrics"]
    assert scores["static"]["frozen_share"] == 1 and scores["test_split"]["frozen_share"] == 0
    assert scores["shuffled"]["speed_w1"] > scores["test_split"]["speed_w1"]
    assert scores["shuffled"]["acceleration"] > scores["test_split"]["acceleration"]


def evaluate_cfg(overrides: list[str]):
    """conf/evaluate.yaml composed as `python -m gan_lab.cli.evaluate` would."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        return compose("evaluate", overrides=overrides)
