"""The feature-space validation study (gan_lab/studies/disturbances.py, gan_lab.cli.disturbances) and the
length-normalised classifier features it led to."""

import csv
import math

import pytest
import torch
import torch.nn.functional as F
from conftest import shared, write_idx
from omegaconf import OmegaConf

from gan_lab.cli.disturbances import main
from gan_lab.data import MNISTDataModule
from gan_lab.errors import ConfigError
from gan_lab.metrics import Evaluator
from gan_lab.metrics.features import ClassifierExtractor, load_classifier
from gan_lab.studies.disturbances import (
    DISTURBANCES,
    LEVELS,
    disturb,
    drop_clusters,
    monotone,
    real_halves,
    run_study,
    write_study,
)


def digits(n: int, seed: int = 0) -> torch.Tensor:
    """Digit-like images: black, with a few bright blurred strokes (bars) at random places."""
    gen = torch.Generator().manual_seed(seed)
    images = torch.full((n, 1, 28, 28), -1.0)
    for i in range(n):
        for _ in range(3):
            r, c = torch.randint(4, 20, (2,), generator=gen).tolist()
            if torch.rand(1, generator=gen) < 0.5:
                images[i, :, r : r + 2, c : c + 8] = 1.0
            else:
                images[i, :, r : r + 8, c : c + 2] = 1.0
    return images


def pooled(images: torch.Tensor) -> torch.Tensor:
    """A cheap stand-in extractor: 7x7 average-pooled pixels (49-d)."""
    return F.avg_pool2d(images, 4).flatten(1)


@pytest.mark.parametrize("name", list(DISTURBANCES))
def test_level_zero_is_the_identity_and_higher_levels_move_further(name):
    images, other = digits(24), digits(24, seed=1).flip(-1)
    assert torch.equal(disturb(name, images, 0.0, other=other), images)
    moved = [(disturb(name, images, level, other=other) - images).abs().mean().item() for level in LEVELS]
    assert all(b > a for a, b in zip(moved, moved[1:], strict=False)), moved
    out = disturb(name, images, 1.0, other=other)
    assert out.shape == images.shape and out.min() >= -1 and out.max() <= 1


def test_random_draws_are_reused_across_levels_so_corruption_only_grows():
    images = digits(8)
    low, high = (disturb("salt_and_pepper", images, level, seed=3) != images for level in (0.3, 0.8))
    assert low.any() and (high | low).equal(high)  # the pixels hit at 0.3 are hit at 0.8 too
    assert torch.equal(
        disturb("gaussian_noise", images, 0.5, seed=3), disturb("gaussian_noise", images, 0.5, seed=3)
    )


def test_bad_names_levels_and_missing_other_domain_are_refused():
    images = digits(4)
    with pytest.raises(ConfigError, match="unknown disturbance 'fog'"):
        disturb("fog", images, 0.5)
    with pytest.raises(ConfigError, match="outside"):
        disturb("swirl", images, 1.5)
    with pytest.raises(ConfigError, match="needs images of another domain"):
        disturb("other_domain", images, 0.5)
    with pytest.raises(ConfigError, match="unknown checks"):
        run_study(pooled, images, images, checks=["fog"])


def test_study_rows_and_verdicts_on_a_cheap_extractor(tmp_path):
    reference, images, other = digits(200, seed=0), digits(200, seed=1), -digits(200, seed=2)
    rows = run_study(pooled, reference, images, other, levels=(0, 0.5, 1), clusters=4)
    assert rows[0].check == "real_halves"
    level0 = {r.fid for r in rows if r.level == 0 and r.check not in ("real_halves",)}
    assert len(level0) == 1  # every curve starts from the same undisturbed set
    verdict = monotone(rows)
    assert set(verdict) == set(DISTURBANCES) | {"drop_clusters"}
    noise = [r for r in rows if r.check == "gaussian_noise"]
    assert rows[0].fid < noise[-1].fid and noise[0].fid < noise[-1].fid
    assert verdict["gaussian_noise"] == (True, True)

    again = run_study(pooled, reference, images, levels=(0, 1), checks=["swirl"])
    assert again == run_study(
        pooled, reference, images, levels=(0, 1), checks=["swirl"]
    )  # KID subsets seeded

    files = write_study(rows, tmp_path / "out", "pooled pixels")
    assert [f.name for f in files] == ["results.csv", "results.md", "curves.png"]
    with open(files[0]) as f:
        assert len(list(csv.DictReader(f))) == len(rows)
    assert "| gaussian_noise | yes | yes |" in files[1].read_text()


