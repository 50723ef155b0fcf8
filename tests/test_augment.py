"""The GAN data-augmentation study: labelled subsets, generated training data, the multirun and its report."""

import csv
import json

import pytest
import torch
from conftest import TINY, cli, compose_run, train
from hydra.utils import instantiate

from gan_lab.data.synthetic import labels_of, per_class_subset, save_generated
from gan_lab.errors import ConfigError
from gan_lab.studies.augmentation import markdown_table, summarise, write_generated

MNIST = ["experiment=classifier_mnist", "dataset.download=false", "dataset.val_size=0"]


def mnist_datamodule(tmp_path, mnist_idx, *overrides):
    cfg = compose_run([*MNIST, f"dataset.root={mnist_idx}", *TINY, *overrides], tmp_path / "run")
    return instantiate(cfg.dataset)


def test_per_class_keeps_n_of_each_class_the_same_way_for_a_seed(tmp_path, mnist_idx):
    dm = mnist_datamodule(tmp_path, mnist_idx, "dataset.per_class=3")
    dm.setup("fit")
    labels = labels_of(dm.train_set)
    assert sorted(labels.tolist()) == sorted(list(range(10)) * 3)
    full = dm.load("train")
    again = per_class_subset(full, 3, seed=dm.seed)
    other = per_class_subset(full, 3, seed=dm.seed + 1)
    assert dm.train_set.indices == again.indices != other.indices
    with pytest.raises(ConfigError, match="dataset.per_class=7, but class 4 has only 6 training samples"):
        per_class_subset(full, 7, seed=0)  # the fake MNIST's 64 images: digits 0-3 seven times, 4-9 six


def test_augment_jitters_training_images_only(tmp_path, mnist_idx):
    dm = mnist_datamodule(tmp_path, mnist_idx, "dataset.augment=true")
    train_set, test_set = dm.load("train"), dm.load("test")
    torch.manual_seed(0)
    assert not torch.equal(train_set[0][0], train_set[0][0])  # a fresh random shift or rotation each time
    assert torch.equal(test_set[0][0], test_set[0][0])


@pytest.fixture(scope="module")
def cgan_run(tmp_path_factory, mnist_idx):
    out = tmp_path_factory.mktemp("cgan") / "run"
    overrides = ["experiment=cdcgan_mnist", f"dataset.root={mnist_idx}", "dataset.download=false"]
    train([*overrides, "system.nets.ngf=8", "system.nets.ndf=8", *TINY, "metrics=none"], out)
    return out


def test_synthetic_adds_generated_images_with_balanced_labels(tmp_path, mnist_idx, cgan_run):
    generated = write_generated(cgan_run, 40, seed=0)  # what the study does for each cell
    overrides = ["dataset.per_class=2", f"dataset.synthetic={generated}", "dataset.synthetic_ratio=1.5"]
    dm = mnist_datamodule(tmp_path, mnist_idx, *overrides)
    dm.setup("fit")
    real, made = dm.train_set.datasets
    assert len(real) == 20 and len(made) == 30
    assert torch.bincount(made.targets).tolist() == [3] * 10
    image, label = made[13]
    assert image.shape == (1, 28, 28) and label == 3 and -1 <= image.min() and image.max() <= 1
    batch = next(iter(dm.train_dataloader()))  # real (int labels) and generated samples collate together
    assert batch[0].shape == (8, 1, 28, 28)


def test_the_study_needs_a_conditional_gan(tmp_path):
    train(TINY, tmp_path / "mixture")  # an unconditional 2D-mixture GAN
    with pytest.raises(ConfigError, match="study.gan must train a conditional GAN"):
        write_generated(tmp_path / "mixture", 10, seed=0)


