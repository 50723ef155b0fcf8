"""Clip data: Moving MNIST drawn on the fly (deterministic per seed, split and index, with its ground truth),
and clips cut from a folder of videos."""

import imageio.v3 as iio
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from gan_lab.data import MovingMNISTDataModule, MovingMNISTFramesDataModule, VideoFolderDataModule
from gan_lab.data.video import MovingDigits, shown_digits
from gan_lab.errors import ConfigError, DataError


def squares(n: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    """Digits that are solid 28 x 28 squares of value 1: each clip's ink is exactly where the digits are."""
    return torch.full((n, 28, 28), 255, dtype=torch.uint8), torch.arange(n) % 10


def clips(num_digits=1, frames=12, image_size=64, speed=(2.0, 5.0), seed=0, size=50):
    return MovingDigits(*squares(), size, seed, frames, image_size, num_digits, speed)


def module_settings(root) -> dict:
    return dict(root=root, download=False, num_samples=20, frames=8, digits=2, speed=[2, 5], image_size=64,
                batch_size=4, num_workers=0, seed=0)  # fmt: skip


def module(root, **settings) -> MovingMNISTDataModule:
    return MovingMNISTDataModule(**(module_settings(root) | settings))


def test_each_digit_is_drawn_where_its_trajectory_says_at_every_frame():
    data = clips(num_digits=1, frames=20)
    for index in range(5):
        clip, _ = data[index]
        truth = data.trajectory(index)
        assert clip.shape == (1, 20, 64, 64) and clip.min() == -1 and clip.max() == 1
        for t in range(20):
            x, y = truth["positions"][t, 0].round().long().tolist()
            ink = (clip[0, t] > 0).nonzero()
            assert ink[:, 1].min() == x and ink[:, 1].max() == x + 27  # columns: x
            assert ink[:, 0].min() == y and ink[:, 0].max() == y + 27  # rows: y


def test_digits_move_at_their_speed_and_bounce_inside_the_frame():
    data = clips(num_digits=3, frames=60, speed=(4.0, 9.0))
    bounced = 0
    for index in range(10):
        truth = data.trajectory(index)
        positions, speeds = truth["positions"], truth["speeds"]
        assert (positions >= 0).all() and (positions <= 36).all()
        assert ((speeds >= 4) & (speeds <= 9)).all()
        steps = (positions[1:] - positions[:-1]).norm(dim=-1)  # (frames - 1, digits)
        straight = steps > 0  # a bounce frame's straight-line step is shorter than the speed; never longer
        assert (steps <= speeds + 1e-4).all()
        free = (steps - speeds).abs() < 1e-4
        bounced += int((~free & straight).sum())
        assert free.float().mean() > 0.5
    assert bounced > 0  # 60 frames at these speeds reach the walls


def test_clips_are_the_same_for_the_same_seed_and_index_and_differ_otherwise():
    a, b, other = clips(seed=3), clips(seed=3), clips(seed=4)
    torch.testing.assert_close(a[7][0], b[7][0])
    assert not torch.equal(a[7][0], a[8][0]) and not torch.equal(a[7][0], other[7][0])


def test_the_label_reads_the_digits_left_to_right():
    digits, labels = squares()
    data = MovingDigits(digits, labels, 30, 0, 4, 64, 2, (2.0, 5.0))
    for index in range(30):
        a, b = data.trajectory(index)["labels"].tolist()
        assert data[index][1] == 10 * a + b


def test_32_px_clips_are_the_64_px_clips_area_downsampled():
    large, small = clips(image_size=64, frames=6), clips(image_size=32, frames=6)
    expected = F.avg_pool2d((large[2][0] + 1) / 2, 2) * 2 - 1
    assert small[2][0].shape == (1, 6, 32, 32)
    torch.testing.assert_close(small[2][0], expected)


def test_train_clips_move_train_digits_and_test_clips_test_digits(mnist_idx):
    data = module(mnist_idx)
    train, test = data.load("train"), data.load("test")
    assert data.data_shape == (1, 8, 64, 64) and data.num_classes == 100
    assert len(train) == len(test) == 20
    assert torch.equal(train.digits, data.load("train").digits) and len(train.digits) != len(test.digits)
    torch.testing.assert_close(
        train[5][0], module(mnist_idx).load("train")[5][0]
    )  # another module, same clip
    assert not torch.equal(train[5][0], test[5][0])


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"image_size": 48}, r"dataset.image_size=48: Moving MNIST is drawn at 64 px; use 64, or 32"),
        ({"frames": 1}, r"dataset.frames=1: a clip needs 2 or more frames"),
        ({"digits": 4}, r"dataset.digits=4: use 1 to 3 digits per clip"),
        ({"speed": [5, 2]}, r"dataset.speed=\[5, 2\]: give \[lowest, highest\] pixels per frame"),
        ({"speed": 3}, r"dataset.speed=3: give \[lowest, highest\]"),
        ({"num_samples": 0}, r"dataset.num_samples=0: use a positive number of clips"),
    ],
)
def test_settings_that_cannot_work_are_named(mnist_idx, setting, message):
    with pytest.raises(ConfigError, match=message):
        module(mnist_idx, **setting)


