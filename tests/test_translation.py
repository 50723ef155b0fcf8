"""Unpaired translation (CycleGAN): its losses and pool against hand computations, its schedule, its data,
training, exact resume, DDP, and `python -m gan_lab.translate`."""

import json
import re

import numpy as np
import pytest
import torch
from conftest import TINY, assert_same_state, cli, compose_run, train, write_images
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from PIL import Image

from gan_lab.errors import ConfigError, DataError
from gan_lab.metrics.translation import AttributeTask, HistogramMatching, NearestNeighbour, direction_scores
from gan_lab.nets.translation import PatchDiscriminator, ResnetGenerator, cyclegan
from gan_lab.objectives import ImagePool, LeastSquares, cycle_loss, identity_loss
from gan_lab.systems import load_system, read_checkpoint
from gan_lab.systems.base import lr_factor
from gan_lab.training.run import build


def cyclegan_run(faces, *extra: str) -> list[str]:
    """A tiny cyclegan_smiling run on the CelebA-like test faces, at 32 px with narrow networks."""
    return ["experiment=cyclegan_smiling", *TINY, "samples.num=4", "system.nets.width=8",
            "system.nets.blocks=2", "system.nets.d_width=8", "system.pool_size=3", "dataset.batch_size=2",
            *(f"dataset.domain_{d}.{key}" for d in "ab"
              for key in (f"root={faces}", "test_share=0.5", "image_size=32")), *extra]  # fmt: skip


# --- objectives ------------------------------------------------------------------------------------------


def test_cycle_and_identity_losses_are_the_mean_absolute_error():
    real = torch.tensor([[[[0.0, 1.0], [-1.0, 0.5]]]])
    back = torch.tensor([[[[0.5, 1.0], [0.0, 0.0]]]])
    # |0.5| + 0 + |1| + |-0.5| over 4 pixels
    assert cycle_loss(real, back).item() == pytest.approx(2.0 / 4)
    assert identity_loss(real, real).item() == 0.0
    assert identity_loss(real, -real).item() == pytest.approx(2 * (0 + 1 + 1 + 0.5) / 4)


def test_the_generator_loss_adds_weighted_cycle_and_identity_terms(tmp_path, faces):
    """loss/g = w_adv * LSGAN + lambda * cycle + lambda * lambda_id * identity, recomputed by hand."""
    cfg = compose_run(cyclegan_run(faces, "system.adversarial_weight=2", "system.lambda_cycle=10",
                                   "system.lambda_identity=0.5"), tmp_path)  # fmt: skip
    system = build(cfg, instantiate(cfg.dataset))
    a, b = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1
    fake_a, fake_b, losses = system.generator_losses(a, b)
    g_ab, g_ba, d_a, d_b = (system.networks[n] for n in ("generator_ab", "generator_ba", "discriminator_a",
                                                         "discriminator_b"))  # fmt: skip
    adversarial = 0.5 * (d_b(g_ab(a)) - 1).pow(2).mean() + 0.5 * (d_a(g_ba(b)) - 1).pow(2).mean()
    cycle = (g_ba(g_ab(a)) - a).abs().mean() + (g_ab(g_ba(b)) - b).abs().mean()
    identity = (g_ab(b) - b).abs().mean() + (g_ba(a) - a).abs().mean()
    expected = 2 * adversarial + 10 * cycle + 10 * 0.5 * identity
    assert losses["loss/g"].item() == pytest.approx(expected.item(), rel=1e-5)
    assert losses["loss/cycle"].item() == pytest.approx(cycle.item(), rel=1e-5)
    assert torch.equal(fake_b, g_ab(a)) and torch.equal(fake_a, g_ba(b))
    assert isinstance(system.loss, LeastSquares)


def test_pool_fills_then_swaps_about_half_the_time():
    torch.manual_seed(0)
    pool = ImagePool(4, (1, 2, 2))
    first = torch.arange(4.0).view(4, 1, 1, 1).expand(4, 1, 2, 2)
    assert torch.equal(pool.query(first), first)  # while filling: the new images themselves
    assert int(pool.count) == 4 and torch.equal(pool.images, first)
    swapped = 0
    for step in range(200):
        new = torch.full((1, 1, 2, 2), 100.0 + step)
        shown = pool.query(new)
        if not torch.equal(shown, new):  # an older fake, whose slot the new one took
            swapped += 1
            assert (pool.images == 100.0 + step).all(dim=(1, 2, 3)).sum() == 1
    assert 70 < swapped < 130  # p = 1/2 over 200 draws
    assert torch.equal(ImagePool(0, (1, 2, 2)).query(first), first)  # size 0: no pool


