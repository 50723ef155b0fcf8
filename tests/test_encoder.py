"""The face feature space: SimCLR's loss and views, an encoder run, and the encoder as a metric extractor."""

import json
import math

import pytest
import torch
import torch.nn.functional as F
from conftest import TINY, compose_run, train, write_images
from omegaconf import OmegaConf

from gan_lab.cli.disturbances import main as disturbances
from gan_lab.cli.evaluate import run_config
from gan_lab.errors import ConfigError
from gan_lab.metrics.features import EncoderExtractor, load_classifier
from gan_lab.objectives.contrastive import SimCLRViews, nt_xent


def test_nt_xent_is_cross_entropy_of_each_view_against_its_partner():
    torch.manual_seed(0)
    a, b, t = torch.randn(5, 8), torch.randn(5, 8), 0.3
    loss, _ = nt_xent(a, b, t)
    z = F.normalize(torch.cat([a, b]), dim=1)
    terms = []
    for i in range(10):
        partner = (i + 5) % 10
        others = [j for j in range(10) if j != i]
        logsumexp = torch.logsumexp(torch.stack([z[i] @ z[j] / t for j in others]), 0)
        terms.append(logsumexp - z[i] @ z[partner] / t)
    assert loss.item() == pytest.approx(torch.stack(terms).mean().item(), rel=1e-5)


def test_nt_xent_finds_partners_that_match():
    torch.manual_seed(0)
    a = torch.randn(16, 32)
    loss_same, found = nt_xent(a, a + 0.01 * torch.randn_like(a), 0.1)
    loss_random, _ = nt_xent(a, torch.randn_like(a), 0.1)
    assert found.item() == 1.0 and loss_same < 0.5 < math.log(31) < loss_random + 1


def test_two_views_of_a_batch_differ_and_stay_in_range():
    torch.manual_seed(0)
    views = SimCLRViews(32)
    x = torch.rand(4, 3, 64, 64) * 2 - 1
    one, two = views(x), views(x)
    assert one.shape == (4, 3, 32, 32) and not torch.allclose(one, two)
    assert one.min() >= -1 - 1e-5 and one.max() <= 1 + 1e-5


def test_an_encoder_run_scores_a_gan_and_a_disturbance_study_in_its_space(tmp_path, faces, capsys):
    encoder = train(["experiment=encoder_faces", f"dataset.root={faces}", *TINY], tmp_path / "enc")
    assert encoder["steps"] == 3 and math.isfinite(encoder["final"]["train/loss"])
    ckpt = tmp_path / "enc" / "checkpoints" / "last.ckpt"

    extractor = load_classifier(str(ckpt), EncoderExtractor)
    assert isinstance(extractor, EncoderExtractor)
    features, logits = extractor(torch.rand(6, 3, 64, 64) * 2 - 1)
    assert features.shape == (6, 128) and logits.shape == (6, 0)
    assert features.norm(dim=1) == pytest.approx(torch.full((6,), 128**0.5), rel=1e-5)

    gan = ["experiment=dcgan_anime", f"dataset.root={faces}", *TINY, "eval.every=3", "metrics=faces",
           "metrics.names=[fid,kid,is,pr]", f"metrics.encoder={ckpt}", "logger=none"]  # fmt: skip
    result = train(gan, tmp_path / "gan")
    last = json.loads((tmp_path / "gan" / "metrics.json").read_text())["eval"][-1]
    assert {"fid_encoder", "kid_encoder", "precision_encoder", "recall_encoder"} <= set(last)
    assert last["fid_encoder"] > 0 and not any(k.startswith("is_") for k in last)  # no logits, no IS
    assert result["steps"] == 3

    other = write_images(tmp_path / "other", n=20, size=(80, 96))  # CelebA's layout: a folder of JPEGs
    small = ["--n", "12", "--n-reference", "12", "--levels", "0", "1", "--clusters", "2", "--orders", "1"]
    where = ["--dataset", "anime", "--root", str(faces), "--other", "celeba", "--other-root", str(other)]
    space = ["--encoder", str(ckpt)]  # the run's encoder instead of the bundled one
    disturbances([*where, *space, *small, "--out", str(tmp_path / "s")])
    assert "anime in encoder space (last.ckpt" in capsys.readouterr().out
    assert (tmp_path / "s" / "results.csv").is_file()

    with pytest.raises(ConfigError, match=r"metrics.classifier=.* is not a Classifier run's checkpoint"):
        load_classifier(str(ckpt))  # an encoder's projection head is no classifier's logits


def test_the_bundled_face_encoder_maps_faces_to_unit_directions_and_the_face_datasets_use_it(tmp_path):
    encoder = load_classifier("faces", EncoderExtractor)
    assert encoder.data_shape == (3, 64, 64) and not encoder.has_logits
    features, logits = encoder(torch.rand(5, 3, 64, 64) * 2 - 1)  # at the size it was trained on
    assert features.shape == (5, 128) and logits.shape == (5, 0)
    assert torch.allclose(features.norm(dim=1), torch.full((5,), 128**0.5), rtol=1e-4)
    for experiment in ("dcgan_anime", "dcgan_celeba_classic"):
        metrics = compose_run([f"experiment={experiment}"], tmp_path).metrics
        assert list(metrics.features) == ["encoder"] and metrics.encoder == "faces"


def test_an_encoder_that_is_not_there_names_the_experiment_that_makes_one(tmp_path, faces):
    with pytest.raises(ConfigError, match=r"metrics.encoder='nowhere.ckpt'.*experiment=encoder_faces"):
        load_classifier("nowhere.ckpt", EncoderExtractor)


def test_evaluate_adds_an_encoder_to_a_run_saved_before_the_setting_existed():
    saved = OmegaConf.create(
        {"eval": {}, "dataset": {}, "metrics": {"names": ["fid"], "features": ["inception"]}}
    )
    given = OmegaConf.create(
        {"eval": {}, "dataset": {}, "metrics": {"features": ["encoder"], "encoder": "e.ckpt"}}
    )
    run = run_config(given, saved)
    assert run.metrics.encoder == "e.ckpt" and list(run.metrics.features) == ["encoder"]
    with pytest.raises(ConfigError, match="metrics.pr_kk: this run's metrics has no such setting"):
        run_config(OmegaConf.create({"eval": {}, "dataset": {}, "metrics": {"pr_kk": 3}}), saved)
