"""The decode cache of image folders (dataset.cache), and training data kept on the device (on_device)."""

import itertools
import logging
import os
from types import SimpleNamespace

import pytest
import torch
from conftest import compose_run, train, write_images
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from test_train import assert_same_state

import gan_lab.data.cache
from gan_lab.data.base import DeviceBatches
from gan_lab.data.images import CachedImageFiles, ImageFiles
from gan_lab.data.sampler import ResumableSampler
from gan_lab.errors import ConfigError


def datamodule(tmp_path, *overrides):
    return instantiate(compose_run(list(overrides), tmp_path / "run").dataset)


def folder(tmp_path):
    """Mixed sizes and modes, so that converting, resizing and cropping all do something."""
    root = tmp_path / "imgs"
    write_images(root / "a", n=3, size=(50, 80), mode="RGBA", ext="png")
    write_images(root / "b", n=2, size=(90, 40), mode="L", ext="webp")
    write_images(root, n=4, size=(70, 70), ext="jpg")
    return root


@pytest.fixture
def decodes(monkeypatch):
    """How many images the cache has decoded so far."""
    count = [0]
    original = gan_lab.data.cache._Decoding.__getitem__

    def counting(self, index):
        count[0] += 1
        return original(self, index)

    monkeypatch.setattr(gan_lab.data.cache._Decoding, "__getitem__", counting)
    return count


@pytest.mark.parametrize("channels", [1, 3])
def test_cached_samples_equal_the_decoded_ones(tmp_path, channels):
    settings = ["dataset=image_folder", f"dataset.root={folder(tmp_path)}", "dataset.image_size=32",
                f"dataset.channels={channels}"]  # fmt: skip
    cached, decoded = datamodule(tmp_path, *settings), datamodule(tmp_path, *settings, "dataset.cache=false")
    cached.setup("fit")
    decoded.setup("fit")
    assert isinstance(cached.train_set, CachedImageFiles) and type(decoded.train_set) is ImageFiles
    assert len(cached.train_set) == len(decoded.train_set) == 9
    for i in range(9):
        (x, y), (x0, y0) = cached.train_set[i], decoded.train_set[i]
        assert x.shape == (channels, 32, 32) and x.dtype == torch.float32
        assert torch.equal(x, x0) and y == y0  # the cache stores exactly the PIL result
    batch, batch0 = next(iter(cached.train_dataloader())), next(iter(decoded.train_dataloader()))
    assert torch.equal(batch[0], batch0[0]) and torch.equal(batch[1], batch0[1])


def test_the_cache_is_decoded_once_and_again_when_files_or_settings_change(tmp_path, decodes, caplog):
    root = folder(tmp_path)
    # In this process, where the spy counts: worker processes would decode out of its sight.
    settings = [
        "dataset=image_folder",
        f"dataset.root={root}",
        "dataset.num_workers=0",
        "dataset.image_size=16",
    ]
    with caplog.at_level(logging.INFO, logger="gan_lab.data.cache"):
        datamodule(tmp_path, *settings).setup("fit")
    assert decodes[0] == 9 and "decoding 9 images once into" in caplog.text
    dm = datamodule(tmp_path, *settings)
    dm.setup("fit")
    assert decodes[0] == 9, "a second run reads the cache"
    assert isinstance(dm.train_set, CachedImageFiles)

    write_images(root, n=1, size=(20, 30), ext="jpg")  # rewrites 0000.jpg with other pixels
    os.utime(root / "0000.jpg", ns=(1, 1))  # and another mtime, however fast the file system clock
    changed = datamodule(tmp_path, *settings)
    changed.setup("fit")
    assert decodes[0] == 18
    decoded = datamodule(tmp_path, *settings, "dataset.cache=false")
    decoded.setup("fit")
    index = decoded.train_set.files.index(root / "0000.jpg")
    assert torch.equal(changed.train_set[index][0], decoded.train_set[index][0])

    datamodule(tmp_path, *settings[:-1], "dataset.image_size=8").setup("fit")
    assert decodes[0] == 27
    (root / "b" / "0000.webp").unlink()
    datamodule(tmp_path, *settings[:-1], "dataset.image_size=8").setup("fit")
    assert decodes[0] == 35
    assert len(list((tmp_path / "cache" / "images").glob("*.npy"))) == 2, "one array per folder and settings"


