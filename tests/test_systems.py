"""The latent GAN system: its phases, the recipe pieces inside a real training run, and the tool protocol."""

import pytest
import torch
from conftest import PROGRESS, TINY, compose_run, shared, train
from hydra.utils import instantiate

from gan_lab.errors import ConfigError
from gan_lab.nets.metz import metz_small
from gan_lab.objectives import R1, split_logits
from gan_lab.systems import Classifier, load_system, read_checkpoint
from gan_lab.training.run import build

RECIPE = ["loss=hinge", "penalty=r1", "system.nets.spectral_norm=true", "ema=default", "augment=diffaugment"]


def tiny_dcgan(faces, tmp_path, extra=()):
    overrides = ["experiment=dcgan_anime", f"dataset.root={faces}", "dataset.image_size=32", "metrics=none",
                 "system.nets.ngf=8", "system.nets.ndf=8", *TINY, *extra]  # fmt: skip
    return overrides


def one_step_system(faces, tmp_path, extra=()):
    """A built system and one real batch, for phase-level checks outside a Trainer."""
    cfg = compose_run(tiny_dcgan(faces, tmp_path, extra), tmp_path)
    datamodule = instantiate(cfg.dataset)
    system = build(cfg, datamodule)
    datamodule.setup("fit")
    batch = next(iter(torch.utils.data.DataLoader(datamodule.train_set, batch_size=8)))
    return system, batch


def test_augmentation_reaches_every_discriminator_input_through_one_place(faces, tmp_path):
    system, (real, _) = one_step_system(faces, tmp_path, ["augment=diffaugment"])
    seen = []
    augment = system.augment
    system.augment = lambda x: seen.append(x.shape) or augment(x)
    fake = system.generator(torch.randn(8, system.nz))
    system.discriminator_loss(real, None)  # D main: real and fake
    system.generator_loss(real, None)  # G main: fake
    assert len(seen) == 3
    # the penalty's closure goes through the same place
    R1()(lambda x: system.discriminate(x, None), real, fake)
    assert len(seen) == 4


def test_the_generator_learns_through_diffaugment(faces, tmp_path):
    system, (real, _) = one_step_system(faces, tmp_path, ["augment=diffaugment"])
    system.generator_loss(real, None).backward()
    grads = [p.grad for p in system.generator.parameters()]
    assert all(g is not None for g in grads) and sum(g.abs().sum() for g in grads) > 0


def test_joint_batches_show_d_one_batch_of_real_and_fake_in_each_phase(faces, tmp_path):
    system, (real, _) = one_step_system(faces, tmp_path, ["system.joint_batches=true"])
    seen = []
    system.discriminator.register_forward_pre_hook(lambda _, inputs: seen.append(len(inputs[0])))
    loss_d, real_logits, fake_logits, _, _ = system.discriminator_loss(real, None)
    system.generator_loss(real, None).backward()
    assert seen == [16, 16] and real_logits.shape == fake_logits.shape == (8,)
    assert all(p.grad is not None for p in system.generator.parameters())


def test_joint_batches_with_packing_give_each_batch_its_packed_logits(faces, tmp_path):
    # A packed D returns one logit per group of 4: the 8 reals and 8 fakes are 2 logits each. Split by
    # samples, the fakes got none and D's loss was NaN at step 1.
    system, (real, _) = one_step_system(faces, tmp_path, ["system.joint_batches=true", "system.nets.pack=4"])
    loss_d, real_logits, fake_logits, _, _ = system.discriminator_loss(real, None)
    separate = [system.discriminate(real, None), system.discriminate(system.fakes(8)[0], None)]
    assert real_logits.shape == fake_logits.shape == separate[0].shape == (2,)
    assert torch.isfinite(loss_d) and torch.isfinite(system.generator_loss(real, None))
    # 6 reals and 6 fakes in packs of 4: the middle pack would join both, silently.
    with pytest.raises(ConfigError, match="a multiple of system.nets.pack"):
        system.discriminator_loss(real[:6], None)


def test_split_logits_halves_every_head_in_its_own_container():
    a, b = torch.arange(6.0), torch.arange(6.0, 12.0)
    assert [t.tolist() for t in split_logits([a, b])[1]] == [[3.0, 4.0, 5.0], [9.0, 10.0, 11.0]]
    real, fake = split_logits({"x": a})
    assert real["x"].tolist() == [0.0, 1.0, 2.0] and fake["x"].tolist() == [3.0, 4.0, 5.0]


def test_joint_batches_let_a_batchnorm_discriminator_see_the_fakes_contrast():
    # Metz et al.'s D normalizes its first layer: called on the fakes alone it cannot tell them from the
    # same fakes at a third of the contrast; called on reals and fakes together it can.
    nets = metz_small(data_shape=(3, 28, 28), d_width=4)
    real, fake = torch.rand(16, 3, 28, 28) * 2 - 1, torch.rand(16, 3, 28, 28) * 2 - 1
    d = nets.discriminator.train()
    assert torch.allclose(d(fake, None), d(0.3 * fake, None), atol=5e-3)
    joint = split_logits(d(torch.cat([real, fake]), None))[1]
    shifted = split_logits(d(torch.cat([real, 0.3 * fake]), None))[1]
    assert (joint - shifted).abs().max() > 5e-2


