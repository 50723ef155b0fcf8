"""Unknown keys, wrong types and impossible values: an error naming the key, before any data is loaded.

Typos and wrong types in conf/train.yaml's own sections fail at composition (Hydra, against
gan_lab/schema.py); keys of a `_target_` group (dataset, model, ...) are checked against the target's
signature by validate().
"""

from pathlib import Path

import pytest
from conftest import cli, compose_run
from hydra.errors import ConfigCompositionException
from pytorch_lightning.loggers import WandbLogger

from gan_lab.config.schema import accepted
from gan_lab.config.validate import validate
from gan_lab.data import GaussianGridDataModule, MNISTDataModule
from gan_lab.errors import ConfigError


def composition_error(overrides: list[str], tmp_path: Path) -> str:
    """Hydra's message, with the OmegaConf error under it that names the key."""
    with pytest.raises(ConfigCompositionException) as caught:
        compose_run(overrides, tmp_path)
    return f"{caught.value} {caught.value.__cause__}"


def experiment_file(tmp_path: Path, body: str) -> list[str]:
    """An experiment YAML in a config dir of its own, layered on conf/ as a user's would be."""
    (tmp_path / "extra" / "experiment").mkdir(parents=True)
    (tmp_path / "extra" / "experiment" / "mine.yaml").write_text(
        f"# @package _global_\ndefaults:\n  - quickstart\n{body}"
    )
    return [f"hydra.searchpath=[file://{tmp_path / 'extra'}]", "experiment=mine"]


@pytest.mark.parametrize(
    "body,key",
    [
        ("train:\n  stepz: 5\n", "full_key: train.stepz"),
        ("sed: 5\n", "full_key: sed"),
        ("train:\n  steps: many\n", "full_key: train.steps"),
        ("eval:\n  every: 1.5\n", "full_key: eval.every"),
    ],
)
def test_a_typo_or_wrong_type_in_a_yaml_file_fails_at_composition(tmp_path, body, key):
    assert key in composition_error(experiment_file(tmp_path, body), tmp_path)


def test_an_experiment_file_without_mistakes_composes(tmp_path):
    cfg = compose_run(experiment_file(tmp_path, "train:\n  steps: 5\n"), tmp_path)
    validate(cfg)
    assert cfg.train.steps == 5


@pytest.mark.parametrize(
    "override,key",
    [
        ("train.stepz=5", "train.stepz"),
        ("train.steps=abc", "full_key: train.steps"),
        ("seed=1.5", "full_key: seed"),
        ("samples.num=[1]", "full_key: samples.num"),
    ],
)
def test_an_unknown_key_or_wrong_type_in_an_override_fails_at_composition(tmp_path, override, key):
    assert key in composition_error([override], tmp_path)


@pytest.mark.parametrize(
    "overrides,message",
    [
        (["+train.stepz=5"], r"^train.stepz is not a setting of train: did you mean steps\?$"),
        (["+stepz=5"], r"^stepz is not a setting of the config: it takes checkpoint, "),
        (
            ["+dataset.batchsize=8"],
            r"^dataset.batchsize is not a setting of .*GaussianGridDataModule: did you mean batch_size\?$",
        ),
        (
            ["+trainer.max_epoch=1"],
            r"^trainer.max_epoch is not a setting of pytorch_lightning.Trainer: .*max_epochs",
        ),
        (
            ["experiment=dcgan_mnist", "+dataset.downlaod=false"],
            r"^dataset.downlaod .*MNISTDataModule.*download\?",
        ),
        (
            ["+system.optimizers.generator.betaz=[0.5,0.9]"],
            r"^system.optimizers.generator.betaz is not a setting of torch.optim.Adam: did you mean betas",
        ),
        (
            ["loss=non_saturating", "+system.loss.weight=2"],
            r"^system.loss.weight is not a setting of gan_lab.objectives.NonSaturating: it takes no settings",
        ),
        (
            ["penalty=r1", "+system.penalty.gamma=2"],
            r"^system.penalty.gamma is not a setting of gan_lab.objectives.R1: it takes",
        ),
        (
            ["+system.n_critc=2"],
            r"^system.n_critc is not a setting of gan_lab.systems.LatentGAN: did you mean n_critic",
        ),
    ],
)
def test_an_unknown_key_is_named_with_the_closest_valid_ones(tmp_path, overrides, message):
    with pytest.raises(ConfigError, match=message):
        validate(compose_run(overrides, tmp_path))