def test_the_cache_jitters_when_augment_is_on(tmp_path):
    settings = ["dataset=image_folder", f"dataset.root={folder(tmp_path)}", "dataset.num_workers=0",
                "dataset.batch_size=8"]  # fmt: skip
    plain, jittered = (
        datamodule(tmp_path, *settings),
        datamodule(tmp_path, *settings, "+dataset.augment=true"),
    )
    plain.setup("fit")
    jittered.setup("fit")
    torch.manual_seed(0)
    batch = next(iter(jittered.train_dataloader()))[0]
    assert batch.shape == (8, 3, 64, 64) and -1 <= batch.min() < batch.max() <= 1
    assert not torch.equal(batch, next(iter(plain.train_dataloader()))[0])


def test_the_cache_keeps_labels_subsets_and_bad_file_skipping(tmp_path):
    root = tmp_path / "celeba"
    write_images(root / "img_align_celeba", n=4, size=(178, 218))
    (root / "img_align_celeba" / "broken.jpg").write_bytes(b"not a jpeg")
    names = sorted(p.name for p in (root / "img_align_celeba").iterdir())
    header = "5\n" + " ".join(f"attr{i}" for i in range(40)) + "\n"
    rows = "".join(f"{n} " + " ".join([str(1 - 2 * (i % 2))] * 40) + "\n" for i, n in enumerate(names))
    (root / "list_attr_celeba.txt").write_text(header + rows)
    settings = ["dataset=celeba", f"dataset.root={root}", "dataset.label=attr0", "dataset.on_bad_file=skip"]
    with pytest.warns(UserWarning, match="skipped 1 bad image files of 5"):
        dm = datamodule(tmp_path, *settings, "+dataset.per_class=1")
        dm.setup("fit")
    whole = dm.train_set.dataset
    assert isinstance(whole, CachedImageFiles) and len(whole) == 4
    assert whole.targets.tolist() == [1, 0, 1, 0]  # broken.jpg, last by name, is left out
    assert len(dm.train_set) == 2 and sorted(int(dm.train_set[i][1]) for i in range(2)) == [0, 1]


def test_an_unwritable_cache_folder_falls_back_to_decoding(tmp_path, monkeypatch, caplog):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder should be")
    monkeypatch.setenv("GAN_LAB_CACHE", str(blocked))
    dm = datamodule(tmp_path, "dataset=image_folder", f"dataset.root={folder(tmp_path)}")
    dm.setup("fit")
    assert type(dm.train_set) is ImageFiles and "could not cache the decoded images" in caplog.text


def chunks(sampler, batch_size, n):
    stream = list(itertools.islice(iter(sampler), batch_size * n))
    return [stream[i : i + batch_size] for i in range(0, len(stream), batch_size)]


@pytest.mark.parametrize(
    "size,batch_size,start,rank,world", [(10, 4, 0, 0, 1), (10, 4, 7, 1, 2), (3, 8, 5, 2, 3)]
)
def test_sampler_batches_cut_the_same_stream(size, batch_size, start, rank, world):
    sampler = ResumableSampler(size, seed=4, start=start, rank=rank, world_size=world)
    batches = list(itertools.islice(sampler.batches(batch_size), 9))
    assert [b.tolist() for b in batches] == chunks(sampler, batch_size, 9)


def with_trainer(dm, rank=0, world=1, steps_done=0):
    """What the DataModule reads of a Trainer: its rank, its device and the steps already trained."""
    dm.trainer = SimpleNamespace(global_rank=rank, world_size=world, lightning_module=SimpleNamespace(
        steps_done=steps_done), strategy=SimpleNamespace(root_device=torch.device("cpu")))  # fmt: skip
    return dm