def test_drop_clusters_rises_as_well_separated_modes_go():
    gen = torch.Generator().manual_seed(0)
    centres = torch.eye(4) * 10
    features = torch.cat([c + torch.randn(100, 4, generator=gen) for c in centres])
    reference = torch.cat([c + torch.randn(100, 4, generator=gen) for c in centres])
    rows = drop_clusters(reference, features, k=4, orders=3)
    assert [r.n for r in rows] == [400, 300, 200, 100]  # k-means found the four modes
    assert monotone(rows)["drop_clusters"] == (True, True)
    assert real_halves(reference).fid < rows[1].fid


def test_classifier_features_have_length_sqrt_dim_and_raw_logits():
    classifier = load_classifier("mnist")
    images = torch.cat([digits(4), torch.zeros(2, 1, 28, 28), torch.rand(2, 1, 28, 28) * 2 - 1])
    features, logits = classifier(images)
    assert torch.allclose(features.norm(dim=1), torch.full((8,), math.sqrt(features.shape[1])), atol=1e-4)
    raw = classifier.net.features(images)
    assert torch.allclose(logits, classifier.net.head(raw))  # accuracy and IS still read the raw layer


def test_cached_real_features_are_not_reused_for_another_feature_space(mnist_idx, tmp_path, monkeypatch):
    cfg = OmegaConf.create(
        {
            "names": ["fid"],
            "features": ["classifier"],
            "classifier": "mnist",
            "inception_weights": None,
            "inception_download": False,
            "real_split": "train",
        }
    )
    dm = MNISTDataModule(
        root=mnist_idx, download=False, image_size=28, channels=1, batch_size=8, num_workers=0
    )
    with monkeypatch.context() as patch:
        patch.setattr(ClassifierExtractor, "space", "raw-penultimate")  # as before the fix
        old = Evaluator(cfg, dm, num_samples=16, batch_size=16, seed=0)
        old.real_features(old.extractors[0])
    monkeypatch.setattr(Evaluator, "_extract_real", lambda self, e: torch.ones(16, 128))
    new = Evaluator(cfg, dm, num_samples=16, batch_size=16, seed=0)
    assert torch.equal(new.real_features(new.extractors[0]), torch.ones(16, 128))  # computed, not read
    assert len(list((tmp_path / "cache" / "real_features").glob("*.pt"))) == 2


def test_on_real_mnist_disjoint_halves_sit_far_below_heavy_noise():
    root = shared("mnist")
    dm = MNISTDataModule(root=root, download=False, image_size=28, channels=1, batch_size=500, num_workers=0)
    test = dm.load("test")
    images = torch.stack([test[i][0] for i in range(600)])
    classifier = load_classifier("mnist")
    rows = run_study(classifier, images[:300], images[300:], levels=(0, 0.5, 1), checks=["gaussian_noise"])
    halves, *noise = rows
    assert halves.fid < 0.05 * noise[-1].fid and halves.kid < 0.05 * noise[-1].kid
    assert monotone(rows)["gaussian_noise"] == (True, True)


def test_cli_writes_its_files_and_says_which_curves_rise(tmp_path, capsys):
    mnist, fashion = write_idx(tmp_path / "mnist", 64, 40), write_idx(tmp_path / "fashion", 64, 40, seed=1)
    out = tmp_path / "study"
    data = ["--root", str(mnist), "--other", "fashion_mnist", "--other-root", str(fashion)]
    small = ["--n", "40", "--n-reference", "64", "--levels", "0", "1", "--clusters", "3", "--orders", "2"]
    main(["--dataset", "mnist", *data, *small, "--out", str(out)])
    assert sorted(p.name for p in out.iterdir()) == ["curves.png", "results.csv", "results.md"]
    said = capsys.readouterr().out
    assert "classifier space (mnist.ckpt" in said and "other_domain" in said and "monotone FID" in said
    with open(out / "results.csv") as f:
        checks = {row["check"] for row in csv.DictReader(f)}
    assert checks == {"real_halves", *DISTURBANCES, "drop_clusters"}


def test_cli_names_the_datasets_for_a_bad_one_in_one_line(tmp_path):
    with pytest.raises(
        SystemExit, match=r"gan_lab.cli.disturbances: error: --dataset 'cifar10': choose from .*mnist"
    ):
        main(["--dataset", "cifar10", "--out", str(tmp_path / "x")])
    with pytest.raises(SystemExit, match="not an image dataset"):
        main(["--dataset", "gaussian_grid", "--out", str(tmp_path / "x")])