@pytest.mark.parametrize(
    "overrides,message",
    [
        (
            ["dataset.batch_size=abc"],
            r"^dataset.batch_size='abc' is not of type int, as .*GaussianGridDataModule",
        ),
        (["dataset.num_workers=1.5"], r"^dataset.num_workers=1.5 is not of type int"),
        (
            ["experiment=dcgan_mnist", "system.nets.ngf=1.5"],
            r"^system.nets.ngf=1.5 is not of type int, as gan_lab.nets.dcgan",
        ),
        (
            ["experiment=dcgan_mnist", "dataset.download=maybe"],
            r"^dataset.download='maybe' is not of type bool",
        ),
        (
            ["trainer.log_every_n_steps=often"],
            r"^trainer.log_every_n_steps='often' is not of type Optional\[int\]",
        ),
        (["dataset._target_=gan_lab.data.Nope"], r"^dataset._target_='gan_lab.data.Nope' cannot be imported"),
        (["system.n_critic=many"], r"^system.n_critic='many' is not of type int"),
        (["dataset=image_folder"], r"^dataset.root has no value: set it"),
    ],
)
def test_a_wrong_type_in_a_target_group_is_named(tmp_path, overrides, message):
    with pytest.raises(ConfigError, match=message):
        validate(compose_run(overrides, tmp_path))


@pytest.mark.parametrize(
    "override,message",
    [
        ("train.on_divergence=explode", r"train.on_divergence='explode' cannot work: use stop or rollback"),
        ("train.rollback_lr_factor=0", r"train.rollback_lr_factor=0.0 cannot work: .*between 0 and 1"),
        ("train.rollback_lr_factor=1.5", r"train.rollback_lr_factor=1.5 cannot work"),
        ("train.max_rollbacks=-1", r"train.max_rollbacks=-1 cannot work: use an integer >= 0"),
        ("eval.num_samples=0", r"eval.num_samples=0 cannot work"),
        ("eval.batch_size=-5", r"eval.batch_size=-5 cannot work"),
        ("eval.every=0", r"eval.every=0 cannot work"),
        (
            "eval.best=fid",
            r"eval.best='fid' is not computed here: use null or one of modes_captured, high_quality_pct",
        ),
        ("metrics.names=[fid,fjd]", r"metrics.names=\['fid', 'fjd'\] cannot work: choose from fid, kid"),
        ("metrics.real_split=val", r"metrics.real_split='val' cannot work: use train or test"),
    ],
)
def test_impossible_values_are_named(tmp_path, override, message):
    with pytest.raises(ConfigError, match=message):
        validate(compose_run([override], tmp_path))


def test_the_rollback_settings_accept_what_can_work(tmp_path):
    overrides = ["train.on_divergence=rollback", "train.rollback_lr_factor=0.1", "train.max_rollbacks=0"]
    validate(compose_run(overrides, tmp_path))
    validate(compose_run(["experiment=dcgan_mnist", "eval.best=kid_classifier", "eval.every=null"], tmp_path))


def test_keyword_arguments_are_followed_to_the_base_class_only_inside_gan_lab():
    grid = accepted(GaussianGridDataModule)
    assert {"side", "spacing", "batch_size", "num_workers", "seed"} <= set(grid)
    assert {"download", "image_size", "channels", "root", "batch_size", "per_class"} <= set(
        accepted(MNISTDataModule)
    )
    assert accepted(WandbLogger) is None  # its **kwargs go to wandb.init: not checked


def test_the_cli_names_the_key_in_one_line_before_any_data_is_read(tmp_path):
    # The folder does not exist: had the data been looked at, the error would name it instead.
    args = [
        "dataset=image_folder",
        "dataset.root=no_such_folder",
        "+dataset.batchsize=8",
        "hydra.run.dir=out",
    ]
    result = cli(args, tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == (
        "gan_lab: error: dataset.batchsize is not a setting of gan_lab.data.ImageFolderDataModule: "
        "did you mean batch_size?"
    )
    assert "Traceback" not in result.stderr and "no_such_folder" not in result.stderr
    assert not (tmp_path / "out" / "checkpoints").exists()


def test_the_cli_names_the_key_of_a_typo_in_an_experiment_file(tmp_path):
    result = cli([*experiment_file(tmp_path, "train:\n  stepz: 5\n"), "hydra.run.dir=out"], tmp_path)
    assert result.returncode == 1
    assert "In 'experiment/mine'" in result.stderr and "full_key: train.stepz" in result.stderr
    assert not (tmp_path / "out").exists()  # Hydra stops before it makes the run folder


@pytest.mark.parametrize("group", ["ema", "penalty", "augment", "logger"])
def test_group_equals_null_names_the_off_switch_in_one_line(tmp_path, group):
    # Hydra itself answers `ema=null` with a ValueError traceback.
    result = cli([f"{group}=null", "hydra.run.dir=out"], tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"gan_lab: error: {group}=null: a config group takes the name of one of its files in "
        f"conf/{group}/; write {group}=none (or ~{group})."
    )
    assert not (tmp_path / "out").exists()


def test_none_turns_off_what_an_experiment_chose(tmp_path):
    chosen = compose_run(["experiment=dcgan_anime", "penalty=r1", "augment=diffaugment"], tmp_path)
    assert chosen.system.ema and chosen.system.penalty and chosen.system.augment
    off = compose_run(["experiment=dcgan_anime", "ema=none", "penalty=none", "augment=none"], tmp_path)
    assert off.system.ema is None and off.system.penalty is None and off.system.augment is None
    assert off.system.nets == chosen.system.nets  # nothing else moved