@pytest.mark.parametrize("data", ["mnist", "faces"])
@pytest.mark.parametrize("rank,world,steps_done", [(0, 1, 0), (0, 1, 5), (0, 2, 3), (1, 2, 3)])
def test_on_device_batches_are_the_loaders(tmp_path, mnist_idx, faces, data, rank, world, steps_done):
    settings = {
        "mnist": ["dataset=mnist", f"dataset.root={mnist_idx}", "dataset.download=false"],
        "faces": ["dataset=anime", f"dataset.root={faces}", "dataset.image_size=32"],
    }[data]
    settings += ["dataset.batch_size=5", "dataset.num_workers=0"]
    loader = with_trainer(datamodule(tmp_path, *settings), rank, world, steps_done)
    on_device = with_trainer(
        datamodule(tmp_path, *settings, "dataset.on_device=true"), rank, world, steps_done
    )
    loader.setup("fit")
    on_device.setup("fit")
    batches = on_device.train_dataloader()
    assert isinstance(batches, DeviceBatches) and batches.images.dtype == torch.float32
    expected = itertools.islice(loader.train_dataloader(), 30)  # several epochs of the 24 or 64 samples
    for (x, y), (x0, y0) in zip(itertools.islice(batches, 30), expected, strict=True):
        assert torch.equal(x, x0) and torch.equal(y, y0)


def test_on_device_refuses_what_it_cannot_do(tmp_path, mnist_idx, monkeypatch):
    mnist = ["dataset=mnist", f"dataset.root={mnist_idx}", "dataset.download=false", "dataset.on_device=true"]
    with pytest.raises(InstantiationException) as caught:  # the app reports the ConfigError it wraps
        datamodule(tmp_path, *mnist, "dataset.augment=true")
    assert isinstance(caught.value.__cause__, ConfigError)
    assert "dataset.on_device=true cannot work with dataset.augment=true" in str(caught.value.__cause__)
    dm = datamodule(tmp_path, *mnist)
    dm.setup("fit")
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device: (100_000, 10**9))  # 100 kB free
    with pytest.raises(ConfigError, match=r"dataset.on_device=true: the training split needs .* GiB on cuda"):
        dm._split_on(torch.device("cuda:0"))


@pytest.mark.parametrize("experiment", ["quickstart", "mlp_mnist"])
def test_training_on_device_resumes_as_a_straight_run(tmp_path, experiment, mnist_idx, monkeypatch):
    devices = []  # where the batches of each fit came from
    iterate = DeviceBatches.__iter__
    monkeypatch.setattr(
        DeviceBatches, "__iter__", lambda self: devices.append(self.images.device) or iterate(self)
    )
    # A run stopped at 10 of 20 steps: its rate (the quickstart's decays) follows the full length's schedule.
    base = [f"experiment={experiment}", "dataset.on_device=true", "dataset.batch_size=8",
            "samples.every=null", "checkpoint.every=5", "metrics.names=[]", "eval.best=null",
            "system.lr_decay_steps=20"]  # fmt: skip
    if experiment == "mlp_mnist":
        base += [f"dataset.root={mnist_idx}", "dataset.download=false"]
    straight = train([*base, "train.steps=20"], tmp_path / "straight")
    assert (
        straight["steps"] == 20 and straight["images_per_sec"] > 0 and set(devices) == {torch.device("cpu")}
    )
    train([*base, "train.steps=10"], tmp_path / "first")
    resumed = train([*base, "train.steps=20", f"ckpt_path={tmp_path / 'first/checkpoints/last.ckpt'}"],
                    tmp_path / "resumed")  # fmt: skip
    assert resumed["steps"] == 20
    assert_same_state(tmp_path / "straight/checkpoints/last.ckpt", tmp_path / "resumed/checkpoints/last.ckpt")
    # And the same training as through the DataLoader: on_device changes where batches come from, not which.
    loader = [o for o in base if o != "dataset.on_device=true"]
    loader += ["dataset.on_device=false", "dataset.num_workers=0", "train.steps=20"]
    train(loader, tmp_path / "loader")
    assert_same_state(tmp_path / "straight/checkpoints/last.ckpt", tmp_path / "loader/checkpoints/last.ckpt")
