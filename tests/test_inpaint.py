"""Semantic inpainting: weights, scores and baselines against hand computations, the latent search on a tiny
trained GAN, the errors, and the CLI end to end."""

import json
import math
import sys

import numpy as np
import pytest
import torch
from conftest import TINY, cli, train
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import instantiate
from PIL import Image

from gan_lab.cli.inpaint import inpaint
from gan_lab.errors import ConfigError
from gan_lab.paths import config_dir
from gan_lab.studies.inpainting.baselines import classical_fill, diffusion_fill, mean_fill
from gan_lab.studies.inpainting.masks import center_mask, make_mask
from gan_lab.studies.inpainting.scores import PSNR_CAP, hole_psnr, hole_ssim
from gan_lab.studies.inpainting.semantic import context_weights, semantic_inpaint
from gan_lab.systems import load_system, read_checkpoint

SMALL = ("system.nets.ngf=8", "system.nets.ndf=8", "metrics=none")


def tiny_run(experiment: str, mnist, out, extra: tuple[str, ...] = ()):
    data = [f"experiment={experiment}", f"dataset.root={mnist}", "dataset.download=false", *TINY]
    train([*data, *extra], out)
    return out / "checkpoints/last.ckpt"


@pytest.fixture(scope="module")
def gan_ckpt(tmp_path_factory, mnist_idx):
    return tiny_run("dcgan_mnist", mnist_idx, tmp_path_factory.mktemp("gan"), SMALL)


def inpaint_cfg(*overrides: str):
    GlobalHydra.instance().clear()
    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        return compose("inpaint", overrides=list(overrides))


def ramp(size: int = 16) -> torch.Tensor:
    """One grayscale image rising linearly from -1 (left) to 1 (right)."""
    return torch.linspace(-1, 1, size).expand(1, 1, size, size).clone()


def test_context_weights_are_the_hole_fraction_of_the_window_around_known_pixels():
    known = torch.ones(1, 1, 15, 15, dtype=torch.bool)
    known[..., 6:9, 6:9] = False  # a 3x3 hole
    weights = context_weights(known, window=7)[0, 0]
    assert weights[0, 0] == 0 and weights[7, 2] == 0  # the hole is out of their 7x7 window
    assert weights[7, 3] == pytest.approx(3 / 49)  # the window reaches the hole's first column
    assert weights[5, 7] == pytest.approx(9 / 49)  # right above the hole: all of it in the window
    assert (weights[~known[0, 0]] == 0).all()  # hole pixels carry no context
    corner = torch.ones(1, 1, 15, 15, dtype=torch.bool)
    corner[..., 0, 0] = False
    assert context_weights(corner, 7)[0, 0, 0, 1] == pytest.approx(1 / 20)  # 4x5 of it is inside


def test_scores_over_the_hole_match_hand_computations():
    target = torch.rand(2, 1, 16, 16) * 2 - 1
    known = center_mask(2, 16, 0.25)
    assert (hole_psnr(target, target, known) == PSNR_CAP).all()  # a perfect fill: MSE 0, capped
    assert hole_ssim(target, target, known) == pytest.approx(torch.ones(2))
    off_outside = torch.where(known, -target, target)  # wrong only where the pixels are known
    assert (hole_psnr(off_outside, target, known) == PSNR_CAP).all()
    off_by = torch.where(known, target, target + 0.2)  # 0.1 in [0, 1]: MSE 0.01 over the hole
    assert hole_psnr(off_by, target, known) == pytest.approx(torch.full((2,), 20.0), abs=1e-3)
    # Constant images have no variance: SSIM is the luminance term, (2xy + C1) / (x^2 + y^2 + C1), everywhere
    grey, white = torch.zeros(1, 1, 16, 16), torch.ones(1, 1, 16, 16)  # 0.5 and 1.0 in [0, 1]
    c1 = 0.01**2
    assert hole_ssim(white, grey, known[:1]) == pytest.approx((2 * 0.5 + c1) / (0.25 + 1 + c1), abs=1e-5)
    assert hole_psnr(white, grey, known[:1]) == pytest.approx(10 * math.log10(1 / 0.25), abs=1e-4)


