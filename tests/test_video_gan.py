"""The video GAN (MoCoGAN): shapes through G, D_I and D_V, the latent's content/motion split, and training
with three optimizers that resumes exactly."""

import pytest
import torch
from conftest import TINY, assert_same_state, generate_cfg, train
from PIL import Image
from torch.nn.utils import parametrize
from torchvision import transforms

from gan_lab.cli.generate import generate
from gan_lab.errors import ConfigError
from gan_lab.nets.video import frames_of, mocogan
from gan_lab.systems import load_system, read_checkpoint

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


@pytest.fixture(scope="module")
def video_run(tmp_path_factory, mnist_idx):
    out = tmp_path_factory.mktemp("video") / "run"
    train([*SMALL, f"dataset.root={mnist_idx}", *TINY, "logger=none"], out)
    return out


def test_a_run_writes_filmstrips_and_clip_videos(video_run):
    strip = Image.open(video_run / "samples/step_000003.png")
    assert strip.size == (4 * 34 + 2, 2 * 34 + 2)  # 4 frames across, 2 clips down, 32 px + padding 2
    clips = Image.open(video_run / "samples/step_000003.gif")
    assert clips.n_frames == 4 and clips.size == (2 * 34 + 2, 34 + 2)  # frame t: both clips' frame t
    assert (video_run / "samples/step_000003.mp4").stat().st_size > 0


def test_generate_writes_clips_and_the_content_and_motion_filmstrips(video_run, tmp_path, capsys):
    ckpt = video_run / "checkpoints/last.ckpt"
    generate(generate_cfg([f"ckpt={ckpt}", "n=3", f"out={tmp_path / 'clips.png'}"]))
    assert Image.open(tmp_path / "clips.png").size == (4 * 34 + 2, 3 * 34 + 2)
    assert Image.open(tmp_path / "clips.gif").n_frames == 4 and (tmp_path / "clips.mp4").is_file()
    generate(generate_cfg([f"ckpt={ckpt}", "n=2", "format=files", f"out={tmp_path / 'each'}"]))
    assert sorted(p.name for p in (tmp_path / "each").iterdir()) == [
        "000000.gif", "000000.mp4", "000001.gif", "000001.mp4"]  # fmt: skip

    generate(generate_cfg(["mode=content_motion", f"ckpt={ckpt}", "n=3", f"out={tmp_path / 'f.png'}"]))
    to_tensor = transforms.functional.to_tensor
    content = to_tensor(Image.open(tmp_path / "f_content.png"))
    motion = to_tensor(Image.open(tmp_path / "f_motion.png"))
    assert content.shape == motion.shape == (3, 3 * 34 + 2, 4 * 34 + 2)
    assert "3 clips with one content, and 3 with one motion" in capsys.readouterr().out


def test_holding_content_or_motion_keeps_the_first_clip_and_changes_the_others(video_run):
    checkpoint, run = read_checkpoint(video_run / "checkpoints/last.ckpt")
    system = load_system(checkpoint, run, (1, 4, 32, 32))
    free = system.sample(3, 0)
    content, motion = system.sample_held(3, 0, "content"), system.sample_held(3, 0, "motion")
    assert content.shape == motion.shape == (3, 1, 4, 32, 32)
    for held in (content, motion):
        torch.testing.assert_close(held[0], free[0])  # the first clip lends its part: it is unchanged
        assert not torch.allclose(held[1], free[1])  # the others take it over
    assert not torch.allclose(content[1], motion[1])
    with pytest.raises(ConfigError, match="held='style': hold content or motion"):
        system.sample_held(3, 0, "style")


@pytest.mark.parametrize("mode", ["interpolate", "neighbours"])
def test_image_only_modes_refuse_a_clip_generator_in_one_line(video_run, tmp_path, mode):
    ckpt = video_run / "checkpoints/last.ckpt"
    with pytest.raises(ConfigError, match=f"generates clips: mode={mode} is for image generators"):
        generate(generate_cfg([f"mode={mode}", f"ckpt={ckpt}", f"out={tmp_path / 'x'}"]))


def test_content_motion_refuses_an_image_generator(tmp_path, mnist_idx):
    run = tmp_path / "img"
    train(["experiment=dcgan_mnist", f"dataset.root={mnist_idx}", "dataset.download=false", *TINY,
           "system.nets.ngf=8", "system.nets.ndf=8", "metrics=none", "logger=none"], run)  # fmt: skip
    with pytest.raises(ConfigError, match="mode=content_motion is for video generators"):
        generate(generate_cfg(["mode=content_motion", f"ckpt={run / 'checkpoints/last.ckpt'}", "out=x.png"]))