def test_pool_is_saved_with_the_state_dict():
    torch.manual_seed(1)
    pool = ImagePool(3, (1, 2, 2))
    pool.query(torch.randn(2, 1, 2, 2))
    copy = ImagePool(3, (1, 2, 2))
    copy.load_state_dict(pool.state_dict())
    assert int(copy.count) == 2 and torch.equal(copy.images, pool.images)


# --- the schedule ----------------------------------------------------------------------------------------


def test_lr_is_constant_then_falls_linearly_to_zero_over_the_second_half():
    factors = [lr_factor("linear", step, 100, start=0.5) for step in (0, 25, 50, 75, 100, 120)]
    assert factors == [1.0, 1.0, 1.0, 0.5, 0.0, 0.0]
    assert lr_factor("linear", 25, 100) == 0.75  # start=0: the usual linear decay


def test_a_run_sets_every_optimizer_on_the_schedule(tmp_path, faces):
    # 8 steps, decay from step 4: the 8th step (steps_done=7) runs at 1 - (7 - 4) / (8 - 4) = 0.25 of 2e-4
    # (a cosine from step 4 would give 0.15, a linear decay from step 0 0.125).
    train(cyclegan_run(faces, "train.steps=8", "samples.every=null"), tmp_path / "run")
    checkpoint = torch.load(tmp_path / "run/checkpoints/last.ckpt", map_location="cpu", weights_only=False)
    lrs = [group["lr"] for state in checkpoint["optimizer_states"] for group in state["param_groups"]]
    assert lrs == pytest.approx([5e-5] * 4)


# --- networks --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("upsample", ["transposed", "resize"])
def test_resnet_generator_keeps_the_image_size(upsample):
    net = ResnetGenerator(3, width=8, blocks=2, upsample=upsample)
    out = net(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 3, 32, 32) and out.abs().max() <= 1
    kinds = {type(m).__name__ for m in net.modules()}
    assert ("ConvTranspose2d" in kinds) == (upsample == "transposed")


def test_patch_discriminator_scores_overlapping_patches():
    assert PatchDiscriminator(3, 8, n_layers=3)(torch.randn(2, 3, 64, 64)).shape == (2, 1, 6, 6)
    assert PatchDiscriminator(3, 8, n_layers=2)(torch.randn(2, 3, 32, 32)).shape == (2, 1, 6, 6)


def test_networks_refuse_what_cannot_work():
    with pytest.raises(ConfigError, match="divisible by 4"):
        cyclegan((3, 30, 30))
    with pytest.raises(ConfigError, match="n_layers=4 does not fit 32x32.*use 1 to 3"):
        cyclegan((3, 32, 32), n_layers=4)
    with pytest.raises(ConfigError, match="upsample"):
        cyclegan((3, 32, 32), upsample="bilinear")


# --- data ------------------------------------------------------------------------------------------------


def test_celeba_test_split_holds_whole_identities_and_attributes_filter(tmp_path, faces):
    cfg = compose_run(cyclegan_run(faces), tmp_path)
    data = instantiate(cfg.dataset)
    identity = dict(line.split() for line in (faces / "identity_CelebA.txt").read_text().splitlines())
    people = {}
    for split in ("train", "test"):
        for which in "ab":
            files = data.domain(which).load(split).files
            assert files, (split, which)
            people.setdefault(split, set()).update(identity[f.name] for f in files)
            smiling = {int(f.stem) % 2 == 1 for f in files}  # the fixture's odd images smile
            assert smiling == {which == "b"}  # A: Smiling -1; B: Smiling 1
    assert not people["train"] & people["test"]  # no person in both splits
    a, b = data.fixed_inputs(3)
    assert a.shape == b.shape == (3, 3, 32, 32)


def test_unpaired_data_gives_batches_of_both_domains(tmp_path, faces):
    cfg = compose_run(cyclegan_run(faces, "dataset.domain_b.attribute=null"), tmp_path)
    data = instantiate(cfg.dataset)
    data.setup("fit")
    real_a, real_b = next(iter(data.train_dataloader()))
    assert real_a.shape == real_b.shape == (2, 3, 32, 32)
    assert len(data.train_set) == max(len(data.domain_a.load("train")), len(data.domain_b.load("train")))


def test_unpaired_data_refuses_domains_of_other_shapes(tmp_path, faces):
    cfg = compose_run(cyclegan_run(faces, "dataset.domain_b.image_size=64"), tmp_path)
    with pytest.raises(InstantiationException, match="one shape"):  # what run() reports as one line
        instantiate(cfg.dataset)