def test_mean_fill_is_perfect_on_an_image_of_constant_colour():
    images = torch.tensor([0.3, -0.5, 0.9]).view(1, 3, 1, 1).expand(2, 3, 16, 16)
    known = make_mask("random", 2, 16, 0.5, 0.8, seed=0)
    filled = mean_fill(images, known)
    assert torch.allclose(filled, images)
    assert (hole_psnr(filled, images, known) == PSNR_CAP).all()


def test_diffusion_fills_every_hole_pixel_and_continues_a_ramp():
    ones = torch.ones(1, 1, 16, 16)
    scattered = make_mask("random", 1, 16, 0.5, 0.8, seed=1)
    assert torch.equal(diffusion_fill(ones, scattered), ones)  # an unfilled pixel would still read 0
    image, known = ramp(), center_mask(1, 16, 0.5)
    filled = diffusion_fill(image, known)
    assert torch.equal(filled[known.expand_as(image)], image[known.expand_as(image)])
    assert (filled - image).abs().max() < 0.01  # the harmonic fill of a linear ramp is the ramp


def test_classical_fill_is_telea_with_opencv_and_diffusion_without(monkeypatch):
    pytest.importorskip("cv2")
    image, known = ramp(), center_mask(1, 16, 0.5)
    telea, method = classical_fill(image, known)
    assert method == "telea"
    assert torch.equal(telea[known.expand_as(image)], image[known.expand_as(image)])
    assert (telea - image).abs().mean() < 0.1  # a smooth guess, far closer than the hole's mean colour
    monkeypatch.setitem(sys.modules, "cv2", None)  # `import cv2` now fails, as without the inpaint extra
    diffused, method = classical_fill(image, known)
    assert method == "diffusion" and torch.equal(diffused, diffusion_fill(image, known))


def test_the_latent_search_lowers_the_loss_and_keeps_the_known_pixels(gan_ckpt):
    checkpoint, run = read_checkpoint(gan_ckpt)
    datamodule = instantiate(run.dataset)
    system = load_system(checkpoint, run, datamodule.data_shape)
    images = torch.stack([datamodule.load("test")[i][0] for i in range(3)])
    known = make_mask("center", 3, 28, 0.5, 0.8, seed=0)
    z = torch.randn(3, 2, system.nz, generator=torch.Generator().manual_seed(0))
    generator, discriminator = system.networks["generator"], system.networks["discriminator"]
    filled, losses = semantic_inpaint(generator, discriminator, images, known, z, 10, 0.1, 0.003, 7)
    assert len(losses) == 10 and losses[-1] < losses[0]
    keep = known.expand_as(images)
    assert torch.equal(filled[keep], images[keep])
    assert not torch.equal(filled[~keep], images[~keep])


def save_gray(path, pixels: np.ndarray):
    Image.fromarray(pixels.astype(np.uint8), "L").save(path)
    return path


def refused(cfg, monkeypatch, match: str) -> None:
    """`inpaint(cfg)` raises ConfigError matching `match`, and before any optimisation."""
    never = lambda *a, **k: pytest.fail("optimisation ran")  # noqa: E731
    monkeypatch.setattr("gan_lab.cli.inpaint.semantic_inpaint", never)
    with pytest.raises(ConfigError, match=match):
        inpaint(cfg)