def test_synthetic_files_that_do_not_fit_the_dataset_are_refused(tmp_path, mnist_idx, cgan_run):
    points = save_generated(tmp_path / "points.pt", torch.zeros(40, 2), torch.arange(40) % 10)
    few = save_generated(tmp_path / "few.pt", torch.zeros(5, 1, 28, 28), torch.arange(5))
    beyond = save_generated(tmp_path / "beyond.pt", torch.zeros(40, 1, 28, 28), torch.full((40,), 12))
    for path, match in [
        (cgan_run / "checkpoints/last.ckpt", r"not a file of generated samples .* \(generated.pt\)"),
        (points, r"holds samples of shape \(2,\); this dataset's are \(1, 28, 28\)"),
        (few, "holds 5 samples; 30 are needed"),
        (beyond, "labels beyond this dataset's 10 classes"),
    ]:
        overrides = ["dataset.per_class=2", f"dataset.synthetic={path}", "dataset.synthetic_ratio=1.5"]
        with pytest.raises(ConfigError, match=match):
            mnist_datamodule(tmp_path, mnist_idx, *overrides).setup("fit")


def test_report_summarises_seeds_per_size_and_ratio():
    rows = [
        {
            "per_class": n,
            "seed": s,
            "ratio": r,
            "test_acc": acc,
            "gan_conditional_accuracy": 0.5 if r else None,
        }
        for n, s, r, acc in [(10, 0, 0.0, 0.70), (10, 1, 0.0, 0.80), (10, 0, 1.0, 0.72), (10, 1, 1.0, 0.74)]
    ]
    summary = summarise(rows)
    assert [(s["ratio"], s["seeds"]) for s in summary] == [(0.0, 2), (1.0, 2)]
    assert summary[0]["test_acc_mean"] == pytest.approx(75.0)
    assert summary[0]["test_acc_std"] == pytest.approx(7.0711, abs=1e-4)  # sample std of 70 and 80
    table = markdown_table(summary)
    assert "| per class | real only | + GAN x1 | cGAN conditional accuracy |" in table
    assert "| 10 | 75.00 ± 7.07 (2) | 73.00 ± 1.41 (2) | 50.0% |" in table


def test_the_study_runs_as_one_multirun_and_writes_its_report(tmp_path, mnist_idx):
    gan = [
        "experiment=cdcgan_mnist",
        "system.nets.ngf=8",
        "system.nets.ndf=8",
        "train.steps=2",
        "eval.num_samples=40",
        "eval.batch_size=16",
        "samples.every=null",
        "metrics.inception_download=false",
    ]
    report = tmp_path / "report"
    args = [
        "--multirun",
        "experiment=augment_mnist",
        f"dataset.root={mnist_idx}",
        "dataset.download=false",
        "dataset.num_workers=0",
        "dataset.batch_size=8",
        "dataset.per_class=2,3",
        "seed=0",
        "study.ratios=[1]",
        "train.steps=2",
        "study.gan=[" + ",".join(f'"{o}"' for o in gan) + "]",
        f"hydra.callbacks.study_report.report_dir={report}",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
    ]
    result = cli(args, tmp_path, module="gan_lab.cli.augmentation_study", timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = list(csv.DictReader(open(report / "results.csv")))
    assert [(r["per_class"], r["ratio"]) for r in rows] == [
        ("2", "0.0"),
        ("2", "1.0"),
        ("3", "0.0"),
        ("3", "1.0"),
    ]
    cell = tmp_path / "sweep/per_class_3-seed_0"
    job = json.loads((cell / "results.json").read_text())
    accuracy = json.loads((cell / "classifier_ratio_1/metrics.json").read_text())["final"]["test/acc"]
    assert job[1]["test_acc"] == accuracy and job[1]["gan_conditional_accuracy"] is not None
    summary = (report / "summary.md").read_text()
    assert "| 2 |" in summary and "| 3 |" in summary and (report / "accuracy.png").stat().st_size > 0
    assert (tmp_path / "sweep/per_class_2-seed_0/gan/checkpoints/last.ckpt").is_file()  # a cGAN per job


def test_the_study_needs_its_study_section(tmp_path):
    result = cli(["experiment=classifier_mnist"], tmp_path, module="gan_lab.cli.augmentation_study")
    assert result.returncode == 1 and "has no `study` section" in result.stderr
