"""Videos: the progress video a training run ends with, generate mode=progress and mode=interpolate, slerp."""

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from conftest import TINY, cli, generate_cfg, train
from PIL import Image

from gan_lab.cli.generate import generate
from gan_lab.errors import ConfigError
from gan_lab.viz.animation import latent_walk, slerp

SMALL_DCGAN = ["dataset.download=false", "system.nets.ngf=8", "system.nets.ndf=8", "metrics=none", *TINY]


def mp4_frames(path) -> np.ndarray:
    return iio.imread(path, plugin="FFMPEG", index=None)


@pytest.fixture(scope="module")
def image_run(tmp_path_factory, mnist_idx):
    out = tmp_path_factory.mktemp("dcgan") / "run"
    overrides = ["experiment=dcgan_mnist", f"dataset.root={mnist_idx}", *SMALL_DCGAN]
    train([*overrides, "samples.every=1", "samples.num=16"], out)  # grids at steps 1, 2 and 3
    return out


def test_slerp_keeps_its_endpoints_an_even_pace_and_a_length_between_theirs():
    noise = torch.Generator().manual_seed(0)
    a, b = torch.randn(2, 5, 8, generator=noise, dtype=torch.float64)
    b = 3 * b  # lengths apart, so that "between" means something
    torch.testing.assert_close(slerp(a, b, 0.0), a)
    torch.testing.assert_close(slerp(a, b, 1.0), b)
    t = torch.linspace(0, 1, 11, dtype=torch.float64)[:, None, None]
    path = slerp(a, b, t)
    lengths = path.norm(dim=-1)
    assert (lengths >= torch.minimum(a.norm(dim=-1), b.norm(dim=-1)) - 1e-5).all()
    assert (lengths <= torch.maximum(a.norm(dim=-1), b.norm(dim=-1)) + 1e-5).all()
    angle = torch.cosine_similarity(path, a, dim=-1).clamp(-1, 1).acos()  # along the great circle...
    torch.testing.assert_close(angle, t[..., 0] * angle[-1])  # ...at constant speed
    torch.testing.assert_close(slerp(a, 2 * a, 0.5), 1.5 * a)  # one direction: a straight line


def test_a_latent_walk_passes_every_stop_and_loops_back_to_the_first():
    codes = torch.randn(3, 4, 8, generator=torch.Generator().manual_seed(0))
    walk = latent_walk(codes, 12)
    assert walk.shape == (12, 4, 8)
    for stop in range(3):
        torch.testing.assert_close(walk[4 * stop], codes[stop])
    torch.testing.assert_close(walk[-1], slerp(codes[2], codes[0], 0.75))


def test_training_ends_with_a_progress_video_of_its_grids(image_run):
    grids = sorted((image_run / "samples").glob("step_*.png"))
    assert [g.name for g in grids] == ["step_000001.png", "step_000002.png", "step_000003.png"]
    last = np.asarray(Image.open(grids[-1]).convert("RGB"))
    gif = Image.open(image_run / "samples/progress.gif")
    assert gif.n_frames == 3 and gif.size == (8 * 30 + 2, 2 * 30 + 2)
    gif.seek(2)
    shown = np.asarray(gif.convert("RGB"))
    below_label = slice(shown.shape[0] // 2, None)  # the step label covers the top-left corner
    assert np.abs(shown[below_label].astype(int) - last[below_label]).mean() < 2
    assert mp4_frames(image_run / "samples/progress.mp4").shape == (3, *last.shape)


def test_progress_mode_remakes_the_video_from_a_run_folder(image_run, tmp_path):
    args = ["mode=progress", f"run={image_run}", "out=again.gif", "fps=2"]
    result = cli(args, tmp_path, module="gan_lab.cli.generate")
    assert result.returncode == 0, result.stderr
    gif = Image.open(tmp_path / "again.gif")
    assert gif.n_frames == 3 and gif.info["duration"] == 500
    assert len(mp4_frames(tmp_path / "again.mp4")) == 3


def test_interpolate_writes_a_latent_walk_video_of_fps_times_seconds_frames(image_run, tmp_path):
    ckpt = image_run / "checkpoints/last.ckpt"
    args = ["mode=interpolate", f"ckpt={ckpt}", "n=6", "fps=4", "seconds=2", "stops=2", "out=walk"]
    result = cli(args, tmp_path, module="gan_lab.cli.generate")
    assert result.returncode == 0, result.stderr
    gif = Image.open(tmp_path / "walk.gif")
    assert gif.n_frames == 8 and gif.size == (6 * 30 + 2, 30 + 2)  # 6 walks in one row
    assert gif.info["duration"] == 250 and gif.info["loop"] == 0
    assert mp4_frames(tmp_path / "walk.mp4").shape == (8, 32, 182, 3)


def test_interpolate_holds_each_walks_class(tmp_path, mnist_idx):
    out = tmp_path / "run"
    train(["experiment=cdcgan_mnist", f"dataset.root={mnist_idx}", *SMALL_DCGAN, "train.steps=1"], out)
    ckpt = out / "checkpoints/last.ckpt"
    args = ["mode=interpolate", f"ckpt={ckpt}", "n=20", "fps=3", "seconds=1", f"out={tmp_path / 'walk'}"]
    mp4 = generate(generate_cfg(args))
    assert mp4_frames(mp4).shape == (3, 2 * 30 + 2, 10 * 30 + 2, 3)  # labels=all: a class per column


def test_interpolate_refuses_a_2d_generator_whose_run_made_a_scatter_plot_video(tmp_path):
    train([*TINY, "metrics=none"], tmp_path / "run")
    grids = sorted((tmp_path / "run/samples").glob("step_*.png"))
    assert len(grids) == 2 and Image.open(tmp_path / "run/samples/progress.gif").n_frames == 2
    args = ["mode=interpolate", f"ckpt={tmp_path / 'run/checkpoints/last.ckpt'}", "out=walk"]
    with pytest.raises(ConfigError, match="generates 2D points: mode=interpolate is for image generators"):
        generate(generate_cfg(args))


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["mode=video"], "mode='video': use sample, progress, interpolate, neighbours or content_motion"),
        (["mode=progress", "run=no_run"], r"run='no_run': 0 sample grids .* needs 2 or more"),
        (["mode=interpolate", "fps=0"], "fps=0: use a positive number of frames per second"),
        (["mode=interpolate", "seconds=-1"], "seconds=-1: use a positive video length"),
        (["mode=interpolate", "fps=1", "seconds=1"], r"is 1 frame\(s\): a video needs 2 or more"),
        (["mode=interpolate", "stops=1"], "stops=1: use 2 or more latent codes per walk"),
        (["mode=interpolate", "out=walk.png"], "out='walk.png': name the video with no extension"),
    ],
)
def test_bad_video_settings_are_refused_before_any_checkpoint_is_read(overrides, message, tmp_path):
    with pytest.raises(ConfigError, match=message):
        generate(generate_cfg(["ckpt=missing.ckpt", "out=walk", *overrides]))


def test_wandb_gets_the_progress_video(tmp_path):
    train([*TINY, "logger=wandb"], tmp_path / "run")
    (run_dir,) = (tmp_path / "run/wandb").glob("offline-run-*")
    assert list(run_dir.glob("files/media/videos/samples/progress_*.mp4"))