def write_video(path, frames: int, size=(40, 48), seed=0):
    """A video file (or, for a path with no suffix, a folder of PNG frames) whose frame t is filled with
    the gray level 10 * t: each clip's frames can be recognised."""
    shape = (size[1], size[0], 3)
    pixels = [np.full(shape, 10 * t, dtype=np.uint8) for t in range(frames)]
    if path.suffix:
        path.parent.mkdir(parents=True, exist_ok=True)
        iio.imwrite(path, np.stack(pixels), duration=100)
    else:
        path.mkdir(parents=True)
        for t, frame in enumerate(pixels):
            Image.fromarray(frame).save(path / f"{t:04d}.png")
    return path


def folder_module(root, **settings) -> VideoFolderDataModule:
    defaults = dict(root=root, frames=4, image_size=32, channels=1, batch_size=2, num_workers=0)
    return VideoFolderDataModule(**(defaults | settings))


def test_a_video_folder_gives_every_clip_that_fits_from_files_and_frame_folders(tmp_path):
    write_video(tmp_path / "videos/a.gif", 9)  # 2 clips of 4 (frame 8 is left over)
    write_video(tmp_path / "videos/sub/b", 4)  # a folder of frames: 1 clip
    clips = folder_module(tmp_path / "videos").load("train")
    assert len(clips) == 3
    clip, label = clips[1]
    assert clip.shape == (1, 4, 32, 32) and label == 0
    gray = (clip[0, :, 16, 16] + 1) / 2 * 255  # the second clip of a.gif: frames 4-7
    torch.testing.assert_close(gray, torch.tensor([40.0, 50, 60, 70]), atol=1.5, rtol=0)
    strided = folder_module(tmp_path / "videos", stride=2, frames=2).load("train")
    gray = (strided[0][0][0, :, 16, 16] + 1) / 2 * 255  # frames 0 and 2
    torch.testing.assert_close(gray, torch.tensor([0.0, 20]), atol=1.5, rtol=0)


def test_bad_videos_stop_the_run_naming_them_or_are_skipped(tmp_path):
    write_video(tmp_path / "v/good.gif", 8)
    write_video(tmp_path / "v/short.gif", 3)
    (tmp_path / "v/broken.mp4").write_bytes(b"not a video")
    said = r"2 of 3 videos .* bad: .*broken.mp4 \(cannot be read.*short.gif \(too short: 3 frames; a clip "
    with pytest.raises(DataError, match=said + ".*on_bad_file=skip"):
        folder_module(tmp_path / "v").load("train")
    assert len(folder_module(tmp_path / "v", on_bad_file="skip").load("train")) == 2


def test_an_empty_folder_says_what_it_wants(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no videos"):
        folder_module(tmp_path / "empty").load("train")


def test_judge_frames_show_the_digits_whose_ink_is_visible(mnist_idx):
    data = module(mnist_idx, num_samples=40, frames=6)
    frames = MovingMNISTFramesDataModule(**{**module_settings(mnist_idx), "num_samples": 40, "frames": 6})
    clips, single = data.load("train"), frames.load("train")
    assert frames.data_shape == (1, 64, 64) and frames.num_classes == 10 and len(single) == 40
    read = 0
    for index in range(40):
        frame, shown = single[index]
        torch.testing.assert_close(frame, clips[index][0][:, index % 6])  # frame i % frames of clip i
        assert set(shown.nonzero().flatten().tolist()) <= set(clips.trajectory(index)["labels"].tolist())
        read += int(shown.sum() >= 1)
    assert read >= 30  # only digits on top of one another hide


def test_a_digit_hidden_behind_another_is_not_shown():
    digits, labels = squares()  # solid squares: two at one place hide each other completely
    clips = MovingDigits(digits, labels, 1, 0, 2, 64, 2, (0.0, 0.0))
    truth = clips.trajectory(0)
    truth["positions"][:] = 10.0  # both digits on top of each other, still
    assert shown_digits(clips, truth, 0).sum() == 0  # neither shows half its ink uncovered
    truth["positions"][0, 1] = 40.0 - 28  # apart: both fully visible
    truth["positions"][0, 0] = 0.0
    assert set(shown_digits(clips, truth, 0).nonzero().flatten().tolist()) == set(truth["labels"].tolist())