def test_an_image_folder_without_test_share_says_how_to_get_a_test_split(tmp_path, faces):
    cfg = compose_run(cyclegan_run(faces, "dataset.domain_a.test_share=0"), tmp_path)
    with pytest.raises(DataError, match="test_share=0.1"):
        instantiate(cfg.dataset).fixed_inputs(2)


def test_training_batches_are_mirrored_at_random_and_other_batches_never(tmp_path, faces):
    from types import SimpleNamespace

    cfg = compose_run(cyclegan_run(faces), tmp_path)
    data = instantiate(cfg.dataset)
    torch.manual_seed(0)
    a, b = torch.randn(64, 3, 4, 4), torch.randn(64, 3, 4, 4)
    data.trainer = SimpleNamespace(training=True)
    shown_a, shown_b = data.on_after_batch_transfer([a, b], 0)
    flipped = []
    for shown, real in ((shown_a, a), (shown_b, b)):
        same = (shown == real).flatten(1).all(1)
        mirrored = (shown == real.flip(-1)).flatten(1).all(1)
        assert (same | mirrored).all()  # each image whole, as it was or mirrored
        assert 16 < int(mirrored.sum()) < 48  # p = 1/2 over 64 images
        flipped.append(mirrored)
    assert not torch.equal(*flipped)  # each domain's images drawn apart
    images, labels = torch.randn(8, 3, 4, 4), torch.arange(8)
    assert data.on_after_batch_transfer([images, labels], 0)[1] is labels  # labels are left alone
    data.trainer = SimpleNamespace(training=False)  # evaluation and the grids' inputs: never mirrored
    assert data.on_after_batch_transfer([a, b], 0)[0] is a
    data.hflip, data.trainer = False, SimpleNamespace(training=True)
    assert data.on_after_batch_transfer([a, b], 0)[0] is a


def test_the_attribute_filter_names_a_real_attribute(tmp_path, faces):
    cfg = compose_run(cyclegan_run(faces, "dataset.domain_a.attribute=Smilng"), tmp_path)
    with pytest.raises(ConfigError, match="Smilng is not a CelebA attribute"):
        instantiate(cfg.dataset).load("train")


# --- training --------------------------------------------------------------------------------------------


def test_resume_is_exact_with_the_pools_and_four_optimizers(tmp_path, faces):
    base = cyclegan_run(faces, "train.steps=4", "checkpoint.every=2", "samples.every=null")
    train(base, tmp_path / "straight")
    train([*base, "train.steps=2"], tmp_path / "half")
    half = tmp_path / "half/checkpoints/last.ckpt"
    train([*base, f"ckpt_path={half}"], tmp_path / "resumed")
    straight = torch.load(tmp_path / "straight/checkpoints/last.ckpt", weights_only=False)
    assert len(straight["optimizer_states"]) == 4
    assert int(straight["state_dict"]["pool_a.count"]) == 3  # full: the swaps draw from the saved RNG
    assert_same_state(tmp_path / "straight/checkpoints/last.ckpt", tmp_path / "resumed/checkpoints/last.ckpt")


def test_resuming_with_another_pool_size_names_the_setting(tmp_path, faces):
    base = cyclegan_run(faces, "train.steps=2", "samples.every=null")
    train(base, tmp_path / "first")
    resume = [*base, "train.steps=4", f"ckpt_path={tmp_path / 'first/checkpoints/last.ckpt'}"]
    with pytest.raises(ConfigError, match=r"system.pool_size=3 there, 5 here"):
        train([*resume, "system.pool_size=5"], tmp_path / "second")


def test_sample_grid_shows_six_rows_of_the_fixed_test_images(tmp_path, faces):
    out = tmp_path / "run"
    train(cyclegan_run(faces), out)
    grid = Image.open(out / "samples/step_000003.png")
    # 4 columns and 6 rows of 32 px images with 2 px padding
    assert grid.size == (4 * 34 + 2, 6 * 34 + 2)


def test_visuals_translate_the_fixed_images_there_and_back(tmp_path, faces):
    cfg = compose_run(cyclegan_run(faces), tmp_path)
    system = build(cfg, instantiate(cfg.dataset)).eval()
    torch.manual_seed(3)
    a, b = torch.rand(4, 3, 32, 32) * 2 - 1, torch.rand(4, 3, 32, 32) * 2 - 1
    system.fixed_a.copy_(a), system.fixed_b.copy_(b), system.fixed_count.fill_(4)
    rows = system.visuals().samples.view(6, 4, 3, 32, 32)
    with torch.no_grad():
        g_ab, g_ba = system.generator_ab, system.generator_ba
        expected = [a, g_ab(a), g_ba(g_ab(a)), b, g_ba(b), g_ab(g_ba(b))]
    for row, want in zip(rows, expected, strict=True):
        torch.testing.assert_close(row, want)
    assert not torch.allclose(rows[1], rows[4])  # the two generators differ


