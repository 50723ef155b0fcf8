"""Nearest training neighbours of generated samples (generate mode=neighbours): the memorization check."""

import pytest
import torch
from conftest import TINY, generate_cfg, train
from PIL import Image

from gan_lab.cli.generate import generate
from gan_lab.data import AnimeDataModule
from gan_lab.errors import ConfigError
from gan_lab.metrics.features import EncoderExtractor, load_classifier
from gan_lab.metrics.neighbours import dataset_features, nearest


def test_nearest_gives_the_k_closest_pool_rows_nearest_first():
    torch.manual_seed(0)
    queries, pool = torch.randn(6, 4), torch.randn(50, 4)
    distances, indices = nearest(queries, pool, 3)
    brute = ((queries[:, None] - pool[None]) ** 2).sum(-1).sqrt()
    expected = brute.sort(dim=1)
    torch.testing.assert_close(indices, expected.indices[:, :3])
    torch.testing.assert_close(distances, expected.values[:, :3], rtol=1e-4, atol=1e-4)


def test_each_training_image_finds_itself_first_in_the_encoder_space(faces):
    data = AnimeDataModule(root=faces, image_size=32, channels=3, batch_size=8, num_workers=0, cache=False)
    dataset = data.load("train")
    encoder = load_classifier("faces", EncoderExtractor)
    pool = dataset_features(encoder, dataset, batch_size=5)  # rows in the dataset's order, across batches
    assert pool.shape == (len(dataset), 128)
    own = torch.stack([encoder(dataset[i][0][None])[0][0] for i in (0, 7, 23)])
    distances, indices = nearest(own, pool, 2)
    assert indices[:, 0].tolist() == [0, 7, 23]
    assert (distances[:, 0] < 1e-3).all() and (distances[:, 1] > 1e-2).all()


@pytest.fixture(scope="module")
def face_run(tmp_path_factory, faces):
    out = tmp_path_factory.mktemp("faces") / "run"
    overrides = ["experiment=dcgan_anime", f"dataset.root={faces}", "dataset.image_size=32", *TINY]
    train([*overrides, "system.nets.ngf=8", "system.nets.ndf=8", "logger=none"], out)
    return out


def test_neighbours_writes_each_sample_beside_its_k_nearest_training_images(face_run, tmp_path, capsys):
    out = tmp_path / "near.png"
    ckpt = face_run / "checkpoints" / "last.ckpt"
    generate(generate_cfg(["mode=neighbours", f"ckpt={ckpt}", "n=3", "k=4", f"out={out}"]))
    width, height = Image.open(out).size
    assert (width, height) == (6 * 34 + 2, 3 * 34 + 2)  # a sample, a gap, 4 neighbours; 32 px + padding 2
    said = capsys.readouterr().out
    assert "beside their 4 nearest of 24 training images in encoder space" in said
    assert "distance to the nearest training image: median" in said


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["k=0"], "k=0: use a positive number of neighbours per sample"),
        (["features=classifier"], "metrics.features lists `classifier` but metrics.classifier is null"),
    ],
)
def test_bad_neighbour_settings_are_refused_with_the_fix(face_run, tmp_path, overrides, message):
    ckpt = face_run / "checkpoints" / "last.ckpt"
    with pytest.raises(ConfigError, match=message):
        generate(generate_cfg(["mode=neighbours", f"ckpt={ckpt}", f"out={tmp_path / 'n.png'}", *overrides]))