def test_bad_images_and_masks_are_refused_before_optimisation(tmp_path, gan_ckpt, monkeypatch):
    digit = save_gray(tmp_path / "digit.png", np.zeros((28, 28)))
    args = [f"ckpt={gan_ckpt}", f"out={tmp_path / 'grid.png'}"]
    big = save_gray(tmp_path / "big.png", np.zeros((32, 32)))
    refused(inpaint_cfg(*args, f"image={big}"), monkeypatch, "32x32 L image, but this generator makes 28x28")
    Image.new("RGB", (28, 28)).save(tmp_path / "rgb.png")
    refused(inpaint_cfg(*args, f"image={tmp_path / 'rgb.png'}"), monkeypatch, r"convert\('L'\)")
    for name, pixels, match in [
        ("none.png", np.zeros((28, 28)), "covers no pixel"),
        ("all.png", np.full((28, 28), 255), "covers every pixel"),
        ("small.png", np.full((14, 14), 255), "is 14x14 pixels but the generator's images are 28x28"),
    ]:
        mask = save_gray(tmp_path / name, pixels)
        refused(inpaint_cfg(*args, f"image={digit}", f"mask={mask}"), monkeypatch, match)
    refused(inpaint_cfg(*args, f"image={digit}", "center_side=1.0"), monkeypatch, "center_side=1.0")
    assert not (tmp_path / "grid.png").exists()


def test_checkpoints_that_are_not_unconditional_gans_are_refused(tmp_path, mnist_idx, monkeypatch):
    classifier = tiny_run("classifier_mnist", mnist_idx, tmp_path / "cls", ("dataset.val_size=16",))
    args = ["image=dataset", f"out={tmp_path / 'grid.png'}"]
    refused(inpaint_cfg(f"ckpt={classifier}", *args), monkeypatch, "not a GAN")
    conditional = tiny_run("cdcgan_mnist", mnist_idx, tmp_path / "cgan", SMALL)
    refused(inpaint_cfg(f"ckpt={conditional}", *args), monkeypatch, "unconditional generators only")


def test_an_image_file_with_a_mask_file_gives_a_grid(tmp_path, gan_ckpt):
    digit = save_gray(tmp_path / "digit.png", np.random.default_rng(0).integers(0, 256, (28, 28)))
    hole = np.zeros((28, 28))
    hole[10:18, 4:24] = 255
    mask = save_gray(tmp_path / "mask.png", hole)
    args = [f"ckpt={gan_ckpt}", f"image={digit}", f"mask={mask}", "steps=2", f"out={tmp_path / 'grid.png'}"]
    cfg = inpaint_cfg(*args)
    assert inpaint(cfg) is None  # no ground truth is assumed for the user's own images: no scores
    grid = np.asarray(Image.open(tmp_path / "grid.png").convert("L"))
    assert grid.shape == (5 * 30 + 2, 30 + 2)  # original, masked, mean fill, classical, GAN; 2 px padding
    original, gan = grid[2:30, 2:30], grid[4 * 30 + 2 : 5 * 30, 2:30]
    assert np.array_equal(original[hole == 0], gan[hole == 0])


def test_the_cli_scores_test_images_and_names_a_bad_image_in_one_line(tmp_path, gan_ckpt, mnist_idx):
    args = [f"ckpt={gan_ckpt}", "image=dataset", "n=6", "steps=3", "restarts=2", f"dataset.root={mnist_idx}"]
    result = cli([*args, "mask=random", "out=out/random.png"], tmp_path, module="gan_lab.cli.inpaint")
    assert result.returncode == 0, result.stderr
    record = json.loads((tmp_path / "out/random.json").read_text())
    assert record["images"] == "the first 6 MNIST test images" and record["mask"] == "random"
    assert set(record["scores"]) == {"mean_fill", "telea", "gan"}
    assert 0.7 < record["hole_fraction"] < 0.9
    assert Image.open(tmp_path / "out/random.png").size == (6 * 30 + 2, 5 * 30 + 2)
    assert "gan" in result.stdout  # the printed table
    bad = save_gray(tmp_path / "big.png", np.zeros((32, 32)))
    result = cli([f"ckpt={gan_ckpt}", f"image={bad}", "out=x.png"], tmp_path, module="gan_lab.cli.inpaint")
    assert result.returncode == 1
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith(f"gan_lab.cli.inpaint: error: image={bad} is a 32x32")