def test_ddp_on_cpu_trains_and_saves(tmp_path, faces):
    done = cli([*cyclegan_run(faces, "trainer=ddp_cpu", "train.steps=2"), "hydra.run.dir=out"], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    checkpoint = torch.load(tmp_path / "out/checkpoints/last.ckpt", weights_only=False)
    assert checkpoint["system"]["steps_done"] == 2 and len(checkpoint["optimizer_states"]) == 4


# --- translate -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def translation_run(tmp_path_factory, faces):
    out = tmp_path_factory.mktemp("cyclegan")
    cfg = cyclegan_run(faces, "train.steps=2", "samples.every=null")
    done = cli([*cfg, f"hydra.run.dir={out}"], out)
    assert done.returncode == 0, done.stderr[-2000:]
    return out / "checkpoints/last.ckpt"


def test_translate_writes_the_test_split_a_folder_and_a_file(tmp_path, translation_run, faces):
    done = cli([f"ckpt={translation_run}", "image=dataset", "direction=a2b", f"out={tmp_path / 'split'}"],
               tmp_path, module="gan_lab.translate")  # fmt: skip
    assert done.returncode == 0, done.stderr
    written = sorted(p.name for p in (tmp_path / "split").iterdir())
    assert "pairs.png" in written and "000000.png" in written
    folder = write_images(tmp_path / "mine", n=3, size=(32, 32), ext="png")
    write_images(folder / "more", n=1, size=(32, 32), ext="png")  # more/0000.png: same name, other folder
    done = cli([f"ckpt={translation_run}", f"image={folder}", "direction=b2a", f"out={tmp_path / 'out'}"],
               tmp_path, module="gan_lab.translate")  # fmt: skip
    assert done.returncode == 0, done.stderr
    written = sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*.png"))
    assert written == ["0000.png", "0001.png", "0002.png", "more/0000.png", "pairs.png"]
    # What G_BA (not G_AB) makes of the image, to the 8 bits of a PNG.
    checkpoint, run = read_checkpoint(translation_run)
    system = load_system(checkpoint, run, (3, 32, 32))
    source = torch.from_numpy(np.asarray(Image.open(folder / "0001.png"))).permute(2, 0, 1) / 127.5 - 1
    want = system.translate(source[None].float(), "b2a")[0]
    got = torch.from_numpy(np.asarray(Image.open(tmp_path / "out/0001.png"))).permute(2, 0, 1) / 127.5 - 1
    assert (got - want).abs().max() < 0.01
    assert (got - system.translate(source[None].float(), "a2b")[0]).abs().max() > 0.05
    big = faces / "0000.jpg"  # 64 px: resized to the run's 32 px on request
    done = cli([f"ckpt={translation_run}", f"image={big}", f"out={tmp_path / 'one.png'}", "resize=true"],
               tmp_path, module="gan_lab.translate")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert Image.open(tmp_path / "one.png").size == (32, 32)


@pytest.mark.parametrize(
    "make,args,message",
    [
        (lambda tmp: write_images(tmp / "big", n=1, size=(64, 64)) / "0000.jpg", [], "is 64x64.*resize=true"),
        (lambda tmp: write_images(tmp / "gray", n=1, size=(32, 32), mode="L") / "0000.jpg", [], "is L.*RGB"),
        (lambda tmp: (tmp / "empty").mkdir() or tmp / "empty", [], "has no .jpg"),
        (lambda tmp: tmp, ["direction=sideways"], "direction='sideways'"),
        (lambda tmp: write_images(tmp / "ok", n=1, size=(32, 32)) / "0000.jpg", ["out=x"], "name the image"),
    ],
)
def test_translate_refuses_bad_input_in_one_line(tmp_path, translation_run, make, args, message):
    image = make(tmp_path)
    done = cli([f"ckpt={translation_run}", f"image={image}", f"out={tmp_path / 'x.png'}", *args], tmp_path,
               module="gan_lab.translate")  # fmt: skip
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("gan_lab.translate: error:")
    assert re.search(message, last), last
    assert not (tmp_path / "x.png").exists() and not (tmp_path / "x").exists()


def test_translate_refuses_a_checkpoint_that_is_not_a_translation_run(tmp_path, mnist_idx):
    out = tmp_path / "gan"
    train(["experiment=dcgan_mnist", *TINY, f"dataset.root={mnist_idx}", "dataset.download=false",
           "metrics=none"], out)  # fmt: skip
    done = cli([f"ckpt={out / 'checkpoints/last.ckpt'}", "image=dataset", f"out={tmp_path / 'x'}"], tmp_path,
               module="gan_lab.translate")  # fmt: skip
    assert done.returncode != 0 and "not a translation run" in done.stderr


def test_cyclegan_on_a_single_domain_dataset_is_refused_before_training(tmp_path, mnist_idx):
    overrides = ["experiment=dcgan_mnist", *TINY, f"dataset.root={mnist_idx}", "dataset.download=false",
                 "system=cyclegan", "model=cyclegan", "metrics=none", "dataset.image_size=32"]  # fmt: skip
    with pytest.raises(ConfigError, match="dataset=unpaired"):
        train(overrides, tmp_path / "run")


# --- metrics and baselines -------------------------------------------------------------------------------


class FlatFeatures(torch.nn.Module):
    """An extractor whose features are the pixels themselves."""

    name = "pixels"

    def __init__(self) -> None:
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(()))  # a parameter, for the device

    def forward(self, images):
        return images.flatten(1), images.flatten(1)


