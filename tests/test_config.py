import pytest
import torch
from conftest import EXPERIMENTS, compose_run
from hydra.utils import instantiate

from gan_lab.config.validate import validate
from gan_lab.errors import ConfigError
from gan_lab.paths import config_dir
from gan_lab.training.run import build

ALL = ["quickstart", "mlp_mnist", "dcgan_mnist", "dcgan_fashion_mnist", "dcgan_celeba", "dcgan_anime",
       "dcgan_anime_classic", "dcgan_celeba_classic", "classifier_mnist"]  # fmt: skip


def test_every_experiment_named_in_the_docs_exists():
    assert set(ALL) <= set(EXPERIMENTS)


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_composes_and_validates(tmp_path, experiment):
    cfg = compose_run([f"experiment={experiment}"], tmp_path)
    validate(cfg)
    assert cfg.experiment_name == experiment


GROUP_OPTIONS = [
    (group, path.stem)
    for group in (
        "dataset",
        "system",
        "model",
        "optimizer",
        "loss",
        "penalty",
        "augment",
        "ema",
        "trainer",
        "logger",
        "metrics",
    )
    for path in sorted((config_dir() / group).glob("*.yaml"))
]


@pytest.mark.parametrize("group,option", GROUP_OPTIONS)
def test_every_group_option_matches_the_schema_and_its_target(tmp_path, group, option):
    required = ["dataset.root=images"] if (group, option) == ("dataset", "image_folder") else []
    # The classifier drops the GAN groups, and the default experiment whose recipe sets the GAN's keys
    required += (
        ["~experiment", "~model", "~optimizer", "~loss"] if option in ("classifier", "contrastive") else []
    )
    validate(compose_run([f"{group}={option}", *required], tmp_path))


@pytest.mark.parametrize("experiment", [e for e in EXPERIMENTS if e.startswith("dcgan")])
def test_dcgan_experiments_follow_the_published_recipe(tmp_path, experiment):
    cfg = compose_run([f"experiment={experiment}"], tmp_path)
    assert cfg.dataset.batch_size == 128 and cfg.system.nets.nz == 100
    for name in ("generator", "discriminator"):
        optimizer = cfg.system.optimizers[name]
        assert optimizer._target_ == "torch.optim.Adam" and optimizer.lr == 2e-4
        assert list(optimizer.betas) == [0.5, 0.999]


@pytest.mark.parametrize("faces", ["dcgan_anime", "dcgan_celeba"])
def test_face_experiments_default_to_the_modern_recipe_and_keep_the_classic_one_an_override_away(
    tmp_path, faces
):
    modern = compose_run([f"experiment={faces}"], tmp_path).system
    assert modern.loss._target_.endswith("Hinge") and modern.nets.spectral_norm
    assert modern.augment._target_.endswith("DiffAugment") and modern.ema._target_.endswith("EMA")
    classic = compose_run([f"experiment={faces}_classic"], tmp_path)
    assert classic.system.loss._target_.endswith("NonSaturating") and not classic.system.nets.spectral_norm
    assert classic.system.augment is None and classic.system.ema is None
    assert classic.experiment_name == f"{faces}_classic"


def test_default_run_is_quickstart_on_the_gaussian_grid(tmp_path):
    cfg = compose_run([], tmp_path)
    assert cfg.experiment_name == "quickstart" and cfg.dataset._target_.endswith("GaussianGridDataModule")


def test_command_line_group_choice_beats_the_experiment(tmp_path):
    cfg = compose_run(["experiment=dcgan_mnist", "dataset=fashion_mnist"], tmp_path)
    assert cfg.dataset._target_.endswith("FashionMNISTDataModule")


def test_the_generators_settings_set_both_networks_and_ttur_splits_them(tmp_path):
    # without the quickstart, which sets D's rate apart
    cfg = compose_run(["~experiment", "system.optimizers.generator.lr=1e-3"], tmp_path)
    optimizers = cfg.system.optimizers
    assert optimizers.generator.lr == optimizers.discriminator.lr == 1e-3
    cfg = compose_run(
        ["system.optimizers.generator.lr=1e-4", "system.optimizers.discriminator.lr=4e-4"], tmp_path
    )
    assert (cfg.system.optimizers.generator.lr, cfg.system.optimizers.discriminator.lr) == (1e-4, 4e-4)


@pytest.mark.parametrize("name", ["adam", "adamw", "rmsprop", "sgd"])
def test_one_partial_optimizer_per_network(tmp_path, name):
    cfg = compose_run(["~experiment", f"optimizer={name}", "system.optimizers.generator.lr=0.5"], tmp_path)
    for net in ("generator", "discriminator"):
        optimizer = instantiate(cfg.system.optimizers[net])([torch.nn.Parameter(torch.zeros(1))])
        assert optimizer.param_groups[0]["lr"] == 0.5


@pytest.mark.parametrize(
    "override,message",
    [
        ("train.steps=0", r"train.steps=0"),
        ("dataset.batch_size=0", r"dataset.batch_size=0 .*positive integer"),
        ("trainer.precision=8-mixed", r"trainer.precision='8-mixed'.*32, 32-true, bf16-mixed, 16-mixed"),
        ("samples.every=0", r"samples.every=0"),
    ],
)
def test_values_that_cannot_work_are_named(tmp_path, override, message):
    with pytest.raises(ConfigError, match=message):
        validate(compose_run([override], tmp_path))


@pytest.mark.parametrize(
    "override,message",
    [
        ("system.n_critic=0", r"^system.n_critic=0 cannot work: use an integer >= 1"),
        (
            "system.optimizers.discriminator.lr=-1",
            r"^system.optimizers.discriminator.lr=-1(\.0)? cannot work",
        ),
    ],
)
def test_system_values_that_cannot_work_are_named_when_it_is_built(tmp_path, override, message):
    cfg = compose_run([override], tmp_path)
    validate(cfg)
    with pytest.raises(ConfigError, match=message):
        build(cfg, instantiate(cfg.dataset))


@pytest.mark.parametrize("trainer", ["default", "gpu", "ddp", "ddp_cpu"])
@pytest.mark.parametrize("precision", ["32", "bf16-mixed", "16-mixed"])
def test_trainer_configs_compose(tmp_path, trainer, precision):
    cfg = compose_run([f"trainer={trainer}", f"trainer.precision={precision}"], tmp_path)
    validate(cfg)
    if trainer.startswith("ddp"):
        assert cfg.trainer.strategy.find_unused_parameters is True


def test_multi_node_and_slurm_launcher_compose(tmp_path):
    from hydra import compose, initialize_config_dir

    from gan_lab.paths import config_dir

    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=["hydra/launcher=slurm", "trainer=ddp", "trainer.devices=4", "trainer.num_nodes=2"],
            return_hydra_config=True,
        )
    launcher = cfg.hydra.launcher
    assert launcher._target_ == "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
    assert (launcher.nodes, launcher.tasks_per_node, launcher.gpus_per_node) == (2, 4, 4)
    assert cfg.trainer.num_nodes == 2
