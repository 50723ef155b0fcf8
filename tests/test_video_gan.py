"""The video GAN (MoCoGAN): shapes through G, D_I and D_V, the latent's content/motion split, and training
with three optimizers that resumes exactly."""

import pytest
import torch
from conftest import TINY, assert_same_state, train
from PIL import Image
from torch.nn.utils import parametrize

from gan_lab.errors import ConfigError
from gan_lab.nets.video import frames_of, mocogan

SMALL = ["experiment=mocogan_moving_mnist", "dataset.download=false", "dataset.frames=4",
         "system.nets.ngf=8", "system.nets.ndf=8", "samples.num=2"]  # fmt: skip


def test_shapes_through_the_generator_and_both_discriminators():
    torch.manual_seed(0)
    nets = mocogan(data_shape=(1, 6, 32, 32), ngf=8, ndf=8)
    assert nets.nz == 50 + 10 * (6 + 1)
    clips = nets.generator(torch.randn(3, nets.nz))
    assert clips.shape == (3, 1, 6, 32, 32) and clips.abs().max() <= 1
    assert frames_of(clips).shape == (18, 1, 32, 32)
    assert nets.image_discriminator(frames_of(clips)).shape == (18,)
    assert nets.video_discriminator(clips).shape == (3,)
    assert nets.video_discriminator(clips[:, :, :2]).shape == (3,)  # a short clip: time is padded
    pooled = mocogan(data_shape=(3, 4, 64, 64), ngf=8, ndf=8, video_downsample=True, spectral_norm=True)
    assert pooled.video_discriminator(torch.randn(2, 3, 4, 64, 64)).shape == (2,)
    for d in (pooled.image_discriminator, pooled.video_discriminator):
        assert any(parametrize.is_parametrized(m, "weight") for m in d.modules())


def test_content_and_motion_are_separate_parts_of_the_latent():
    torch.manual_seed(0)
    g = mocogan(data_shape=(1, 5, 32, 32), ngf=8, ndf=8).generator.eval()
    z = torch.randn(2, g.nz)
    content, start, noise = g.split(z)
    assert content.shape == (2, 50) and start.shape == (2, 10) and noise.shape == (2, 5, 10)
    torch.testing.assert_close(g.join(content, start, noise), z)
    # Clip 1 with clip 0's motion: frame-to-frame changes now follow one trajectory of motion codes.
    swapped = g.join(content, start[[0, 0]], noise[[0, 0]])
    motion = g.motion_codes(*g.split(swapped)[1:])
    torch.testing.assert_close(motion[0], motion[1])
    with torch.no_grad():
        clips = g(swapped)
    assert not torch.allclose(clips[0], clips[1])  # the content still differs


def test_image_data_is_refused_by_the_video_networks():
    with pytest.raises(ConfigError, match=r"model=mocogan needs clips \(C, T, H, W\).*dataset=moving_mnist"):
        mocogan(data_shape=(1, 28, 28))


def test_the_full_recipe_trains_three_optimizers_and_resumes_exactly(tmp_path, mnist_idx):
    recipe = ["loss=hinge", "penalty=r1", "system.penalty.every=2", "augment=diffaugment", "ema=default",
              "system.nets.spectral_norm=true"]  # fmt: skip
    base = [*SMALL, f"dataset.root={mnist_idx}", *recipe, "dataset.batch_size=4", "dataset.num_workers=0",
            "samples.every=null", "checkpoint.every=3", "logger=none"]  # fmt: skip
    train([*base, "train.steps=6"], tmp_path / "straight")
    train([*base, "train.steps=3"], tmp_path / "first")
    metrics = train([*base, "train.steps=6", f"ckpt_path={tmp_path / 'first/checkpoints/last.ckpt'}"],
                    tmp_path / "resumed")  # fmt: skip
    assert metrics["steps"] == 6
    final = metrics["final"]
    assert {"loss/d_image", "loss/d_video", "loss/g", "d_video/real", "d_image/fake"} <= final.keys()
    checkpoint = torch.load(tmp_path / "resumed/checkpoints/last.ckpt", weights_only=False)
    assert len(checkpoint["optimizer_states"]) == 3
    assert_same_state(tmp_path / "straight/checkpoints/last.ckpt", tmp_path / "resumed/checkpoints/last.ckpt")
    with pytest.raises(AssertionError):  # the comparison can fail: 3 steps are not 6
        assert_same_state(
            tmp_path / "straight/checkpoints/last.ckpt", tmp_path / "first/checkpoints/last.ckpt"
        )


def test_a_run_writes_filmstrips_one_row_per_clip(tmp_path, mnist_idx):
    train([*SMALL, f"dataset.root={mnist_idx}", *TINY, "logger=none"], tmp_path / "run")
    strip = Image.open(tmp_path / "run/samples/step_000003.png")
    assert strip.size == (4 * 34 + 2, 2 * 34 + 2)  # 4 frames across, 2 clips down, 32 px + padding 2