def test_direction_scores_of_the_identity_and_of_a_flipped_attribute():
    torch.manual_seed(0)
    inputs = torch.rand(12, 3, 16, 16) * 2 - 1
    real_b = FlatFeatures()(torch.rand(12, 3, 16, 16) * 2 - 1)[0]
    domains = lambda images: torch.tensor([[0.0, 1.0]]).repeat(len(images), 1)  # noqa: E731  always "B"
    # Attribute 1 is read from the mean brightness; attribute 0 from the red channel's sign.
    attributes = lambda x: torch.stack([x[:, 0].mean((1, 2)), x.mean((1, 2, 3))], 1)  # noqa: E731
    task = AttributeTask(column=1, value_a=-1, value_b=1)
    same = direction_scores("a2b", inputs, inputs, inputs, real_b, FlatFeatures(), domains, attributes, task)
    assert same["cycle_l1_a2b"] == 0 and same["ssim_a2b"] == pytest.approx(1.0)
    assert same["psnr_a2b"] == float("inf") and same["domain_accuracy_a2b"] == 1.0
    assert same["attribute_agreement_a2b"] == 1.0
    brighter = (inputs.abs() * 0.5 + 0.5) * inputs.sign().clamp(min=0)  # all >= 0: bright, red sign kept
    scores = direction_scores("a2b", inputs, brighter, inputs, real_b, FlatFeatures(), None, attributes, task)
    assert scores["attribute_flip_a2b"] == 1.0  # every translation reads as Smiling (value_b = 1)
    assert "domain_accuracy_a2b" not in scores and scores["kid100_pixels_a2b"] > 0
    red_before, red_after = (x[:, 0].mean((1, 2)) > 0 for x in (inputs, brighter))
    assert scores["attribute_agreement_a2b"] == (red_before == red_after).float().mean().item()


def test_histogram_matching_takes_the_target_colours():
    images = torch.rand(3, 3, 8, 8) * 2 - 1
    flat = torch.full((2, 3, 8, 8), 0.25)
    matched = HistogramMatching(train_a=images, train_b=flat, seed=0).translate(images, "a2b")
    assert torch.allclose(matched, torch.full_like(images, 0.25))


def test_nearest_neighbour_returns_the_closest_target_training_image():
    train_b = torch.stack([torch.full((3, 4, 4), v) for v in (-0.5, 0.0, 0.5)])
    query = torch.stack([torch.full((3, 4, 4), v) for v in (0.4, -0.9)])
    out = NearestNeighbour(train_a=query, train_b=train_b, extractor=FlatFeatures()).translate(query, "a2b")
    assert torch.equal(out, train_b[[2, 0]])


def test_evaluate_scores_the_baselines_with_the_run_metrics(tmp_path, translation_run):
    for source in ("identity", "histogram", "nearest"):
        done = cli([f"ckpt={translation_run}", f"source={source}", "device=cpu"], tmp_path,
                   module="gan_lab.cli.evaluate")  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
    record = json.loads(translation_run.with_suffix(".eval-identity.json").read_text())
    assert record["metrics"]["cycle_l1_a2b"] == 0 and record["metrics"]["ssim_b2a"] == pytest.approx(1.0)
    nearest = json.loads(translation_run.with_suffix(".eval-nearest.json").read_text())["metrics"]
    assert nearest["cycle_l1_a2b"] > 0 and "kid100_encoder_a2b" in nearest
