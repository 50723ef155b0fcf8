"""The numbers are right: metrics checked against direct implementations and constructed answers."""

import math

import numpy as np
import pytest
import torch
from conftest import shared
from omegaconf import OmegaConf
from scipy import linalg

from gan_lab.data import MNISTDataModule
from gan_lab.errors import ConfigError
from gan_lab.metrics import Evaluator
from gan_lab.metrics.features import load_classifier, load_extractors
from gan_lab.metrics.modes import kl_to_uniform, mixture_modes, stacked_mnist_modes
from gan_lab.metrics.scores import (
    _kth_neighbour_radius,
    frechet_distance,
    image_scores,
    inception_score,
    kernel_distance,
    precision_recall,
)


def scipy_frechet(a: np.ndarray, b: np.ndarray) -> float:
    """FID written out directly: |mu_a - mu_b|^2 + Tr(S_a + S_b - 2 sqrtm(S_a S_b))."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(s_a @ s_b).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a + s_b - 2 * covmean))


@pytest.mark.parametrize("dim, shift", [(8, 0.0), (32, 0.5), (64, 2.0)])
def test_frechet_distance_matches_scipy_sqrtm(dim, shift):
    rng = np.random.default_rng(dim)
    mix = rng.normal(size=(dim, dim)) / math.sqrt(dim)
    a = rng.normal(size=(2000, dim))
    b = rng.normal(size=(2000, dim)) @ mix + shift
    expected = scipy_frechet(a, b)
    got = frechet_distance(torch.from_numpy(a).float(), torch.from_numpy(b).float())
    assert abs(got - expected) / expected <= 1e-4


def test_kid_is_near_zero_on_one_distribution_and_positive_between_two():
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(1500, 16, generator=gen), torch.randn(1500, 16, generator=gen)
    same, same_std = kernel_distance(a, b)
    apart, _ = kernel_distance(a, b + 0.5)
    assert abs(same) < 3 * same_std + 1e-3  # unbiased: centred on 0, can go below
    assert apart > 20 * max(abs(same), 1e-4)


def test_kid_accepts_fewer_samples_than_the_default_subset_and_reports_no_std_then():
    a, b = torch.randn(50, 4), torch.randn(60, 4)
    mean, std = kernel_distance(a, b)
    assert math.isfinite(mean) and std is None  # every subset would be the whole set: no spread to report
    # computed once, on the first 50 of each: one subset of all of them (summed in another order)
    assert mean == pytest.approx(kernel_distance(a, b[:50], subset_size=50, subsets=1)[0], abs=1e-6)
    names = image_scores(["kid"], torch.randn(40, 4), torch.randn(40, 4), torch.zeros(40, 3), "classifier")
    assert set(names) == {"kid_classifier"}
    _, spread = kernel_distance(torch.randn(300, 4), torch.randn(300, 4), subset_size=100, subsets=20)
    assert spread is not None and spread > 0


def test_inception_score_bounds():
    assert inception_score(torch.zeros(1000, 10))[0] == pytest.approx(1.0, abs=1e-5)  # flat posterior
    confident = torch.nn.functional.one_hot(torch.arange(1000) % 10, 10).float() * 50
    assert inception_score(confident, splits=1)[0] == pytest.approx(10.0, rel=1e-4)  # sure, evenly spread


def test_manifold_radius_is_the_distance_to_the_kth_other_point():
    points = torch.tensor([[0.0], [1.0], [3.0], [7.0], [15.0]])
    assert _kth_neighbour_radius(points, k=3).tolist() == [7.0, 6.0, 4.0, 7.0, 14.0]


def test_precision_recall_on_constructed_sets():
    gen = torch.Generator().manual_seed(1)
    real = torch.randn(800, 2, generator=gen)
    assert precision_recall(real, real.clone()) == (1.0, 1.0)
    far = precision_recall(real, torch.randn(800, 2, generator=gen) + 100)
    assert far == (0.0, 0.0)
    # Fakes packed around one real point: all on the real manifold, covering almost none of it.
    collapsed = real[:1] + 0.001 * torch.randn(800, 2, generator=gen)
    precision, recall = precision_recall(real, collapsed)
    assert precision == 1.0 and recall < 0.05


GRID = torch.cartesian_prod(torch.arange(5.0) * 2 - 4, torch.arange(5.0) * 2 - 4)


def test_mixture_modes_all_modes_one_mode_and_off_mode_points():
    gen = torch.Generator().manual_seed(0)
    everywhere = GRID.repeat(100, 1) + 0.05 * torch.randn(2500, 2, generator=gen)
    scores = mixture_modes(everywhere, GRID, 0.05)
    assert scores["modes_captured"] == 25
    # A 2D Gaussian puts exp(-9/2) = 1.1% of its mass beyond 3 std.
    assert scores["high_quality_pct"] == pytest.approx(100 * (1 - math.exp(-4.5)), abs=0.7)
    assert scores["kl_modes"] < 0.01
    assert mixture_modes(GRID.repeat(4, 1), GRID, 0.05)["kl_modes"] == pytest.approx(0.0, abs=1e-12)

    one = GRID[7] + 0.05 * torch.randn(2500, 2, generator=gen)
    scores = mixture_modes(one, GRID, 0.05)
    assert scores["modes_captured"] == 1
    assert scores["kl_modes"] == pytest.approx(math.log(25))

    between = GRID[:24] + torch.tensor([1.0, 1.0])  # diagonal midpoints: 28 std from every mean
    scores = mixture_modes(between, GRID, 0.05)
    assert scores["modes_captured"] == 0 and scores["high_quality_pct"] == 0.0


def test_mixture_threshold_is_three_standard_deviations():
    means = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    points = torch.tensor([[0.29, 0.0], [0.31, 0.0]])  # 2.9 and 3.1 std of 0.1
    scores = mixture_modes(points, means, 0.1)
    assert scores["high_quality_pct"] == 50.0 and scores["modes_captured"] == 1


def test_kl_to_uniform_known_values():
    assert kl_to_uniform(torch.tensor([5, 5, 5, 5])) == pytest.approx(0.0)
    assert kl_to_uniform(torch.tensor([1, 1, 0, 0])) == pytest.approx(math.log(2))


def test_stacked_mnist_modes():
    every_triple = torch.stack(torch.meshgrid(*[torch.arange(10)] * 3, indexing="ij"), -1).reshape(-1, 3)
    scores = stacked_mnist_modes(every_triple.repeat(26, 1))
    assert scores == {"modes_captured": 1000, "kl_stacked": pytest.approx(0.0, abs=1e-12)}
    scores = stacked_mnist_modes(torch.tensor([[1, 2, 3]]).repeat(100, 1))
    assert scores["modes_captured"] == 1 and scores["kl_stacked"] == pytest.approx(math.log(1000))


def metrics_cfg(**overrides):
    base = {
        "names": ["fid", "kid", "is", "pr"],
        "features": ["classifier"],
        "classifier": "mnist",
        "inception_weights": None,
        "inception_download": False,
        "real_split": "train",
        "pr_k": 3,
    }
    return OmegaConf.create({**base, **overrides})


def test_inception_metrics_are_skipped_and_said_once_when_weights_are_absent(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    for _ in range(2):
        extractors = load_extractors(["inception"], None, None, download=False)
        assert extractors == []
    said = [r for r in caplog.records if "Inception metrics skipped" in r.getMessage()]
    assert len(said) == 1 and "metrics.inception_weights=PATH" in said[0].getMessage()


def test_a_configured_inception_path_that_does_not_exist_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="metrics.inception_weights"):
        load_extractors(["inception"], None, str(tmp_path / "nope.pth"), download=False)


def test_unknown_classifier_names_the_bundled_ones():
    with pytest.raises(ConfigError, match="fashion_mnist, mnist"):
        load_classifier("cifar10")


@pytest.fixture(scope="module")
def mnist_real():
    root = shared("mnist")
    dm = MNISTDataModule(root=root, download=False, image_size=28, channels=1, batch_size=500, num_workers=0)
    dm.setup("test")
    return dm


def test_bundled_mnist_classifier_reads_real_digits(mnist_real):
    classifier = load_classifier("mnist")
    images, labels = zip(*(mnist_real.test_set[i] for i in range(2000)), strict=True)
    logits = classifier(torch.stack(images))[1]
    assert (logits.argmax(1) == torch.tensor(labels)).float().mean() > 0.98


def test_classifier_fid_of_real_splits_is_near_zero_and_rises_with_noise(mnist_real):
    classifier = load_classifier("mnist")
    gen = torch.Generator().manual_seed(0)
    train = mnist_real.load("train")
    real = classifier(torch.stack([train[i][0] for i in range(1500)]))[0]
    test = torch.stack([mnist_real.test_set[i][0] for i in range(1500)])
    fids = []
    for sigma in (0.0, 0.2, 0.4, 0.8):
        noisy = (test + sigma * torch.randn(test.shape, generator=gen)).clamp(-1, 1)
        fids.append(frechet_distance(real, classifier(noisy)[0]))
    assert fids[0] < 0.05 * fids[-1]
    assert all(a < b for a, b in zip(fids, fids[1:], strict=False)), fids


def test_evaluator_caches_real_features_per_dataset_and_size(mnist_idx, tmp_path, monkeypatch):
    def datamodule(size: int) -> MNISTDataModule:
        return MNISTDataModule(
            root=mnist_idx, download=False, image_size=size, channels=1, batch_size=8, num_workers=0
        )

    def evaluator(size: int) -> Evaluator:
        return Evaluator(metrics_cfg(names=["fid"]), datamodule(size), num_samples=32, batch_size=16, seed=0)

    built = evaluator(28)
    first = built.real_features(built.extractors[0])
    cached = sorted((tmp_path / "cache" / "real_features").glob("*.pt"))
    assert len(cached) == 1

    with monkeypatch.context() as patch:
        patch.setattr(Evaluator, "_extract_real", lambda *a: pytest.fail("recomputed a cached set"))
        again = evaluator(28)
        assert torch.equal(again.real_features(again.extractors[0]), first)

    other = evaluator(32)  # a different image size is a different cache entry
    other.real_features(other.extractors[0])
    assert len(list((tmp_path / "cache" / "real_features").glob("*.pt"))) == 2


def test_image_metrics_without_feature_extractors_are_refused(mnist_idx):
    dm = MNISTDataModule(
        root=mnist_idx, download=False, image_size=28, channels=1, batch_size=8, num_workers=0
    )
    with pytest.raises(ConfigError, match="metrics.features is empty"):
        Evaluator(metrics_cfg(features=[]), dm, num_samples=32, batch_size=16, seed=0)


def test_a_classifier_for_other_channels_is_refused_before_any_evaluation(faces):
    from gan_lab.data import ImageFolderDataModule

    dm = ImageFolderDataModule(root=faces, image_size=28, channels=3, batch_size=8, num_workers=0)
    with pytest.raises(ConfigError, match="reads 1-channel images, the data has 3"):
        Evaluator(metrics_cfg(), dm, num_samples=32, batch_size=16, seed=0)


def test_evaluator_rejects_metrics_the_dataset_cannot_have(mnist_idx):
    dm = MNISTDataModule(
        root=mnist_idx, download=False, image_size=28, channels=1, batch_size=8, num_workers=0
    )
    with pytest.raises(ConfigError, match="2D mixture"):
        Evaluator(metrics_cfg(names=["modes"]), dm, num_samples=32, batch_size=16, seed=0)
    with pytest.raises(ConfigError, match="choose from"):
        Evaluator(metrics_cfg(names=["fidd"]), dm, num_samples=32, batch_size=16, seed=0)