@pytest.fixture(scope="module")
def recipe_run(faces, tmp_path_factory):
    out = tmp_path_factory.mktemp("recipe")
    overrides = tiny_dcgan(
        faces, out, [*RECIPE, "system.penalty.every=2", "train.steps=4", "samples.every=2"]
    )
    return train(overrides, out), out


def test_a_run_with_the_whole_recipe_trains_and_writes_its_grids(recipe_run):
    metrics, out = recipe_run
    assert metrics["steps"] == 4
    assert {"loss/d", "loss/g", "d/real", "d/fake"} <= set(metrics["final"])
    assert "loss/d_penalty" not in metrics["final"]  # step 3 (0-based) is not a penalty step with every=2
    assert sorted(p.name for p in (out / "samples").glob("step_*.png")) == [
        "step_000002.png",
        "step_000004.png",
    ]
    assert all((out / "samples" / name).is_file() for name in PROGRESS)


def test_the_ema_generator_is_saved_and_sampling_uses_it(recipe_run, faces):
    _, out = recipe_run
    checkpoint, run = read_checkpoint(out / "checkpoints" / "last.ckpt")
    assert any(k.startswith("generator_ema.") for k in checkpoint["state_dict"])
    system = load_system(checkpoint, run, (3, 32, 32))
    with_ema = system.sample(4, seed=1)
    system.sample_with_ema = False
    raw = system.sample(4, seed=1)
    assert with_ema.shape == raw.shape == (4, 3, 32, 32)
    assert not torch.equal(with_ema, raw)  # two different networks by now
    assert torch.equal(system.sample(4, seed=1), raw)  # and the same seed, the same samples


def test_the_lazy_penalty_runs_only_on_its_steps(faces, tmp_path, monkeypatch):
    calls = []
    original = R1.__call__
    monkeypatch.setattr(R1, "__call__", lambda self, *a: calls.append(1) or original(self, *a))
    train(tiny_dcgan(faces, tmp_path, ["penalty=r1", "system.penalty.every=2", "train.steps=5"]), tmp_path)
    assert len(calls) == 3  # steps 0, 2, 4 of 0..4


def test_spectral_norm_holds_the_discriminator_layers_near_one(recipe_run):
    _, out = recipe_run
    checkpoint, run = read_checkpoint(out / "checkpoints" / "last.ckpt")
    system = load_system(checkpoint, run, (3, 32, 32))
    for name, module in system.discriminator.named_modules():
        if isinstance(module, torch.nn.Conv2d):
            assert hasattr(module, "parametrizations"), name
            with torch.no_grad():
                top = torch.linalg.matrix_norm(module.weight.flatten(1), ord=2).item()
            assert top == pytest.approx(1.0, abs=0.15), name  # a few power iterations only


def test_whole_recipe_on_real_anime_faces_trains(tmp_path):
    faces = shared("anime-faces")
    metrics = train(["experiment=dcgan_anime", f"dataset.root={faces}", *RECIPE, "metrics=none",
                     "train.steps=3", "dataset.batch_size=16", "dataset.num_workers=0", "samples.every=null",
                     "checkpoint.every=null"], tmp_path)  # fmt: skip
    assert metrics["steps"] == 3 and all(torch.isfinite(torch.tensor(v)) for v in metrics["final"].values())


def test_a_classifier_with_multi_hot_targets_reads_each_class_as_a_yes_or_no():
    class Fixed(torch.nn.Module):  # logits set by the test
        def __init__(self, **_):
            super().__init__()
            self.logits = torch.nn.Parameter(torch.zeros(4, 10))

        def forward(self, x):
            return self.logits

    system = Classifier(Fixed, lambda p: torch.optim.SGD(p, lr=0.1), (1, 8, 8), 10)
    y = torch.zeros(4, 10)
    y[0, [1, 7]] = y[1, 3] = y[2, [0, 9]] = y[3, 5] = 1
    with torch.no_grad():
        system.net.logits.copy_(torch.where(y > 0, 5.0, -5.0))
    scores = system._scores((torch.zeros(4, 1, 8, 8), y))
    assert scores["acc"] == 1 and scores["label_acc"] == 1 and scores["loss"] < 0.01
    with torch.no_grad():
        system.net.logits[1, 4] = 5.0  # one extra digit read in sample 1: that sample is wrong
    scores = system._scores((torch.zeros(4, 1, 8, 8), y))
    assert scores["acc"] == 0.75 and scores["label_acc"] == 1 - 1 / 40  # one answer of 4 x 10 wrong
